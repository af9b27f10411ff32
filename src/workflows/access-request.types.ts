/** The data an access-request orchestration receives and the events it waits for. */
import type { AuditActor, AuditEventInput } from '../domain/audit/audit-event.model';
import type { ApprovalStage, CatalogRole } from '../domain/catalog/catalog.model';
import type { AccessRequest, Person } from '../domain/request/access-request';
import type { Notification } from '../ports/notifier.port';

/** What starts an orchestration: the request as submitted and the role's policy as it was then. */
export interface AccessRequestInput {
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
}

/** Input of the grant and revoke activities. */
export interface MembershipInput {
  groupId: string;
  userId: string;
}

/** The notify activity's input. */
export type NotifyInput = Notification;
