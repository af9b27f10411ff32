/**
 * The membership ledger and the reconciler's memory in Table Storage.
 *
 *   MembershipLedger  PartitionKey = group id, RowKey = user id (lower-case, escaped): one row per (group, user).
 *                     `doc` = the entry as JSON, continued in `doc1`, `doc2`… when longer than one string
 *                     property holds (32K characters); `parts` = how many. `userId` = the user's key, so byUser
 *                     is one filtered query; `owed` (true while removals are owed) and `owedSince` (the oldest)
 *                     so owedRemovals is one filtered query.
 *                     NB. both filters are on non-key columns: the service scans the table server-side (cheap in
 *                     requests: one per 1,000 matches or per 5 s of scanning, but proportional to the table).
 *                     byUser serves offboarding (rare) and owedRemovals the reconciler (every 15 minutes); a
 *                     second index row per user would make byUser a partition read at the price of a second,
 *                     non-transactional write on every insert, including the 100,000 baseline rows.
 *   ReconcileState    PartitionKey `group`, RowKey = group id: `baselinedAt`;
 *                     PartitionKey `delta`, RowKey = batch key: `link` (the batch's delta link).
 *   DriftFindings     PartitionKey = group id, RowKey = `user|kind|day`: insert-only, so a finding reported
 *                     again the same day (a replayed activity, the next run) is one row.
 */
import { RestError, type TableClient, type TableEntity, type TransactionAction } from '@azure/data-tables';
import { DomainError } from '../../domain/domain-error';
import type { TableFactory } from './table-client-factory';
import { TableNames } from './table-names';
import type { MembershipEntry } from '../../domain/ledger/membership-ledger';
import type {
  DriftFinding,
  MembershipLedger,
  ReconcileStore,
  VersionedEntry,
} from '../../ports/membership-ledger.port';

/** Characters per string property chunk: the service allows 64 KiB of UTF-16, i.e. 32,768 characters. */
const CHUNK_CHARS = 30000;
/** Chunks per row: an entity holds at most 1 MiB, so 14 × 30,000 UTF-16 characters leaves room for the rest. */
const MAX_CHUNKS = 14;
/** Entities per entity-group transaction (the service's limit). */
const BATCH = 100;

/** Error codes of the ledger store. */
export const LedgerStoreErrorCodes = {
  tooLarge: 'LEDGER.TOO_LARGE',
} as const;

// NB. '%' is escaped too, so keys decode unambiguously; Table Storage forbids / \ # ? and control characters.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[%/\\#?'\u0000-\u001f\u007f-\u009f]/g;

/** The key for a directory id: lower-case (Graph ids compare case-insensitively) and escaped. */
export function idKey(id: string): string {
  return id
    .toLowerCase()
    .replace(FORBIDDEN, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

interface LedgerRow {
  partitionKey: string;
  rowKey: string;
  userId: string;
  parts: number;
  owed: boolean;
  owedSince?: string;
  [doc: string]: unknown;
}

/** The row for an entry. Throws `LEDGER.TOO_LARGE` beyond what one entity holds. */
function toRow(entry: MembershipEntry): LedgerRow {
  const json = JSON.stringify(entry);
  const parts = Math.max(1, Math.ceil(json.length / CHUNK_CHARS));
  if (parts > MAX_CHUNKS) {
    throw new DomainError(
      LedgerStoreErrorCodes.tooLarge,
      `The ledger row for user ${entry.userId} in group ${entry.groupId} is too large to store ` +
        `(${entry.claims.length} claims, ${json.length} characters; at most ${MAX_CHUNKS * CHUNK_CHARS}).`,
    );
  }
  const row: LedgerRow = {
    partitionKey: idKey(entry.groupId),
    rowKey: idKey(entry.userId),
    userId: idKey(entry.userId),
    parts,
    owed: entry.owed.length > 0,
  };
  if (entry.owed.length) row.owedSince = entry.owed.map((o) => o.since).sort()[0];
  for (let i = 0; i < parts; i++)
    row[i === 0 ? 'doc' : `doc${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return row;
}

function fromRow(row: Record<string, unknown>): MembershipEntry {
  const parts = typeof row.parts === 'number' ? row.parts : 1;
  let json = '';
  for (let i = 0; i < parts; i++) json += String(row[i === 0 ? 'doc' : `doc${i}`] ?? '');
  return JSON.parse(json) as MembershipEntry;
}

function status(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

/** The ledger and the reconciler's state on three tables. */
export class TableMembershipLedger implements MembershipLedger, ReconcileStore {
  constructor(private readonly tables: { ledger: TableClient; state: TableClient; findings: TableClient }) {}

  /** The ledger on its own tables (TableNames.membershipLedger, reconcileState, driftFindings). */
  static on(tables: Pick<TableFactory, 'client'>): TableMembershipLedger {
    return new TableMembershipLedger({
      ledger: tables.client(TableNames.membershipLedger),
      state: tables.client(TableNames.reconcileState),
      findings: tables.client(TableNames.driftFindings),
    });
  }

  /** Creates the tables if needed. */
  async init(): Promise<void> {
    await Promise.all([
      this.tables.ledger.createTable(),
      this.tables.state.createTable(),
      this.tables.findings.createTable(),
    ]);
  }

  async get(groupId: string, userId: string): Promise<VersionedEntry> {
    try {
      const row = await this.tables.ledger.getEntity(idKey(groupId), idKey(userId));
      return { entry: fromRow(row), etag: row.etag };
    } catch (err) {
      if (status(err) === 404) {
        return { entry: { groupId, userId, claims: [], addedByAttest: false, owed: [] }, etag: undefined };
      }
      throw err;
    }
  }

  async put(entry: MembershipEntry, etag: string | undefined): Promise<boolean> {
    const row = toRow(entry);
    try {
      if (etag === undefined) await this.tables.ledger.createEntity(row);
      else await this.tables.ledger.updateEntity(row, 'Replace', { etag });
      return true;
    } catch (err) {
      // 409: inserted meanwhile; 412: written meanwhile; 404: the row went away (never by Attest, but the
      // caller's etag is then stale all the same).
      const s = status(err);
      if (s === 409 || s === 412 || (etag !== undefined && s === 404)) return false;
      throw err;
    }
  }

  /**
   * Inserts entries that are not stored yet, in entity-group transactions of up to 100 per group (the
   * reconciler's baseline of a large group costs one request per 100 members, not one per member). Returns
   * the entries that were already stored (a batch with one taken row is retried row by row): read those and
   * decide again.
   */
  async insertMany(entries: MembershipEntry[]): Promise<MembershipEntry[]> {
    const byGroup = new Map<string, MembershipEntry[]>();
    for (const e of entries) {
      const k = idKey(e.groupId);
      byGroup.set(k, [...(byGroup.get(k) ?? []), e]);
    }
    const taken: MembershipEntry[] = [];
    for (const group of byGroup.values()) {
      for (let i = 0; i < group.length; i += BATCH) {
        const slice = group.slice(i, i + BATCH);
        const actions: TransactionAction[] = slice.map((e) => ['create', toRow(e) as TableEntity]);
        try {
          await this.tables.ledger.submitTransaction(actions);
        } catch (err) {
          const s = status(err);
          if (s !== 409 && s !== 400) throw err;
          // One taken row fails the whole transaction (Azurite answers 400 for some batch conflicts).
          for (const e of slice) if (!(await this.put(e, undefined))) taken.push(e);
        }
      }
    }
    return taken;
  }

  async byGroup(groupId: string): Promise<MembershipEntry[]> {
    return this.query(`PartitionKey eq '${idKey(groupId)}'`);
  }

  async byUser(userId: string): Promise<MembershipEntry[]> {
    return this.query(`userId eq '${idKey(userId)}'`);
  }

  async owedRemovals(): Promise<MembershipEntry[]> {
    const rows: { entry: MembershipEntry; since: string }[] = [];
    for await (const row of this.tables.ledger.listEntities<Record<string, unknown>>({
      queryOptions: { filter: 'owed eq true' },
    })) {
      rows.push({ entry: fromRow(row), since: String(row.owedSince ?? '') });
    }
    return rows.sort((a, b) => a.since.localeCompare(b.since)).map((r) => r.entry);
  }

  private async query(filter: string): Promise<MembershipEntry[]> {
    const out: MembershipEntry[] = [];
    for await (const row of this.tables.ledger.listEntities<Record<string, unknown>>({
      queryOptions: { filter },
    })) {
      out.push(fromRow(row));
    }
    return out;
  }

  // ReconcileStore

  async groupState(groupId: string): Promise<{ baselinedAt?: string } | undefined> {
    try {
      const row = await this.tables.state.getEntity<{ baselinedAt?: string }>('group', idKey(groupId));
      return { baselinedAt: row.baselinedAt };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async markBaselined(groupId: string, at: string): Promise<void> {
    // The first baseline stands: a replayed activity must not move it later.
    try {
      await this.tables.state.createEntity({
        partitionKey: 'group',
        rowKey: idKey(groupId),
        baselinedAt: at,
      });
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
  }

  async knownAdmins(): Promise<string[] | undefined> {
    try {
      const row = await this.tables.state.getEntity<{ ids?: string }>('admins', 'members');
      return row.ids ? (JSON.parse(row.ids) as string[]) : undefined;
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async saveKnownAdmins(ids: string[]): Promise<void> {
    await this.tables.state.upsertEntity(
      { partitionKey: 'admins', rowKey: 'members', ids: JSON.stringify(ids) },
      'Replace',
    );
  }

  async deltaLink(batchKey: string): Promise<string | undefined> {
    try {
      const row = await this.tables.state.getEntity<{ link?: string }>('delta', idKey(batchKey));
      return row.link || undefined;
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async saveDeltaLink(batchKey: string, link: string | undefined): Promise<void> {
    if (link && link.length > CHUNK_CHARS) {
      throw new DomainError(
        LedgerStoreErrorCodes.tooLarge,
        `A delta link of ${link.length} characters is too long.`,
      );
    }
    if (link === undefined) {
      try {
        await this.tables.state.deleteEntity('delta', idKey(batchKey));
      } catch (err) {
        if (status(err) !== 404) throw err;
      }
      return;
    }
    await this.tables.state.upsertEntity({ partitionKey: 'delta', rowKey: idKey(batchKey), link }, 'Replace');
  }

  async addFinding(finding: DriftFinding): Promise<void> {
    const day = finding.foundAt.slice(0, 10);
    try {
      await this.tables.findings.createEntity({
        partitionKey: idKey(finding.groupId),
        rowKey: `${idKey(finding.userId)}|${finding.kind}|${day}`,
        userId: idKey(finding.userId),
        doc: JSON.stringify(finding),
      });
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
  }

  async findings(filter: { groupId?: string; userId?: string } = {}): Promise<DriftFinding[]> {
    const clauses: string[] = [];
    if (filter.groupId) clauses.push(`PartitionKey eq '${idKey(filter.groupId)}'`);
    if (filter.userId) clauses.push(`userId eq '${idKey(filter.userId)}'`);
    const out: DriftFinding[] = [];
    for await (const row of this.tables.findings.listEntities<{ doc: string }>({
      queryOptions: clauses.length ? { filter: clauses.join(' and ') } : {},
    })) {
      out.push(JSON.parse(row.doc) as DriftFinding);
    }
    return out.sort((a, b) => a.foundAt.localeCompare(b.foundAt));
  }
}
