/**
 * The cards that tell a requester how their request is going: submitted, decided, granted, about to expire
 * (with Extend) and revoked (with the reason).
 */
import type { DurationPolicy, DurationValue } from '../../domain/catalog/catalog.model';
import type { AccessRequest } from '../../domain/request/access-request';
import { CardVerbs, extendDurationInputId, extendReasonInputId } from './card-verbs';
import {
  cardTimestamp,
  describeDuration,
  durationChoices,
  preselectedDuration,
  renderCard,
  type CardJson,
} from './card-template';
import template from './templates/notification.card.json';

/** Which request a notification is about. */
export interface NotificationSubject {
  readonly requestId: string;
  readonly appName: string;
  readonly roleName: string;
}

/** Why access ended, as the request records it. */
export type RevocationReason = NonNullable<AccessRequest['revocation']>['reason'];

/** One notification for the requester. Timestamps are ISO strings. */
export type NotificationCardModel = NotificationSubject &
  (
    | {
        readonly kind: 'submitted';
        readonly at: string;
        readonly durationMs: DurationValue;
        /** Approval stages ahead; 0 when the request was approved automatically. */
        readonly stageCount: number;
      }
    | {
        readonly kind: 'decided';
        readonly outcome: 'approved' | 'denied';
        readonly by: string;
        readonly at: string;
        readonly comment?: string;
      }
    | { readonly kind: 'granted'; readonly expiresAt?: string }
    | { readonly kind: 'expiry-reminder'; readonly expiresAt: string; readonly duration: DurationPolicy }
    | {
        readonly kind: 'revoked';
        readonly at: string;
        readonly reason: RevocationReason;
        /** Display name of whoever revoked it, for reason `revoked` or `review`. */
        readonly by?: string;
        readonly comment?: string;
      }
  );

const HEADINGS: Record<NotificationCardModel['kind'], string> = {
  submitted: 'Request submitted',
  decided: 'Request decided',
  granted: 'Access granted',
  'expiry-reminder': 'Access ending soon',
  revoked: 'Access removed',
};

function revokedText(reason: RevocationReason, by: string | undefined): string {
  switch (reason) {
    case 'expired':
      return 'Your access expired';
    case 'revoked':
      return by ? `Your access was revoked by ${by}` : 'Your access was revoked';
    case 'review':
      return by
        ? `Your access was removed in an access review by ${by}`
        : 'Your access was removed in an access review';
    case 'offboarded':
      return 'Your access was removed because your account was offboarded';
  }
}

/** Renders a requester notification. */
export function renderNotificationCard(model: NotificationCardModel): CardJson {
  const m = model;
  const choices = m.kind === 'expiry-reminder' ? durationChoices(m.duration) : [];
  const comment = m.kind === 'decided' || m.kind === 'revoked' ? (m.comment ?? '') : '';
  const at = m.kind === 'submitted' || m.kind === 'decided' || m.kind === 'revoked' ? m.at : undefined;
  const expiresAt = m.kind === 'granted' || m.kind === 'expiry-reminder' ? m.expiresAt : undefined;
  const stageCount = m.kind === 'submitted' ? m.stageCount : 0;
  return renderCard(template, {
    verbs: { extend: CardVerbs.accessExtend },
    kinds: {
      submitted: m.kind === 'submitted',
      approved: m.kind === 'decided' && m.outcome === 'approved',
      denied: m.kind === 'decided' && m.outcome === 'denied',
      grantedUntil: m.kind === 'granted' && expiresAt !== undefined,
      grantedPermanent: m.kind === 'granted' && expiresAt === undefined,
      reminder: m.kind === 'expiry-reminder',
      revoked: m.kind === 'revoked',
    },
    heading:
      m.kind === 'decided'
        ? m.outcome === 'approved'
          ? 'Request approved'
          : 'Request denied'
        : HEADINGS[m.kind],
    requestId: m.requestId,
    access: `${m.appName} · ${m.roleName}`,
    durationText: m.kind === 'submitted' ? describeDuration(m.durationMs) : '',
    stagesText:
      stageCount === 0
        ? 'It needs no approval.'
        : `It needs ${stageCount} approval ${stageCount === 1 ? 'stage' : 'stages'}; we will tell you when it is decided.`,
    by: m.kind === 'decided' ? m.by : '',
    at: at !== undefined ? cardTimestamp(at) : '',
    expiresAt: expiresAt !== undefined ? cardTimestamp(expiresAt) : '',
    revokedText: m.kind === 'revoked' ? revokedText(m.reason, m.by) : '',
    hasComment: comment.trim() !== '',
    commentLabel: m.kind === 'revoked' ? 'Reason: ' : 'Comment: ',
    comment,
    canExtend: m.kind === 'expiry-reminder' && choices.length > 0,
    extendInputId: extendDurationInputId(m.requestId),
    extendReasonInputId: extendReasonInputId(m.requestId),
    extendChoices: choices,
    extendDefault: m.kind === 'expiry-reminder' ? preselectedDuration(choices, m.duration) : '',
  });
}
