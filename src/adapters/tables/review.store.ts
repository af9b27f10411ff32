/**
 * Access reviews in Table Storage.
 *
 *   ReviewCampaigns    PartitionKey = campaign id; RowKey `campaign`: the campaign as JSON in `doc` (ETag-guarded);
 *                      RowKey `scope-NNNNN`: one chunk of the scope's groups, written once at start.
 *   ReviewItems        PartitionKey = campaign id, RowKey = item id `${groupId}:${userId}` (escaped): the item
 *                      as JSON in `doc`, and the columns the orchestration filters on (`stage`, `undecided`,
 *                      `toApply`, `held`). Snapshot rows are written 100 per entity-group transaction.
 *   ReviewAssignments  PartitionKey = `${campaignId}|${personId}`, RowKey = item id: the reviewer index, so "my
 *                      items" is a partition read, never a scan. Kept in step on every item write (a row per
 *                      reviewReviewIndexIds entry). NB. index and item are in different partitions, so not one
 *                      transaction: the item is written first (the truth) and the index follows; readers check
 *                      each item they load against its own reviewers, so a stale index row shows nothing wrong.
 *   ReviewNotices      PartitionKey = campaign id, RowKey = notice id: the outbox of review notices. Insert-only: a
 *                      retried activity's second insert is a 409 and changes nothing.
 */
import { createHash } from 'node:crypto';
import { RestError, type TableClient, type TransactionAction } from '@azure/data-tables';
import type { Campaign, ReviewItem } from '../../domain/review/review.model';
import { reviewIndexIds, snapshotLine } from '../../domain/review/review.rules';
import type { Clock } from '../../ports/clock.port';
import type { ReviewNotice, ReviewNoticeResult, ReviewNotifier } from '../../ports/review-notifier.port';
import type { ItemFilter, ReviewStore, Versioned } from '../../ports/review-store.port';
import { idKey } from './membership-ledger.store';
import type { TableFactory } from './table-client-factory';
import { TableNames } from './table-names';

/** Entities per entity-group transaction (the service's limit). */
const BATCH = 100;
/** Characters per string property (the service allows 32K UTF-16 characters) and properties per row. */
const CHUNK_CHARS = 30000;
const MAX_CHUNKS = 14;

/** JSON in `doc`, `doc1`, … (a campaign naming 1,000 groups in its scope outgrows one property). */
function docProps(value: unknown): Record<string, string | number> {
  const json = JSON.stringify(value);
  const parts = Math.max(1, Math.ceil(json.length / CHUNK_CHARS));
  if (parts > MAX_CHUNKS) throw new Error(`A review row of ${json.length} characters is too large to store.`);
  const out: Record<string, string | number> = { parts };
  for (let i = 0; i < parts; i++)
    out[i === 0 ? 'doc' : `doc${i}`] = json.slice(i * CHUNK_CHARS, (i + 1) * CHUNK_CHARS);
  return out;
}

function fromDoc<T>(row: Record<string, unknown>): T {
  const parts = typeof row.parts === 'number' ? row.parts : 1;
  let json = '';
  for (let i = 0; i < parts; i++) json += String(row[i === 0 ? 'doc' : `doc${i}`] ?? '');
  return JSON.parse(json) as T;
}
const CAMPAIGN_ROW = 'campaign';
const scopeRow = (i: number) => `scope-${String(i).padStart(5, '0')}`;
const q = (s: string) => s.replace(/'/g, "''");

function status(err: unknown): number | undefined {
  return err instanceof RestError ? err.statusCode : undefined;
}

interface ItemRow {
  partitionKey: string;
  rowKey: string;
  doc: string;
  stage: number;
  undecided: boolean;
  toApply: boolean;
  held: boolean;
}

function itemRow(item: ReviewItem): ItemRow {
  return {
    partitionKey: idKey(item.campaignId),
    rowKey: idKey(item.itemId),
    doc: JSON.stringify(item),
    stage: item.stage,
    undecided: !item.held && !item.decisions.some((d) => d.stage === item.stage),
    toApply: item.final !== undefined && item.outcome === undefined,
    held: item.held !== undefined,
  };
}

/**
 * Writes rows in transactions of at most 100, per partition: inserts first (the usual case, and the cheaper one
 * for the service to check), and a transaction that finds a row already there (a replayed snapshot chunk) again
 * as upserts.
 */
async function writeAll(
  table: TableClient,
  rows: { partitionKey: string; rowKey: string }[],
): Promise<number> {
  const byPk = new Map<string, { partitionKey: string; rowKey: string }[]>();
  for (const r of rows) {
    const list = byPk.get(r.partitionKey);
    if (list) list.push(r);
    else byPk.set(r.partitionKey, [r]);
  }
  let transactions = 0;
  for (const part of byPk.values()) {
    for (let i = 0; i < part.length; i += BATCH) {
      const chunk = part.slice(i, i + BATCH);
      transactions++;
      try {
        await table.submitTransaction(chunk.map((r): TransactionAction => ['create', r]));
      } catch (err) {
        if (status(err) !== 409) throw err;
        transactions++;
        await table.submitTransaction(chunk.map((r): TransactionAction => ['upsert', r, 'Replace']));
      }
    }
  }
  return transactions;
}

/** Campaigns, items and the reviewer index on their tables, and the review notices' outbox. */
export class TableReviewStore implements ReviewStore, ReviewNotifier {
  /** Entity-group transactions submitted (the bench reports it). */
  transactions = 0;

  constructor(
    private readonly t: {
      campaigns: TableClient;
      items: TableClient;
      assignments: TableClient;
      notices: TableClient;
    },
    private readonly clock: Clock,
  ) {}

  /** The store on its standard tables. */
  static on(tables: Pick<TableFactory, 'client'>, clock: Clock): TableReviewStore {
    return new TableReviewStore(
      {
        campaigns: tables.client(TableNames.reviewCampaigns),
        items: tables.client(TableNames.reviewItems),
        assignments: tables.client(TableNames.reviewAssignments),
        notices: tables.client(TableNames.reviewNotices),
      },
      clock,
    );
  }

  async init(): Promise<void> {
    await Promise.all(Object.values(this.t).map((c) => c.createTable()));
  }

  async createCampaign(campaign: Campaign): Promise<boolean> {
    try {
      await this.t.campaigns.createEntity({
        partitionKey: idKey(campaign.id),
        rowKey: CAMPAIGN_ROW,
        ...docProps(campaign),
      });
      return true;
    } catch (err) {
      if (status(err) === 409) return false;
      throw err;
    }
  }

  async getCampaign(id: string): Promise<Versioned<Campaign> | undefined> {
    try {
      const row = await this.t.campaigns.getEntity<Record<string, unknown>>(idKey(id), CAMPAIGN_ROW);
      return { value: fromDoc<Campaign>(row), etag: row.etag as string };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async putCampaign(campaign: Campaign, etag: string): Promise<boolean> {
    try {
      await this.t.campaigns.updateEntity(
        { partitionKey: idKey(campaign.id), rowKey: CAMPAIGN_ROW, ...docProps(campaign) },
        'Replace',
        { etag },
      );
      return true;
    } catch (err) {
      if (status(err) === 412 || status(err) === 404) return false;
      throw err;
    }
  }

  async deleteCampaign(id: string): Promise<void> {
    const pk = idKey(id);
    for (const table of [this.t.campaigns, this.t.items]) {
      const keys: string[] = [];
      for await (const row of table.listEntities({
        queryOptions: { filter: `PartitionKey eq '${q(pk)}'`, select: ['RowKey'] },
      })) {
        keys.push(row.rowKey as string);
      }
      for (const rk of keys) {
        try {
          await table.deleteEntity(pk, rk);
        } catch (err) {
          if (status(err) !== 404) throw err;
        }
      }
    }
  }

  async listCampaigns(): Promise<Campaign[]> {
    const out: Campaign[] = [];
    for await (const row of this.t.campaigns.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `RowKey eq '${CAMPAIGN_ROW}'` },
    })) {
      out.push(fromDoc<Campaign>(row));
    }
    return out.sort((a, b) => (a.startedAt < b.startedAt ? 1 : -1));
  }

  async putScopeChunks(campaignId: string, chunks: { groupId: string; roleRef?: string }[][]): Promise<void> {
    const rows = chunks.map((c, i) => ({
      partitionKey: idKey(campaignId),
      rowKey: scopeRow(i),
      doc: JSON.stringify(c),
    }));
    this.transactions += await writeAll(this.t.campaigns, rows);
  }

  async scopeChunk(campaignId: string, index: number): Promise<{ groupId: string; roleRef?: string }[]> {
    try {
      const row = await this.t.campaigns.getEntity<{ doc: string }>(idKey(campaignId), scopeRow(index));
      return JSON.parse(row.doc) as { groupId: string; roleRef?: string }[];
    } catch (err) {
      if (status(err) === 404) return [];
      throw err;
    }
  }

  async putSnapshotItems(items: ReviewItem[]): Promise<void> {
    const rows = items.map(itemRow);
    const index = items.flatMap((item) =>
      reviewIndexIds(item).map((person) => ({
        partitionKey: idKey(`${item.campaignId}|${person}`),
        rowKey: idKey(item.itemId),
      })),
    );
    this.transactions += await writeAll(this.t.items, rows);
    this.transactions += await writeAll(this.t.assignments, index);
  }

  async getItem(campaignId: string, itemId: string): Promise<Versioned<ReviewItem> | undefined> {
    try {
      const row = await this.t.items.getEntity<{ doc: string }>(idKey(campaignId), idKey(itemId));
      return { value: JSON.parse(row.doc) as ReviewItem, etag: row.etag };
    } catch (err) {
      if (status(err) === 404) return undefined;
      throw err;
    }
  }

  async putItem(item: ReviewItem, etag: string, before: ReviewItem): Promise<boolean> {
    try {
      await this.t.items.updateEntity(itemRow(item), 'Replace', { etag });
    } catch (err) {
      if (status(err) === 412 || status(err) === 404) return false;
      throw err;
    }
    const was = new Set(reviewIndexIds(before));
    const now = new Set(reviewIndexIds(item));
    const rk = idKey(item.itemId);
    for (const person of now) {
      if (!was.has(person)) {
        await this.t.assignments.upsertEntity(
          { partitionKey: idKey(`${item.campaignId}|${person}`), rowKey: rk },
          'Replace',
        );
      }
    }
    for (const person of was) {
      if (now.has(person)) continue;
      try {
        await this.t.assignments.deleteEntity(idKey(`${item.campaignId}|${person}`), rk);
      } catch (err) {
        if (status(err) !== 404) throw err;
      }
    }
    return true;
  }

  async *items(campaignId: string, filter: ItemFilter = {}): AsyncIterable<Versioned<ReviewItem>> {
    const clauses = [`PartitionKey eq '${q(idKey(campaignId))}'`];
    if (filter.stage !== undefined) clauses.push(`stage eq ${Math.floor(filter.stage)}`);
    if (filter.undecided !== undefined) clauses.push(`undecided eq ${filter.undecided}`);
    if (filter.toApply !== undefined) clauses.push(`toApply eq ${filter.toApply}`);
    if (filter.held !== undefined) clauses.push(`held eq ${filter.held}`);
    for await (const row of this.t.items.listEntities<{ doc: string }>({
      queryOptions: { filter: clauses.join(' and ') },
    })) {
      yield { value: JSON.parse(row.doc) as ReviewItem, etag: row.etag };
    }
  }

  async assignedTo(campaignId: string, personId: string): Promise<string[]> {
    const out: string[] = [];
    const pk = idKey(`${campaignId}|${personId}`);
    for await (const row of this.t.assignments.listEntities({
      queryOptions: { filter: `PartitionKey eq '${q(pk)}'`, select: ['RowKey'] },
    })) {
      out.push(decodeURIComponent(row.rowKey as string));
    }
    return out;
  }

  async snapshotDigest(campaignId: string): Promise<{ count: number; hash: string }> {
    const hash = createHash('sha256');
    let count = 0;
    // NB. Table Storage returns a partition in RowKey order, and RowKey is the (lower-case) item id: the listing
    // is read sorted without holding it in memory.
    for await (const { value } of this.items(campaignId)) {
      hash.update(`${snapshotLine(value)}\n`);
      count++;
    }
    return { count, hash: hash.digest('hex') };
  }

  // ReviewNotifier: the outbox.

  async notifyReviewer(notice: ReviewNotice): Promise<ReviewNoticeResult> {
    try {
      await this.t.notices.createEntity({
        partitionKey: idKey(notice.campaignId),
        rowKey: idKey(notice.id),
        doc: JSON.stringify(notice),
        kind: notice.kind,
        recipientId: notice.recipientId,
        createdAt: this.clock.now(),
      });
    } catch (err) {
      if (status(err) !== 409) throw err;
    }
    return { via: 'outbox' };
  }

  /** The notices of a campaign, in the order they were written. */
  async notices(campaignId: string): Promise<ReviewNotice[]> {
    const out: { n: ReviewNotice; at: number }[] = [];
    for await (const row of this.t.notices.listEntities<{ doc: string; createdAt: Date }>({
      queryOptions: { filter: `PartitionKey eq '${q(idKey(campaignId))}'` },
    })) {
      out.push({ n: JSON.parse(row.doc) as ReviewNotice, at: new Date(row.createdAt).getTime() });
    }
    return out.sort((a, b) => a.at - b.at).map((x) => x.n);
  }
}
