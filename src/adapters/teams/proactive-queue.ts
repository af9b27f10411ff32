/**
 * Proactive messages (a card or text sent to one conversation without a user turn) go through one queue
 * per process that keeps under Teams' bot rate limits, retries what Teams asks us to retry, and keeps the
 * order of messages within each conversation.
 *
 * Teams' limits (learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit): per bot per
 * conversation 7 sends in 1 s, 8 in 2 s, 60 in 30 s, 1800 in 3600 s; per app per tenant 50 requests/s.
 * 429, 412, 502 and 504 are to be retried with exponential backoff and random jitter.
 *
 * NB. Each limit is enforced as a sliding window over the times of the last sends, not as a token bucket
 * with a burst: a bucket of 7 refilled at 7/s lets 13 sends into one second, which Teams would throttle.
 * NB. The limits are per process. Several Function App instances sending to one tenant share Teams' budget
 * without knowing about each other; the retry on 429 is what covers that.
 */
import type { Activity, ConversationReference, TurnContext } from 'botbuilder';
import { DomainError } from '../../domain/domain-error';
import type { Clock } from '../../ports/clock.port';
import { systemClock } from '../system-clock';
import { traced } from '../telemetry/tracing';
import { currentWork, withWork, type WorkIds } from '../telemetry/work-context';

/**
 * Sends one activity to one conversation. It throws on failure; an error with a numeric `statusCode` (and,
 * when the service sent one, `retryAfter`: the Retry-After header, seconds or an HTTP date) lets the queue
 * decide whether to retry.
 */
export type ProactiveSender = (conversationId: string, activity: object) => Promise<string | void>;

/** Waits `ms` milliseconds, or less if `signal` aborts first (it then resolves, never rejects). */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** At most `max` sends within any `windowMs` milliseconds. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

/** Teams' documented per-conversation limits for "send to conversation". */
export const TEAMS_CONVERSATION_LIMITS: readonly RateLimit[] = [
  { max: 7, windowMs: 1_000 },
  { max: 8, windowMs: 2_000 },
  { max: 60, windowMs: 30_000 },
  { max: 1800, windowMs: 3_600_000 },
];

/** Teams' documented global limit: 50 requests per second per app per tenant. */
export const TEAMS_TENANT_LIMITS: readonly RateLimit[] = [
  { max: 50, windowMs: 1_000 },
  // NB. Paced, not in bursts of 50: Teams counts sends as they arrive, and a burst whose tail is delayed on the
  // way (a busy event loop, a slow socket) lands in the same second as the next burst. Measured: bursts gave 82
  // arrivals in the busiest second at 50/s; one send per 20 ms keeps arrivals under the limit.
  { max: 1, windowMs: 20 },
];

/** The HTTP statuses Teams asks bots to retry. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 412, 502, 504]);

/** Stable codes of the errors a proactive send rejects with. */
export const ProactiveErrorCodes = {
  /** 404: the bot cannot reach that conversation (app uninstalled, user gone). The caller escalates. */
  unreachable: 'PROACTIVE.UNREACHABLE',
  /** Teams refused the send with a status that retrying will not change (400, 401, 403, ...), or no status. */
  rejected: 'PROACTIVE.REJECTED',
  /** Every attempt failed with a retryable status, or Teams asked us to wait longer than we will. */
  retriesExhausted: 'PROACTIVE.RETRIES_EXHAUSTED',
  /** The queue holds as many sends as it may; the caller should try later. */
  queueFull: 'PROACTIVE.QUEUE_FULL',
  /** The queue is stopping or stopped and takes no more sends. */
  queueStopped: 'PROACTIVE.QUEUE_STOPPED',
} as const;

/** Why a proactive send did not reach its conversation. */
export class ProactiveSendError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly conversationId: string,
    readonly statusCode?: number,
    readonly attempts = 0,
    override readonly cause?: unknown,
  ) {
    super(code, message, { conversationId, statusCode, attempts });
    this.name = 'ProactiveSendError';
  }
}

/** The error shape a {@link ProactiveSender} throws; senders may throw any error with these fields. */
export class SendFailure extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
    readonly retryAfter?: string,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'SendFailure';
  }
}

/** Settings of a {@link ProactiveQueue}; everything but `send` has a production default. */
export interface ProactiveQueueOptions {
  send: ProactiveSender;
  /** Default: the system clock. */
  clock?: Clock;
  /** Default: a timer. Tests pass one driven by their own clock. */
  sleep?: Sleep;
  /** In [0, 1); default Math.random. Used for backoff jitter only. */
  random?: () => number;
  /** Default {@link TEAMS_CONVERSATION_LIMITS}. */
  perConversation?: readonly RateLimit[];
  /** Default {@link TEAMS_TENANT_LIMITS}; applied per tenant id given to `send`. */
  perTenant?: readonly RateLimit[];
  /** Attempts per send, the first included. Default 5. */
  maxAttempts?: number;
  /** First backoff; it doubles with each retry. Default 1000 ms. */
  baseDelayMs?: number;
  /** Ceiling of the exponential backoff (not of Retry-After). Default 30 s. */
  maxDelayMs?: number;
  /** A Retry-After longer than this fails the send instead of holding its conversation. Default 120 s. */
  maxRetryAfterMs?: number;
  /** Sends accepted and not yet settled, beyond which `send` rejects. Default 5000. */
  maxQueued?: number;
  /** Sends on the wire at once, across conversations. Default 32. */
  maxConcurrent?: number;
}

/** Per-send options. */
export interface SendOptions {
  /** The tenant whose per-app budget this send spends; sends without one share a single budget. */
  tenantId?: string;
}

/** How long Retry-After asks us to wait, in ms: delta-seconds or an HTTP date; undefined if absent or unreadable. */
export function parseRetryAfter(
  value: string | number | undefined | null,
  nowMs: number,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A timer-based {@link Sleep}. */
export const timerSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });

/** The times of recent sends, checked against several (max, window) limits at once. */
class SlidingWindow {
  private readonly times: number[] = [];
  private readonly longest: number;

  constructor(private readonly limits: readonly RateLimit[]) {
    this.longest = Math.max(0, ...limits.map((l) => l.windowMs));
  }

  /** The earliest time at or after `now` when one more send keeps every limit. */
  nextAllowedAt(now: number): number {
    this.forget(now);
    let at = now;
    for (const { max, windowMs } of this.limits) {
      // Sends in (now - windowMs, now]; once there are `max` of them, wait until the oldest that counts drops out.
      let first = this.times.length;
      while (first > 0 && this.times[first - 1] > now - windowMs) first--;
      const inWindow = this.times.length - first;
      if (inWindow >= max) at = Math.max(at, this.times[this.times.length - max] + windowMs);
    }
    return at;
  }

  record(now: number): void {
    this.times.push(now);
  }

  /** True when no send is recent enough to matter, so the window can be dropped. */
  isEmpty(now: number): boolean {
    this.forget(now);
    return this.times.length === 0;
  }

  private forget(now: number): void {
    let stale = 0;
    while (stale < this.times.length && this.times[stale] <= now - this.longest) stale++;
    if (stale > 0) this.times.splice(0, stale);
  }
}

interface Job {
  activity: object;
  tenant: string;
  /** The work that queued it: the send runs (and is traced) in that context, not the pump's. */
  work: WorkIds;
  attempts: number;
  resolve: (activityId: string | undefined) => void;
  reject: (error: ProactiveSendError) => void;
}

interface Conversation {
  id: string;
  /** FIFO; the head is the one being sent or waiting to be retried. */
  jobs: Job[];
  inFlight: boolean;
  /** No attempt before this time (a retry's backoff). */
  notBefore: number;
  window: SlidingWindow;
}

type Outcome = { retryInMs: number } | { error: ProactiveSendError };

/**
 * The queue proactive messages go through. `send` resolves once Teams accepted the activity and rejects
 * with a {@link ProactiveSendError} otherwise. Within a conversation, a message is not attempted before the
 * one queued ahead of it has been delivered or has failed for good; conversations take turns.
 */
export class ProactiveQueue {
  private readonly sender: ProactiveSender;
  private readonly clock: Clock;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly perConversation: readonly RateLimit[];
  private readonly perTenant: readonly RateLimit[];
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly maxQueued: number;
  private readonly maxConcurrent: number;

  private readonly conversations = new Map<string, Conversation>();
  private readonly tenants = new Map<string, SlidingWindow>();
  /** Conversations with a job that may be attempted, in turn order. */
  private readonly ready = new Set<Conversation>();
  private unsettled = 0;
  private inFlight = 0;
  private pumping = false;
  private dispatched = 0;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ProactiveQueueOptions) {
    this.sender = options.send;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? timerSleep;
    this.random = options.random ?? Math.random;
    this.perConversation = options.perConversation ?? TEAMS_CONVERSATION_LIMITS;
    this.perTenant = options.perTenant ?? TEAMS_TENANT_LIMITS;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.maxQueued = options.maxQueued ?? 5_000;
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 32);
    for (const limit of [...this.perConversation, ...this.perTenant]) {
      if (!(limit.max >= 1 && limit.windowMs > 0)) {
        throw new RangeError(`A rate limit needs max >= 1 and windowMs > 0; got ${JSON.stringify(limit)}.`);
      }
    }
  }

  /** Sends accepted and not yet delivered or failed. */
  get pending(): number {
    return this.unsettled;
  }

  /**
   * Queues `activity` for `conversationId`; settles when it is delivered (with the id Teams gave the activity,
   * when the sender reports one) or has failed for good. An activity with an `id` is an update of that
   * activity, and counts against the same limits.
   */
  send(conversationId: string, activity: object, options: SendOptions = {}): Promise<string | undefined> {
    if (this.stopping) {
      return Promise.reject(
        new ProactiveSendError(
          ProactiveErrorCodes.queueStopped,
          `Proactive message to conversation ${conversationId} not queued: the queue is stopped.`,
          conversationId,
        ),
      );
    }
    if (this.unsettled >= this.maxQueued) {
      return Promise.reject(
        new ProactiveSendError(
          ProactiveErrorCodes.queueFull,
          `Proactive message to conversation ${conversationId} not queued: ${this.unsettled} messages are already waiting (limit ${this.maxQueued}). Try again later.`,
          conversationId,
        ),
      );
    }
    return new Promise<string | undefined>((resolve, reject) => {
      const conversation = this.conversationFor(conversationId);
      conversation.jobs.push({
        activity,
        tenant: options.tenantId ?? '',
        work: currentWork(),
        attempts: 0,
        resolve,
        reject,
      });
      this.unsettled++;
      if (!conversation.inFlight) this.ready.add(conversation);
      this.kick();
    });
  }

  /** Resolves when every accepted send has been delivered or has failed. New sends are still accepted. */
  drain(): Promise<void> {
    if (this.unsettled === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Takes no more sends and resolves once those accepted have settled. With `discardPending`, sends not on
   * the wire are rejected (QUEUE_STOPPED) instead of waited for; a send on the wire is always let finish.
   */
  async stop(options: { discardPending?: boolean } = {}): Promise<void> {
    this.stopping = true;
    if (options.discardPending) {
      for (const conversation of this.conversations.values()) {
        const kept = conversation.inFlight ? conversation.jobs.slice(0, 1) : [];
        for (const job of conversation.jobs.slice(kept.length)) {
          this.settle(() =>
            job.reject(
              new ProactiveSendError(
                ProactiveErrorCodes.queueStopped,
                `Proactive message to conversation ${conversation.id} not sent: the queue was stopped.`,
                conversation.id,
                undefined,
                job.attempts,
              ),
            ),
          );
        }
        conversation.jobs = kept;
        this.ready.delete(conversation);
      }
      this.wake();
    }
    await this.drain();
  }

  private conversationFor(id: string): Conversation {
    let conversation = this.conversations.get(id);
    if (!conversation) {
      conversation = {
        id,
        jobs: [],
        inFlight: false,
        notBefore: 0,
        window: new SlidingWindow(this.perConversation),
      };
      this.conversations.set(id, conversation);
    }
    return conversation;
  }

  private tenantWindow(tenant: string): SlidingWindow {
    let window = this.tenants.get(tenant);
    if (!window) {
      window = new SlidingWindow(this.perTenant);
      this.tenants.set(tenant, window);
    }
    return window;
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  private kick(): void {
    if (this.pumping) {
      this.wake();
      return;
    }
    this.pumping = true;
    void this.pump();
  }

  private wake(): void {
    this.wakeUp?.();
  }

  /** Starts every attempt that is due, then waits for the next one to fall due or for something to change. */
  private async pump(): Promise<void> {
    try {
      while (this.unsettled > 0) {
        const now = this.now();
        let waitMs = Number.POSITIVE_INFINITY;
        for (const conversation of [...this.ready]) {
          if (this.inFlight >= this.maxConcurrent) break;
          const job = conversation.jobs[0];
          const tenant = this.tenantWindow(job.tenant);
          const at = Math.max(
            conversation.notBefore,
            conversation.window.nextAllowedAt(now),
            tenant.nextAllowedAt(now),
          );
          if (at > now) {
            waitMs = Math.min(waitMs, at - now);
            continue;
          }
          this.ready.delete(conversation);
          conversation.inFlight = true;
          this.inFlight++;
          job.attempts++;
          conversation.window.record(now);
          tenant.record(now);
          void this.attempt(conversation, job);
          // A queue that never goes idle still lets go of conversations it has finished with.
          if (++this.dispatched % 1000 === 0) this.forgetIdle();
        }
        if (this.inFlight >= this.maxConcurrent) waitMs = Number.POSITIVE_INFINITY;
        await this.waitForChange(waitMs);
      }
    } finally {
      this.pumping = false;
      this.forgetIdle();
    }
  }

  /** Resolves after `ms` (never, if infinite) or as soon as `wake` is called. */
  private waitForChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const abort = new AbortController();
      let fired = false;
      const done = (): void => {
        if (fired) return;
        fired = true;
        if (this.wakeUp === done) this.wakeUp = undefined;
        abort.abort();
        resolve();
      };
      this.wakeUp = done;
      if (Number.isFinite(ms)) this.sleep(ms, abort.signal).then(done, done);
    });
  }

  private async attempt(conversation: Conversation, job: Job): Promise<void> {
    let outcome: Outcome | undefined;
    let activityId: string | undefined;
    try {
      const update = typeof (job.activity as { id?: unknown }).id === 'string';
      activityId =
        (await withWork(job.work, () =>
          traced(`teams ${update ? 'update' : 'send'}`, { 'attest.teams.attempt': job.attempts }, () =>
            this.sender(conversation.id, job.activity),
          ),
        )) ?? undefined;
    } catch (err) {
      outcome = this.judge(conversation.id, job.attempts, err);
    }
    conversation.inFlight = false;
    this.inFlight--;
    if (outcome && 'retryInMs' in outcome) {
      conversation.notBefore = this.now() + outcome.retryInMs;
    } else {
      conversation.jobs.shift();
      const failure = outcome?.error;
      this.settle(() => (failure ? job.reject(failure) : job.resolve(activityId)));
    }
    if (conversation.jobs.length > 0) this.ready.add(conversation);
    this.wake();
  }

  /** Whether a failed attempt is retried, and after how long, or why it is given up. */
  private judge(conversationId: string, attempts: number, err: unknown): Outcome {
    const { statusCode, retryAfter } = failureFields(err);
    const reason = err instanceof Error ? err.message : String(err);
    if (statusCode === undefined || !RETRYABLE_STATUSES.has(statusCode)) {
      const unreachable = statusCode === 404;
      return {
        error: new ProactiveSendError(
          unreachable ? ProactiveErrorCodes.unreachable : ProactiveErrorCodes.rejected,
          unreachable
            ? `The bot cannot reach conversation ${conversationId} (status 404): ${reason}`
            : `Proactive message to conversation ${conversationId} was refused (status ${statusCode ?? 'none'}): ${reason}`,
          conversationId,
          statusCode,
          attempts,
          err,
        ),
      };
    }
    const askedMs = parseRetryAfter(retryAfter, this.now());
    const exhausted = (why: string): Outcome => ({
      error: new ProactiveSendError(
        ProactiveErrorCodes.retriesExhausted,
        `Proactive message to conversation ${conversationId} failed after ${attempts} attempt${attempts === 1 ? '' : 's'}${why}; last status ${statusCode}: ${reason}`,
        conversationId,
        statusCode,
        attempts,
        err,
      ),
    });
    if (attempts >= this.maxAttempts) return exhausted('');
    if (askedMs !== undefined && askedMs > this.maxRetryAfterMs) {
      return exhausted(
        ` (Retry-After asked for ${Math.round(askedMs / 1000)} s, more than the ${Math.round(this.maxRetryAfterMs / 1000)} s we wait)`,
      );
    }
    // Exponential backoff with "equal jitter": half the step fixed, half random, so throttled senders spread out.
    const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempts - 1));
    const backoff = step / 2 + this.random() * (step / 2);
    return { retryInMs: Math.max(backoff, askedMs ?? 0) };
  }

  private settle(finish: () => void): void {
    this.unsettled--;
    finish();
    if (this.unsettled === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Drops state of conversations and tenants with nothing queued and no send recent enough to count. */
  private forgetIdle(): void {
    const now = this.now();
    for (const [id, conversation] of this.conversations) {
      if (conversation.jobs.length === 0 && !conversation.inFlight && conversation.window.isEmpty(now)) {
        this.conversations.delete(id);
      }
    }
    for (const [id, window] of this.tenants) if (window.isEmpty(now)) this.tenants.delete(id);
  }
}

/** `statusCode` and Retry-After from a sender's error, whatever its exact class. */
function failureFields(err: unknown): { statusCode?: number; retryAfter?: string | number } {
  if (typeof err !== 'object' || err === null) return {};
  const e = err as { statusCode?: unknown; retryAfter?: unknown };
  return {
    statusCode: typeof e.statusCode === 'number' ? e.statusCode : undefined,
    retryAfter:
      typeof e.retryAfter === 'string' || typeof e.retryAfter === 'number' ? e.retryAfter : undefined,
  };
}

/**
 * The slice of botbuilder's CloudAdapter a proactive send needs (CloudAdapter satisfies it; so does a
 * test double).
 */
export interface ContinueConversationAdapter {
  continueConversationAsync(
    botAppId: string,
    reference: Partial<ConversationReference>,
    logic: (context: TurnContext) => Promise<void>,
  ): Promise<void>;
}

/**
 * A {@link ProactiveSender} over botbuilder: continues the stored conversation and sends the activity, or
 * updates it in place when the activity has an `id`; resolves with the activity's id.
 * botframework-connector throws @azure/core-rest-pipeline's RestError, with `statusCode` and the response
 * (`response.headers` an HttpHeaders with `get`); this maps it to a {@link SendFailure}. A conversation with
 * no stored reference fails as 404, so the caller escalates as for any unreachable user.
 *
 * NB. botframework-connector's own pipeline already retries 429 (after Retry-After) and 5xx up to 3 times
 * before throwing, and that cannot be turned off through CloudAdapter; a 429 or 502 reaching the queue
 * has been retried there already. 412 is not retried there.
 */
export function botbuilderSender(
  adapter: ContinueConversationAdapter,
  appId: string,
  referenceFor: (
    conversationId: string,
  ) => Partial<ConversationReference> | undefined | Promise<Partial<ConversationReference> | undefined>,
): ProactiveSender {
  return async (conversationId, activity) => {
    const reference = await referenceFor(conversationId);
    if (!reference) {
      throw new SendFailure(`No conversation reference is stored for conversation ${conversationId}.`, 404);
    }
    let id: string | undefined;
    try {
      await adapter.continueConversationAsync(appId, reference, async (context) => {
        const a = activity as Partial<Activity>;
        if (a.id) {
          await context.updateActivity(a);
          id = a.id;
        } else {
          id = (await context.sendActivity(a))?.id;
        }
      });
    } catch (err) {
      throw toSendFailure(err);
    }
    return id;
  };
}

/** Maps a botbuilder/Azure SDK error to a {@link SendFailure}; errors without an HTTP status keep none. */
export function toSendFailure(err: unknown): SendFailure {
  if (err instanceof SendFailure) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof err !== 'object' || err === null) return new SendFailure(message, undefined, undefined, err);
  const e = err as { statusCode?: unknown; response?: { status?: unknown; headers?: unknown } };
  const status =
    typeof e.statusCode === 'number'
      ? e.statusCode
      : typeof e.response?.status === 'number'
        ? e.response.status
        : undefined;
  return new SendFailure(message, status, headerOf(e.response?.headers, 'retry-after'), err);
}

/** One header from an HttpHeaders (`get`), a fetch Headers, or a plain object. */
function headerOf(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const withGet = headers as { get?: unknown };
  if (typeof withGet.get === 'function') {
    const value: unknown = (withGet.get as (n: string) => unknown).call(headers, name);
    return typeof value === 'string' ? value : undefined;
  }
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name && (typeof value === 'string' || typeof value === 'number'))
      return String(value);
  }
  return undefined;
}
