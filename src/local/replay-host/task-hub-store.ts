/**
 * The local replay host's persistent state, in one Table Storage table (Azurite locally). Everything about
 * an instance lives in its own partition (PartitionKey = instance id), so an episode's commit — the
 * instance row and the messages it consumed — is one entity-group transaction:
 *
 *   RowKey `instance`            status, input, output, history length, parent
 *   RowKey `h-<exec>-<seq>`      one history event (insert/upsert; only rows below historyLength count)
 *   RowKey `m-<key>`             a message not yet consumed (an event waiting for the next episode)
 *   RowKey `e-<eventId>`         a marker that an external event id was delivered (never deleted)
 */
import { RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { RuntimeStatus } from '../../ports/durable-client.port';
import { EventType, type HistoryEvent } from './durable-internals';

/** The instance row. */
export interface InstanceRow {
  instanceId: string;
  name: string;
  status: RuntimeStatus;
  executionId: string;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  error?: string;
  historyLength: number;
  createdAt: Date;
  updatedAt: Date;
  parentInstanceId?: string;
  parentExecutionId?: string;
  parentTaskId?: number;
  etag?: string;
}

/** A message waiting for its instance's next episode. */
export interface MessageRow {
  rowKey: string;
  event: HistoryEvent;
  enqueuedAt: number;
}

const INSTANCE = 'instance';
const MAX_PROPERTY_CHARS = 32000; // Table Storage allows 64 KiB per string property (UTF-16): stay well under.
/** Parts a long value may span: 14 × 32,000 characters stays under Table Storage's 1 MiB entity. */
const MAX_PARTS = 14;
/** A transaction's payload is at most 4 MiB: history rows are batched under this many characters. */
const MAX_BATCH_CHARS = 1_500_000;

function encode(value: unknown): string {
  return value === undefined ? '' : JSON.stringify(value);
}
function decode(text: unknown): unknown {
  return typeof text === 'string' && text !== '' ? JSON.parse(text) : undefined;
}

/**
 * A long string as properties `name`, `name1`, `name2`, … and `nameParts` (only when it needs more than one),
 * so an event or an input carrying a large request (a stage with hundreds of approvers) still fits a row.
 * NB. a part never ends inside a surrogate pair.
 */
export function spread(name: string, text: string): Record<string, string | number> {
  if (text.length <= MAX_PROPERTY_CHARS) return { [name]: text };
  const parts: string[] = [];
  for (let i = 0; i < text.length;) {
    let end = Math.min(text.length, i + MAX_PROPERTY_CHARS);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(i, end));
    i = end;
  }
  if (parts.length > MAX_PARTS) {
    throw new Error(
      `A value of ${text.length} characters is too large for the local task hub (max ${MAX_PARTS * MAX_PROPERTY_CHARS}); ` +
        'pass ids between orchestrations and activities, not large payloads.',
    );
  }
  const out: Record<string, string | number> = { [`${name}Parts`]: parts.length };
  parts.forEach((part, i) => (out[i === 0 ? name : `${name}${i}`] = part));
  return out;
}

/** The string {@link spread} stored; rows written before it existed hold one property and read the same. */
export function gather(entity: Record<string, unknown>, name: string): string {
  const n = Number(entity[`${name}Parts`] ?? 1);
  let text = String(entity[name] ?? '');
  for (let i = 1; i < n; i++) text += String(entity[`${name}${i}`] ?? '');
  return text;
}

/** Serialises a history event; dates become ISO strings, revived by {@link reviveEvent}. */
export function serialiseEvent(e: HistoryEvent): string {
  return JSON.stringify(e);
}

/** Parses a stored event back, turning Timestamp and FireAt into Dates as the library expects. */
export function reviveEvent(text: string): HistoryEvent {
  const e = JSON.parse(text) as HistoryEvent;
  e.Timestamp = new Date(e.Timestamp as unknown as string);
  if (typeof e.FireAt === 'string') e.FireAt = new Date(e.FireAt);
  return e;
}

const pad = (n: number) => String(n).padStart(9, '0');

/** Row key of history event `seq` in execution `exec`. */
export const historyKey = (exec: string, seq: number) => `h-${exec}-${pad(seq)}`;

/** Typed access to the task hub table. */
export class TaskHubStore {
  constructor(private readonly table: TableClient) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  /** The instance row, or undefined. */
  async getInstance(instanceId: string): Promise<InstanceRow | undefined> {
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(instanceId, INSTANCE);
      return this.toInstance(e);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** All instance rows, optionally filtered by status. */
  async listInstances(statuses?: RuntimeStatus[]): Promise<InstanceRow[]> {
    const rows: InstanceRow[] = [];
    const filter = `RowKey eq '${INSTANCE}'`;
    for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const row = this.toInstance(e);
      if (!statuses || statuses.includes(row.status)) rows.push(row);
    }
    return rows;
  }

  /** The first `length` history events of the instance's current execution. */
  async getHistory(instance: InstanceRow): Promise<HistoryEvent[]> {
    if (instance.historyLength === 0) return [];
    const lo = historyKey(instance.executionId, 0);
    const hi = historyKey(instance.executionId, instance.historyLength);
    const filter = `PartitionKey eq '${odata(instance.instanceId)}' and RowKey ge '${lo}' and RowKey lt '${hi}'`;
    const events: HistoryEvent[] = [];
    for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      events.push(reviveEvent(gather(e, 'event')));
    }
    if (events.length !== instance.historyLength) {
      throw new Error(
        `Task hub is inconsistent: instance ${instance.instanceId} records ${instance.historyLength} history events but ${events.length} were found.`,
      );
    }
    return events;
  }

  /** Messages waiting for the instance, oldest first. */
  async getMessages(instanceId: string): Promise<MessageRow[]> {
    const filter = `PartitionKey eq '${odata(instanceId)}' and RowKey ge 'm-' and RowKey lt 'm.'`;
    const rows: MessageRow[] = [];
    for await (const e of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      rows.push({
        rowKey: e.rowKey as string,
        event: reviveEvent(gather(e, 'event')),
        enqueuedAt: Number(e.enqueuedAt),
      });
    }
    return rows.sort((a, b) => a.enqueuedAt - b.enqueuedAt || a.rowKey.localeCompare(b.rowKey));
  }

  /** Ids of instances that have messages waiting (used at start-up to resume work). */
  async instancesWithMessages(): Promise<Set<string>> {
    const ids = new Set<string>();
    const filter = `RowKey ge 'm-' and RowKey lt 'm.'`;
    for await (const e of this.table.listEntities({ queryOptions: { filter, select: ['PartitionKey'] } })) {
      ids.add(e.partitionKey as string);
    }
    return ids;
  }

  /**
   * Adds a message unless one with the same key exists. Returns false when it already existed — how a
   * completion reported twice, or a timer fired twice, stays one event.
   */
  async addMessage(
    instanceId: string,
    key: string,
    event: HistoryEvent,
    enqueuedAt: number,
  ): Promise<boolean> {
    try {
      await this.table.createEntity({
        partitionKey: instanceId,
        rowKey: `m-${key}`,
        ...spread('event', serialiseEvent(event)),
        enqueuedAt,
      });
      return true;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) return false;
      throw err;
    }
  }

  /**
   * Records an external event: its de-duplication marker and its message in one transaction. Returns false
   * when the marker already existed (the event id was delivered before).
   */
  async addExternalEvent(
    instanceId: string,
    eventId: string,
    event: HistoryEvent,
    enqueuedAt: number,
  ): Promise<boolean> {
    const key = eventKey(eventId);
    try {
      await this.table.submitTransaction([
        [
          'create',
          { partitionKey: instanceId, rowKey: `e-${key}`, eventId, deliveredAt: new Date(enqueuedAt) },
        ],
        [
          'create',
          {
            partitionKey: instanceId,
            rowKey: `m-event-${key}`,
            ...spread('event', serialiseEvent(event)),
            enqueuedAt,
          },
        ],
      ]);
      return true;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) return false;
      throw err;
    }
  }

  /**
   * Creates (or, for a finished instance, restarts) an instance together with its ExecutionStarted message.
   * `expectEtag` guards a restart against a concurrent one; `undefined` means the instance must not exist.
   */
  async createInstance(
    row: InstanceRow,
    started: HistoryEvent,
    enqueuedAt: number,
    expectEtag?: string,
  ): Promise<void> {
    const actions: TransactionAction[] = [
      expectEtag
        ? ['update', this.toEntity(row), 'Replace', { etag: expectEtag }]
        : ['create', this.toEntity(row)],
      [
        'upsert',
        {
          partitionKey: row.instanceId,
          rowKey: `m-start-${row.executionId}`,
          ...spread('event', serialiseEvent(started)),
          enqueuedAt,
        },
      ],
    ];
    await this.table.submitTransaction(actions);
  }

  /**
   * Commits one episode: writes the new history rows, then in one transaction replaces the instance row
   * (guarded by its etag) and deletes the consumed messages. A crash between the two steps leaves history
   * rows past historyLength, which are ignored and overwritten by the episode's retry.
   */
  async commitEpisode(
    row: InstanceRow,
    newEvents: HistoryEvent[],
    firstSeq: number,
    consumed: string[],
  ): Promise<void> {
    if (consumed.length > 99) throw new Error('An episode may consume at most 99 messages.');
    // Batches of at most 100 rows and well under a transaction's 4 MiB.
    let chunk: TransactionAction[] = [];
    let chars = 0;
    for (const [j, e] of newEvents.entries()) {
      const text = serialiseEvent(e);
      if (chunk.length === 100 || (chunk.length > 0 && chars + text.length > MAX_BATCH_CHARS)) {
        await this.table.submitTransaction(chunk);
        chunk = [];
        chars = 0;
      }
      chunk.push([
        'upsert',
        {
          partitionKey: row.instanceId,
          rowKey: historyKey(row.executionId, firstSeq + j),
          ...spread('event', text),
        },
        'Replace',
      ]);
      chars += text.length;
    }
    if (chunk.length) await this.table.submitTransaction(chunk);
    const actions: TransactionAction[] = [
      ['update', this.toEntity(row), 'Replace', { etag: row.etag }],
      ...consumed.map((rowKey): TransactionAction => ['delete', { partitionKey: row.instanceId, rowKey }]),
    ];
    await this.table.submitTransaction(actions);
  }

  /** Deletes messages (for a finished instance) without touching history. */
  async deleteMessages(instanceId: string, rowKeys: string[]): Promise<void> {
    for (let i = 0; i < rowKeys.length; i += 100) {
      await this.table.submitTransaction(
        rowKeys
          .slice(i, i + 100)
          .map((rowKey): TransactionAction => ['delete', { partitionKey: instanceId, rowKey }]),
      );
    }
  }

  /** Replaces the instance row (etag-guarded). */
  async updateInstance(row: InstanceRow): Promise<void> {
    await this.table.updateEntity(this.toEntity(row), 'Replace', { etag: row.etag });
  }

  private toEntity(row: InstanceRow) {
    return {
      partitionKey: row.instanceId,
      rowKey: INSTANCE,
      name: row.name,
      status: row.status,
      executionId: row.executionId,
      ...spread('input', encode(row.input)),
      ...spread('output', encode(row.output)),
      customStatus: encode(row.customStatus),
      error: row.error ?? '',
      historyLength: row.historyLength,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
      parentInstanceId: row.parentInstanceId ?? '',
      parentExecutionId: row.parentExecutionId ?? '',
      parentTaskId: row.parentTaskId ?? -1,
    };
  }

  private toInstance(e: Record<string, unknown>): InstanceRow {
    return {
      instanceId: e.partitionKey as string,
      name: e.name as string,
      status: e.status as RuntimeStatus,
      executionId: e.executionId as string,
      input: decode(gather(e, 'input')),
      output: decode(gather(e, 'output')),
      customStatus: decode(e.customStatus),
      error: (e.error as string) || undefined,
      historyLength: Number(e.historyLength),
      createdAt: new Date(e.createdAt as string),
      updatedAt: new Date(e.updatedAt as string),
      parentInstanceId: (e.parentInstanceId as string) || undefined,
      parentExecutionId: (e.parentExecutionId as string) || undefined,
      parentTaskId: Number(e.parentTaskId) >= 0 ? Number(e.parentTaskId) : undefined,
      etag: e.etag as string,
    };
  }
}

/** Quotes a value for an OData string literal. */
export function odata(value: string): string {
  return value.replace(/'/g, "''");
}

/** Row keys may not contain / \ # ? or control characters: encode event ids that do. */
function eventKey(eventId: string): string {
  return /^[A-Za-z0-9._:@-]{1,200}$/.test(eventId)
    ? eventId
    : Buffer.from(eventId).toString('base64url').slice(0, 200);
}

/** True for statuses after which an instance does nothing more. */
export function isTerminal(status: RuntimeStatus): boolean {
  return status === 'Completed' || status === 'Failed' || status === 'Terminated';
}

/** Ids of tasks the history has scheduled, and of those it has completed (by task/timer id). */
export function scheduledAndDone(history: HistoryEvent[]): {
  scheduled: Map<number, HistoryEvent>;
  done: Set<number>;
} {
  const scheduled = new Map<number, HistoryEvent>();
  const done = new Set<number>();
  for (const e of history) {
    switch (e.EventType) {
      case EventType.TaskScheduled:
      case EventType.TimerCreated:
      case EventType.SubOrchestrationInstanceCreated:
        scheduled.set(e.EventId, e);
        break;
      case EventType.TaskCompleted:
      case EventType.TaskFailed:
      case EventType.SubOrchestrationInstanceCompleted:
      case EventType.SubOrchestrationInstanceFailed:
        done.add(e.TaskScheduledId as number);
        break;
      case EventType.TimerFired:
        done.add(e.TimerId as number);
        break;
    }
  }
  return { scheduled, done };
}
