/**
 * The audit log on Table Storage (docs: ../shared/ARCHITECTURE.md, "The audit log"; row layout in
 * audit-row-keys.ts). Each append is one entity-group transaction in the stream's partition: the event row
 * (create), its outbox rows (create) and the head row (create, or replace under the ETag last read). Two
 * writers racing for the same seq cannot both win — the loser gets 409 (event exists) or 412 (head moved),
 * re-reads the head and tries again.
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
  type AuditDigest,
} from '../../domain/audit/audit-digest.math';
import type { AuditEvent, AuditEventInput, Sha256, StreamHead } from '../../domain/audit/audit-event.model';
import {
  DIGEST_STREAM,
  failure,
  type AuditFailure,
  type VerifyResult,
} from '../../domain/audit/audit-verify.result';
import { AuditErrorCodes } from '../../domain/audit/audit.errors';
import { chainEvent, StreamVerifier } from '../../domain/audit/hash-chain.math';
import { DomainError } from '../../domain/domain-error';
import type { AppendOptions, AuditLogPort, VerifyOptions } from '../../ports/audit-log.port';
import type { Clock } from '../../ports/clock.port';
import {
  digestOfEntity,
  eventEntity,
  eventOfEntity,
  headEntity,
  headOfEntity,
  headsChunks,
  headsOfChunk,
  MAX_PROPERTY_CHARS,
  type DigestEntity,
} from './audit-entity.mapper';
import {
  DIGEST_PARTITION,
  DIGEST_ROWS,
  digestHeadsPrefix,
  digestRowKey,
  EVENT_ROWS,
  HEAD_ROW,
  LATEST_DIGEST_ROW,
  outboxRowKey,
  seqOfEventRowKey,
  streamKey,
  streamOfKey,
} from './audit-row-keys';

/** What the store needs. */
export interface AuditLogStoreOptions {
  table: TableClient;
  digests: TableClient;
  clock: Clock;
  sha256: Sha256;
  /** Attempts per append before `AUDIT.CONTENDED` (default 10). */
  maxAttempts?: number;
  /** Stream heads remembered between appends (default 10,000; 0 disables the cache). */
  headCacheSize?: number;
}

/** Table Storage's entity-group transaction limit. */
const MAX_TRANSACTION_ROWS = 100;
/** Table Storage refuses transaction payloads over 4 MiB; stay clear of it (JSON framing adds some). */
const MAX_TRANSACTION_BYTES = 3_500_000;

/** A head as last seen, with the ETag its row had then. */
interface KnownHead extends StreamHead {
  etag: string;
}

function isConflict(err: unknown): boolean {
  return err instanceof RestError && (err.statusCode === 409 || err.statusCode === 412);
}

function isNotFound(err: unknown): boolean {
  return err instanceof RestError && err.statusCode === 404;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function entityBytes(actions: TransactionAction[]): number {
  return actions.reduce((n, a) => n + Buffer.byteLength(JSON.stringify(a[1]), 'utf8'), 0);
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
   * Heads this instance wrote last, so a writer that appends to the same stream again skips the head read.
   * NB. a stale entry is harmless: the transaction's ETag condition fails and the head is read afresh.
   */
  private readonly heads = new Map<string, KnownHead>();

  constructor(options: AuditLogStoreOptions) {
    this.table = options.table;
    this.digests = options.digests;
    this.clock = options.clock;
    this.sha256 = options.sha256;
    this.maxAttempts = options.maxAttempts ?? 10;
    this.headCacheSize = options.headCacheSize ?? 10_000;
  }

  /** Creates both tables if they do not exist. */
  async init(): Promise<void> {
    await Promise.all([this.table.createTable(), this.digests.createTable()]);
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
   * Chains `inputs` after the stream's head and writes them, with `extra` rows and the head row, in one
   * transaction; on 409/412 re-reads the head and tries again.
   */
  private async commit(
    stream: string,
    inputs: readonly AuditEventInput[],
    extra: (pk: string, events: AuditEvent[]) => TableEntity[],
  ): Promise<AuditEvent[]> {
    const pk = streamKey(stream);
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const head = (attempt === 0 && this.heads.get(stream)) || (await this.readHead(pk));
      const time = this.clock.now().toISOString();
      const events: AuditEvent[] = [];
      let prev: StreamHead | undefined = head;
      for (const input of inputs) {
        const e = chainEvent(prev, input, time, this.sha256);
        events.push(e);
        prev = e;
      }
      const last = events[events.length - 1];
      const actions: TransactionAction[] = [
        ...events.map((e): TransactionAction => ['create', eventEntity(pk, e)]),
        ...extra(pk, events).map((row): TransactionAction => ['create', row]),
        head
          ? ['update', headEntity(pk, last), 'Replace', { etag: head.etag }]
          : ['create', headEntity(pk, last)],
      ];
      if (actions.length > MAX_TRANSACTION_ROWS) {
        throw new DomainError(
          AuditErrorCodes.batchTooLarge,
          `One transaction holds at most ${MAX_TRANSACTION_ROWS} rows; this append needs ${actions.length} ` +
            '(events, outbox rows and the head row). Split it.',
        );
      }
      if (entityBytes(actions) > MAX_TRANSACTION_BYTES) {
        throw new DomainError(
          AuditErrorCodes.batchTooLarge,
          'This append is too large for one transaction (4 MiB). Split it.',
        );
      }
      try {
        const result = await this.table.submitTransaction(actions);
        const etag = result.subResponses[actions.length - 1]?.etag;
        if (etag) this.remember({ stream, seq: last.seq, hash: last.hash, etag });
        else this.heads.delete(stream);
        return events;
      } catch (err) {
        this.heads.delete(stream);
        if (!isConflict(err)) throw err;
        // Jittered backoff so racing writers stop colliding in lockstep.
        await sleep(Math.random() * Math.min(100, 4 * 2 ** attempt));
      }
    }
    throw new DomainError(
      AuditErrorCodes.contended,
      `Could not append to audit stream '${stream}' after ${this.maxAttempts} attempts: other writers kept taking the next seq. Retry later.`,
      { stream },
    );
  }

  private remember(head: KnownHead): void {
    if (this.headCacheSize <= 0) return;
    this.heads.delete(head.stream);
    this.heads.set(head.stream, head);
    if (this.heads.size > this.headCacheSize) {
      const oldest = this.heads.keys().next().value;
      if (oldest !== undefined) this.heads.delete(oldest);
    }
  }

  private async readHead(pk: string): Promise<KnownHead | undefined> {
    try {
      const row = await this.table.getEntity<Record<string, unknown>>(pk, HEAD_ROW);
      return { ...headOfEntity(row), etag: row.etag };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
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
    const head = await this.readHead(streamKey(stream));
    return head && { stream: head.stream, seq: head.seq, hash: head.hash };
  }

  /** {@inheritDoc AuditLogPort.streams} */
  async *streams(): AsyncIterable<string> {
    for await (const row of this.headRows()) yield row.stream;
  }

  /** Every head row (one per stream; the service filters, only heads cross the wire). */
  private async *headRows(): AsyncIterable<StreamHead> {
    const filter = odata`RowKey eq ${HEAD_ROW}`;
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter, select: ['stream', 'seq', 'hash'] },
    })) {
      yield headOfEntity(row);
    }
  }

  /** {@inheritDoc AuditLogPort.writeDigest} */
  async writeDigest(): Promise<AuditDigest> {
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      const latest = await this.readLatestDigest();
      const heads: StreamHead[] = [];
      for await (const h of this.headRows()) heads.push(h);
      const digest = buildDigest(latest, heads, this.clock.now().toISOString(), this.sha256);
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
        seq: digest.seq,
        time: digest.time,
        root: digest.root,
        streams: digest.streams,
        events: digest.events,
        prevDigestHash: digest.prevDigestHash,
        hash: digest.hash,
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
        return digest;
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
      const seq = typeof row.seq === 'number' ? row.seq : undefined;
      try {
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
        yield digestOfEntity(row, heads);
      } catch (err) {
        yield failure(
          DIGEST_STREAM,
          seq,
          'digest-forged',
          `digest row ${row.rowKey} is malformed: ${(err as Error).message}.`,
        );
        return;
      }
    }
  }

  /** {@inheritDoc AuditLogPort.verify} */
  async verify(opts: VerifyOptions = {}): Promise<VerifyResult> {
    // 1. The digest chain, and what each digest recorded about each stream.
    const chain = new DigestChainVerifier(this.sha256);
    const checkpoints = new DigestCheckpoints();
    let anchored = false;
    for await (const item of this.readDigests()) {
      if ('problem' in item) return item;
      const digest = item;
      const problem = chain.push(digest);
      if (problem) return problem;
      if (opts.anchor && opts.anchor.seq === digest.seq) {
        if (opts.anchor.hash !== digest.hash) {
          return failure(
            DIGEST_STREAM,
            digest.seq,
            'digest-forged',
            `digest ${digest.seq} differs from the anchor held outside storage.`,
          );
        }
        anchored = true;
      }
      checkpoints.add(digest);
    }
    if (opts.anchor && !anchored) {
      return failure(
        DIGEST_STREAM,
        opts.anchor.seq,
        'digest-forged',
        `digest ${opts.anchor.seq}, anchored outside storage, is gone.`,
      );
    }
    const latest = await this.readLatestDigest();
    const last = chain.latest;
    if ((latest?.seq ?? 0) !== (last?.seq ?? 0) || (latest && latest.hash !== last?.hash)) {
      return failure(
        DIGEST_STREAM,
        latest?.seq ?? last?.seq,
        'digest-forged',
        `the latest-digest pointer names digest ${latest?.seq ?? 'none'} but the chain ends at ${last?.seq ?? 'none'} (digests were removed or added).`,
      );
    }

    // 2. Every partition of the log, in one paged scan: event rows then the head row of each stream.
    const filter = odata`(RowKey ge ${EVENT_ROWS.from} and RowKey lt ${EVENT_ROWS.to}) or RowKey eq ${HEAD_ROW}`;
    const recorded = new Set(checkpoints.streams());
    const seen = new Set<string>();
    let streams = 0;
    let events = 0;
    let current: { pk: string; verifier: StreamVerifier; head?: Record<string, unknown> } | undefined;
    const close = (): AuditFailure | undefined => {
      if (!current) return undefined;
      const { verifier, head } = current;
      const problem = verifier.finish() ?? this.checkHeadRow(verifier, head);
      streams++;
      events += verifier.events;
      return problem;
    };
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const pk = row.partitionKey as string;
      if (current?.pk !== pk) {
        const problem = close();
        if (problem) return problem;
        const stream = streamOfKey(pk);
        if (recorded.has(stream)) seen.add(stream);
        current = { pk, verifier: new StreamVerifier(stream, this.sha256, checkpoints.of(stream)) };
      }
      if (row.rowKey === HEAD_ROW) {
        current.head = row;
        continue;
      }
      const position = seqOfEventRowKey(row.rowKey as string);
      let event: AuditEvent;
      try {
        event = eventOfEntity(row);
      } catch (err) {
        return failure(
          current.verifier.stream,
          position,
          'edited',
          `row ${row.rowKey} is malformed: ${(err as Error).message}.`,
        );
      }
      const problem = current.verifier.push(event, position);
      if (problem) return problem;
    }
    const problem = close();
    if (problem) return problem;

    // 3. Streams a digest recorded that no longer have a single row.
    for (const stream of recorded) {
      if (!seen.has(stream)) {
        const verifier = new StreamVerifier(stream, this.sha256, checkpoints.of(stream));
        return (
          verifier.finish() ?? failure(stream, 1, 'deleted', 'a digest recorded this stream; it is gone.')
        );
      }
    }
    return { ok: true, streams, events };
  }

  /**
   * The head row must agree with the last event. NB. it is only an index (O(1) head, stream listing): the
   * chain is verified from the event rows, and a head row that disagrees is itself evidence of tampering.
   */
  private checkHeadRow(
    verifier: StreamVerifier,
    row: Record<string, unknown> | undefined,
  ): AuditFailure | undefined {
    const s = verifier.stream;
    const last = verifier.head;
    if (!row) {
      return failure(
        s,
        last?.seq,
        'edited',
        'the stream has no head row (it was deleted; digests would skip this stream).',
      );
    }
    let head: StreamHead;
    try {
      head = headOfEntity(row);
    } catch (err) {
      return failure(s, last?.seq, 'edited', `the head row is malformed: ${(err as Error).message}.`);
    }
    const lastSeq = last?.seq ?? 0;
    if (head.seq > lastSeq) {
      return failure(
        s,
        lastSeq + 1,
        'truncated',
        `the stream ends at event ${lastSeq} but its head row records ${head.seq}.`,
      );
    }
    if (head.seq !== lastSeq || head.hash !== last?.hash || head.stream !== s) {
      return failure(
        s,
        lastSeq,
        'edited',
        `the head row (seq ${head.seq}) does not match the last event (seq ${lastSeq}).`,
      );
    }
    return undefined;
  }
}
