/**
 * The access-review card a reviewer gets in chat: the campaign, how many items wait on them, the deadline and
 * a button to the "Access reviews" tab; with ten items or fewer, each item on the card itself with Keep and
 * Revoke. NB. Each action's data is `campaignId` and `itemId` only: the bot takes the reviewer from the
 * activity and the review service decides whether they may decide that item.
 */
import type { RecommendationReason, ReviewItem } from '../../domain/review/review.model';
import { CardVerbs, reviewKeepReasonInputId, reviewRevokeReasonInputId } from './card-verbs';
import { cardTimestamp, renderCard, type CardJson } from './card-template';
import template from './templates/review.card.json';

/** Items at or under this many are decidable on the card; more go to the tab. */
export const REVIEW_CARD_MAX_ITEMS = 10;

/** What the review card shows. */
export interface ReviewCardModel {
  readonly campaignId: string;
  readonly campaignName: string;
  /** The reviewer's items waiting now, and all they have in the campaign. */
  readonly pending: number;
  readonly total: number;
  /** ISO time the current stage closes; absent when it is not known here. */
  readonly deadline?: string;
  /** Deep link to the Access reviews tab ({@link reviewsTabUrl}). */
  readonly tabUrl: string;
  /** The reviewer the card is for (an item of their own is a self-review: keeping it needs a reason). */
  readonly reviewerId: string;
  /** The pending items (shown when there are at most {@link REVIEW_CARD_MAX_ITEMS}). */
  readonly items?: readonly ReviewItem[];
  /** Items decided on this card just now, shown with their decision and no buttons. */
  readonly decided?: readonly { readonly item: ReviewItem; readonly decision: 'keep' | 'revoke' }[];
  /** Why the click that brought this card was refused. */
  readonly errors?: readonly string[];
  /** What the click did, in a sentence. */
  readonly notice?: string;
  /** What the card is (default: "Access review"). */
  readonly heading?: string;
}

/**
 * The deep link that opens Attest's "Access reviews" static tab (entityId `reviews`) in Teams, optionally on
 * one campaign (teams-js hands `subEntityId` to the tab).
 */
export function reviewsTabUrl(teamsAppId: string, campaignId?: string): string {
  const base = `https://teams.microsoft.com/l/entity/${encodeURIComponent(teamsAppId)}/reviews`;
  if (campaignId === undefined) return base;
  return `${base}?context=${encodeURIComponent(JSON.stringify({ subEntityId: campaignId }))}`;
}

/** One reason in the words a reviewer reads. */
export function describeReason(r: RecommendationReason): string {
  switch (r.kind) {
    case 'inactive':
      return r.lastSignIn === null ? 'never signed in' : `no sign-in for ${r.days} days`;
    case 'outside-attest':
      return 'added outside Attest';
    case 'not-eligible':
      return `no longer eligible for ${r.roleRef} under the catalog`;
    case 'account-disabled':
      return 'the account is disabled';
  }
}

/** "Recommendation: revoke (no sign-in for 120 days; added outside Attest)". */
export function describeRecommendation(item: ReviewItem): string {
  const r = item.recommendation;
  const why = r.reasons.map(describeReason);
  if (r.signInUnavailable) why.push('sign-in data unavailable');
  const value = r.value === 'none' ? 'none' : r.value;
  return `Recommendation: ${value}${why.length > 0 ? ` (${why.join('; ')})` : ''}`;
}

function cardItem(item: ReviewItem, reviewerId: string, decision?: 'keep' | 'revoke') {
  const at = item.lastSignIn;
  return {
    itemId: item.itemId,
    person: `${item.userDisplayName} (${item.userPrincipalName})`,
    access: item.roleRef ? `${item.groupName} · ${item.roleRef}` : item.groupName,
    signInAt: typeof at === 'string',
    signInNever: at === null,
    signInUnavailable: at === undefined,
    lastSignIn: typeof at === 'string' ? cardTimestamp(at) : '',
    recommendationText: describeRecommendation(item),
    hasNotRemovable: item.notRemovableBecause !== undefined,
    notRemovableText: `Attest cannot remove this membership: ${item.notRemovableBecause ?? ''}`,
    // Nobody reviews their own membership except in a self-review stage, so an item of one's own is one.
    selfReview: item.userId.toLowerCase() === reviewerId.toLowerCase(),
    open: decision === undefined,
    decidedKeep: decision === 'keep',
    decidedRevoke: decision === 'revoke',
    keepInputId: reviewKeepReasonInputId(item.itemId),
    revokeInputId: reviewRevokeReasonInputId(item.itemId),
  };
}

/** Renders the review card. */
export function renderReviewCard(model: ReviewCardModel): CardJson {
  const open = model.items ?? [];
  const onCard = model.pending <= REVIEW_CARD_MAX_ITEMS && open.length <= REVIEW_CARD_MAX_ITEMS;
  const decided = (model.decided ?? []).map((d) => cardItem(d.item, model.reviewerId, d.decision));
  const items = [...decided, ...(onCard ? open.map((i) => cardItem(i, model.reviewerId)) : [])];
  const n = model.pending;
  return renderCard(template, {
    verbs: { keep: CardVerbs.reviewKeep, revoke: CardVerbs.reviewRevoke },
    heading: model.heading ?? 'Access review',
    campaignId: model.campaignId,
    campaignName: model.campaignName,
    errors: model.errors ?? [],
    hasNotice: (model.notice ?? '').trim() !== '',
    notice: model.notice ?? '',
    pendingText: `${n} of ${model.total} item${model.total === 1 ? '' : 's'}`,
    hasDeadline: model.deadline !== undefined,
    deadline: model.deadline !== undefined ? cardTimestamp(model.deadline) : '',
    tooMany: n > 0 && !onCard,
    tooManyText: `${n} items wait on you: open Access reviews to decide them, with filters and bulk actions.`,
    allDone: n === 0,
    items,
    tabUrl: model.tabUrl,
  });
}
