/** The data an access-request orchestration receives and the events it waits for. */
import type { AuditActor, AuditEventInput } from '../domain/audit/audit-event.model';
import type { ApprovalStage, CatalogRole } from '../domain/catalog/catalog.model';
import type { AccessRequest, Person } from '../domain/request/access-request';
import type { Notification } from '../ports/notifier.port';

/**
 * The access-request orchestration's version. 1 (inputs without `version`): the first. 2: grants and
 * revocations through the membership ledger, revocation retried without end, escalation that cannot dead-end.
 * Steps new in 2 on a path a first-version instance may already have taken are taken only for version 2.
 */
export const ACCESS_REQUEST_VERSION = 2;

/**
 * What starts an orchestration: the request as submitted and the role's policy as it was then.
 *
 * NB. `version` absent is the first version's input: its instances (some wait weeks for an expiry) replay on
 * today's code, so every step the first version could already have taken is scheduled the same way, and new
 * steps on such a path are taken only when `version >= 2`.
 */
export interface AccessRequestInput {
  version?: number;
  /** Set when the orchestration continued as new while revoking: where the revocation stands. */
  revoking?: RevokingCheckpoint;
  request: AccessRequest;
  role: CatalogRole;
  /** The app's name in the catalog, for what people read ("Snowflake · Analyst"). */
  appName?: string;
  /** Decided by the application service from the directory at submission. */
  autoApprove: { approved: boolean; reason: string };
  /** Who submitted (the requester, through a channel). */
  actor: AuditActor;
  /** How long before expiry the holder is reminded (ms). */
  reminderLeadMs: number;
}

/** An approver's decision, as raised by the application service (already checked once there). */
export interface DecisionEvent {
  /** Unique per decision attempt: events are delivered at least once. */
  decisionId: string;
  actor: AuditActor;
  stage: number;
  decision: 'approve' | 'deny';
  comment?: string;
}

/** Early revoke. */
export interface RevokeEvent {
  eventId: string;
  actor: AuditActor;
  reason: 'revoked' | 'offboarded' | 'review';
}

/** A request to keep access longer. */
export interface ExtendEvent {
  eventId: string;
  actor: AuditActor;
  durationMs: number;
  justification: string;
}

/** Input of the record-step activity. */
export interface RecordStepInput {
  event: AuditEventInput;
  /** The sequence number this event must get: the orchestration is the stream's only writer. */
  expectedSeq: number;
  request: AccessRequest;
}

/** Input of the resolve-approvers activity. */
export interface ResolveApproversInput {
  requesterId: string;
  groupId: string;
  stage: ApprovalStage;
}

/** Output of the resolve-approvers activity: never empty (the fallback stands in for nobody). */
export interface ResolvedApprovers {
  approvers: Person[];
  /** Why the fallback was used, when it was. */
  fallbackReason?: string;
  /**
   * Set (with no approvers) when the stage could not be resolved: `permanent` when nobody can decide it,
   * otherwise the directory failed and trying again later may work.
   */
  failure?: { permanent: boolean; code: string; reason: string };
}

/** Input of the grant and revoke activities. */
export interface MembershipInput {
  groupId: string;
  userId: string;
  /** The grant's request: its claim in the membership ledger. Absent only in inputs the first version scheduled. */
  requestId?: string;
  /** Grant: when it ends. */
  expiresAt?: string;
  /** Revoke of a grant made before the ledger existed: what its add found. */
  legacy?: { alreadyMember: boolean };
  /** Revoke: the request as Revoking, saved before the first attempt. */
  state?: AccessRequest;
}

/** What the first version's grant activity answered (still in the histories of grants it made). */
export interface LegacyGrant {
  status: number;
  alreadyMember: boolean;
  requestId?: string;
}

/** What the first version's revoke activity answered. */
export interface LegacyRevoke {
  status: number;
  wasMember: boolean;
  requestId?: string;
}

/** The notify activity's input. */
export type NotifyInput = Notification;

/** A revocation in progress, carried across continue-as-new so the history stays bounded. */
export interface RevokingCheckpoint {
  request: AccessRequest;
  /** The last audit sequence number written. */
  seq: number;
  /** Notifications sent so far (their ids go on from here). */
  notices: number;
  attempts: number;
  end: { reason: 'expired' | 'revoked' | 'review' | 'offboarded'; by: string; actor: AuditActor };
  legacy?: { alreadyMember: boolean };
  /** The backoff step last audited (see access.revoke-failed). */
  auditedStep: number;
}
