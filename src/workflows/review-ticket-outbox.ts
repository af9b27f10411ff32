/**
 * The ticket updates a review event owes, written as outbox rows in the same append (ticket sync carries them):
 * every event of a campaign's stream is commented on the campaign's one ticket (`campaign:<id>`, created at the
 * first), and a carried-out revocation (`review.applied`) is also commented on the ticket of each request it
 * ended — only when that request has a ticket (`mode: 'existing'`). None when tickets are off.
 */
import type { AuditEventInput, JsonObject } from '../domain/audit/audit-event.model';
import type { AppendOptions, AuditEvent, OutboxItem } from '../ports/audit-log.port';
import type { WorkflowDeps } from './workflow-deps';

const STREAM_PREFIX = 'review-';
/** Details larger than this are summarised in the outbox row (the event itself keeps them all). */
const MAX_DETAIL_CHARS = 8 * 1024;
/** One transaction: the event, the hint row and at most this many outbox rows fit well under 100. */
const MAX_ROWS = 90;

function detailsFor(details: JsonObject): JsonObject {
  const json = JSON.stringify(details);
  if (json.length <= MAX_DETAIL_CHARS) return details;
  const items = Array.isArray(details.items) ? details.items.length : undefined;
  return {
    summarised: `${json.length} characters of details; the audit event holds them all`,
    ...(items !== undefined ? { items } : {}),
  };
}

/** The outbox rows a review event owes, as append options. */
export function reviewTicketOutbox(
  target: WorkflowDeps['ticketTarget'],
  input: AuditEventInput,
): AppendOptions {
  if (!target || !input.stream.startsWith(STREAM_PREFIX)) return {};
  const campaignId = input.stream.slice(STREAM_PREFIX.length);
  if (!campaignId || campaignId === 'none') return {};
  const base = {
    campaignId,
    action: input.action,
    subject: input.subject,
    actor: input.actor.upn ?? input.actor.objectId,
    details: detailsFor(input.details),
  };
  const outbox: OutboxItem[] = [
    { target, payload: { ...base, correlationId: `campaign:${campaignId}`, mode: 'campaign' } },
  ];
  const d = input.details;
  if (input.action === 'review.applied' && (d.outcome === 'applied' || d.outcome === 'already-gone')) {
    const ended = Array.isArray(d.endedRequestIds) ? d.endedRequestIds : [];
    for (const requestId of ended) {
      if (typeof requestId !== 'string' || outbox.length >= MAX_ROWS) continue;
      outbox.push({ target, payload: { ...base, correlationId: requestId, mode: 'existing' } });
    }
  }
  return { outbox };
}

/** Appends a review event with the ticket updates it owes, in one transaction. */
export function appendReviewEvent(
  deps: Pick<WorkflowDeps, 'audit' | 'ticketTarget'>,
  input: AuditEventInput,
): Promise<AuditEvent> {
  return deps.audit.append(input, reviewTicketOutbox(deps.ticketTarget, input));
}
