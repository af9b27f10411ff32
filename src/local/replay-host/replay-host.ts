/**
 * The durable replay host: runs the registered orchestrations locally through durable-functions' own
 * replay engine, with history, pending messages and timers persisted in Table Storage, so a host that is
 * killed and started again resumes every waiting orchestration. It is an execution environment, not a
 * second engine: what an orchestrator does is decided by the library, exactly as in Azure.
 *
 * An episode: load the instance's history and waiting messages, replay the orchestrator over
 * history + [OrchestratorStarted, ...messages], record the tasks it newly waits on as scheduling events,
 * commit, then do the work (run activities, arm timers, start sub-orchestrations). Work is derived from the
 * committed history, so after a crash the same work is found again (activities are at-least-once, as in
 * Azure; completions and timer firings are keyed, so each is recorded once).
 */
import { randomUUID } from 'node:crypto';
import { InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';
import {
  DurableClientError,
  type DurableClientPort,
  type InstanceStatus,
  type RaiseEventResult,
  type RuntimeStatus,
} from '../../ports/durable-client.port';
import { EventType, replay, workFor, type HistoryEvent, type Work } from './durable-internals';
import { isTerminal, scheduledAndDone, type InstanceRow, type TaskHubStore } from './task-hub-store';

/** An activity as the host runs it. */
export type ActivityRunner = (input: unknown, context: InvocationContext) => Promise<unknown>;

/** What the host needs to know about the app's functions. */
export interface ReplayHostRegistry {
  orchestrations: ReadonlyMap<string, df.OrchestrationHandler>;
  activities: ReadonlyMap<string, ActivityRunner>;
}

/** Tunables; the defaults suit the local host. */
export interface ReplayHostOptions {
  /** Activities run at once (Azure's maxConcurrentActivityFunctions). */
  maxConcurrentActivities?: number;
  /** Where the host reports what it does; defaults to nothing. */
  log?: (line: string) => void;
  /** The clock; tests and benches may pass their own. */
  now?: () => Date;
  /**
   * With a clock of one's own that jumps ahead, how often pending timers look at it again (ms). Unset: timers
   * sleep until they are due by the wall clock.
   */
  timerPollMs?: number;
  /**
   * How often to look for messages another process wrote (the `attest` CLI raising a decision while
   * `npm start` runs), in ms. Unset: only this process's own work is noticed.
   */
  messagePollMs?: number;
  /**
   * A client only: start, raise and read, but run nothing (the host that owns the task hub picks the work up
   * through `messagePollMs`).
   */
  clientOnly?: boolean;
}

const MAX_MESSAGES_PER_EPISODE = 90;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** Instance ids become PartitionKeys: no / \\ # ? and no control characters, at most 200 characters. */
function validInstanceId(id: string): boolean {
  if (id.length < 1 || id.length > 200 || /[/\\#?]/.test(id)) return false;
  return [...id].every((ch) => {
    const code = ch.charCodeAt(0);
    return code > 0x1f && (code < 0x7f || code > 0x9f);
  });
}

/** The local host's orchestration runtime and its client. */
export class ReplayHost implements DurableClientPort {
  private readonly running = new Map<string, Promise<void>>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, Map<number, NodeJS.Timeout>>();
  private readonly activityQueue: (() => Promise<void>)[] = [];
  private activeActivities = 0;
  private readonly inFlightActivities = new Set<string>();
  private readonly background = new Set<Promise<unknown>>();
  private stopped = false;
  private seq = 0;
  private readonly maxActivities: number;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private readonly timerPollMs: number;
  private readonly options: ReplayHostOptions;
  private poller?: NodeJS.Timeout;

  constructor(
    private readonly store: TaskHubStore,
    private readonly registry: ReplayHostRegistry,
    options: ReplayHostOptions = {},
  ) {
    this.maxActivities = options.maxConcurrentActivities ?? 10;
    this.log = options.log ?? (() => undefined);
    this.now = options.now ?? (() => new Date());
    this.timerPollMs = options.timerPollMs ?? MAX_TIMEOUT_MS;
    this.options = options;
  }

  /** Creates the table and resumes every instance that was waiting when the host last stopped. */
  async start(): Promise<{ resumed: number }> {
    await this.store.init();
    const live = await this.store.listInstances(['Pending', 'Running']);
    for (const instance of live) await this.resumeWork(instance);
    const withMessages = await this.store.instancesWithMessages();
    for (const id of withMessages) this.trigger(id);
    for (const instance of live) this.trigger(instance.instanceId);
    if (this.options.messagePollMs) {
      let polling = false;
      this.poller = setInterval(() => {
        if (polling || this.stopped) return;
        polling = true;
        this.store
          .instancesWithMessages()
          .then((ids) => ids.forEach((id) => this.running.has(id) || this.trigger(id)))
          .catch((err) => this.log(`message poll failed: ${(err as Error).message}`))
          .finally(() => (polling = false));
      }, this.options.messagePollMs);
      this.poller.unref();
    }
    return { resumed: live.length };
  }

  /** Stops arming timers and starting work, and waits for what is running to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    for (const perInstance of this.timers.values()) for (const t of perInstance.values()) clearTimeout(t);
    this.timers.clear();
    this.activityQueue.length = 0;
    await Promise.allSettled([...this.background, ...this.running.values()]);
  }

  // ---- the client -------------------------------------------------------------------------------------

  async startNew(name: string, options: { instanceId?: string; input?: unknown } = {}): Promise<string> {
    if (!this.registry.orchestrations.has(name)) {
      throw new DurableClientError(
        'ORCHESTRATION.UNKNOWN',
        `No orchestration named '${name}' is registered.`,
      );
    }
    const instanceId = options.instanceId ?? randomUUID();
    if (!validInstanceId(instanceId)) {
      throw new DurableClientError(
        'INSTANCE.INVALID_ID',
        `Instance id '${instanceId}' is not allowed: use 1 to 200 characters without / \\ # ? or control characters.`,
      );
    }
    await this.createExecution(name, instanceId, options.input);
    this.trigger(instanceId);
    return instanceId;
  }

  async raiseEvent(
    instanceId: string,
    eventName: string,
    data: unknown,
    options: { eventId: string },
  ): Promise<RaiseEventResult> {
    if (!eventName) throw new DurableClientError('EVENT.INVALID', 'An event needs a name.');
    if (!options?.eventId)
      throw new DurableClientError(
        'EVENT.INVALID',
        `Event '${eventName}' needs an eventId to be de-duplicated.`,
      );
    const instance = await this.store.getInstance(instanceId);
    if (!instance) {
      throw new DurableClientError(
        'INSTANCE.NOT_FOUND',
        `No orchestration instance '${instanceId}': event '${eventName}' was not delivered.`,
      );
    }
    if (isTerminal(instance.status)) {
      throw new DurableClientError(
        'INSTANCE.NOT_RUNNING',
        `Orchestration instance '${instanceId}' is ${instance.status}: event '${eventName}' was not delivered.`,
      );
    }
    const event = this.event(EventType.EventRaised, -1, {
      Name: eventName,
      Input: JSON.stringify(data ?? null),
    });
    const delivered = await this.store.addExternalEvent(
      instanceId,
      options.eventId,
      event,
      this.enqueueStamp(),
    );
    if (delivered) this.trigger(instanceId);
    else this.log(`event ${eventName} (${options.eventId}) for ${instanceId} was already delivered; ignored`);
    return { delivered, duplicate: !delivered };
  }

  async getStatus(instanceId: string): Promise<InstanceStatus | undefined> {
    const row = await this.store.getInstance(instanceId);
    return row && toStatus(row);
  }

  async terminate(instanceId: string, reason: string): Promise<void> {
    await this.exclusive(instanceId, async () => {
      const row = await this.store.getInstance(instanceId);
      if (!row)
        throw new DurableClientError(
          'INSTANCE.NOT_FOUND',
          `No orchestration instance '${instanceId}' to terminate.`,
        );
      if (isTerminal(row.status)) {
        throw new DurableClientError(
          'INSTANCE.NOT_RUNNING',
          `Orchestration instance '${instanceId}' is already ${row.status}.`,
        );
      }
      const history = await this.store.getHistory(row);
      const ended = this.event(EventType.ExecutionTerminated, -1, { Input: JSON.stringify(reason) });
      const next: InstanceRow = {
        ...row,
        status: 'Terminated',
        output: reason,
        historyLength: history.length + 1,
        updatedAt: this.now(),
      };
      const messages = await this.store.getMessages(instanceId);
      await this.store.commitEpisode(
        next,
        [ended],
        history.length,
        messages.slice(0, 99).map((m) => m.rowKey),
      );
      this.clearTimers(instanceId);
      await this.notifyParent(next, false, `terminated: ${reason}`);
    });
  }

  async list(filter?: { runtimeStatus?: RuntimeStatus[] }): Promise<InstanceStatus[]> {
    return (await this.store.listInstances(filter?.runtimeStatus)).map(toStatus);
  }

  /** Resolves once no episode is running or due and no activity is queued or running (for tests, benches). */
  async idle(): Promise<void> {
    for (;;) {
      const pending = [...this.running.values(), ...this.background];
      if (pending.length === 0 && this.activityQueue.length === 0 && this.activeActivities === 0) return;
      await Promise.allSettled(pending);
      await new Promise((r) => setImmediate(r));
    }
  }

  // ---- episodes ---------------------------------------------------------------------------------------

  /** Asks for an episode of `instanceId`; episodes of one instance never overlap. */
  private trigger(instanceId: string): void {
    if (this.stopped || this.options.clientOnly) return;
    this.dirty.add(instanceId);
    if (this.running.has(instanceId)) return;
    const loop = (async () => {
      try {
        while (this.dirty.has(instanceId) && !this.stopped) {
          this.dirty.delete(instanceId);
          try {
            await this.episode(instanceId);
          } catch (err) {
            if (this.stopped) return;
            this.log(`episode of ${instanceId} failed, retrying in 1 s: ${(err as Error).message}`);
            await delay(1000);
            this.dirty.add(instanceId);
          }
        }
      } finally {
        this.running.delete(instanceId);
      }
    })();
    this.running.set(instanceId, loop);
  }

  /** Runs `fn` when no episode of the instance is running, keeping others out meanwhile. */
  private async exclusive<T>(instanceId: string, fn: () => Promise<T>): Promise<T> {
    while (this.running.has(instanceId)) await this.running.get(instanceId);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    this.running.set(instanceId, gate);
    try {
      return await fn();
    } finally {
      this.running.delete(instanceId);
      release();
      if (this.dirty.has(instanceId)) this.trigger(instanceId);
    }
  }

  private async episode(instanceId: string): Promise<void> {
    const row = await this.store.getInstance(instanceId);
    const messages = await this.store.getMessages(instanceId);
    if (!row) {
      if (messages.length)
        this.log(`dropping ${messages.length} message(s) for unknown instance ${instanceId}`);
      return;
    }
    if (isTerminal(row.status)) {
      if (messages.length)
        await this.store.deleteMessages(
          instanceId,
          messages.map((m) => m.rowKey),
        );
      return;
    }
    if (messages.length === 0) return;
    const history = await this.store.getHistory(row);
    const { scheduled, done } = scheduledAndDone(history);

    // Keep each completion once: a task completed in history, or twice in this batch, is dropped.
    const batch = messages.slice(0, MAX_MESSAGES_PER_EPISODE);
    const accepted: HistoryEvent[] = [];
    const seen = new Set<number>();
    for (const m of batch) {
      if (!belongsTo(m.rowKey, row.executionId)) continue; // left over from an earlier execution
      const id = completionId(m.event);
      if (id !== undefined) {
        if (done.has(id) || seen.has(id)) continue;
        seen.add(id);
      }
      if (m.event.EventType === EventType.ExecutionStarted && history.length > 0) continue;
      accepted.push({ ...m.event, IsPlayed: false });
    }
    if (messages.length > batch.length) this.dirty.add(instanceId);

    const started = this.event(EventType.OrchestratorStarted, -1, {});
    const fresh: HistoryEvent[] = [started, ...accepted];
    const fn = this.registry.orchestrations.get(row.name);
    let next: InstanceRow;
    let work: Work[] = [];
    if (!fn) {
      fresh.push(
        this.event(EventType.ExecutionFailed, -1, {
          Reason: `Orchestration '${row.name}' is not registered.`,
        }),
      );
      next = {
        ...row,
        status: 'Failed',
        error: `Orchestration '${row.name}' is not registered with this host.`,
      };
    } else {
      const context = new InvocationContext({
        functionName: row.name,
        invocationId: randomUUID(),
        logHandler: (level, ...args) => this.log(`[${row.name} ${instanceId}] ${level}: ${args.join(' ')}`),
      });
      const result = await replay(fn, context, {
        instanceId,
        history: [...history, ...fresh],
        input: row.input,
        parentInstanceId: row.parentInstanceId,
      });
      next = { ...row, status: 'Running', customStatus: result.customStatus };
      if (result.failed) {
        fresh.push(this.event(EventType.ExecutionFailed, -1, { Reason: result.error ?? 'failed' }));
        next = { ...next, status: 'Failed', error: result.error ?? 'The orchestrator failed.' };
      } else if (result.continueAsNew) {
        next = { ...next, status: 'ContinuedAsNew', input: result.continueAsNew.input };
      } else if (result.isDone) {
        fresh.push(
          this.event(EventType.ExecutionCompleted, -1, { Result: JSON.stringify(result.output ?? null) }),
        );
        next = { ...next, status: 'Completed', output: result.output };
      } else {
        work = result.openTasks
          .map(workFor)
          .filter((w): w is Work => w !== undefined && !scheduled.has(w.id))
          .sort((a, b) => a.id - b.id);
        for (const w of work) fresh.push(this.schedulingEvent(w, instanceId));
      }
    }
    fresh.push(this.event(EventType.OrchestratorCompleted, -1, {}));
    next = { ...next, historyLength: history.length + fresh.length, updatedAt: this.now() };
    await this.store.commitEpisode(
      next,
      fresh,
      history.length,
      batch.map((m) => m.rowKey),
    );

    if (next.status === 'ContinuedAsNew') {
      this.clearTimers(instanceId);
      await this.createExecution(row.name, instanceId, next.input, row);
      this.dirty.add(instanceId);
      return;
    }
    if (isTerminal(next.status)) {
      this.clearTimers(instanceId);
      await this.notifyParent(next, next.status === 'Completed', next.error);
      this.log(`${row.name} ${instanceId} ${next.status.toLowerCase()}`);
      return;
    }
    const scheduledEvents = fresh.filter((e) => isScheduling(e));
    for (const e of scheduledEvents) this.perform(next, e);
  }

  /** Writes a new execution (fresh or continued-as-new) and its ExecutionStarted message. */
  private async createExecution(
    name: string,
    instanceId: string,
    input: unknown,
    continuing?: InstanceRow,
  ): Promise<void> {
    const existing = continuing ?? (await this.store.getInstance(instanceId));
    if (existing && !continuing && !isTerminal(existing.status)) {
      throw new DurableClientError(
        'INSTANCE.EXISTS',
        `Orchestration instance '${instanceId}' is already ${existing.status}.`,
      );
    }
    const now = this.now();
    const executionId = randomUUID().replace(/-/g, '');
    const row: InstanceRow = {
      instanceId,
      name,
      status: 'Pending',
      executionId,
      input,
      output: undefined,
      customStatus: undefined,
      historyLength: 0,
      createdAt: continuing ? continuing.createdAt : now,
      updatedAt: now,
      parentInstanceId: continuing?.parentInstanceId ?? existing?.parentInstanceId,
      parentExecutionId: continuing?.parentExecutionId ?? existing?.parentExecutionId,
      parentTaskId: continuing?.parentTaskId ?? existing?.parentTaskId,
    };
    const started = this.event(EventType.ExecutionStarted, -1, {
      Name: name,
      Input: JSON.stringify(input ?? null),
      OrchestrationInstance: { InstanceId: instanceId, ExecutionId: executionId },
    });
    const current = continuing ? await this.store.getInstance(instanceId) : existing;
    await this.store.createInstance(row, started, this.enqueueStamp(), current?.etag);
  }

  /** Re-finds the work an instance's committed history still owes (after a restart). */
  private async resumeWork(instance: InstanceRow): Promise<void> {
    const history = await this.store.getHistory(instance);
    const { scheduled, done } = scheduledAndDone(history);
    for (const [id, e] of scheduled) if (!done.has(id)) this.perform(instance, e);
  }

  /** Carries out one scheduling event: run the activity, arm the timer or start the sub-orchestration. */
  private perform(instance: InstanceRow, e: HistoryEvent): void {
    const { instanceId, executionId } = instance;
    switch (e.EventType) {
      case EventType.TaskScheduled:
        this.enqueueActivity(instanceId, executionId, e.EventId, e.Name as string, parseInput(e.Input));
        break;
      case EventType.TimerCreated:
        if (e.Canceled) return;
        this.armTimer(instanceId, executionId, e.EventId, e.FireAt as Date);
        break;
      case EventType.SubOrchestrationInstanceCreated:
        this.track(this.startChild(instance, e));
        break;
    }
  }

  private enqueueActivity(
    instanceId: string,
    executionId: string,
    taskId: number,
    name: string,
    input: unknown,
  ): void {
    const key = `${instanceId}|${executionId}|${taskId}`;
    if (this.inFlightActivities.has(key)) return;
    this.inFlightActivities.add(key);
    this.activityQueue.push(async () => {
      const runner = this.registry.activities.get(name);
      let event: HistoryEvent;
      try {
        if (!runner) throw new Error(`Activity '${name}' is not registered with this host.`);
        const context = new InvocationContext({
          functionName: name,
          invocationId: randomUUID(),
          logHandler: (level, ...args) => this.log(`[${name}] ${level}: ${args.join(' ')}`),
        });
        const result = await runner(input, context);
        event = this.event(EventType.TaskCompleted, -1, {
          TaskScheduledId: taskId,
          Result: JSON.stringify(result ?? null),
        });
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        event = this.event(EventType.TaskFailed, -1, {
          TaskScheduledId: taskId,
          Reason: error.message,
          Details: error.stack ?? error.message,
        });
      }
      try {
        if (this.stopped) return;
        await this.store.addMessage(instanceId, `task-${executionId}-${taskId}`, event, this.enqueueStamp());
        this.trigger(instanceId);
      } finally {
        this.inFlightActivities.delete(key);
      }
    });
    this.pumpActivities();
  }

  private pumpActivities(): void {
    while (!this.stopped && this.activeActivities < this.maxActivities && this.activityQueue.length > 0) {
      const job = this.activityQueue.shift() as () => Promise<void>;
      this.activeActivities++;
      this.track(
        job()
          .catch((err) => this.log(`activity bookkeeping failed: ${(err as Error).message}`))
          .finally(() => {
            this.activeActivities--;
            this.pumpActivities();
          }),
      );
    }
  }

  private armTimer(instanceId: string, executionId: string, timerId: number, fireAt: Date): void {
    if (this.stopped) return;
    let perInstance = this.timers.get(instanceId);
    if (!perInstance) this.timers.set(instanceId, (perInstance = new Map()));
    if (perInstance.has(timerId)) return;
    const wait = Math.max(0, fireAt.getTime() - this.now().getTime());
    const handle = setTimeout(
      () => {
        perInstance.delete(timerId);
        if (fireAt.getTime() > this.now().getTime()) {
          this.armTimer(instanceId, executionId, timerId, fireAt); // not due yet (a long wait, or a polled clock)
          return;
        }
        const fired = this.event(EventType.TimerFired, -1, { TimerId: timerId, FireAt: fireAt });
        this.track(
          this.store
            .addMessage(instanceId, `timer-${executionId}-${timerId}`, fired, this.enqueueStamp())
            .then(() => this.trigger(instanceId))
            .catch((err) => {
              this.log(
                `timer ${timerId} of ${instanceId} could not be recorded, retrying: ${(err as Error).message}`,
              );
              setTimeout(() => this.armTimer(instanceId, executionId, timerId, fireAt), 1000).unref();
            }),
        );
      },
      Math.min(wait, this.timerPollMs, MAX_TIMEOUT_MS),
    );
    perInstance.set(timerId, handle);
  }

  private clearTimers(instanceId: string): void {
    const perInstance = this.timers.get(instanceId);
    if (!perInstance) return;
    for (const t of perInstance.values()) clearTimeout(t);
    this.timers.delete(instanceId);
  }

  /** Starts a sub-orchestration once: a child that exists already is left alone. */
  private async startChild(parent: InstanceRow, e: HistoryEvent): Promise<void> {
    const childId = e.InstanceId as string;
    const name = e.Name as string;
    const existing = await this.store.getInstance(childId);
    const ours =
      existing &&
      existing.parentInstanceId === parent.instanceId &&
      existing.parentExecutionId === parent.executionId &&
      existing.parentTaskId === e.EventId;
    if (existing && ours) {
      if (isTerminal(existing.status))
        await this.notifyParent(existing, existing.status === 'Completed', existing.error);
      else this.trigger(childId);
      return;
    }
    const now = this.now();
    const executionId = randomUUID().replace(/-/g, '');
    const input = parseInput(e.Input);
    const row: InstanceRow = {
      instanceId: childId,
      name,
      status: 'Pending',
      executionId,
      input,
      output: undefined,
      customStatus: undefined,
      historyLength: 0,
      createdAt: now,
      updatedAt: now,
      parentInstanceId: parent.instanceId,
      parentExecutionId: parent.executionId,
      parentTaskId: e.EventId,
    };
    const started = this.event(EventType.ExecutionStarted, -1, {
      Name: name,
      Input: JSON.stringify(input ?? null),
      OrchestrationInstance: { InstanceId: childId, ExecutionId: executionId },
      ParentInstance: {
        OrchestrationInstance: { InstanceId: parent.instanceId, ExecutionId: parent.executionId },
        TaskScheduleId: e.EventId,
      },
    });
    const refusal = !this.registry.orchestrations.has(name)
      ? `No orchestration named '${name}' is registered.`
      : existing && !isTerminal(existing.status)
        ? `Orchestration instance '${childId}' is already ${existing.status}.`
        : undefined;
    if (refusal) {
      const failed = this.event(EventType.SubOrchestrationInstanceFailed, -1, {
        TaskScheduledId: e.EventId,
        Reason: refusal,
        Details: '',
      });
      await this.store.addMessage(
        parent.instanceId,
        `task-${parent.executionId}-${e.EventId}`,
        failed,
        this.enqueueStamp(),
      );
      this.trigger(parent.instanceId);
      return;
    }
    await this.store.createInstance(row, started, this.enqueueStamp(), existing?.etag);
    this.trigger(childId);
  }

  /** Tells a parent orchestration its sub-orchestration finished. */
  private async notifyParent(child: InstanceRow, succeeded: boolean, error?: string): Promise<void> {
    if (!child.parentInstanceId || child.parentTaskId === undefined) return;
    const event = succeeded
      ? this.event(EventType.SubOrchestrationInstanceCompleted, -1, {
          TaskScheduledId: child.parentTaskId,
          Result: JSON.stringify(child.output ?? null),
        })
      : this.event(EventType.SubOrchestrationInstanceFailed, -1, {
          TaskScheduledId: child.parentTaskId,
          Reason: error ?? 'The sub-orchestration failed.',
          Details: error ?? '',
        });
    await this.store.addMessage(
      child.parentInstanceId,
      `task-${child.parentExecutionId}-${child.parentTaskId}`,
      event,
      this.enqueueStamp(),
    );
    this.trigger(child.parentInstanceId);
  }

  private schedulingEvent(w: Work, instanceId: string): HistoryEvent {
    switch (w.kind) {
      case 'activity':
        return this.event(EventType.TaskScheduled, w.id, {
          Name: w.name,
          Input: JSON.stringify(w.input ?? null),
        });
      case 'timer':
        return this.event(EventType.TimerCreated, w.id, { FireAt: w.fireAt });
      case 'retry-timer':
        return this.event(EventType.TimerCreated, w.id, {
          FireAt: new Date(this.now().getTime() + w.delayMs),
        });
      case 'canceled-timer':
        // Recorded so ids stay aligned with the library's; never armed.
        return this.event(EventType.TimerCreated, w.id, { FireAt: this.now(), Canceled: true });
      case 'sub-orchestration':
        return this.event(EventType.SubOrchestrationInstanceCreated, w.id, {
          Name: w.name,
          // Azure's default child id is the parent's id and the task's sequence number.
          InstanceId: w.instanceId ?? `${instanceId}:${w.id}`,
          Input: JSON.stringify(w.input ?? null),
        });
    }
  }

  private event(type: number, eventId: number, fields: Record<string, unknown>): HistoryEvent {
    return { EventType: type, EventId: eventId, IsPlayed: false, Timestamp: this.now(), ...fields };
  }

  /** A monotonically increasing enqueue stamp, so messages keep arrival order within one millisecond. */
  private enqueueStamp(): number {
    return this.now().getTime() * 1000 + (this.seq++ % 1000);
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err) => this.log(`background work failed: ${(err as Error).message}`));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }
}

function completionId(e: HistoryEvent): number | undefined {
  switch (e.EventType) {
    case EventType.TaskCompleted:
    case EventType.TaskFailed:
    case EventType.SubOrchestrationInstanceCompleted:
    case EventType.SubOrchestrationInstanceFailed:
      return e.TaskScheduledId as number;
    case EventType.TimerFired:
      return e.TimerId as number;
    default:
      return undefined;
  }
}

/** Task, timer and start messages name their execution; external events go to whichever is current. */
function belongsTo(rowKey: string, executionId: string): boolean {
  const m = /^m-(task|timer|start)-([0-9a-f]+)/.exec(rowKey);
  return !m || m[2] === executionId;
}

function isScheduling(e: HistoryEvent): boolean {
  return (
    e.EventType === EventType.TaskScheduled ||
    e.EventType === EventType.TimerCreated ||
    e.EventType === EventType.SubOrchestrationInstanceCreated
  );
}

function parseInput(input: unknown): unknown {
  return typeof input === 'string' ? JSON.parse(input) : input;
}

function toStatus(row: InstanceRow): InstanceStatus {
  return {
    instanceId: row.instanceId,
    name: row.name,
    runtimeStatus: row.status,
    input: row.input,
    output: row.status === 'Failed' ? row.error : row.output,
    customStatus: row.customStatus,
    createdTime: row.createdAt,
    lastUpdatedTime: row.updatedAt,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
