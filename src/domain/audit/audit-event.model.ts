/**
 * The shape of an audit event and the few constants every part of the audit log agrees on. An event is a
 * fact that happened (CONVENTIONS §7): it is appended once and never updated.
 */
/**
 * The closed vocabulary of actions, one per builder in audit-events.ts. NB. these strings are stored and
 * hashed: renaming one breaks every chain that contains it, so add new ones and never rename.
 */
export const AUDIT_ACTIONS = [
  'request.submitted',
  'policy.evaluated',
  'approval.requested',
  'approval.decided',
  'approval.escalated',
  'request.expired-undecided',
  'access.granted',
  'extension.requested',
  'extension.decided',
  'expiry.reminder-sent',
  'access.revoked',
  'attempt.refused',
  'access.revoke-failed',
  'access.grant-failed',
  'membership.baselined',
  'membership.drift',
  'membership.removed-outside',
  'revocation.overdue',
  'member.offboarded',
  'review.started',
  'review.decided',
  'review.delegated',
  'review.applied',
  'review.reminder-sent',
  'review.guard-held',
  'review.guard-confirmed',
  'review.completed',
  'review.signed-off',
  'ticket.linked',
  'ticket.row-parked',
  'ticket.row-released',
  'ticket.row-skipped',
  'teams.app-installed',
  'teams.app-install-refused',
] as const;

/** One action of the vocabulary. */
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** SHA-256 over bytes. Injected so the domain stays free of Node built-ins (src/adapters/crypto/sha256.ts). */
export type Sha256 = (bytes: Uint8Array) => Uint8Array;

/** The `prevHash` of the first event of every stream, and of the first digest. */
export const GENESIS_HASH = '0'.repeat(64);

/** Where an action came from; `system` for timers and jobs with no person behind them. */
export type AuditChannel = 'teams' | 'cli' | 'tab' | 'system' | 'api';

/** The channels, for validation. */
export const AUDIT_CHANNELS: readonly AuditChannel[] = ['teams', 'cli', 'tab', 'system', 'api'];

/** Who did it: an Entra object id always; the UPN when known, because auditors read names, not GUIDs. */
export interface AuditActor {
  objectId: string;
  upn?: string;
  channel: AuditChannel;
}

/** Ids that let an auditor join the event to the request, the orchestration and the ticket. */
export interface AuditCorrelation {
  requestId?: string;
  instanceId?: string;
  ticketKey?: string;
}

/** A JSON value as the canonical encoding accepts it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object (an event's `details`). */
export type JsonObject = { [key: string]: JsonValue };

/** What a caller supplies; the log adds `seq`, `time`, `prevHash` and `hash`. */
export interface AuditEventInput {
  stream: string;
  actor: AuditActor;
  action: AuditAction;
  subject: string;
  details: JsonObject;
  correlation: AuditCorrelation;
}

/** An event as stored: the input chained to its predecessor in the stream. */
export interface AuditEvent extends AuditEventInput {
  /** 1-based, consecutive within the stream. */
  seq: number;
  /** ISO 8601 UTC, from the Clock at append time. */
  time: string;
  /** The previous event's hash, or {@link GENESIS_HASH} for seq 1. */
  prevHash: string;
  /** Lower-case hex SHA-256 of the canonical encoding of every other field. */
  hash: string;
}

/** The last event of a stream, as far as chaining and digests need it. */
export interface StreamHead {
  stream: string;
  seq: number;
  hash: string;
}
