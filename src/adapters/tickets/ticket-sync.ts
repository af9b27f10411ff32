/**
 * Ticket sync: the outbox consumer that mirrors the audit log into Jira or ServiceNow tickets (issue 10,
 * "Ticket sync"). One drain at a time (a lease row in TicketSync); each drain visits the streams appended to
 * since its checkpoint (the audit log's touched-streams index, never a scan of the log) and the streams it left
 * open, and carries each stream's outbox rows to their tickets in order.
 *
 * Exactly once in effect:
 * - a ticket's key is stored the moment create returns; a `creating` mark is stored before create, so a drain
 *   that finds the mark (a crash between "created" and "key recorded", or a create that timed out) searches by
 *   the Attest id before creating — and, when the search says nothing, waits the search lag and searches again
 *   (Jira's search is eventually consistent);
 * - a comment whose event hash is already on the ticket is not posted (hashes read once per ticket and cached);
 * - the stream cursor moves only past rows carried or held, so a crash replays rows, never skips them.
 *
 * Failures: throttled (429) waits Retry-After when short (0 or missing handled), else ends the drain until then;
 * unavailable (5xx, network) ends the drain with a backoff and counts an attempt against the row; rejected
 * (4xx) — or more attempts than allowed — parks the row: it and the rows behind it on the same ticket wait
 * (rows for other tickets go on), the admins are told, and the park is audited. An admin releases or skips it
 * (`attest tickets`); nothing is dropped.
 */
import { logger } from '../telemetry/logger';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../domain/domain-error';
import type { AuditActor } from '../../domain/audit/audit-event.model';
import type { AuditLogPort } from '../../ports/audit-log.port';
import {
  ticketLinked,
  ticketRowParked,
  ticketRowReleased,
  ticketRowSkipped,
  ticketStream,
  type AuditContext,
  type OutboxRowRef,
} from '../../domain/audit/audit-events';
import type { Clock } from '../../ports/clock.port';
import type { Notifier } from '../../ports/notifier.port';
import { TicketErrorCodes, type TicketRef, type TicketSystem } from '../../ports/ticket-system.port';
import { jobOf, resolutionText, type OutboxRowLike, type TicketJob } from './ticket-sync.model';
import type { Lane, Lease, ParkedRow, StreamState, TicketState, TicketSyncStore } from './ticket-sync.store';

/** What the drain needs of the audit log: append, the touched-streams index and a stream's outbox rows. */
export type TicketSyncLog = Pick<AuditLogPort, 'append' | 'touchedSince' | 'outbox'>;

/** Settings of the drain; every one has a default. */
export interface TicketSyncSettings {
  /** Attempts of one row against an unavailable system before it is parked (default 8). */
  maxAttempts: number;
  /** How long to wait before searching again when the search found nothing after a crash (default 5 s). */
  searchLagMs: number;
  /** The longest 429 wait taken inside a drain; a longer one ends the drain until then (default 30 s). */
  maxThrottleWaitMs: number;
  /** 429s in a row on one call before the drain ends (default 6). */
  maxThrottleRetries: number;
  /** First backoff after an unavailable system, doubled each drain it stays so (default 1 min, max 60 min). */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** The lease a drain holds (default 5 min; renewed at half time). */
  leaseMs: number;
  /** A drain stops taking new streams after this long (default 4 min); the next tick goes on. */
  budgetMs: number;
}

/** The defaults of {@link TicketSyncSettings}. */
export const TICKET_SYNC_DEFAULTS: TicketSyncSettings = {
  maxAttempts: 8,
  searchLagMs: 5_000,
  maxThrottleWaitMs: 30_000,
  maxThrottleRetries: 6,
  backoffBaseMs: 60_000,
  backoffMaxMs: 60 * 60_000,
  leaseMs: 5 * 60_000,
  budgetMs: 4 * 60_000,
};

/** What the drain is built from. */
export interface TicketSyncOptions {
  system: TicketSystem;
  log: TicketSyncLog;
  store: TicketSyncStore;
  clock: Clock;
  /** Waits `ms` (default setTimeout). Tests pass one that moves a TestClock. */
  sleep?: (ms: number) => Promise<void>;
  notifier?: Notifier;
  /** Object ids of Attest admins, told of a parked row. */
  admins?: () => Promise<string[]>;
  /** This instance's name in the lease (default a random id). */
  holder?: string;
  settings?: Partial<TicketSyncSettings>;
  /** Operational lines (default Attest's JSON logger, component `ticket-sync`). */
  logLine?: (line: string) => void;
}

/** What one drain did. */
export interface DrainReport {
  /** `busy`: another drain holds the lease; `waiting`: backing off; `stopped`: ended early (see `reason`). */
  outcome: 'done' | 'stopped' | 'busy' | 'waiting';
  reason?: string;
  streams: number;
  rows: number;
  comments: number;
  created: number;
  resolved: number;
  held: number;
  parked: number;
  /** Streams that could not be read (they stay open and are tried again each drain). */
  failedStreams: number;
}

/** A drain's report before it has done anything, with `over` on top. */
export function drainReport(over: Partial<DrainReport> = {}): DrainReport {
  return {
    outcome: 'done',
    streams: 0,
    rows: 0,
    comments: 0,
    created: 0,
    resolved: 0,
    held: 0,
    parked: 0,
    failedStreams: 0,
    ...over,
  };
}

/** The drain's actor in the audit log. */
export const TICKET_SYNC_ACTOR: AuditActor = { objectId: 'attest-ticket-sync', channel: 'system' };

const EPOCH = '1970-01-01T00:00:00.000Z';
const UNREADABLE = 'TICKETS.UNREADABLE';

/** Ends the drain: the system asked for a wait longer than a drain takes, or kept throttling. */
class StopDrain extends Error {
  constructor(
    readonly why: string,
    readonly waitMs: number,
    readonly unavailable = false,
  ) {
    super(why);
  }
}

/** The row key just before `rowKey` (`o-…-01` → `o-…-00`), to read from a row inclusive. */
const justBefore = (rowKey: string): string => `${rowKey.slice(0, -2)}00`;

function errorCode(err: unknown): string {
  return err instanceof DomainError ? err.code : TicketErrorCodes.unavailable;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 500);
}

/** The outbox consumer. */
export class TicketSync {
  private readonly s: TicketSyncSettings;
  private readonly holder: string;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly logLine: (line: string) => void;
  /** Ticket state per Attest id (the drain is their only writer while it holds the lease). */
  private readonly tickets = new Map<string, TicketState | null>();
  /** Event hashes on each ticket, read once per ticket. */
  private readonly hashes = new Map<string, Set<string>>();
  private report!: DrainReport;
  private stop: StopDrain | undefined;

  constructor(private readonly o: TicketSyncOptions) {
    this.s = { ...TICKET_SYNC_DEFAULTS, ...o.settings };
    this.holder = o.holder ?? `ticket-sync-${randomUUID().slice(0, 8)}`;
    this.sleep = o.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.logLine = o.logLine ?? logger('ticket-sync');
  }

  private now(): number {
    return this.o.clock.now().getTime();
  }

  /** One drain: carries every owed row it can, and says what it did. Skips when another drain runs. */
  async drain(): Promise<DrainReport> {
    this.report = drainReport();
    this.stop = undefined;
    const { store } = this.o;
    const lease = await store.acquireLease(this.holder, this.s.leaseMs);
    if (!lease) return { ...this.report, outcome: 'busy', reason: 'another drain holds the lease' };
    // What another instance did meanwhile is not in this one's caches.
    if (lease.previousHolder !== this.holder) {
      this.tickets.clear();
      this.hashes.clear();
    }
    try {
      const state = await store.drainState();
      if (state.notBefore && Date.parse(state.notBefore) > this.now()) {
        return { ...this.report, outcome: 'waiting', reason: `backing off until ${state.notBefore}` };
      }
      const startedAt = this.o.clock.now().toISOString();
      const deadline = this.now() + this.s.budgetMs;
      const open = new Set<string>();
      for await (const s of store.openStreams()) open.add(s);
      const candidates = new Set(open);
      for await (const s of this.o.log.touchedSince(state.checkpoint ?? EPOCH)) {
        if (!s.startsWith('tickets:')) candidates.add(s);
      }
      let stopped: string | undefined;
      for (const stream of candidates) {
        if (this.now() > deadline) {
          stopped = 'the drain used its time budget; the next one goes on';
          break;
        }
        if (!(await this.keepLease(lease))) {
          stopped = 'the lease was lost';
          break;
        }
        this.report.streams++;
        try {
          await this.syncStream(stream, open.has(stream));
        } catch (err) {
          // One stream that cannot be read (a malformed outbox row, a storage error on its rows) must not hold
          // every other stream: it stays open, so each drain tries it again, and the log says why.
          if (!open.has(stream)) await this.o.store.markOpen(stream);
          this.report.failedStreams++;
          this.logLine(`ticket sync: stream ${stream} could not be synced and stays open: ${errorText(err)}`);
        }
        if (this.stopped()) {
          stopped = this.stopped()?.why;
          break;
        }
      }
      if (stopped) {
        // The checkpoint stays: the streams not reached are found again next time.
        const stop = this.stopped();
        if (stop?.unavailable) state.failures++;
        const wait = stop?.unavailable
          ? Math.min(this.s.backoffMaxMs, this.s.backoffBaseMs * 2 ** (state.failures - 1))
          : (stop?.waitMs ?? 0);
        if (wait > 0) state.notBefore = new Date(this.now() + wait).toISOString();
        await store.saveDrainState(state);
        this.logLine(`ticket sync: drain stopped: ${stopped}`);
        return { ...this.report, outcome: 'stopped', reason: stopped };
      }
      await store.saveDrainState({ checkpoint: startedAt, failures: 0 });
      return this.report;
    } finally {
      await store.releaseLease(lease);
    }
  }

  /** Why the drain must end, once a row said so. NB. a method: TypeScript would narrow the field to undefined. */
  private stopped(): StopDrain | undefined {
    return this.stop;
  }

  private async keepLease(lease: Lease): Promise<boolean> {
    if (this.now() < lease.expiresAt - this.s.leaseMs / 2) return true;
    return this.o.store.renewLease(lease, this.s.leaseMs);
  }

  private async ticketState(correlationId: string): Promise<TicketState | undefined> {
    if (!this.tickets.has(correlationId)) {
      this.tickets.set(correlationId, (await this.o.store.ticket(correlationId)) ?? null);
      if (this.tickets.size > 20_000) this.tickets.delete(this.tickets.keys().next().value as string);
    }
    return this.tickets.get(correlationId) ?? undefined;
  }

  private async saveTicket(t: TicketState): Promise<void> {
    await this.o.store.saveTicket(t);
    this.tickets.set(t.correlationId, t);
  }

  /** Carries one stream's owed rows: decisions on its parked rows, its lanes that may move, then new rows. */
  private async syncStream(stream: string, wasOpen: boolean): Promise<void> {
    const state = await this.o.store.streamState(stream);
    if (Object.values(state.lanes).some((l) => l.parked)) await this.applyDecisions(state);
    for (const [cid, lane] of Object.entries(state.lanes)) {
      if (lane.parked) continue;
      const t = await this.ticketState(cid);
      if (t?.parkedAt) continue; // still waiting behind a row parked in another stream
      await this.replayLane(state, cid, lane);
      if (this.stop) break;
    }
    if (!this.stop) {
      for await (const row of this.o.log.outbox(stream, state.cursor)) {
        const job = jobOf(row);
        const cid = typeof job === 'string' ? `unreadable:${stream}` : job.correlationId;
        const t = await this.ticketState(cid);
        if (state.lanes[cid] || t?.parkedAt) {
          state.lanes[cid] ??= { from: row.rowKey, parked: false };
          state.cursor = row.rowKey;
          this.report.held++;
          continue;
        }
        const r = await this.carry(state, row, job);
        if (r === 'stop') break;
        if (r === 'parked') state.lanes[cid] = { from: row.rowKey, parked: true };
        state.cursor = row.rowKey;
      }
    }
    await this.o.store.saveStreamState(state, wasOpen);
  }

  /** Applies admins' release and skip decisions on this stream's parked rows. */
  private async applyDecisions(state: StreamState): Promise<void> {
    for (const p of await this.o.store.parked(state.stream)) {
      if (!p.decision) continue;
      const lane = state.lanes[p.correlationId];
      if (lane && lane.from === p.rowKey && lane.parked) {
        lane.parked = false;
        if (p.decision.kind === 'skip') lane.skipped = [...(lane.skipped ?? []), p.rowKey];
        if (state.failing?.rowKey === p.rowKey) delete state.failing;
      }
      const t = await this.ticketState(p.correlationId);
      if (t?.parkedAt?.stream === p.stream && t.parkedAt.rowKey === p.rowKey) {
        const { parkedAt: _, ...rest } = t;
        await this.saveTicket(rest);
      }
      await this.o.store.unpark(p.stream, p.rowKey);
    }
  }

  /** Carries a lane's rows (from its first, up to the cursor), for its ticket only. */
  private async replayLane(state: StreamState, cid: string, lane: Lane): Promise<void> {
    for await (const row of this.o.log.outbox(state.stream, justBefore(lane.from))) {
      if (state.cursor !== undefined && row.rowKey > state.cursor) break;
      const job = jobOf(row);
      if ((typeof job === 'string' ? `unreadable:${state.stream}` : job.correlationId) !== cid) continue;
      if (lane.skipped?.includes(row.rowKey)) continue;
      const r = await this.carry(state, row, job);
      if (r === 'done') continue;
      lane.from = row.rowKey;
      lane.parked = r === 'parked';
      return;
    }
    delete state.lanes[cid];
  }

  /** Carries one row; on failure retries later, ends the drain, or parks the row. */
  private async carry(
    state: StreamState,
    row: OutboxRowLike,
    job: TicketJob | string,
  ): Promise<'done' | 'parked' | 'stop'> {
    if (typeof job === 'string') {
      await this.park(
        state,
        row,
        `unreadable:${row.stream}`,
        '?',
        UNREADABLE,
        `The outbox row is unreadable: ${job}.`,
        1,
      );
      return 'parked';
    }
    try {
      await this.apply(row, job);
      if (state.failing?.rowKey === row.rowKey) delete state.failing;
      this.report.rows++;
      return 'done';
    } catch (err) {
      if (err instanceof StopDrain) {
        this.stop = err;
        return 'stop';
      }
      const code = errorCode(err);
      const attempts = (state.failing?.rowKey === row.rowKey ? state.failing.attempts : 0) + 1;
      if (code === TicketErrorCodes.rejected || attempts >= this.s.maxAttempts) {
        await this.park(state, row, job.correlationId, job.action, code, errorText(err), attempts);
        return 'parked';
      }
      state.failing = { rowKey: row.rowKey, attempts, code, error: errorText(err) };
      this.logLine(
        `ticket sync: ${row.stream} ${row.rowKey} failed (attempt ${attempts} of ${this.s.maxAttempts}): ${errorText(err)}`,
      );
      this.stop = new StopDrain(`${this.o.system.kind} is unavailable (${code})`, 0, true);
      return 'stop';
    }
  }

  /** The row's effect on its ticket: the ticket exists, the comment is on it, and it is resolved at the end. */
  private async apply(row: OutboxRowLike, job: TicketJob): Promise<void> {
    const t = await this.ticketFor(job);
    if (!t?.key) return; // a comment owed only to a ticket that exists, and none does
    const ref: TicketRef = { key: t.key, url: t.url ?? '' };
    let hashes = this.hashes.get(t.correlationId);
    if (!hashes) {
      hashes = await this.call(() => this.o.system.commentedHashes(ref));
      this.hashes.set(t.correlationId, hashes);
      if (this.hashes.size > 20_000) this.hashes.delete(this.hashes.keys().next().value as string);
    }
    if (!hashes.has(row.eventHash)) {
      try {
        await this.call(() => this.o.system.comment(ref, job.comment));
      } catch (err) {
        // It may have landed (a timeout after the write): read the ticket's hashes again next time.
        this.hashes.delete(t.correlationId);
        throw err;
      }
      hashes.add(row.eventHash);
      this.report.comments++;
    }
    if (job.terminal && t.owned && !t.resolved) {
      await this.call(() => this.o.system.resolve(ref, resolutionText(job)));
      await this.saveTicket({ ...t, resolved: true });
      this.report.resolved++;
    }
  }

  /** The ticket of the job's Attest id: known, found after a crash, the requester's reference, or created. */
  private async ticketFor(job: TicketJob): Promise<TicketState | undefined> {
    const cid = job.correlationId;
    let t = await this.ticketState(cid);
    if (t?.key) return t;
    if (!job.create && !t?.creating) {
      // A comment owed only to a ticket that exists (a review revocation on a request's ticket): the request's
      // own stream may not have been drained yet, so ask the system before deciding there is none.
      const found = await this.call(() => this.o.system.find(cid));
      if (!found) return undefined;
      t = { correlationId: cid, key: found.key, url: found.url, owned: true, resolved: false };
      await this.saveTicket(t);
      await this.linked(t, 'found');
      return t;
    }
    const system = this.o.system;
    if (!t?.creating && job.reference && system.referenceAllowed?.(job.reference)) {
      const key = job.reference;
      t = { correlationId: cid, key, url: '', owned: false, resolved: false };
      await this.saveTicket(t);
      await this.linked(t, 'reference');
      return t;
    }
    if (t?.creating) {
      let found = await this.call(() => system.find(cid));
      if (!found && this.s.searchLagMs > 0) {
        await this.sleep(this.s.searchLagMs);
        found = await this.call(() => system.find(cid));
      }
      if (found) {
        t = { correlationId: cid, key: found.key, url: found.url, owned: true, resolved: false };
        await this.saveTicket(t);
        await this.linked(t, 'found');
        return t;
      }
      if (!job.create) return undefined;
    }
    await this.saveTicket({ correlationId: cid, creating: true, owned: true, resolved: false });
    const ref = await this.call(() => system.create(job.draft));
    // The key is stored the moment the ticket exists; only then is anything else done.
    t = { correlationId: cid, key: ref.key, url: ref.url, owned: true, resolved: false };
    await this.saveTicket(t);
    this.hashes.set(cid, new Set());
    this.report.created++;
    await this.linked(t, 'created');
    return t;
  }

  private async linked(t: TicketState, how: 'created' | 'found' | 'reference'): Promise<void> {
    const isRequest = !t.correlationId.startsWith('campaign:');
    await this.o.log.append(
      ticketLinked(this.ctx(t.correlationId, TICKET_SYNC_ACTOR, t.key, isRequest), {
        system: this.o.system.kind,
        key: t.key ?? '',
        url: t.url ?? '',
        how,
      }),
    );
  }

  private ctx(
    cid: string,
    actor: AuditActor,
    ticketKey?: string,
    isRequest = !cid.startsWith('campaign:'),
  ): AuditContext {
    return ticketContext(cid, actor, ticketKey, isRequest);
  }

  /**
   * One ticket-system call, with 429s honoured: Retry-After waited when it is short (0: at once, then backing
   * off so a stream of zeros does not spin), a missing one backed off; a long one, or too many, end the drain.
   */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    for (let k = 0; ; k++) {
      try {
        return await fn();
      } catch (err) {
        if (!(err instanceof DomainError) || err.code !== TicketErrorCodes.throttled) throw err;
        const details = (err.details ?? {}) as { retryAfterMs?: unknown; reason?: unknown };
        const given =
          typeof details.retryAfterMs === 'number' && details.retryAfterMs >= 0
            ? details.retryAfterMs
            : undefined;
        const backoff = Math.min(this.s.maxThrottleWaitMs, 500 * 2 ** k);
        const wait = given === undefined ? backoff : given === 0 && k >= 2 ? backoff : given;
        this.logLine(
          `ticket sync: ${this.o.system.kind} throttled (${String(details.reason ?? 'no reason given')}), ` +
            `Retry-After ${given === undefined ? 'missing' : `${given} ms`}`,
        );
        if (wait > this.s.maxThrottleWaitMs || k + 1 >= this.s.maxThrottleRetries) {
          throw new StopDrain(`${this.o.system.kind} is throttling; resuming in ${wait} ms`, wait);
        }
        if (wait > 0) await this.sleep(wait);
      }
    }
  }

  /** Parks a row: audited, recorded for admins, its ticket marked, the admins told. */
  private async park(
    state: StreamState,
    row: OutboxRowLike,
    cid: string,
    action: string,
    code: string,
    error: string,
    attempts: number,
  ): Promise<void> {
    const ref: OutboxRowRef = {
      stream: row.stream,
      rowKey: row.rowKey,
      eventSeq: row.eventSeq,
      eventHash: row.eventHash,
    };
    const t = await this.ticketState(cid);
    // Audited first: a crash after it parks the row again (one more event), never a park without its event.
    await this.o.log.append(
      ticketRowParked(this.ctx(cid, TICKET_SYNC_ACTOR, t?.key), {
        row: ref,
        system: this.o.system.kind,
        code,
        error,
        attempts,
      }),
    );
    const parked: ParkedRow = {
      ...ref,
      correlationId: cid,
      action,
      code,
      error,
      attempts,
      parkedAt: this.o.clock.now().toISOString(),
    };
    await this.o.store.park(parked);
    await this.saveTicket({
      ...(t ?? { correlationId: cid, owned: true, resolved: false }),
      parkedAt: { stream: row.stream, rowKey: row.rowKey },
    });
    if (state.failing?.rowKey === row.rowKey) delete state.failing;
    this.report.parked++;
    this.logLine(`ticket sync: parked ${row.stream} ${row.rowKey} (${code}): ${error}`);
    await this.tellAdmins(parked);
  }

  private async tellAdmins(p: ParkedRow): Promise<void> {
    if (!this.o.notifier || !this.o.admins) return;
    try {
      const admins = await this.o.admins();
      if (!admins.length) return;
      await this.o.notifier.notify({
        kind: 'ticket-row-parked',
        requestId: p.correlationId,
        id: `ticket-row-parked-${p.stream}-${p.rowKey}-${p.attempts}`,
        recipients: admins,
        text:
          `A ${this.o.system.kind} update for ${p.correlationId} is parked after ${p.attempts} attempt(s): ` +
          `${p.error} (${p.code}). It and the updates behind it on the same ticket wait. ` +
          `See \`attest tickets list\`, then \`attest tickets release ${p.stream} ${p.rowKey}\` once the cause ` +
          `is fixed, or \`attest tickets skip ${p.stream} ${p.rowKey} --reason "…"\`.`,
      });
    } catch (err) {
      // The row stays parked and listed; telling the admins is best effort.
      this.logLine(`ticket sync: could not tell the admins of a parked row: ${errorText(err)}`);
    }
  }
}

function ticketContext(
  cid: string,
  actor: AuditActor,
  ticketKey: string | undefined,
  isRequest: boolean,
): AuditContext {
  return {
    stream: ticketStream(cid),
    actor,
    subject: cid,
    correlation: {
      ...(isRequest ? { requestId: cid } : {}),
      ...(ticketKey ? { ticketKey } : {}),
    },
  };
}

/** A parked row the CLI acts on could not be found or was decided already. */
export const TicketSyncErrorCodes = {
  notParked: 'TICKETS.NOT_PARKED',
  alreadyDecided: 'TICKETS.ALREADY_DECIDED',
  reasonRequired: 'TICKETS.REASON_REQUIRED',
} as const;

/**
 * Records an admin's release (try the row again) or skip (never carry it) of a parked row, with its audit
 * event in the ticket's stream. The drain applies it on its next visit to the stream.
 */
export async function decideParkedRow(
  deps: { store: TicketSyncStore; log: Pick<TicketSyncLog, 'append'>; clock: Clock },
  input: { stream: string; rowKey: string; kind: 'release' | 'skip'; actor: AuditActor; reason?: string },
): Promise<ParkedRow> {
  if (input.kind === 'skip' && !input.reason?.trim()) {
    throw new DomainError(
      TicketSyncErrorCodes.reasonRequired,
      'A skip needs a reason: the update never reaches the ticket, and the audit log says why.',
    );
  }
  const row = await deps.store.parkedRow(input.stream, input.rowKey);
  if (!row) {
    throw new DomainError(
      TicketSyncErrorCodes.notParked,
      `No parked row ${input.rowKey} in stream ${input.stream}. \`attest tickets list\` shows the parked rows.`,
    );
  }
  if (row.decision) {
    throw new DomainError(
      TicketSyncErrorCodes.alreadyDecided,
      `Row ${input.rowKey} of ${input.stream} was already ${row.decision.kind === 'skip' ? 'skipped' : 'released'} by ${row.decision.by} at ${row.decision.at}; the next drain applies it.`,
    );
  }
  const by = input.actor.upn ?? input.actor.objectId;
  const decision = {
    kind: input.kind,
    by,
    at: deps.clock.now().toISOString(),
    ...(input.reason ? { reason: input.reason } : {}),
  };
  if (!(await deps.store.decide(row, decision))) {
    throw new DomainError(
      TicketSyncErrorCodes.alreadyDecided,
      `Row ${input.rowKey} of ${input.stream} changed while this ran (another admin, or the drain). Run \`attest tickets list\` and try again.`,
    );
  }
  const ref: OutboxRowRef = {
    stream: row.stream,
    rowKey: row.rowKey,
    eventSeq: row.eventSeq,
    eventHash: row.eventHash,
  };
  const ctx = ticketContext(row.correlationId, input.actor, undefined, !row.correlationId.includes(':'));
  try {
    await deps.log.append(
      input.kind === 'skip'
        ? ticketRowSkipped(ctx, { row: ref, reason: input.reason ?? '' })
        : ticketRowReleased(ctx, { row: ref, ...(input.reason ? { reason: input.reason } : {}) }),
    );
  } catch (err) {
    // No decision without its audit event: take it back (the row is as it was) and say so.
    await deps.store.park({ ...row, decision: undefined }).catch(() => undefined);
    throw err;
  }
  return { ...row, decision };
}
