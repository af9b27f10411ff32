/**
 * What every copy of an approval card turns into once it no longer waits on the person looking at it: who
 * decided and when, or why it is over. It has no actions, so a stale copy cannot be clicked again.
 */
import type { RequestStatus } from '../../domain/request/access-request';
import { cardTimestamp, renderCard, type CardJson } from './card-template';
import template from './templates/decided.card.json';

/** What the request was, for the line under the heading. */
export interface DecidedCardSubject {
  readonly requestId: string;
  readonly requesterName: string;
  readonly appName: string;
  readonly roleName: string;
  readonly stage: { readonly number: number; readonly of: number };
  /** Why the click that brought this card was refused, for the person who clicked. */
  readonly errors?: readonly string[];
}

/** A decision on the stage the card asked about, or the reason the card no longer asks anything. */
export type DecidedCardModel = DecidedCardSubject &
  (
    | {
        readonly outcome: 'approved' | 'denied';
        /** The approver's display name, as the server authorised them (never from card data). */
        readonly by: string;
        readonly at: string;
        readonly comment?: string;
      }
    | { readonly outcome: 'no-longer-waiting'; readonly status: RequestStatus }
  );

/** A request status in the words the decided card uses. */
export function describeRequestStatus(status: RequestStatus): string {
  switch (status) {
    case 'Submitted':
      return 'it is being checked';
    case 'PendingApproval':
      return 'it is waiting on another stage';
    case 'Approved':
      return 'it was approved';
    case 'Active':
      return 'access was granted';
    case 'Revoking':
      return 'access ended and is being removed';
    case 'Revoked':
      return 'access was revoked';
    case 'Denied':
      return 'it was denied';
    case 'Cancelled':
      return 'it was cancelled';
    case 'ExpiredUndecided':
      return 'it expired without a decision';
    case 'NoApprover':
      return 'nobody could decide it';
    case 'Failed':
      return 'granting the access failed';
  }
}

/** Renders the decided card. */
export function renderDecidedCard(model: DecidedCardModel): CardJson {
  const decided = model.outcome !== 'no-longer-waiting';
  const comment = decided ? (model.comment ?? '') : '';
  return renderCard(template, {
    heading: decided
      ? model.outcome === 'approved'
        ? 'Access request approved'
        : 'Access request denied'
      : 'Access request',
    errors: model.errors ?? [],
    summary: `${model.requesterName} · ${model.appName} · ${model.roleName} (stage ${model.stage.number} of ${model.stage.of})`,
    approved: model.outcome === 'approved',
    denied: model.outcome === 'denied',
    by: decided ? model.by : '',
    at: decided ? cardTimestamp(model.at) : '',
    hasComment: comment.trim() !== '',
    comment,
    noLongerWaiting: !decided,
    statusText: decided ? '' : describeRequestStatus(model.status),
  });
}
