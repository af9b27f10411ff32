/**
 * Ticket sync's state in table TicketSync. The drain (ticket-sync.ts) is the only writer of every row except a
 * parked row's decision, which `attest tickets release|skip` sets (with an ETag condition).
 *
 *   PartitionKey `lease`   RowKey `drain`          who drains now and until when (ETag condition: one drain at a time)
 *   PartitionKey `state`   RowKey `drain`          checkpoint (touched streams are read from it), backoff
 *   PartitionKey `stream`  RowKey escaped stream   cursor (last outbox row consumed), lanes, the failing row
 *   PartitionKey `open`    RowKey escaped stream   the stream still owes work (lanes, a failing row): visit it
 *   PartitionKey `ticket`  RowKey escaped id       the ticket of an Attest id (key stored the moment it exists)
 *   PartitionKey `parked`  RowKey stream|rowKey    a parked outbox row, what failed, and an admin's decision
 */
import { RestError, odata, type TableClient } from '@azure/data-tables';
import type { Clock } from '../../ports/clock.port';
import { streamKey, streamOfKey } from '../tables/audit-row-keys';

/** The rows of one ticket that wait in a stream: from `from` on, and whether the row at `from` is parked. */
export interface Lane {
  /** The first outbox row (inclusive) of this ticket in this stream not yet carried. */
  from: string;
  /** True while the row at `from` is parked; false when the lane only waits behind a row parked elsewhere. */
  parked: boolean;
  /** Rows an admin skipped: never carried. */
  skipped?: string[];
}

/** A row that failed and is being retried. */
export interface FailingRow {
  rowKey: string;
  attempts: number;
  code: string;
  error: string;
}

/** What the drain remembers of one audit stream. */
export interface StreamState {
  stream: string;
  /** The last outbox row consumed (carried, or held in a lane); none before the first. */
  cursor?: string;
  /** Per ticket (correlation id): rows held behind a parked row. */
  lanes: Record<string, Lane>;
  failing?: FailingRow;
}

/** The ticket of one Attest id. */
export interface TicketState {
  correlationId: string;
  key?: string;
  url?: string;
  /** Set before the ticket is created: a later drain that finds it set searches before creating again. */
  creating?: boolean;
  /** Attest created it (and resolves it); false for a requester's ticket reference. */
  owned: boolean;
  resolved: boolean;
  /** The outbox row parked on this ticket, if any: rows for this ticket elsewhere wait behind it. */
  parkedAt?: { stream: string; rowKey: string };
}

/** The drain's own progress. */
export interface DrainState {
  /** Streams touched since this time (ISO) are visited; none before the first complete drain. */
  checkpoint?: string;
  /** No drain before this time (ISO): the ticket system was unavailable. */
  notBefore?: string;
  /** Consecutive drains that ended on an unavailable ticket system. */
  failures: number;
}

/** A parked outbox row as admins see it. */
export interface ParkedRow {
  stream: string;
  rowKey: string;
  correlationId: string;
  eventSeq: number;
  eventHash: string;
  action: string;
  code: string;
  error: string;
  attempts: number;
  parkedAt: string;
  /** Set by an admin; the drain applies it on its next visit and deletes the row. */
  decision?: { kind: 'release' | 'skip'; by: string; at: string; reason?: string };
}

/** A lease held: renew it while working, release it when done. */
export interface Lease {
  holder: string;
  expiresAt: number;
  etag: string;
  /** Who held the lease before this holder took it (undefined when nobody ever did). */
  previousHolder?: string;
}

const LEASE = { pk: 'lease', rk: 'drain' } as const;
const STATE = { pk: 'state', rk: 'drain' } as const;

function isStatus(err: unknown, ...codes: number[]): boolean {
  return err instanceof RestError && codes.includes(err.statusCode ?? 0);
}

/** RowKey of a parked row: the escaped stream, `|`, the outbox row key (which has no `|`). */
export const parkedKey = (stream: string, rowKey: string): string => `${streamKey(stream)}|${rowKey}`;

/** The TicketSync table. */
export class TicketSyncStore {
  constructor(
    private readonly table: TableClient,
    private readonly clock: Clock,
  ) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  private async get<T extends object>(pk: string, rk: string): Promise<(T & { etag: string }) | undefined> {
    try {
      return (await this.table.getEntity<T>(pk, rk)) as T & { etag: string };
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Takes the drain lease for `ttlMs` when nobody holds it (or the holder's lease ran out), else undefined.
   * NB. the ETag condition makes two takers race on one row: exactly one wins.
   */
  async acquireLease(holder: string, ttlMs: number): Promise<Lease | undefined> {
    const now = this.clock.now().getTime();
    const row = await this.get<{ holder: string; expiresAt: number }>(LEASE.pk, LEASE.rk);
    const entity = { partitionKey: LEASE.pk, rowKey: LEASE.rk, holder, expiresAt: now + ttlMs };
    try {
      if (!row) {
        const r = await this.table.createEntity(entity);
        return { holder, expiresAt: entity.expiresAt, etag: r.etag ?? '' };
      }
      if (row.expiresAt > now && row.holder !== holder) return undefined;
      const r = await this.table.updateEntity(entity, 'Replace', { etag: row.etag });
      return { holder, expiresAt: entity.expiresAt, etag: r.etag ?? '', previousHolder: row.holder };
    } catch (err) {
      if (isStatus(err, 409, 412)) return undefined;
      throw err;
    }
  }

  /** Extends a held lease; false when it was lost (taken by another after it ran out). */
  async renewLease(lease: Lease, ttlMs: number): Promise<boolean> {
    const expiresAt = this.clock.now().getTime() + ttlMs;
    try {
      const r = await this.table.updateEntity(
        { partitionKey: LEASE.pk, rowKey: LEASE.rk, holder: lease.holder, expiresAt },
        'Replace',
        { etag: lease.etag },
      );
      lease.etag = r.etag ?? '';
      lease.expiresAt = expiresAt;
      return true;
    } catch (err) {
      if (isStatus(err, 404, 412)) return false;
      throw err;
    }
  }

  /** Lets the lease go (it expires now), keeping who held it last. */
  async releaseLease(lease: Lease): Promise<void> {
    try {
      await this.table.updateEntity(
        { partitionKey: LEASE.pk, rowKey: LEASE.rk, holder: lease.holder, expiresAt: 0 },
        'Replace',
        { etag: lease.etag },
      );
    } catch (err) {
      if (!isStatus(err, 404, 412)) throw err;
    }
  }

  /** Who holds the lease now and until when, or undefined when nobody does. */
  async leaseHolder(): Promise<{ holder: string; expiresAt: string } | undefined> {
    const row = await this.get<{ holder: string; expiresAt: number }>(LEASE.pk, LEASE.rk);
    if (!row || row.expiresAt <= this.clock.now().getTime()) return undefined;
    return { holder: row.holder, expiresAt: new Date(row.expiresAt).toISOString() };
  }

  async drainState(): Promise<DrainState> {
    const row = await this.get<{ checkpoint?: string; notBefore?: string; failures?: number }>(
      STATE.pk,
      STATE.rk,
    );
    return {
      ...(row?.checkpoint ? { checkpoint: row.checkpoint } : {}),
      ...(row?.notBefore ? { notBefore: row.notBefore } : {}),
      failures: row?.failures ?? 0,
    };
  }

  async saveDrainState(state: DrainState): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: STATE.pk,
        rowKey: STATE.rk,
        checkpoint: state.checkpoint ?? '',
        notBefore: state.notBefore ?? '',
        failures: state.failures,
      },
      'Replace',
    );
  }

  async streamState(stream: string): Promise<StreamState> {
    const row = await this.get<{ cursor?: string; lanes?: string; failing?: string }>(
      'stream',
      streamKey(stream),
    );
    return {
      stream,
      ...(row?.cursor ? { cursor: row.cursor } : {}),
      lanes: row?.lanes ? (JSON.parse(row.lanes) as Record<string, Lane>) : {},
      ...(row?.failing ? { failing: JSON.parse(row.failing) as FailingRow } : {}),
    };
  }

  /** Saves a stream's state, and keeps it in the open index while it owes work (lanes or a failing row). */
  async saveStreamState(state: StreamState, wasOpen: boolean): Promise<void> {
    const pk = streamKey(state.stream);
    await this.table.upsertEntity(
      {
        partitionKey: 'stream',
        rowKey: pk,
        cursor: state.cursor ?? '',
        lanes: JSON.stringify(state.lanes),
        failing: state.failing ? JSON.stringify(state.failing) : '',
      },
      'Replace',
    );
    const open = Object.keys(state.lanes).length > 0 || state.failing !== undefined;
    if (open && !wasOpen) {
      await this.table.upsertEntity({ partitionKey: 'open', rowKey: pk }, 'Replace');
    } else if (!open && wasOpen) {
      await this.table.deleteEntity('open', pk).catch((err: unknown) => {
        if (!isStatus(err, 404)) throw err;
      });
    }
  }

  /** Marks a stream open (it owes work), e.g. when a drain stops before reaching it. */
  async markOpen(stream: string): Promise<void> {
    await this.table.upsertEntity({ partitionKey: 'open', rowKey: streamKey(stream) }, 'Replace');
  }

  /** The streams that still owe work. */
  async *openStreams(): AsyncIterable<string> {
    for await (const row of this.table.listEntities({
      queryOptions: { filter: odata`PartitionKey eq 'open'`, select: ['RowKey'] },
    })) {
      yield streamOfKey(row.rowKey as string);
    }
  }

  async ticket(correlationId: string): Promise<TicketState | undefined> {
    const row = await this.get<{
      key?: string;
      url?: string;
      creating?: boolean;
      owned?: boolean;
      resolved?: boolean;
      parkedAt?: string;
    }>('ticket', streamKey(correlationId));
    if (!row) return undefined;
    return {
      correlationId,
      ...(row.key ? { key: row.key, url: row.url ?? '' } : {}),
      ...(row.creating ? { creating: true } : {}),
      owned: row.owned ?? true,
      resolved: row.resolved ?? false,
      ...(row.parkedAt ? { parkedAt: JSON.parse(row.parkedAt) as TicketState['parkedAt'] } : {}),
    };
  }

  async saveTicket(t: TicketState): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: 'ticket',
        rowKey: streamKey(t.correlationId),
        key: t.key ?? '',
        url: t.url ?? '',
        creating: t.creating ?? false,
        owned: t.owned,
        resolved: t.resolved,
        parkedAt: t.parkedAt ? JSON.stringify(t.parkedAt) : '',
      },
      'Replace',
    );
  }

  /** Records a parked row (a second park of the same row replaces the first: attempts and error move on). */
  async park(row: ParkedRow): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: 'parked',
        rowKey: parkedKey(row.stream, row.rowKey),
        ...parkedColumns(row),
      },
      'Replace',
    );
  }

  /** Every parked row, oldest stream key first. */
  async parked(stream?: string): Promise<(ParkedRow & { etag: string })[]> {
    const prefix = stream === undefined ? undefined : `${streamKey(stream)}|`;
    const filter = prefix
      ? odata`PartitionKey eq 'parked' and RowKey gt ${prefix} and RowKey lt ${prefix.slice(0, -1) + '}'}`
      : odata`PartitionKey eq 'parked'`;
    const out: (ParkedRow & { etag: string })[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      out.push({ ...parkedOfEntity(row), etag: row.etag as string });
    }
    return out;
  }

  async parkedRow(stream: string, rowKey: string): Promise<(ParkedRow & { etag: string }) | undefined> {
    const row = await this.get<Record<string, unknown>>('parked', parkedKey(stream, rowKey));
    return row ? { ...parkedOfEntity(row), etag: row.etag } : undefined;
  }

  /**
   * Records an admin's decision on a parked row, unless one was recorded already or the row changed since it
   * was read (false then: read it again).
   */
  async decide(
    row: ParkedRow & { etag: string },
    decision: NonNullable<ParkedRow['decision']>,
  ): Promise<boolean> {
    if (row.decision) return false;
    try {
      await this.table.updateEntity(
        {
          partitionKey: 'parked',
          rowKey: parkedKey(row.stream, row.rowKey),
          ...parkedColumns({ ...row, decision }),
        },
        'Replace',
        { etag: row.etag },
      );
      return true;
    } catch (err) {
      if (isStatus(err, 404, 412)) return false;
      throw err;
    }
  }

  /** Removes a parked row once its decision is applied. */
  async unpark(stream: string, rowKey: string): Promise<void> {
    await this.table.deleteEntity('parked', parkedKey(stream, rowKey)).catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
  }
}

function parkedColumns(row: ParkedRow): Record<string, unknown> {
  return {
    stream: row.stream,
    outboxRow: row.rowKey,
    correlationId: row.correlationId,
    eventSeq: row.eventSeq,
    eventHash: row.eventHash,
    action: row.action,
    code: row.code,
    error: row.error,
    attempts: row.attempts,
    parkedAt: row.parkedAt,
    decision: row.decision ? JSON.stringify(row.decision) : '',
  };
}

function parkedOfEntity(row: Record<string, unknown>): ParkedRow {
  return {
    stream: String(row.stream),
    rowKey: String(row.outboxRow),
    correlationId: String(row.correlationId),
    eventSeq: Number(row.eventSeq),
    eventHash: String(row.eventHash),
    action: String(row.action),
    code: String(row.code),
    error: String(row.error),
    attempts: Number(row.attempts),
    parkedAt: String(row.parkedAt),
    ...(row.decision ? { decision: JSON.parse(String(row.decision)) as ParkedRow['decision'] } : {}),
  };
}
