/**
 * Where campaigns and their items are kept (Table Storage: src/adapters/tables/review.store.ts). Items never live
 * in orchestration histories: a reviewer with 100,000 items costs the orchestration no more than one with ten.
 * Every update is guarded by a version (ETag): a write that lost a race returns false, and the caller reads again
 * and decides again.
 */
import type { Campaign, ReviewItem } from '../domain/review/review.model';

/** A stored value with the version to write it back against. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** A filter over a campaign's items (all optional; conditions combine with AND). */
export interface ItemFilter {
  /** Items at this stage. */
  stage?: number;
  /** Items with no decision at their current stage (and none held). */
  undecided?: boolean;
  /** Items whose final decision is made and not applied yet. */
  toApply?: boolean;
  /** Items with a decision held by the guard. */
  held?: boolean;
}

/** Campaigns, items and the reviewer index. */
export interface ReviewStore {
  /** Inserts a campaign; false when one with this id exists. */
  createCampaign(campaign: Campaign): Promise<boolean>;
  getCampaign(id: string): Promise<Versioned<Campaign> | undefined>;
  /** Writes the campaign if still at `etag`; false when someone wrote it first. */
  putCampaign(campaign: Campaign, etag: string): Promise<boolean>;
  /** Removes a campaign that never started (an empty scope) and whatever of it was written. */
  deleteCampaign(id: string): Promise<void>;
  listCampaigns(): Promise<Campaign[]>;

  /** The campaign's scope, as groups in chunks written once at start (chunk `index` of `chunks`). */
  putScopeChunks(campaignId: string, chunks: { groupId: string; roleRef?: string }[][]): Promise<void>;
  scopeChunk(campaignId: string, index: number): Promise<{ groupId: string; roleRef?: string }[]>;

  /**
   * Writes snapshot items (insert or replace), 100 per transaction, and their reviewer index rows. Only before
   * the campaign is active: a snapshot never changes once taken.
   */
  putSnapshotItems(items: ReviewItem[]): Promise<void>;
  getItem(campaignId: string, itemId: string): Promise<Versioned<ReviewItem> | undefined>;
  /**
   * Writes an item if still at `etag`, and keeps the reviewer index in step (reviewIndexIds of the item before and
   * after: rows for people no longer on it go, new ones come). False when someone else wrote the item first.
   */
  putItem(item: ReviewItem, etag: string, before: ReviewItem): Promise<boolean>;
  /** Every item of a campaign matching the filter, in item-id order, page by page. */
  items(campaignId: string, filter?: ItemFilter): AsyncIterable<Versioned<ReviewItem>>;
  /**
   * The item ids a person is on in a campaign (a partition read of the index, not a scan): as a reviewer now, as
   * who delegated it at its current stage, or as who decided it at some stage.
   */
  assignedTo(campaignId: string, personId: string): Promise<string[]>;
  /** SHA-256 (hex) over the snapshot's canonical listing, and its count, read in item-id order. */
  snapshotDigest(campaignId: string): Promise<{ count: number; hash: string }>;
}
