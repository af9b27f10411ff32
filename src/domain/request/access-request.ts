/**
 * An access request and the rules of its lifecycle, as pure functions: no I/O, no clock (times are passed
 * in). The orchestration drives these transitions and records each as one audit event; the application layer
 * calls {@link authorizeDecision} before it lets a decision through, and audits a refusal.
 *
 * Submitted → PolicyChecked → Pending approval (stage 1..n) → Approved → Granted → Active → (Extended) →
 * Revoked — or Denied, Cancelled, ExpiredUndecided, Failed.
 */
import type { AuditChannel } from '../audit/audit-event.model';
import type { DurationValue, Quorum } from '../catalog/catalog.model';
import { DomainError } from '../domain-error';
import { isTerminal, type RequestStatus, type RevocationReason } from './request-lifecycle';

export type { RequestStatus } from './request-lifecycle';

/** A person, as the request records them (ids are Entra object ids). */
export interface Person {
  id: string;
  upn?: string;
  displayName?: string;
}

/** One approver's decision. */
export interface Decision {
  approverId: string;
  decision: 'approve' | 'deny';
  at: string;
  channel: 'teams' | 'cli' | 'tab' | 'api';
  comment?: string;
}

/** A stage once its approvers are resolved (from the directory, at the time the stage opens). */
export interface StageState {
  /** 1-based, as people read it ("stage 2 of 3"). */
  number: number;
  quorum: Quorum;
  approvers: Person[];
  /** When the stage gives up waiting (then it escalates once to `fallback`, then the request expires). */
  dueAt?: string;
  escalated: boolean;
  decisions: Decision[];
  outcome: 'pending' | 'approved' | 'denied';
}

/** An access request as stored and as the lifecycle sees it. */
export interface AccessRequest {
  id: string;
  requester: Person;
  appId: string;
  roleId: string;
  groupId: string;
  policy: { id: string; version: string; hash: string };
  durationMs: DurationValue;
  justification: string;
  ticketReference?: string;
  submittedAt: string;
  /**
   * Where the requester submitted it. In Teams they were told on the card they submitted, so chat does not
   * tell them again. Absent on requests stored before it was recorded.
   */
  submittedVia?: AuditChannel;
  status: RequestStatus;
  stages: StageState[];
  /** Index into `stages` of the stage being decided, while PendingApproval. */
  currentStage: number;
  grantedAt?: string;
  expiresAt?: string;
  revokedAt?: string;
  revocation?: { reason: RevocationReason; by: string };
  /** Why the request ended as it did, for Failed and NoApprover (a sentence a person can act on). */
  failure?: { code: string; reason: string };
  /** While Revoking: removal attempts so far and the last failure, for status and the admins' digest. */
  revoking?: { since: string; attempts: number; lastError?: string; nextAttemptAt?: string };
  /** The membership behind the grant was removed outside Attest (found by reconciliation). */
  membershipGoneAt?: string;
  /**
   * While Active: an extension waiting on its approval stages (appended to `stages`, numbered after the
   * earlier ones, so a stage number names one stage for the request's whole life).
   */
  pendingExtension?: { durationMs: number; justification: string; requestedAt: string };
  /**
   * The sequence number of the last audit event of the request's stream this state reflects. The stored state
   * is saved just after its event, so a reader that has seen event N waits for auditSeq >= N.
   */
  auditSeq?: number;
}

/** True while a decision can change the request: pending approval, or an extension pending on an active grant. */
export function awaitsDecision(request: AccessRequest): boolean {
  return (
    request.status === 'PendingApproval' ||
    (request.status === 'Active' && request.pendingExtension !== undefined)
  );
}

/** True once nothing more can happen to the request. */
export function isFinal(request: AccessRequest): boolean {
  return isTerminal(request.status);
}

/** The number of approvals a stage needs. */
export function approvalsNeeded(stage: Pick<StageState, 'quorum' | 'approvers'>): number {
  if (stage.quorum === 'any') return 1;
  if (stage.quorum === 'all') return stage.approvers.length;
  return stage.quorum;
}

/**
 * Checks that `actorId` may decide stage `stageNumber` of the request now. The actor comes from the
 * authenticated channel (Teams' `from.aadObjectId`, the CLI's signed-in user), never from card data.
 * Throws a coded {@link DomainError}: REQUEST.SELF_APPROVAL, REQUEST.NOT_AN_APPROVER,
 * REQUEST.ALREADY_DECIDED (the request or the stage is over, or this approver decided already) or
 * REQUEST.STAGE_OVER (a decision for a stage that is not the current one).
 */
export function authorizeDecision(request: AccessRequest, actorId: string, stageNumber: number): StageState {
  const actor = actorId.toLowerCase();
  if (!awaitsDecision(request)) {
    throw new DomainError(
      'REQUEST.ALREADY_DECIDED',
      `Request ${request.id} is ${describeStatus(request.status)}; a decision now changes nothing.`,
      { status: request.status },
    );
  }
  if (actor === request.requester.id.toLowerCase()) {
    throw new DomainError('REQUEST.SELF_APPROVAL', `You cannot decide your own request ${request.id}.`);
  }
  const stage = request.stages[request.currentStage];
  if (!stage || stage.number !== stageNumber) {
    throw new DomainError(
      'REQUEST.STAGE_OVER',
      `Stage ${stageNumber} of request ${request.id} is over; it is now waiting on stage ${stage?.number ?? '?'}.`,
    );
  }
  if (!stage.approvers.some((a) => a.id.toLowerCase() === actor)) {
    throw new DomainError(
      'REQUEST.NOT_AN_APPROVER',
      `You are not an approver of stage ${stage.number} of request ${request.id}.`,
    );
  }
  if (stage.decisions.some((d) => d.approverId.toLowerCase() === actor)) {
    throw new DomainError(
      'REQUEST.ALREADY_DECIDED',
      `You have already decided stage ${stage.number} of request ${request.id}.`,
    );
  }
  return stage;
}

/**
 * True when the request's current stage waits on `approverId`: exactly when {@link authorizeDecision} would let
 * them decide it now (the "pending" list is the decisions a person can make).
 */
export function waitsOn(request: AccessRequest, approverId: string): boolean {
  const stage = request.stages[request.currentStage];
  if (!stage) return false;
  try {
    authorizeDecision(request, approverId, stage.number);
    return true;
  } catch (err) {
    if (err instanceof DomainError) return false;
    throw err;
  }
}

/** How a person is named to people: display name, else UPN, else object id. */
export function personName(p: Person): string {
  return p.displayName ?? p.upn ?? p.id;
}

/**
 * Records an authorised decision and works out the stage's outcome: one deny denies the stage (and the
 * request); it is approved once the quorum of approvals is reached. Opening the next stage, and approving the
 * request after the last one, is the orchestration's step (stages are resolved one at a time). Returns the new
 * request.
 */
export function recordDecision(
  request: AccessRequest,
  decision: Decision,
  stageNumber: number,
): AccessRequest {
  const stage = authorizeDecision(request, decision.approverId, stageNumber);
  const decisions = [...stage.decisions, decision];
  const approvals = decisions.filter((d) => d.decision === 'approve').length;
  const outcome: StageState['outcome'] =
    decision.decision === 'deny' ? 'denied' : approvals >= approvalsNeeded(stage) ? 'approved' : 'pending';
  const stages = request.stages.map((s, i) =>
    i === request.currentStage ? { ...s, decisions, outcome } : s,
  );
  // One deny ends a request (an extension's outcome is the orchestration's to apply: the grant stays).
  if (outcome === 'denied' && !request.pendingExtension) return { ...request, stages, status: 'Denied' };
  return { ...request, stages };
}

function describeStatus(status: RequestStatus): string {
  switch (status) {
    case 'PendingApproval':
      return 'waiting for approval';
    case 'ExpiredUndecided':
      return 'expired without a decision';
    case 'NoApprover':
      return 'closed: nobody could decide it';
    case 'Revoking':
      return 'being revoked';
    default:
      return status.toLowerCase();
  }
}
