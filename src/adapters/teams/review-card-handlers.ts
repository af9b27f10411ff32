/**
 * Keep and Revoke on the access-review card. The invoke is untrusted: its data is parsed strictly and names
 * a campaign and an item, nothing else; the reviewer is the activity's `from.aadObjectId` (the bot's actor),
 * and the review service decides whether that person may decide that item at its current stage. The answer
 * is the card again with the item marked decided, or with the reason the click changed nothing.
 */
import type { TurnContext } from 'botbuilder';
import { z } from 'zod';
import type { AuditActor } from '../../domain/audit/audit-event.model';
import { DomainError } from '../../domain/domain-error';
import type { ReviewDecisionValue, ReviewItem } from '../../domain/review/review.model';
import type { ReviewApi, ReviewCaller } from '../../ports/review-api.port';
import {
  CardVerbs,
  reviewKeepReasonInputId,
  reviewRevokeReasonInputId,
  type CardVerb,
} from '../cards/card-verbs';
import type { CardJson } from '../cards/card-template';
import { renderRefusalCard } from '../cards/refusal.card';
import { REVIEW_CARD_MAX_ITEMS, renderReviewCard, type ReviewCardModel } from '../cards/review.card';

/** What the review card's handlers need: the review service and where the Access reviews tab is. */
export interface BotReviews {
  api: ReviewApi;
  /** The deep link to the Access reviews tab on one campaign (see reviewsTabUrl in review.card.ts). */
  tabUrl: (campaignId: string) => string;
}

type ReviewVerbHandler = (
  context: TurnContext,
  actor: AuditActor,
  data: Record<string, unknown>,
) => Promise<CardJson | string>;

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** `${groupId}:${userId}`, as the review model names an item. */
const ITEM_ID = new RegExp(`^${GUID}:${GUID}$`, 'i');

const reviewActionData = z.object({
  campaignId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/, 'is not a campaign id'),
  itemId: z.string().regex(ITEM_ID, 'is not a review item id'),
});

/** Reasons longer than this are cut: the card's input allows 1000 characters. */
const MAX_REASON = 1000;

const NOT_SET_UP =
  'Access reviews are not set up in this Attest installation, so this card cannot be answered. Ask your Attest admins.';

/** Card data that is not what Attest sent, as the bot words it for every verb (and audits it). */
function invalidData(path: string, message: string): DomainError {
  return new DomainError(
    'CARD.INVALID_DATA',
    `This card's data is not what Attest sent (${path} ${message}). Open Access reviews for your current items.`,
  );
}

function reasonFrom(data: Record<string, unknown>, inputId: string): string | undefined {
  const v = data[inputId];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidData(inputId, 'is not text');
  const t = v.trim();
  return t === '' ? undefined : t.slice(0, MAX_REASON);
}

/** The reviewer as the review service sees them. NB. The card acts for the clicker's own items only. */
function callerOf(actor: AuditActor): ReviewCaller {
  return { objectId: actor.objectId, upn: actor.upn, role: 'member', channel: 'teams' };
}

/** When the current stage closes: each stage gets an equal share of the campaign's duration. */
function stageDeadline(c: {
  startedAt: string;
  deadline: string;
  stage: number;
  definition: { durationMs: number; stages: readonly unknown[] };
}): string {
  const started = Date.parse(c.startedAt);
  const share = c.definition.durationMs / Math.max(1, c.definition.stages.length);
  const end = started + share * Math.max(1, c.stage);
  const deadline = Date.parse(c.deadline);
  return Number.isNaN(end) || end > deadline ? c.deadline : new Date(end).toISOString();
}

/** The reviewer's card for one campaign as it stands now. */
export async function reviewCardNow(
  reviews: BotReviews,
  caller: ReviewCaller,
  campaignId: string,
  extra: Pick<ReviewCardModel, 'errors' | 'notice' | 'decided'> = {},
): Promise<CardJson> {
  const { api } = reviews;
  const [pending, all, campaigns] = await Promise.all([
    api.myItems(caller, { campaignId, state: 'pending', pageSize: REVIEW_CARD_MAX_ITEMS + 1 }),
    api.myItems(caller, { campaignId, state: 'all', pageSize: 1 }),
    api.campaigns(caller),
  ]);
  const campaign = campaigns.find((c) => c.id === campaignId);
  return renderReviewCard({
    campaignId,
    campaignName: campaign?.definition.name ?? campaignId,
    pending: pending.total,
    total: Math.max(all.total, pending.total),
    ...(campaign && { deadline: stageDeadline(campaign) }),
    tabUrl: reviews.tabUrl(campaignId),
    reviewerId: caller.objectId,
    items: pending.items,
    ...extra,
  });
}

/** What a refused decision says, for the codes the review service raises. */
function refusalOf(err: DomainError): { refuse: string } | { error: string } {
  switch (err.code) {
    case 'REVIEW.FORBIDDEN':
      return {
        refuse:
          'This item is not yours to decide: it is assigned to another reviewer at its current stage. Open Access reviews to see the items that are yours.',
      };
    case 'REVIEW.NOT_FOUND':
      return {
        refuse:
          'Attest knows no such review item for you. Open Access reviews to see the items that are yours.',
      };
    case 'REVIEW.CLOSED':
      return {
        error: `This review stage is closed, so decisions are no longer taken on it; what nobody decided gets the campaign's default decision. (${err.message})`,
      };
    case 'REVIEW.CONFLICT':
      return {
        error:
          'Someone else decided this item first (or it moved on to the next stage). The card shows what still waits on you.',
      };
    default:
      return { error: err.message };
  }
}

function decideOnCard(decision: ReviewDecisionValue, getReviews: (c: TurnContext) => BotReviews | undefined) {
  const handler: ReviewVerbHandler = async (context, actor, data) => {
    const parsed = reviewActionData.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw invalidData(issue?.path.join('.') || 'data', issue?.message ?? 'is invalid');
    }
    const { campaignId, itemId } = parsed.data;
    const reviews = getReviews(context);
    if (!reviews) return NOT_SET_UP;
    const caller = callerOf(actor);
    const reason = reasonFrom(
      data,
      decision === 'keep' ? reviewKeepReasonInputId(itemId) : reviewRevokeReasonInputId(itemId),
    );
    // The member's own item: only a self-review stage assigns it to them, and keeping it needs a reason.
    const ownItem = itemId.split(':')[1]?.toLowerCase() === actor.objectId;
    const missing =
      decision === 'revoke' && !reason
        ? 'Say why this access should go: the audit trail keeps the reason with the decision.'
        : decision === 'keep' && ownItem && !reason
          ? 'Say why you still need this access: a self-review needs a justification.'
          : undefined;
    try {
      if (missing) return await reviewCardNow(reviews, caller, campaignId, { errors: [missing] });
      const result = await reviews.api.decide(
        caller,
        campaignId,
        [{ itemId, decision, ...(reason !== undefined && { reason }) }],
        'card',
      );
      const decidedPage = await reviews.api.myItems(caller, { campaignId, state: 'decided', pageSize: 100 });
      const item: ReviewItem | undefined = decidedPage.items.find((i) => i.itemId === itemId);
      const what = item ? `${item.userDisplayName} in ${item.groupName}` : 'this access';
      const notice =
        result.guarded !== undefined
          ? `Your decision is recorded. Removing ${result.guarded.wouldRemove} memberships is more than this review may remove without an admin, so it waits for an admin to confirm in Access reviews.`
          : `You ${decision === 'keep' ? 'kept' : 'revoked'} ${what}.`;
      return await reviewCardNow(reviews, caller, campaignId, {
        notice,
        decided: item ? [{ item, decision }] : [],
      });
    } catch (err) {
      if (!(err instanceof DomainError) || !err.code.startsWith('REVIEW.')) throw err;
      const answer = refusalOf(err);
      // NB. A refusal card names nothing of the item or the campaign: the click may come from a forwarded card.
      if ('refuse' in answer) return renderRefusalCard({ heading: 'Access review', message: answer.refuse });
      try {
        return await reviewCardNow(reviews, caller, campaignId, { errors: [answer.error] });
      } catch {
        return answer.error;
      }
    }
  };
  return handler;
}

/** The review card's verbs and their handlers, for the bot's one verb list. */
export function reviewVerbHandlers(
  getReviews: (context: TurnContext) => BotReviews | undefined,
): Record<Extract<CardVerb, `review.${string}`>, ReviewVerbHandler> {
  return {
    [CardVerbs.reviewKeep]: decideOnCard('keep', getReviews),
    [CardVerbs.reviewRevoke]: decideOnCard('revoke', getReviews),
  };
}
