/**
 * The request lifecycle as one state machine: every status, which status may follow which, and the terminal
 * outcome each final status means. The orchestration moves a request only through {@link transition}, and
 * readers (status, evidence export) ask {@link outcomeOf} rather than re-deriving it.
 *
 * Submitted → PendingApproval (stage 1..n) → Approved → Active → Revoking → Revoked (expired | revoked |
 * review | offboarded); or Denied, Cancelled, ExpiredUndecided, NoApprover, Failed.
 */
import { DomainError } from '../domain-error';

/** Where a request is in its lifecycle. */
export type RequestStatus =
  | 'Submitted'
  | 'PendingApproval'
  | 'Approved'
  | 'Active'
  /** Access has ended; its removal from the group is under way (retried until it succeeds). */
  | 'Revoking'
  | 'Revoked'
  | 'Denied'
  | 'Cancelled'
  | 'ExpiredUndecided'
  /** Nobody could decide a stage: no approver, and a fallback who is the requester or a disabled account. */
  | 'NoApprover'
  /** Provisioning failed for good (a person is told why). */
  | 'Failed';

/** Why access ended. */
export type RevocationReason = 'expired' | 'revoked' | 'review' | 'offboarded';

/** Every way a request can end, each its own value. */
export type TerminalOutcome =
  'failed' | 'expired-undecided' | 'no-approver' | 'denied' | 'cancelled' | `revoked-${RevocationReason}`;

const NEXT: Record<RequestStatus, readonly RequestStatus[]> = {
  Submitted: ['PendingApproval', 'Approved', 'Cancelled', 'Failed', 'NoApprover'],
  PendingApproval: ['Approved', 'Denied', 'Cancelled', 'ExpiredUndecided', 'NoApprover', 'Failed'],
  Approved: ['Active', 'Failed'],
  // An extension's stages run while Active; their outcome never leaves Active except through Revoking.
  Active: ['Revoking'],
  Revoking: ['Revoked'],
  Revoked: [],
  Denied: [],
  Cancelled: [],
  ExpiredUndecided: [],
  NoApprover: [],
  Failed: [],
};

/** True when `s` names a status (statuses arrive as text from stored rows and outbox payloads). */
export function isRequestStatus(s: string): s is RequestStatus {
  return Object.prototype.hasOwnProperty.call(NEXT, s);
}

/** True for a status nothing follows. */
export function isTerminal(status: RequestStatus): boolean {
  return NEXT[status].length === 0;
}

/** The statuses that may follow `from`. */
export function nextStatuses(from: RequestStatus): readonly RequestStatus[] {
  return NEXT[from];
}

/**
 * Checks a move from `from` to `to` and returns `to`; staying put is allowed. An illegal move is a bug in
 * the caller: REQUEST.ILLEGAL_TRANSITION.
 */
export function transition(from: RequestStatus, to: RequestStatus): RequestStatus {
  if (from === to || NEXT[from].includes(to)) return to;
  throw new DomainError(
    'REQUEST.ILLEGAL_TRANSITION',
    `A request cannot go from ${from} to ${to}; it may go to ${NEXT[from].join(', ') || 'nothing (it is final)'}.`,
    { from, to },
  );
}

/** The terminal outcome of a final request, or undefined while it can still change. */
export function outcomeOf(request: {
  status: RequestStatus;
  revocation?: { reason: RevocationReason };
}): TerminalOutcome | undefined {
  switch (request.status) {
    case 'Failed':
      return 'failed';
    case 'ExpiredUndecided':
      return 'expired-undecided';
    case 'NoApprover':
      return 'no-approver';
    case 'Denied':
      return 'denied';
    case 'Cancelled':
      return 'cancelled';
    case 'Revoked':
      return `revoked-${request.revocation?.reason ?? 'revoked'}`;
    default:
      return undefined;
  }
}
