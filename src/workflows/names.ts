/**
 * Every function, orchestration, activity and external event name, in one place. Call sites never spell
 * them as strings.
 */
export const FunctionNames = {
  /** POST /api/messages: the Teams bot. */
  botMessages: 'bot-messages',
  /** The daily Merkle digest over every audit stream's head. */
  auditDigest: 'audit-digest',
} as const;

/** Orchestrations. */
export const OrchestrationNames = {
  accessRequest: 'access-request',
} as const;

/** Activities: each one idempotent operation. */
export const ActivityNames = {
  /** Append one audit event at an expected sequence number and save the request projection. */
  recordStep: 'request-record-step',
  /** Resolve a stage's approvers through the directory. */
  resolveApprovers: 'request-resolve-approvers',
  /** Look a person up (a fallback approver named by UPN). */
  resolvePerson: 'request-resolve-person',
  /** Add the requester to the role's group. */
  grantAccess: 'request-grant-access',
  /** Remove the requester from the role's group. */
  revokeAccess: 'request-revoke-access',
  /** Tell people what happened. */
  notify: 'request-notify',
  /** Save the request's state with no audit event. */
  saveState: 'request-save-state',
} as const;

/** External events an access-request orchestration waits for. */
export const EventNames = {
  /** An approver's decision (payload: DecisionEvent). */
  decision: 'Decision',
  /** Early revoke by the requester or an admin (payload: RevokeEvent). */
  revoke: 'Revoke',
  /** The requester asks to keep access longer (payload: ExtendEvent). */
  extend: 'Extend',
} as const;
