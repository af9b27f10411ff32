/**
 * A ticket system Attest mirrors the audit log into (Jira Cloud, ServiceNow): one ticket per access request
 * (and one per review campaign), one comment or work note per audit event, resolved when the lifecycle ends.
 * Adapters live in src/adapters/tickets; the outbox consumer (ticket sync) is the only caller.
 *
 * Errors are DomainErrors with codes from {@link TicketErrorCodes}; `retryAfterMs` in `details` when the
 * system said how long to wait (429 Retry-After, which may be 0 or absent).
 */

/** What a ticket is created from. */
export interface TicketDraft {
  /** The Attest id the ticket belongs to: a request id, or `campaign:<campaignId>`. Unique per ticket. */
  correlationId: string;
  summary: string;
  /** Plain text; adapters turn it into Atlassian Document Format or a ServiceNow description. */
  description: string;
  /** Extra fields by Attest name (requester, app, role, expires…), mapped by configuration. */
  fields: Record<string, string>;
}

/** One comment (Jira) or work note (ServiceNow), for one audit event. */
export interface TicketComment {
  /** The event's hash: comments carry it, and a comment whose hash is already on the ticket is not posted. */
  eventHash: string;
  /** The event's stream and seq, for the reader. */
  stream: string;
  seq: number;
  action: string;
  actor: string;
  /** When the event was recorded (ISO 8601 UTC). */
  time: string;
  text: string;
}

/** A ticket as the system knows it. */
export interface TicketRef {
  /** Jira issue key (SEC-12) or ServiceNow sys_id. */
  key: string;
  /** A link a person can open. */
  url: string;
}

/** One ticket system. */
export interface TicketSystem {
  readonly kind: 'jira' | 'servicenow';
  /** The ticket created for `correlationId`, if one exists (Jira: by label, search lags; ServiceNow: correlation_id). */
  find(correlationId: string): Promise<TicketRef | undefined>;
  create(draft: TicketDraft): Promise<TicketRef>;
  /** Event hashes already commented on the ticket (so a retry never posts twice). */
  commentedHashes(ticket: TicketRef): Promise<Set<string>>;
  comment(ticket: TicketRef, comment: TicketComment): Promise<void>;
  /** Resolves (Jira: the configured transition; ServiceNow: state closed) with a closing comment. */
  resolve(ticket: TicketRef, resolution: string): Promise<void>;
  /** Whether the requester-given reference (e.g. SEC-7) names a ticket Attest may comment on (allowed projects). */
  referenceAllowed?(reference: string): boolean;
}

/** Error codes of ticket systems. */
export const TicketErrorCodes = {
  /** 429: wait `retryAfterMs` (or back off) and retry. */
  throttled: 'TICKETS.THROTTLED',
  /** 5xx, timeout, connection refused: transient, back off and retry. */
  unavailable: 'TICKETS.UNAVAILABLE',
  /** 4xx other than 429: retrying will not help (bad config, permission, validation); park the row. */
  rejected: 'TICKETS.REJECTED',
} as const;
