/**
 * Delivers the workflow's notifications in Teams: approval cards to each approver of a stage (and to the
 * approvers' channel, when one is configured), status cards to the requester, and, after every step, every
 * copy of an approval card that no longer waits on anyone replaced by its final state.
 *
 * Every notification is first kept in the outbox table (what the CLI shows). Delivery is idempotent: each
 * (notification, recipient) is recorded once sent, so a retried activity sends nothing twice. A person with
 * no stored conversation reference (never installed the app, never wrote to the bot) gets the app installed
 * through Graph first, when an installer is configured (ATTEST_TEAMS_CATALOG_APP_ID); one whom that cannot reach
 * (installation refused, or no installer) or whom Teams refuses (403/404: app removed, user gone) is reported
 * unreachable, with the reason kept on the delivery, and the workflow escalates. Any other failure is
 * logged and recorded, never thrown: a notification that could not be delivered must not stop a grant or a
 * revocation.
 */
import { logger } from '../telemetry/logger';
import type { ConversationReference } from 'botbuilder';
import type { Catalog } from '../../domain/catalog/catalog.model';
import type { AccessRequest } from '../../domain/request/access-request';
import { awaitsDecision } from '../../domain/request/access-request';
import type { Directory } from '../../ports/directory.port';
import type { Notification, Notifier, NotifyResult } from '../../ports/notifier.port';
import type { RequestStore } from '../../ports/request-store.port';
import { renderNotificationCard, type NotificationCardModel } from '../cards/notification.card';
import type { TeamsAppInstaller } from '../graph/teams-app-installer';
import type { ConversationStore, Delivery, DeliveryStore } from '../tables/teams.store';
import { ProactiveErrorCodes, ProactiveSendError, type ProactiveQueue } from './proactive-queue';
import { approvalCardFor, cardActivity, decidedCardFor, deciderName, namesOf } from './request-cards';

/** Notifications that ask their recipients to decide a stage. */
const APPROVAL_KINDS = new Set<string>(['approval-requested', 'approval-escalated']);

/** What a {@link TeamsNotifier} needs. */
export interface TeamsNotifierDeps {
  /** Keeps every notification (the outbox table), delivered or not. */
  outbox: Notifier;
  conversations: ConversationStore;
  deliveries: DeliveryStore;
  requests: RequestStore;
  directory: Directory;
  catalog: Catalog;
  queue: ProactiveQueue;
  /** Remembers which reference a conversation id stands for, for the queue's sender. */
  references: Map<string, Partial<ConversationReference>>;
  /** Teams channel id (`19:...@thread.tacv2`) that also receives every approval card. */
  approversChannelId?: string;
  /** Installs the app for a person with no conversation reference; absent, such a person is unreachable. */
  installer?: TeamsAppInstaller;
  log?: (line: string) => void;
}

/** Why a person with no conversation reference was not reached, when no installer is configured. */
export const NOT_INSTALLED_REASON =
  'no conversation with the bot: the Attest app is not installed for them, and Attest does not install it (ATTEST_TEAMS_CATALOG_APP_ID is unset)';

/** A Notifier that delivers in Teams. */
export class TeamsNotifier implements Notifier {
  private readonly log: (line: string) => void;

  constructor(private readonly deps: TeamsNotifierDeps) {
    this.log = deps.log ?? logger('notifier', 'warn');
  }

  async notify(n: Notification): Promise<NotifyResult> {
    await this.deps.outbox.notify(n);
    const request = await this.deps.requests.get(n.requestId);
    const unreachable: string[] = [];
    // A requester who submitted on the card was told there (the invoke's answer): not a second time in chat.
    const toldOnCard =
      n.kind === 'request-submitted' && request?.submittedVia === 'teams'
        ? request.requester.id.toLowerCase()
        : undefined;
    const recipients = n.recipients.filter((r) => r.toLowerCase() !== toldOnCard);
    // The channel gets one copy per stage (an escalation adds approvers, not a second card there).
    if (n.kind === 'approval-requested' && this.deps.approversChannelId) {
      recipients.push(`channel:${this.deps.approversChannelId}`);
    }
    // One card for every recipient, built on first need (an approval card reads the directory and the store).
    let built: Promise<object> | undefined;
    const activity = () => (built ??= this.activityFor(n, request));
    for (const recipient of recipients) {
      const outcome = await this.deliver(n, recipient, request, activity);
      if (outcome === 'unreachable' && !recipient.startsWith('channel:')) unreachable.push(recipient);
    }
    if (request) await this.closeApprovalCards(request);
    return { unreachable };
  }

  /** Sends `n` to one recipient once; says whether they could be reached. */
  private async deliver(
    n: Notification,
    recipient: string,
    request: AccessRequest | undefined,
    activity: () => Promise<object>,
  ): Promise<Delivery['status'] | 'failed'> {
    const done = await this.deps.deliveries.get(n.requestId, n.id, recipient);
    if (done) return done.status;
    const channel = recipient.startsWith('channel:') ? recipient.slice('channel:'.length) : undefined;
    let reference = channel
      ? await this.deps.conversations.channel(channel)
      : await this.deps.conversations.user(recipient);
    const record = (d: Partial<Delivery> & Pick<Delivery, 'status'>) =>
      this.deps.deliveries.put({
        requestId: n.requestId,
        notificationId: n.id,
        recipient,
        kind: n.kind,
        ...d,
      });
    if (!channel && !reference?.conversation?.id) {
      if (!this.deps.installer) {
        await record({ status: 'unreachable', reason: NOT_INSTALLED_REASON });
        return 'unreachable';
      }
      try {
        const reached = await this.deps.installer.reach(recipient, { kind: n.kind, about: n.requestId });
        if (!reached.reached) {
          await record({ status: 'unreachable', reason: reached.reason });
          return 'unreachable';
        }
        reference = reached.reference;
      } catch (err) {
        // Graph unavailable past its retries: unreachable for now (the stage goes on to its fallback rather than
        // wait on someone nobody told), and not recorded, so a retried activity tries the installation again.
        this.log(
          `teams: could not install the Attest app for ${recipient} (${n.kind} of request ${n.requestId}): ${(err as Error).message}`,
        );
        return 'unreachable';
      }
    }
    const conversationId = reference?.conversation?.id;
    if (!reference || !conversationId) {
      await record({ status: 'unreachable' });
      return 'unreachable';
    }
    const stage = request?.stages[request.currentStage]?.number;
    try {
      const card = await activity();
      this.deps.references.set(conversationId, reference);
      const activityId = await this.deps.queue.send(conversationId, card, {
        tenantId: reference.conversation?.tenantId,
      });
      await record({
        status: 'sent',
        conversationId,
        activityId,
        reference,
        stage: APPROVAL_KINDS.has(n.kind) ? stage : undefined,
      });
      return 'sent';
    } catch (err) {
      if (
        err instanceof ProactiveSendError &&
        (err.code === ProactiveErrorCodes.unreachable || err.statusCode === 403)
      ) {
        if (!channel) await this.deps.conversations.forgetUser(recipient);
        await record({ status: 'unreachable', conversationId });
        return 'unreachable';
      }
      // Not recorded: a later retry of the activity may still deliver it. The outbox row keeps it meanwhile.
      this.log(
        `teams: could not deliver ${n.kind} of request ${n.requestId} to ${recipient}: ${(err as Error).message}`,
      );
      return 'failed';
    }
  }

  /** The card (or text) one notification becomes. */
  private async activityFor(n: Notification, request: AccessRequest | undefined) {
    if (!request) return { type: 'message', text: n.text };
    const { catalog } = this.deps;
    if (APPROVAL_KINDS.has(n.kind)) {
      const card = await approvalCardFor(request, this.deps);
      return cardActivity(card, n.text);
    }
    const model = this.requesterCard(n, request, catalog);
    return model ? cardActivity(renderNotificationCard(model), n.text) : { type: 'message', text: n.text };
  }

  /** The requester's card for a notification, or undefined where plain text says it better. */
  private requesterCard(
    n: Notification,
    r: AccessRequest,
    catalog: Catalog,
  ): NotificationCardModel | undefined {
    const { appName, roleName, role } = namesOf(catalog, r);
    const subject = { requestId: r.id, appName, roleName };
    const lastDecision = () => {
      const stage = [...r.stages].reverse().find((s) => s.decisions.length > 0);
      const d = stage?.decisions[stage.decisions.length - 1];
      if (!stage || !d) return undefined;
      return { d, by: deciderName(stage, d) };
    };
    switch (n.kind) {
      case 'request-submitted':
        return {
          ...subject,
          kind: 'submitted',
          at: r.submittedAt,
          durationMs: r.durationMs,
          stageCount:
            r.status === 'Approved' || r.status === 'Active' ? 0 : (role?.approval.stages.length ?? 0),
        };
      case 'decision-recorded':
      case 'request-denied': {
        const last = lastDecision();
        if (!last) return undefined;
        return {
          ...subject,
          kind: 'decided',
          outcome: last.d.decision === 'approve' ? 'approved' : 'denied',
          by: last.by,
          at: last.d.at,
          comment: last.d.comment,
        };
      }
      case 'access-granted':
        return { ...subject, kind: 'granted', expiresAt: r.expiresAt };
      case 'extension-decided':
        return r.expiresAt ? { ...subject, kind: 'granted', expiresAt: r.expiresAt } : undefined;
      case 'expiry-reminder':
        return r.expiresAt && role
          ? { ...subject, kind: 'expiry-reminder', expiresAt: r.expiresAt, duration: role.duration }
          : undefined;
      case 'access-revoked': {
        if (!r.revocation) return undefined;
        const byId = r.revocation.by;
        const by =
          byId === 'system' ? undefined : byId.toLowerCase() === r.requester.id.toLowerCase() ? 'you' : byId;
        return {
          ...subject,
          kind: 'revoked',
          at: r.revokedAt ?? r.submittedAt,
          reason: r.revocation.reason,
          by,
        };
      }
      default:
        return undefined;
    }
  }

  /**
   * Replaces every sent approval card whose stage no longer waits (decided, moved on, expired) with its final
   * state, once. The person who clicked already got that state in the invoke response; this is every other copy.
   */
  private async closeApprovalCards(request: AccessRequest): Promise<void> {
    const open = awaitsDecision(request) ? request.stages[request.currentStage]?.number : undefined;
    const copies = (await this.deps.deliveries.forRequest(request.id)).filter(
      (d) =>
        APPROVAL_KINDS.has(d.kind) &&
        d.status === 'sent' &&
        !d.closed &&
        d.activityId &&
        d.conversationId &&
        d.stage !== undefined &&
        d.stage !== open,
    );
    for (const d of copies) {
      const card = decidedCardFor(request, this.deps.catalog, d.stage as number);
      try {
        this.deps.references.set(d.conversationId as string, d.reference ?? {});
        await this.deps.queue.send(
          d.conversationId as string,
          { ...cardActivity(card, 'Access request updated'), id: d.activityId },
          { tenantId: d.reference?.conversation?.tenantId },
        );
        await this.deps.deliveries.put({ ...d, closed: true });
      } catch (err) {
        this.log(
          `teams: could not update the approval card in ${d.conversationId}: ${(err as Error).message}`,
        );
      }
    }
  }
}
