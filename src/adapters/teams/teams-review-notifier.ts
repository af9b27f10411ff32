/**
 * Delivers access-review notices: the review card in the reviewer's personal chat with Attest, sent through
 * the proactive queue; a reviewer with no conversation reference (never installed the app or wrote to the bot)
 * gets the app installed through Graph first when an installer is configured; or, when the bot cannot reach the
 * person (installation refused or not configured; or Teams refuses for good with 403/404: the app was
 * removed), an e-mail through Graph sendMail with a link to the Access reviews tab.
 *
 * Every notice is first handed to the outbox notifier (when given), so it is kept whatever happens next.
 * Delivery is idempotent per notice id and recipient: a delivered notice is recorded (DeliveryStore, under
 * `review:<campaignId>`), so a retried activity sends it neither again nor by the other route. A failure that
 * may pass (Teams throttling past the queue's retries, Graph down) is logged and leaves the notice in the
 * outbox, undelivered and unrecorded, so a retry delivers it; it is never thrown: a notice that could not be
 * delivered must not stop a campaign.
 */
import { logger } from '../telemetry/logger';
import type { ConversationReference } from 'botbuilder';
import type { Directory } from '../../ports/directory.port';
import type {
  ReviewNotice,
  ReviewNoticeKind,
  ReviewNoticeResult,
  ReviewNotifier,
} from '../../ports/review-notifier.port';
import { cardTimestamp } from '../cards/card-template';
import { describeRecommendation, renderReviewCard, REVIEW_CARD_MAX_ITEMS } from '../cards/review.card';
import { escapeHtml } from '../../domain/html-text';
import type { Mailer } from '../graph/graph-mailer';
import type { TeamsAppInstaller } from '../graph/teams-app-installer';
import type { ConversationStore, Delivery, DeliveryStore } from '../tables/teams.store';
import { ProactiveErrorCodes, ProactiveSendError, type ProactiveQueue } from './proactive-queue';
import { cardActivity } from './request-cards';

/** What a {@link TeamsReviewNotifier} needs. */
export interface TeamsReviewNotifierDeps {
  /** Keeps every notice (the campaign's outbox), delivered or not. */
  outbox?: ReviewNotifier;
  conversations: ConversationStore;
  deliveries: DeliveryStore;
  queue: ProactiveQueue;
  /** Remembers which reference a conversation id stands for, for the queue's sender. */
  references: Map<string, Partial<ConversationReference>>;
  /** Where the e-mail goes: the recipient's mail address (or UPN) from the directory. */
  directory: Pick<Directory, 'getUser'>;
  /** Sends the e-mail fallback (Graph sendMail from ATTEST_MAIL_SENDER). */
  mailer: Mailer;
  /** The deep link to the Access reviews tab on one campaign. */
  tabUrl: (campaignId: string) => string;
  /** Installs the app for a reviewer with no conversation reference; absent, such a reviewer is e-mailed. */
  installer?: TeamsAppInstaller;
  log?: (line: string) => void;
}

const HEADINGS: Record<ReviewNoticeKind, string> = {
  'review-assigned': 'Access review',
  'review-reminder': 'Access review reminder',
  'review-delegated': 'Access review items handed to you',
  'review-guard-held': 'Access review waits for an admin',
  'review-signoff-requested': 'Access review ready for sign-off',
};

/** The DeliveryStore partition of a campaign's notices (request ids are GUIDs, so these never collide). */
export function reviewDeliveryKey(campaignId: string): string {
  return `review:${campaignId}`;
}

/** A ReviewNotifier that delivers in Teams, and by e-mail to whom Teams cannot reach. */
export class TeamsReviewNotifier implements ReviewNotifier {
  private readonly log: (line: string) => void;

  constructor(private readonly deps: TeamsReviewNotifierDeps) {
    this.log = deps.log ?? logger('review-notifier', 'warn');
  }

  async notifyReviewer(n: ReviewNotice): Promise<ReviewNoticeResult> {
    const { deps } = this;
    if (deps.outbox) await deps.outbox.notifyReviewer(n);
    const key = reviewDeliveryKey(n.campaignId);
    const recipient = n.recipientId.toLowerCase();
    const done = await deps.deliveries.get(key, n.id, recipient);
    if (done?.status === 'sent') return { via: 'teams' };
    if (done?.status === 'emailed') return { via: 'email' };
    const record = (d: Partial<Delivery> & Pick<Delivery, 'status'>) =>
      deps.deliveries.put({ requestId: key, notificationId: n.id, recipient, kind: n.kind, ...d });

    const teams = await this.sendInTeams(n, recipient);
    if (teams.sent) {
      await record({ status: 'sent', conversationId: teams.conversationId, activityId: teams.activityId });
      return { via: 'teams' };
    }
    if (!teams.unreachable) return this.keptOnly(n, 'Teams did not take it; a retry sends it again');
    try {
      const emailed = await this.sendByMail(n, recipient);
      if (!emailed) return this.keptOnly(n, 'the directory has no mail address for them');
    } catch (err) {
      return this.keptOnly(n, `the e-mail failed: ${(err as Error).message}`);
    }
    await record({ status: 'emailed' });
    return { via: 'email' };
  }

  private keptOnly(n: ReviewNotice, why: string): ReviewNoticeResult {
    this.log(
      `reviews: could not deliver ${n.kind} ${n.id} of campaign ${n.campaignId} to ${n.recipientId}: ${why}`,
    );
    return { via: 'outbox' };
  }

  /** The card in the person's chat with Attest; says whether the bot can reach them at all. */
  private async sendInTeams(
    n: ReviewNotice,
    recipient: string,
  ): Promise<
    { sent: true; conversationId: string; activityId?: string } | { sent: false; unreachable: boolean }
  > {
    const { deps } = this;
    let reference = await deps.conversations.user(recipient);
    if (!reference?.conversation?.id && deps.installer) {
      try {
        const reached = await deps.installer.reach(recipient, {
          kind: n.kind,
          about: reviewDeliveryKey(n.campaignId),
        });
        if (!reached.reached) return { sent: false, unreachable: true };
        reference = reached.reference;
      } catch (err) {
        // Graph unavailable past its retries: the e-mail fallback tells them now rather than not at all.
        this.log(`reviews: could not install the Attest app for ${recipient}: ${(err as Error).message}`);
        return { sent: false, unreachable: true };
      }
    }
    const conversationId = reference?.conversation?.id;
    if (!reference || !conversationId) return { sent: false, unreachable: true };
    const card = renderReviewCard({
      heading: HEADINGS[n.kind],
      campaignId: n.campaignId,
      campaignName: n.campaignName,
      pending: n.pending,
      total: n.total,
      deadline: n.deadline,
      tabUrl: deps.tabUrl(n.campaignId),
      reviewerId: recipient,
      items: n.kind === 'review-guard-held' || n.kind === 'review-signoff-requested' ? [] : n.items,
      notice: n.text,
    });
    try {
      deps.references.set(conversationId, reference);
      const activityId = await deps.queue.send(conversationId, cardActivity(card, n.text), {
        tenantId: reference.conversation?.tenantId,
      });
      return { sent: true, conversationId, ...(activityId && { activityId }) };
    } catch (err) {
      if (
        err instanceof ProactiveSendError &&
        (err.code === ProactiveErrorCodes.unreachable || err.statusCode === 403)
      ) {
        // The app is gone for them: the next notice goes straight to e-mail until they write to the bot again.
        await deps.conversations.forgetUser(recipient);
        return { sent: false, unreachable: true };
      }
      this.log(`reviews: Teams send of ${n.id} to ${recipient} failed: ${(err as Error).message}`);
      return { sent: false, unreachable: false };
    }
  }

  /** The e-mail fallback; false when the directory knows no address for the person. */
  private async sendByMail(n: ReviewNotice, recipient: string): Promise<boolean> {
    const user = await this.deps.directory.getUser(recipient);
    const address = user?.mail ?? user?.userPrincipalName;
    if (!address) return false;
    await this.deps.mailer.send({
      to: address,
      subject: `${HEADINGS[n.kind]}: ${n.campaignName} (${n.pending} item${n.pending === 1 ? '' : 's'} waiting on you)`,
      html: reviewMailHtml(n, this.deps.tabUrl(n.campaignId), user?.displayName),
    });
    return true;
  }
}

/** The e-mail body: what the card says, with the items listed and no buttons (decisions are made in the tab). */
export function reviewMailHtml(n: ReviewNotice, tabUrl: string, name?: string): string {
  const e = escapeHtml;
  const deadline = new Date(cardTimestamp(n.deadline)).toUTCString();
  const items = (n.items ?? []).slice(0, REVIEW_CARD_MAX_ITEMS);
  const rows = items
    .map(
      (i) =>
        `<li><b>${e(i.userDisplayName)}</b> (${e(i.userPrincipalName)}) in ${e(i.groupName)}: ${e(describeRecommendation(i))}</li>`,
    )
    .join('');
  return [
    `<p>${name ? `Hello ${e(name)},` : 'Hello,'}</p>`,
    `<p>${e(n.text)}</p>`,
    `<p><b>${e(n.campaignName)}</b><br>Waiting on you: ${n.pending} of ${n.total} item${n.total === 1 ? '' : 's'}<br>Deadline: ${e(deadline)}</p>`,
    rows ? `<ul>${rows}</ul>` : '',
    `<p><a href="${e(tabUrl)}">Open Access reviews in Microsoft Teams</a> to keep or revoke each item.</p>`,
    '<p>You get this by e-mail because Attest cannot message you in Teams: install the Attest app in Teams to get reviews in chat.</p>',
  ].join('\n');
}
