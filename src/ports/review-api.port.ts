/**
 * What the tab API and the bot ask of access reviews. `src/workflows/review.service.ts` implements it over the
 * review tables and the `review-campaign` orchestration; every method authorises its caller itself (a
 * reviewer acts only on items assigned to them at the item's current stage; admins on everything; auditors
 * read everything and write nothing) and throws a DomainError with a code a person can act on:
 * REVIEW.NOT_FOUND, REVIEW.FORBIDDEN (403, audited), REVIEW.INVALID (bad input), REVIEW.CLOSED (the stage or
 * campaign is over), REVIEW.CONFLICT (someone else decided first).
 */
import type {
  Campaign,
  CampaignDefinition,
  ReviewDecisionValue,
  ReviewItem,
} from '../domain/review/review.model';

/** Who calls, as the tab's token or the bot's activity says. */
export interface ReviewCaller {
  /** Entra object id. */
  objectId: string;
  upn?: string;
  /** Resolved on the server from the admin and auditor groups in config, never taken from the client. */
  role: 'admin' | 'auditor' | 'member';
  channel: 'tab' | 'teams';
}

/** One page of items. */
export interface ItemPage {
  items: ReviewItem[];
  /** Opaque; absent on the last page. */
  next?: string;
  total: number;
}

/** Filters of "My reviews" (all optional). */
export interface ItemQuery {
  campaignId?: string;
  /** `pending` (default): items waiting on the caller; `decided`: decided by the caller; `delegated`: handed on. */
  state?: 'pending' | 'decided' | 'delegated' | 'all';
  recommendation?: 'keep' | 'revoke' | 'none';
  search?: string;
  sort?: 'person' | 'group' | 'lastSignIn' | 'recommendation';
  pageSize?: number;
  cursor?: string;
}

/** A campaign's progress by reviewer, for the charts. */
export interface CampaignProgress {
  campaign: Campaign;
  byReviewer: { reviewerId: string; displayName: string; pending: number; decided: number }[];
  /**
   * The current stage's decisions as they stand (the campaign's `counts` are final decisions, complete at the
   * end); `held`: revocations a bulk action made that wait for an admin's confirmation.
   */
  stage?: { number: number; items: number; decided: number; kept: number; revoked: number; held: number };
}

/** Reviews, as callers use them. */
export interface ReviewApi {
  myItems(caller: ReviewCaller, query: ItemQuery): Promise<ItemPage>;
  decide(
    caller: ReviewCaller,
    campaignId: string,
    decisions: { itemId: string; decision: ReviewDecisionValue; reason?: string }[],
    source: 'reviewer' | 'bulk' | 'card',
  ): Promise<{ decided: number; guarded?: { wouldRemove: number; share: number } }>;
  delegate(
    caller: ReviewCaller,
    campaignId: string,
    itemIds: string[],
    to: string,
    reason?: string,
  ): Promise<{ delegated: number; to: string }>;
  campaigns(caller: ReviewCaller): Promise<Campaign[]>;
  progress(caller: ReviewCaller, campaignId: string): Promise<CampaignProgress>;
  /** Admins only: starts a campaign now from a catalog definition id or an ad-hoc definition. */
  start(
    caller: ReviewCaller,
    what: { definitionId: string } | { definition: CampaignDefinition },
  ): Promise<Campaign | { empty: true }>;
  /** Admins only: lets a guarded removal go ahead. */
  confirmGuard(caller: ReviewCaller, campaignId: string): Promise<Campaign>;
  /** Admins only: ends the campaign now (the default decision applies to what is left). */
  close(caller: ReviewCaller, campaignId: string): Promise<Campaign>;
  /** The named sign-off manager (or an admin on their behalf is refused): acknowledges the result. */
  signOff(caller: ReviewCaller, campaignId: string, note?: string): Promise<Campaign>;
  /** The campaign's results as CSV (formula-neutralised), for admins and auditors. */
  resultsCsv(caller: ReviewCaller, campaignId: string): Promise<string>;
}
