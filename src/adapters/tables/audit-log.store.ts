/**
 * The audit log on Table Storage (docs: ../shared/ARCHITECTURE.md, "The audit log"; row layout in
 * audit-row-keys.ts). The common append is ONE insert: the event row is created at the cached head's seq + 1,
 * and the 409 a taken seq gets is what serialises writers — the loser reads the true head (the last event
 * row of the partition, found from the head hint) and tries again. An append with outbox rows is one
 * entity-group transaction (event and outbox rows in the stream's partition), and every
 * {@link HINT_EVERY}th event also rewrites the head hint row in its transaction. Nothing trusts the hint:
 * heads, digests and verification read the event rows themselves.
 */
import { randomUUID } from 'node:crypto';
import {
  odata,
  RestError,
  type TableClient,
  type TableEntity,
  type TransactionAction,
} from '@azure/data-tables';
import {
  buildDigest,
  DigestChainVerifier,
  DigestCheckpoints,
  digestSummaryOf,
  type AuditDigest,
  type DigestSummary,
} from '../../domain/audit/audit-digest.math';
import type { AnchorStore } from '../../ports/anchor-store.port';
import type { AuditEvent, AuditEventInput, Sha256, StreamHead } from '../../domain/audit/audit-event.model';
import {
  DIGEST_STREAM,
  failure,
  type AnchorCoverage,
  type AuditFailure,
  type VerifyResult,
} from '../../domain/audit/audit-verify.result';
import { AuditErrorCodes } from '../../domain/audit/audit.errors';
import { chainEvent, StreamVerifier } from '../../domain/audit/hash-chain.math';
import { DomainError } from '../../domain/domain-error';
import type {
  AppendOptions,
  AuditLogPort,
  OutboxRow,
  StreamVerifyResult,
  VerifyOptions,
  DigestOutcome,
  WrittenDigest,
} from '../../ports/audit-log.port';
import type { Clock } from '../../ports/clock.port';
import { sha256 } from '../crypto/sha256';
import type { TableFactory } from './table-client-factory';
import { TableNames } from './table-names';
import {
  digestOfEntity,
  EVENT_COLUMNS,
  eventEntity,
  eventOfEntity,
  HEAD_COLUMNS,
  headEntity,
  headOfEntity,
  headsChunks,
  headsOfChunk,
  MAX_PROPERTY_CHARS,
  outboxOfEntity,
  type DigestEntity,
} from './audit-entity.mapper';
import {
  bucketBefore,
  bucketOf,
  DIGEST_PARTITION,
  DIGEST_ROWS,
  digestHeadsPrefix,
  digestRowKey,
  EVENT_ROWS,
  eventRowKey,
  HEAD_ROW,
  HINT_EVERY,
  LATEST_DIGEST_ROW,
  OUTBOX_ROWS,
  outboxRowKey,
  seqOfEventRowKey,
  streamKey,
  streamOfKey,
  TOUCH_BUCKET_MINUTES,
} from './audit-row-keys';

/** What the store needs. */
export interface AuditLogStoreOptions {
  table: TableClient;
  digests: TableClient;
  clock: Clock;
  sha256: Sha256;
  /**
   * Where digests are anchored outside the tables (docs/adr/0009). Without one, digests are written but not
   * anchored, and `verify` checks no anchors but the one it is given.
   */
  anchors?: AnchorStore;
  /** Attempts per append before `AUDIT.CONTENDED` (default 10). */
  maxAttempts?: number;
  /** Stream heads remembered between appends (default 10,000; 0 disables the cache). */
  headCacheSize?: number;
  /**
   * The touched-streams index (AuditTouched). NB. every writer of a log must have it: digests after the first
   * read only the streams it names. Without it (read-only uses: `attest verify`, `attest log`) appends write
   * no markers, {@link AuditLogStore.touchedSince} refuses, and a digest reads every event row.
   */
  touched?: TableClient;
}

/** Table Storage's entity-group transaction limit. */
const MAX_TRANSACTION_ROWS = 100;
/** Table Storage refuses transaction payloads over 4 MiB; stay clear of it (JSON framing adds some). */
const MAX_TRANSACTION_BYTES = 3_500_000;
/** Rows per page of a query: Table Storage's maximum. */
const PAGE_ROWS = 1000;

function isConflict(err: unknown): boolean {
  return err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412);
}

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The row of the touched-streams table that records when the index began (sorts apart from `t-` buckets). */
const INDEX_SINCE = { pk: 'index', rk: 'since' } as const;

/** Head reads a digest keeps in flight at once (touched streams are read in parallel, a few at a time). */
const HEAD_READS_IN_FLIGHT = 16;

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The first `n` items. */
async function* take<T>(items: AsyncIterable<T>, n: number): AsyncIterable<T> {
  if (n <= 0) return;
  let i = 0;
  for await (const item of items) {
    yield item;
    if (++i >= n) return;
  }
}

function entityBytes(actions: TransactionAction[]): number {
  return actions.reduce((n, a) => n + Buffer.byteLength(JSON.stringify(a[1]), 'utf8'), 0);
}

/** The head a row read with {@link HEAD_COLUMNS} stands for: its position (RowKey) and its hash. */
function headOfRow(stream: string, row: Record<string, unknown>, seq: number): StreamHead {
  const hash = row.hash;
  if (typeof hash !== 'string') throw new Error(`row ${String(row.rowKey)} has no hash`);
  return { stream, seq, hash };
}

/** The append-only, verifiable audit log on two tables (AuditLog, AuditDigests). */
export class AuditLogStore implements AuditLogPort {
  private readonly table: TableClient;
  private readonly digests: TableClient;
  private readonly clock: Clock;
  private readonly sha256: Sha256;
  private readonly maxAttempts: number;
  private readonly headCacheSize: number;
  /**
   * Heads this instance wrote last, so a writer that appends to the same stream again reads nothing first.
   * NB. a stale entry is harmless: the insert at its seq + 1 gets 409 and the head is read afresh.
   */
  private readonly heads = new Map<string, StreamHead>();
  private readonly touched: TableClient | undefined;
  private readonly anchors: AnchorStore | undefined;
  /** Appends this process made (see {@link digestIfChanged}). */
  private appends = 0;
  /** The last interval check that wrote nothing: when, after how many appends, and what it answered. */
  private lastIdle:
    { at: number; appends: number; result: (DigestSummary & DigestOutcome) | undefined } | undefined;
  /** The newest digest this process wrote or read, so an idle interval tick reads only the pointer and index. */
  private lastSeen: DigestSummary | undefined;
  /** When the touched index began (read once). */
  private indexSinceMs: number | undefined;
  /** Every digest up to this seq is anchored, as this process has seen: the interval timer skips re-checking. */
  private anchoredThrough = 0;
  /**
   * (bucket, stream) markers this instance has written, so further appends to a stream within one bucket
   * write nothing extra. Only the current and previous buckets are kept.
   */
  private readonly marked = new Set<string>();
  private markedBucket = '';

  constructor(options: AuditLogStoreOptions) {
    this.table = options.table;
    this.digests = options.digests;
    this.clock = options.clock;
    this.sha256 = options.sha256;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.headCacheSize = options.headCacheSize ?? 10_000;
    this.touched = options.touched;
    this.anchors = options.anchors;
  }

  /**
   * The log on the standard tables (AuditLog, AuditDigests, AuditTouched) of `tables`, anchored in `anchors`:
   * how every host and command that writes opens it.
   */
  static on(tables: Pick<TableFactory, 'client'>, clock: Clock, anchors?: AnchorStore): AuditLogStore {
    return new AuditLogStore({
      table: tables.client(TableNames.auditLog),
      digests: tables.client(TableNames.auditDigests),
      touched: tables.client(TableNames.auditTouched),
      clock,
      sha256,
      ...(anchors ? { anchors } : {}),
    });
  }

  /** Creates the tables if they do not exist. */
  async init(): Promise<void> {
    await Promise.all([
      this.table.createTable(),
      this.digests.createTable(),
      ...(this.touched ? [this.touched.createTable()] : []),
    ]);
    if (this.touched) {
      // When the index began: a digest older than that cannot be moved on from the index alone (appends before
      // it left no markers), so the next digest reads every head once. Written once; later starts find it.
      try {
        await this.touched.createEntity({
          partitionKey: INDEX_SINCE.pk,
          rowKey: INDEX_SINCE.rk,
          at: this.clock.now().toISOString(),
        });
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
  }

  /** When the touched-streams index began, or undefined when it cannot be known (then digests scan). */
  private async indexSince(): Promise<number | undefined> {
    if (!this.touched) return undefined;
    if (this.indexSinceMs !== undefined) return this.indexSinceMs;
    try {
      const row = await this.touched.getEntity<{ at?: unknown }>(INDEX_SINCE.pk, INDEX_SINCE.rk);
      const at = typeof row.at === 'string' ? Date.parse(row.at) : NaN;
      if (Number.isFinite(at)) this.indexSinceMs = at;
      return this.indexSinceMs;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Marks the stream touched in the bucket of `time`, once per bucket and process. NB. called before the
   * event is inserted: a marker whose append then fails is a harmless false positive, while a failed marker
   * fails the append (so no event ever lands unmarked).
   */
  private async markTouched(time: string, pk: string): Promise<void> {
    if (!this.touched) return;
    const bucket = bucketOf(Date.parse(time));
    const key = `${bucket}|${pk}`;
    if (this.marked.has(key)) return;
    if (bucket !== this.markedBucket) {
      // Keep the previous bucket's marks too: writers' clocks and this one may straddle a bucket edge.
      const keep = this.markedBucket;
      for (const k of this.marked) if (!k.startsWith(`${keep}|`)) this.marked.delete(k);
      this.markedBucket = bucket;
    }
    await this.touched.upsertEntity({ partitionKey: bucket, rowKey: pk, at: time }, 'Replace');
    this.marked.add(key);
  }

  /** {@inheritDoc AuditLogPort.touchedSince} */
  async *touchedSince(sinceIso: string): AsyncIterable<string> {
    if (!this.touched) {
      throw new Error(
        'This audit log was opened without its touched-streams table (AuditTouched); open it with `touched`.',
      );
    }
    const since = Date.parse(sinceIso);
    if (typeof sinceIso !== 'string' || !Number.isFinite(since)) {
      throw new DomainError(
        AuditErrorCodes.invalidEvent,
        `touchedSince needs an ISO 8601 time such as 2026-11-29T15:45:00Z, not '${String(sinceIso)}'.`,
      );
    }
    const from = bucketBefore(since);
    const nowBucket = bucketOf(this.clock.now().getTime());
    const to = nowBucket > bucketOf(since) ? nowBucket : bucketOf(since);
    const filter = odata`PartitionKey ge ${from} and PartitionKey le ${to}`;
    const seen = new Set<string>();
    for await (const row of this.touched.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['partitionKey', 'rowKey'] },
    })) {
      const pk = row.rowKey as string;
      if (seen.has(pk)) continue;
      seen.add(pk);
      yield streamOfKey(pk);
    }
  }

  /** {@inheritDoc AuditLogPort.outbox} */
  async *outbox(stream: string, afterRowKey?: string): AsyncIterable<OutboxRow> {
    const pk = streamKey(stream);
    const after =
      afterRowKey !== undefined && afterRowKey > OUTBOX_ROWS.from ? afterRowKey : OUTBOX_ROWS.from;
    const filter = odata`PartitionKey eq ${pk} and RowKey gt ${after} and RowKey lt ${OUTBOX_ROWS.to}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      yield outboxOfEntity(stream, row);
    }
  }

  /** {@inheritDoc AuditLogPort.append} */
  async append(input: AuditEventInput, opts: AppendOptions = {}): Promise<AuditEvent> {
    const outbox = opts.outbox ?? [];
    for (const item of outbox) {
      if (item.target !== 'jira' && item.target !== 'servicenow') {
        throw new DomainError(
          AuditErrorCodes.invalidEvent,
          `Unknown outbox target '${String(item.target)}'.`,
        );
      }
    }
    const payloads = outbox.map((item) => JSON.stringify(item.payload));
    for (const p of payloads) {
      if (p === undefined || p.length > MAX_PROPERTY_CHARS) {
        throw new DomainError(
          AuditErrorCodes.tooLarge,
          `An outbox payload must be JSON of at most ${MAX_PROPERTY_CHARS} characters.`,
        );
      }
    }
    const [event] = await this.commit(input.stream, [input], (pk, [e]) =>
      outbox.map((item, i) => ({
        partitionKey: pk,
        rowKey: outboxRowKey(e.seq, i + 1),
        target: item.target,
        payload: payloads[i],
        eventSeq: e.seq,
        eventHash: e.hash,
        createdAt: e.time,
      })),
    );
    return event;
  }

  /** {@inheritDoc AuditLogPort.appendMany} */
  async appendMany(stream: string, inputs: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    if (inputs.length === 0) return [];
    for (const input of inputs) {
      if (input.stream !== stream) {
        throw new DomainError(
          AuditErrorCodes.streamMismatch,
          `appendMany for stream '${stream}' was given an event of stream '${input.stream}'.`,
        );
      }
    }
    return this.commit(stream, inputs, () => []);
  }

  /**
   * Chains `inputs` after the stream's head and creates them with the `extra` rows: one insert when that is
   * a single row, else one transaction (which also rewrites the head hint when it passes a multiple of
   * {@link HINT_EVERY}). On 409 — another writer took the seq, or the guess that an unknown stream is new
   * was wrong — reads the true head and tries again.
   */
  private async commit(
    stream: string,
    inputs: readonly AuditEventInput[],
    extra: (pk: string, events: AuditEvent[]) => TableEntity[],
  ): Promise<AuditEvent[]> {
    const pk = streamKey(stream);
    // A writer that does not know the stream guesses it is new: a new stream's first append is then one
    // insert too, and a wrong guess costs one 409 (not counted as an attempt) before the head is read.
    let head = this.heads.get(stream);
    let guessing = head === undefined;
    for (let attempt = 0; ;) {
      const time = this.clock.now().toISOString();
      const events: AuditEvent[] = [];
      let prev: StreamHead | undefined = head;
      for (const input of inputs) {
        const e = chainEvent(prev, input, time, this.sha256);
        events.push(e);
        prev = e;
      }
      const last = events[events.length - 1];
      const rows = [...events.map((e) => eventEntity(pk, e)), ...extra(pk, events)];
      // One row is always reserved for the hint, so whether an append fits never depends on its seq.
      if (rows.length + 1 > MAX_TRANSACTION_ROWS) {
        throw new DomainError(
          AuditErrorCodes.batchTooLarge,
          `One transaction holds at most ${MAX_TRANSACTION_ROWS} rows, one of them reserved for the head ` +
            `hint; this append needs ${rows.length + 1} (events, outbox rows and the hint). Split it.`,
        );
      }
      const actions: TransactionAction[] = rows.map((row): TransactionAction => ['create', row]);
      if (Math.floor(last.seq / HINT_EVERY) > Math.floor((events[0].seq - 1) / HINT_EVERY)) {
        actions.push(['upsert', headEntity(pk, last), 'Replace']);
      }
      if (entityBytes(actions) > MAX_TRANSACTION_BYTES) {
        throw new DomainError(
          AuditErrorCodes.batchTooLarge,
          'This append is too large for one transaction (4 MiB). Split it.',
        );
      }
      // Before the insert, outside the try: a marker that cannot be written fails the append.
      await this.markTouched(time, pk);
      try {
        if (actions.length === 1) await this.table.createEntity(rows[0]);
        else await this.table.submitTransaction(actions);
        this.remember({ stream, seq: last.seq, hash: last.hash });
        this.appends++;
        return events;
      } catch (err) {
        this.heads.delete(stream);
        if (!isConflict(err)) throw err;
        if (guessing) guessing = false;
        else if (++attempt >= this.maxAttempts) break;
        // Jittered backoff so writers that keep racing stop colliding in lockstep.
        else if (attempt > 1) await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
        head = await this.findHead(stream, pk);
      }
    }
    throw new DomainError(
      AuditErrorCodes.contended,
      `Could not append to audit stream '${stream}' after ${this.maxAttempts} attempts: other writers kept taking the next seq. Retry later.`,
      { stream },
    );
  }

  private remember(head: StreamHead): void {
    if (this.headCacheSize <= 0) return;
    this.heads.delete(head.stream);
    this.heads.set(head.stream, head);
    if (this.heads.size > this.headCacheSize) {
      const oldest = this.heads.keys().next().value;
      if (oldest !== undefined) this.heads.delete(oldest);
    }
  }

  /**
   * The true head: the stream's last event row. A stream of under {@link PAGE_ROWS} events is one query;
   * a longer one is read forward from the head hint (if the hint points at an event that exists) or else
   * to its end, after which the hint is rewritten, best effort.
   */
  private async findHead(stream: string, pk: string): Promise<StreamHead | undefined> {
    const start = await this.lastEventFrom(stream, pk, EVENT_ROWS.from, 1);
    if (start.complete) return start.last;
    const hint = await this.readHint(pk);
    if (hint && start.last && hint.seq > start.last.seq) {
      const fromHint = await this.lastEventFrom(stream, pk, eventRowKey(hint.seq), Infinity);
      if (fromHint.last) {
        if (fromHint.rows > HINT_EVERY) await this.repairHint(pk, fromHint.last);
        return fromHint.last;
      }
    }
    const rest = await this.lastEventFrom(stream, pk, eventRowKey(start.last?.seq ?? 0), Infinity);
    const last = rest.last ?? start.last;
    if (last) await this.repairHint(pk, last);
    return last;
  }

  /** The last event row at or after RowKey `from`, reading at most `maxPages` pages. */
  private async lastEventFrom(
    stream: string,
    pk: string,
    from: string,
    maxPages: number,
  ): Promise<{ last: StreamHead | undefined; complete: boolean; rows: number }> {
    const filter = odata`PartitionKey eq ${pk} and RowKey ge ${from} and RowKey lt ${EVENT_ROWS.to}`;
    let last: StreamHead | undefined;
    let rows = 0;
    let pages = 0;
    for await (const page of this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: [...HEAD_COLUMNS] } })
      .byPage({ maxPageSize: PAGE_ROWS })) {
      for (const row of page) {
        const seq = seqOfEventRowKey(row.rowKey as string);
        if (seq !== undefined) last = headOfRow(stream, row, seq);
      }
      rows += page.length;
      if (++pages >= maxPages && page.continuationToken) return { last, complete: false, rows };
    }
    return { last, complete: true, rows };
  }

  private async readHint(pk: string): Promise<StreamHead | undefined> {
    try {
      return headOfEntity(await this.table.getEntity<Record<string, unknown>>(pk, HEAD_ROW));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      if (err instanceof RestError) throw err;
      return undefined; // a malformed hint is no hint
    }
  }

  /** Rewrites the hint; it is only a hint, so failing to is not an error. */
  private async repairHint(pk: string, head: StreamHead): Promise<void> {
    try {
      await this.table.upsertEntity(headEntity(pk, head), 'Replace');
    } catch {
      // Best effort: the next reader reads a little further.
    }
  }

  /** {@inheritDoc AuditLogPort.read} */
  async *read(stream: string): AsyncIterable<AuditEvent> {
    const pk = streamKey(stream);
    const filter = odata`PartitionKey eq ${pk} and RowKey ge ${EVENT_ROWS.from} and RowKey lt ${EVENT_ROWS.to}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      yield eventOfEntity(row);
    }
  }

  /** {@inheritDoc AuditLogPort.head} */
  async head(stream: string): Promise<StreamHead | undefined> {
    return this.findHead(stream, streamKey(stream));
  }

  /**
   * Every row of the AuditLog table with the given columns, in one ordered pass (PartitionKey, then RowKey),
   * a page of {@link PAGE_ROWS} at a time; the next page is fetched while the caller works on this one.
   * NB. no filter: the service would scan the whole table either way, and without one Azurite pages faster.
   */
  private async *allRows(select: readonly string[]): AsyncIterable<Record<string, unknown>> {
    const paged = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { select: [...select] } })
      .byPage({ maxPageSize: PAGE_ROWS });
    const pages = paged[Symbol.asyncIterator]();
    let next = pages.next();
    for (;;) {
      const page = await next;
      if (page.done) return;
      next = pages.next();
      // If the caller stops early, the page in flight is dropped: its failure must not go unhandled.
      next.catch(() => undefined);
      yield* page.value;
    }
  }

  /** {@inheritDoc AuditLogPort.scanAll} */
  async *scanAll(): AsyncIterable<AuditEvent> {
    for await (const row of this.allRows(EVENT_COLUMNS)) {
      if (seqOfEventRowKey(row.rowKey as string) === undefined) continue;
      try {
        yield eventOfEntity(row);
      } catch (err) {
        throw new Error(
          `Audit row ${String(row.partitionKey)}/${String(row.rowKey)} is malformed: ${(err as Error).message}.`,
        );
      }
    }
  }

  /** {@inheritDoc AuditLogPort.streams} */
  async *streams(): AsyncIterable<string> {
    for await (const head of this.allHeads()) yield head.stream;
  }

  /**
   * Every stream's head — its last event row — in one ordered pass over the event rows (stream, seq and
   * hash only). NB. reads every event row's key: O(events), not O(streams), the price of not trusting hints.
   */
  private async *allHeads(): AsyncIterable<StreamHead> {
    let pk: string | undefined;
    let last: StreamHead | undefined;
    for await (const row of this.allRows(HEAD_COLUMNS)) {
      if (seqOfEventRowKey(row.rowKey as string) === undefined) continue;
      if (row.partitionKey !== pk) {
        if (last) yield last;
        pk = row.partitionKey as string;
      }
      try {
        last = headOfEntity(row);
      } catch (err) {
        throw new Error(`Audit row ${pk}/${String(row.rowKey)} is malformed: ${(err as Error).message}.`);
      }
    }
    if (last) yield last;
  }

  /** {@inheritDoc AuditLogPort.writeDigest} */
  async writeDigest(): Promise<WrittenDigest> {
    return (await this.digest(false)) as WrittenDigest;
  }

  /**
   * {@inheritDoc AuditLogPort.digestIfChanged}. NB. runs every few minutes, so its common case — nothing
   * touched since the newest digest, which this process has seen anchored — costs three small reads.
   */
  async digestIfChanged(): Promise<(DigestSummary & DigestOutcome) | undefined> {
    // A host catching up missed ticks after its clock jumped (the local host on a test clock fires every
    // occurrence passed) asks again at the same instant: nothing this process appended since, nothing to read.
    const now = this.clock.now().getTime();
    if (this.lastIdle && this.lastIdle.at === now && this.lastIdle.appends === this.appends) {
      return this.lastIdle.result;
    }
    const result = await this.checkAndDigest();
    this.lastIdle = result?.written ? undefined : { at: now, appends: this.appends, result };
    return result;
  }

  private async checkAndDigest(): Promise<(DigestSummary & DigestOutcome) | undefined> {
    const latest = await this.readLatestDigest();
    const since = await this.indexSince();
    if (latest && since !== undefined && this.anchoredThrough >= latest.seq) {
      const newest =
        this.lastSeen?.seq === latest.seq && this.lastSeen.hash === latest.hash
          ? this.lastSeen
          : await this.readDigestAt(latest.seq, false).catch((err: unknown) => {
              if (err instanceof RestError) throw err;
              return undefined; // malformed: the full path below writes the next digest from a scan
            });
      if (newest) this.lastSeen = digestSummaryOf(newest);
      if (
        newest &&
        newest.hash === latest.hash &&
        Date.parse(newest.time) >= since + TOUCH_BUCKET_MINUTES * 60_000
      ) {
        const [touched] = await collect(take(this.touchedSince(newest.time), 1));
        if (touched === undefined) return { ...digestSummaryOf(newest), written: false, anchored: true };
      }
    }
    const d = await this.digest(true);
    if (!d) return undefined;
    this.lastSeen = digestSummaryOf(d);
    const { written, anchored, anchorProblem } = d;
    return { ...digestSummaryOf(d), written, anchored, ...(anchorProblem ? { anchorProblem } : {}) };
  }

  private async digest(ifChanged: boolean): Promise<WrittenDigest | undefined> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const latest = await this.readLatestDigest();
      // NB. the time is taken before any head is read: the next digest reads the streams touched from here on.
      const time = this.clock.now().toISOString();
      const prev = latest ? await this.previousDigest(latest.seq) : undefined;
      // The index serves from the previous digest on only if it already existed then (allowing one bucket of
      // clock skew, as touchedSince does); else — the first digest, or the first after the index began — one scan.
      const since = await this.indexSince();
      const incremental =
        prev !== undefined &&
        since !== undefined &&
        Date.parse(prev.time) >= since + TOUCH_BUCKET_MINUTES * 60_000;
      const heads = incremental ? await this.headsSince(prev) : await collect(this.allHeads());
      const digest = buildDigest(latest, heads, time, this.sha256);
      if (ifChanged && prev && prev.root === digest.root && prev.hash === latest?.hash) {
        return { ...prev, written: false, ...(await this.anchorUpTo(prev)) };
      }
      if (ifChanged && !latest && heads.length === 0) return undefined;
      // NB. a nonce per writer: a writer that loses the race leaves orphan chunks nobody's summary names.
      const nonce = randomUUID().slice(0, 8);
      const chunks = headsChunks(digest.heads);
      const prefix = digestHeadsPrefix(digest.seq, nonce);
      await this.writeChunks(
        chunks.map((text, i) => ({
          partitionKey: DIGEST_PARTITION,
          rowKey: `${prefix}${String(i + 1).padStart(4, '0')}`,
          heads: text,
        })),
      );
      const summary: TableEntity<DigestEntity> = {
        partitionKey: DIGEST_PARTITION,
        rowKey: digestRowKey(digest.seq),
        ...digestSummaryOf(digest),
        headsKey: nonce,
        headsRows: chunks.length,
      };
      const pointer = {
        partitionKey: DIGEST_PARTITION,
        rowKey: LATEST_DIGEST_ROW,
        seq: digest.seq,
        hash: digest.hash,
      };
      try {
        await this.digests.submitTransaction([
          ['create', summary],
          latest ? ['update', pointer, 'Replace', { etag: latest.etag }] : ['create', pointer],
        ]);
        return { ...digest, written: true, ...(await this.anchorUpTo(digest)) };
      } catch (err) {
        if (!isConflict(err)) throw err;
        await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
      }
    }
    throw new DomainError(
      AuditErrorCodes.contended,
      `Could not write a digest after ${this.maxAttempts} attempts.`,
    );
  }

  /**
   * The newest digest with its heads, the base of the next; undefined when its row is gone or malformed (then
   * the next digest reads every head once, and `verify` names what happened to the row).
   */
  private async previousDigest(seq: number): Promise<AuditDigest | undefined> {
    try {
      return await this.readDigestAt(seq, true);
    } catch (err) {
      if (err instanceof RestError) throw err;
      return undefined;
    }
  }

  /**
   * The heads of `prev` moved on by every stream touched since it was written: O(touched streams) reads, not
   * O(events). A touched stream with no events (its only append failed after its marker) keeps what `prev` had.
   */
  private async headsSince(prev: AuditDigest): Promise<StreamHead[]> {
    const heads = new Map(prev.heads.map((h) => [h.stream, h]));
    const touched = await collect(this.touchedSince(prev.time));
    for (let i = 0; i < touched.length; i += HEAD_READS_IN_FLIGHT) {
      const found = await Promise.all(
        touched.slice(i, i + HEAD_READS_IN_FLIGHT).map((s) => this.findHead(s, streamKey(s))),
      );
      for (const head of found) if (head) heads.set(head.stream, head);
    }
    return [...heads.values()];
  }

  /**
   * Anchors `digest` outside the tables, after every earlier digest the anchor store lacks (newest anchored
   * seq + 1 onwards: a crash or a blob outage left them unanchored). Never throws: the digest stands in the
   * tables whatever happens here, and what went wrong is returned for the caller to report.
   */
  private async anchorUpTo(digest: DigestSummary): Promise<Omit<DigestOutcome, 'written'>> {
    if (!this.anchors) return { anchored: false, anchorProblem: 'no anchor store is configured' };
    const problems: string[] = [];
    try {
      const newest = await this.anchors.latestDigest();
      for (let seq = Math.min((newest?.seq ?? 0) + 1, digest.seq); seq < digest.seq; seq++) {
        try {
          const earlier = await this.readDigestAt(seq, false);
          if (!earlier) problems.push(`digest ${seq} is not in the tables, so it cannot be anchored`);
          else await this.anchors.putDigest(digestSummaryOf(earlier));
        } catch (err) {
          problems.push(`digest ${seq}: ${(err as Error).message}`);
        }
      }
      await this.anchors.putDigest(digestSummaryOf(digest));
      if (problems.length) return { anchored: true, anchorProblem: problems.join('; ') };
      this.anchoredThrough = Math.max(this.anchoredThrough, digest.seq);
      return { anchored: true };
    } catch (err) {
      problems.push(`digest ${digest.seq}: ${(err as Error).message}`);
      return { anchored: false, anchorProblem: problems.join('; ') };
    }
  }

  /** Writes chunk rows in as few transactions as the row and size limits allow. */
  private async writeChunks(rows: TableEntity[]): Promise<void> {
    let batch: TransactionAction[] = [];
    let bytes = 0;
    for (const row of rows) {
      const size = Buffer.byteLength(JSON.stringify(row), 'utf8');
      if (
        batch.length > 0 &&
        (batch.length === MAX_TRANSACTION_ROWS || bytes + size > MAX_TRANSACTION_BYTES)
      ) {
        await this.digests.submitTransaction(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(['create', row]);
      bytes += size;
    }
    if (batch.length > 0) await this.digests.submitTransaction(batch);
  }

  private async readLatestDigest(): Promise<{ seq: number; hash: string; etag: string } | undefined> {
    try {
      const row = await this.digests.getEntity<{ seq: number; hash: string }>(
        DIGEST_PARTITION,
        LATEST_DIGEST_ROW,
      );
      return { seq: row.seq, hash: row.hash, etag: row.etag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Every digest in seq order, with its heads; a malformed row is reported, not thrown. */
  private async *readDigests(): AsyncIterable<AuditDigest | AuditFailure> {
    const filter = odata`PartitionKey eq ${DIGEST_PARTITION} and RowKey ge ${DIGEST_ROWS.from} and RowKey lt ${DIGEST_ROWS.to}`;
    for await (const row of this.digests.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
    })) {
      try {
        yield await this.digestOfRow(row);
      } catch (err) {
        yield failure(
          DIGEST_STREAM,
          typeof row.seq === 'number' ? row.seq : undefined,
          'digest-forged',
          `digest row ${row.rowKey} is malformed: ${(err as Error).message}.`,
        );
        return;
      }
    }
  }

  /** The digest a summary row stands for, with its heads from its chunk rows; throws when malformed. */
  private async digestOfRow(row: Record<string, unknown>): Promise<AuditDigest> {
    const seq = typeof row.seq === 'number' ? row.seq : undefined;
    if (row.rowKey !== digestRowKey(seq ?? -1)) throw new Error(`row ${row.rowKey} holds digest ${seq}`);
    const key = row.headsKey;
    if (typeof key !== 'string') throw new Error('property headsKey is not a string');
    const prefix = digestHeadsPrefix(seq as number, key);
    const chunkFilter = odata`PartitionKey eq ${DIGEST_PARTITION} and RowKey gt ${prefix} and RowKey lt ${prefix.slice(0, -1) + '.'}`;
    const heads: StreamHead[] = [];
    let chunks = 0;
    for await (const chunk of this.digests.listEntities<{ heads: string }>({
      queryOptions: { filter: chunkFilter },
    })) {
      heads.push(...headsOfChunk(chunk.heads));
      chunks++;
    }
    if (chunks !== row.headsRows)
      throw new Error(`it names ${String(row.headsRows)} heads rows, ${chunks} exist`);
    return digestOfEntity(row, heads);
  }

  /** Digest `seq` (with its heads when `withHeads`), or undefined when its row is gone. */
  private async readDigestAt(seq: number, withHeads: boolean): Promise<AuditDigest | undefined> {
    let row: Record<string, unknown>;
    try {
      row = await this.digests.getEntity<Record<string, unknown>>(DIGEST_PARTITION, digestRowKey(seq));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    return withHeads ? this.digestOfRow(row) : digestOfEntity(row, []);
  }

  /** {@inheritDoc AuditLogPort.verify} */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    // 1. The digest chain, and what each digest recorded about each stream. The latest-digest pointer is read
    // before and after the chain: a digest written meanwhile (digest and pointer go in one transaction) moves the
    // pointer from the first read to the second, and the chain must end where one of the two says.
    // 0. The anchors outside the tables, read BEFORE the chain: each is written after its digest row landed,
    // so every digest anchored by now is in the chain read next (a digest written meanwhile is not "rewound").
    const anchors = await this.anchorsToCheck(opts.anchor);
    const before = await this.readLatestDigest();
    const chain = new DigestChainVerifier(this.sha256);
    const checkpoints = new DigestCheckpoints();
    for await (const item of this.readDigests()) {
      if ('problem' in item) return item;
      const digest = item;
      const expected = (chain.latest?.seq ?? 0) + 1;
      for (let seq = expected; seq < digest.seq; seq++) {
        const anchor = anchors.get(seq)?.[0];
        if (anchor) {
          return failure(
            DIGEST_STREAM,
            seq,
            'digest-missing',
            `digest ${seq} is gone from the tables, but ${anchor.where} records it (hash ${anchor.hash}).`,
          );
        }
      }
      for (const anchor of anchors.get(digest.seq) ?? []) {
        if (anchor.hash !== digest.hash) {
          return failure(
            DIGEST_STREAM,
            digest.seq,
            'digest-altered',
            `digest ${digest.seq} in the tables has hash ${digest.hash}, but ${anchor.where} records ${anchor.hash}: the digest chain was rewritten.`,
          );
        }
      }
      const problem = chain.push(digest);
      if (problem) return problem;
      checkpoints.add(digest);
    }
    const chainEnd = chain.latest?.seq ?? 0;
    const newest = Math.max(0, ...anchors.keys());
    if (newest > chainEnd) {
      const anchor = (anchors.get(newest) ?? [])[0];
      return failure(
        DIGEST_STREAM,
        newest,
        'rewound',
        `the digest chain ends at ${chainEnd ? `digest ${chainEnd}` : 'no digest'}, but digest ${newest} is anchored (${anchor.where}, hash ${anchor.hash}): digest${chainEnd + 1 === newest ? ` ${newest} was` : `s ${chainEnd + 1}-${newest} were`} removed from the tables.`,
      );
    }
    const coverage: AnchorCoverage | undefined =
      this.anchors || opts.anchor
        ? {
            checked: [...anchors.values()].reduce((n, list) => n + list.length, 0),
            ...(newest ? { newest } : {}),
            ...(chainEnd ? { chainEnd } : {}),
          }
        : undefined;
    const last = chain.latest;
    const endsAt = (pointer: typeof before) =>
      (pointer?.seq ?? 0) === (last?.seq ?? 0) && (!pointer || pointer.hash === last?.hash);
    const latest = endsAt(before) ? before : await this.readLatestDigest();
    if (!endsAt(latest)) {
      return failure(
        DIGEST_STREAM,
        latest?.seq ?? last?.seq,
        'digest-forged',
        `the latest-digest pointer names digest ${latest?.seq ?? 'none'} but the chain ends at ${last?.seq ?? 'none'} (digests were removed or added).`,
      );
    }

    // 2. The whole log in one ordered pass: each stream's events, then its head hint, stream after stream.
    // Memory holds one page, one stream's verifier and the digests' checkpoints — never the events.
    const pending = new Set(checkpoints.streams());
    let streams = 0;
    let events = 0;
    let current: { pk: string; verifier: StreamVerifier; hint?: Record<string, unknown> } | undefined;
    const close = (): AuditFailure | undefined => {
      if (!current) return undefined;
      const { verifier, hint } = current;
      streams++;
      events += verifier.events;
      return verifier.finish() ?? this.checkHint(verifier, hint);
    };
    for await (const row of this.allRows(EVENT_COLUMNS)) {
      const rowKey = row.rowKey as string;
      const position = seqOfEventRowKey(rowKey);
      if (position === undefined && rowKey !== HEAD_ROW) continue; // outbox and other rows
      const pk = row.partitionKey as string;
      if (current?.pk !== pk) {
        const problem = close();
        if (problem) return problem;
        const stream = streamOfKey(pk);
        pending.delete(stream);
        current = { pk, verifier: new StreamVerifier(stream, this.sha256, checkpoints.of(stream)) };
      }
      if (position === undefined) {
        current.hint = row;
        continue;
      }
      let event: AuditEvent;
      try {
        event = eventOfEntity(row);
      } catch (err) {
        return failure(
          current.verifier.stream,
          position,
          'edited',
          `row ${rowKey} is malformed: ${(err as Error).message}.`,
        );
      }
      const problem = current.verifier.push(event, position);
      if (problem) return problem;
    }
    const problem = close();
    if (problem) return problem;

    // 3. Streams a digest recorded that no longer have a single row.
    const [gone] = pending;
    if (gone !== undefined) {
      const verifier = new StreamVerifier(gone, this.sha256, checkpoints.of(gone));
      return verifier.finish() ?? failure(gone, 1, 'deleted', 'a digest recorded this stream; it is gone.');
    }
    return coverage ? { ok: true, streams, events, anchors: coverage } : { ok: true, streams, events };
  }

  /**
   * The anchors `verify` checks the chain against, by digest seq: every digest anchored in the anchor store,
   * and the one given (a value from an evidence email). A malformed anchor, or an anchor store that does not
   * answer, is thrown: verification against anchors cannot be done, which is not the same as "ok".
   */
  private async anchorsToCheck(
    given: VerifyOptions['anchor'],
  ): Promise<Map<number, { hash: string; where: string }[]>> {
    const anchors = new Map<number, { hash: string; where: string }[]>();
    const add = (seq: number, hash: string, where: string) =>
      anchors.set(seq, [...(anchors.get(seq) ?? []), { hash, where }]);
    if (given) add(given.seq, given.hash, `the anchor given (${given.seq}:${given.hash})`);
    const store = this.anchors;
    if (store)
      for await (const a of store.digests())
        add(
          a.seq,
          a.hash,
          `its anchor (${store.describe?.(a.seq) ?? `digest ${a.seq} in the anchor store`})`,
        );
    return anchors;
  }

  /**
   * {@inheritDoc AuditLogPort.verifyStream}. NB. The same checks as {@link verify}, narrowed to one stream:
   * the digest chain, then the stream's rows by their row keys against what the digests recorded of it, then
   * its head hint.
   */
  async verifyStream(stream: string): Promise<StreamVerifyResult> {
    const chain = new DigestChainVerifier(this.sha256);
    const checkpoints = new DigestCheckpoints();
    for await (const item of this.readDigests()) {
      if ('problem' in item) return item;
      const problem = chain.push(item);
      if (problem) return problem;
      checkpoints.add(item);
    }
    const verifier = new StreamVerifier(stream, this.sha256, checkpoints.of(stream));
    const pk = streamKey(stream);
    let hint: Record<string, unknown> | undefined;
    const rows = this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${pk}` },
    });
    for await (const row of rows) {
      const rowKey = row.rowKey as string;
      const position = seqOfEventRowKey(rowKey);
      if (position === undefined) {
        if (rowKey === HEAD_ROW) hint = row;
        continue;
      }
      let event: AuditEvent;
      try {
        event = eventOfEntity(row);
      } catch (err) {
        return failure(stream, position, 'edited', `row ${rowKey} is malformed: ${(err as Error).message}.`);
      }
      const problem = verifier.push(event, position);
      if (problem) return problem;
    }
    const problem = verifier.finish() ?? this.checkHint(verifier, hint);
    if (problem) return problem;
    return { ok: true, events: verifier.events, ...(verifier.head ? { head: verifier.head } : {}) };
  }

  /**
   * The head hint is not evidence — it lags by design, and a stream without one is fine — but it is only
   * ever written for an event that exists, so a hint ahead of the last event shows a tail cut off (unless
   * the hint was rewound too: only a digest makes truncation certain), and a hint at the last event with
   * another hash shows that event rewritten.
   */
  private checkHint(
    verifier: StreamVerifier,
    row: Record<string, unknown> | undefined,
  ): AuditFailure | undefined {
    if (!row) return undefined;
    const s = verifier.stream;
    const last = verifier.head;
    const lastSeq = last?.seq ?? 0;
    let hint: StreamHead;
    try {
      hint = headOfEntity(row);
    } catch (err) {
      return failure(s, lastSeq, 'edited', `the head hint row is malformed: ${(err as Error).message}.`);
    }
    if (hint.seq > lastSeq) {
      return failure(
        s,
        lastSeq + 1,
        'truncated',
        `the stream ends at event ${lastSeq} but its head hint records event ${hint.seq}.`,
      );
    }
    if (hint.seq === lastSeq && (hint.hash !== last?.hash || hint.stream !== s)) {
      return failure(
        s,
        lastSeq,
        'edited',
        `event ${lastSeq} differs from the one its head hint records (it was rewritten).`,
      );
    }
    return undefined;
  }
}
