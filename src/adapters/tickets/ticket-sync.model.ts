/**
 * What an outbox row asks of a ticket: which ticket (the Attest id), the comment to post, whether the ticket
 * may be created for it, and whether it ends the ticket's lifecycle. Two payload shapes are written:
 *
 * - a request's lifecycle event (access-request.activities.ts recordStep):
 *   `{ requestId, action, subject, actor, status, details }`
 * - a review event (review-campaign.activities.ts, review.service.ts): `{ correlationId, campaignId, action,
 *   subject, actor, details, mode }` — `mode: 'campaign'` for the campaign's own ticket, `'existing'` for a
 *   revocation commented on a request's ticket only when that ticket exists.
 */
import { isRequestStatus, isTerminal } from '../../domain/request/request-lifecycle';
import type { OutboxRow } from '../../ports/audit-log.port';
import type { TicketComment, TicketDraft } from '../../ports/ticket-system.port';

/** An outbox row as the drain reads it. */
export type OutboxRowLike = OutboxRow;

/** One row's work on one ticket. */
export interface TicketJob {
  correlationId: string;
  action: string;
  actor: string;
  /** True when the row may create the ticket; false for a comment owed only to a ticket that exists. */
  create: boolean;
  /** The lifecycle ends with this row: Attest resolves the ticket it created. */
  terminal: boolean;
  /** The requester's ticket reference (request.submitted), to comment on instead of creating a ticket. */
  reference?: string;
  draft: TicketDraft;
  comment: TicketComment;
}

/** The payload of a review event's outbox row. */
export interface ReviewOutboxPayload {
  correlationId: string;
  campaignId: string;
  action: string;
  subject: string;
  actor: string;
  details: Record<string, unknown>;
  /** `campaign`: the campaign's ticket (created when missing); `existing`: a request's ticket, only if it exists. */
  mode: 'campaign' | 'existing';
}

/** The actions that end a campaign's ticket. */
const CAMPAIGN_END = new Set(['review.completed']);

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Details as short `key=value` text; nested values as JSON, each cut at 300 characters. */
function detailText(details: Record<string, unknown>): string {
  return Object.entries(details)
    .map(([k, v]) => {
      const s = typeof v === 'string' ? v : JSON.stringify(v);
      return `${k}=${s.length > 300 ? `${s.slice(0, 300)}…` : s}`;
    })
    .join('\n');
}

/** The job an outbox row stands for, or a sentence saying why the row cannot be read. */
export function jobOf(row: OutboxRowLike): TicketJob | string {
  const p = row.payload as Record<string, unknown> | null;
  if (!p || typeof p !== 'object') return 'its payload is not an object';
  const action = str(p.action);
  const actor = str(p.actor) ?? 'system';
  const details = (p.details && typeof p.details === 'object' ? p.details : {}) as Record<string, unknown>;
  if (!action) return 'its payload names no action';
  const comment: TicketComment = {
    eventHash: row.eventHash,
    stream: row.stream,
    seq: row.eventSeq,
    action,
    actor,
    time: row.createdAt,
    // NB. the adapters add the heading (action, actor, time), the stream and seq, and the event-hash line.
    text: [str(p.subject) ? `subject: ${String(p.subject)}` : '', detailText(details)]
      .filter(Boolean)
      .join('\n'),
  };
  const requestId = str(p.requestId);
  if (requestId) {
    const status = str(p.status);
    const requester = details.requester as Record<string, unknown> | undefined;
    const who = str(requester?.displayName) ?? str(requester?.upn) ?? str(requester?.id) ?? actor;
    const app = str(details.appId);
    const role = str(details.roleId);
    const what = app && role ? `${app} / ${role}` : (str(p.subject) ?? 'access');
    // Field names a mapping may use (config TICKET_FIELD_NAMES); the request id travels as the correlation id.
    const fields: Record<string, string> = {};
    if (app) fields.app = app;
    if (role) fields.role = role;
    if (str(requester?.upn)) fields.requester = String(requester?.upn);
    if (str(details.justification)) fields.justification = String(details.justification);
    return {
      correlationId: requestId,
      action,
      actor,
      create: true,
      terminal: status !== undefined && isRequestStatus(status) && isTerminal(status),
      ...(action === 'request.submitted' && str(details.ticketReference)
        ? { reference: String(details.ticketReference) }
        : {}),
      draft: {
        correlationId: requestId,
        summary: `Access request ${requestId}: ${what} for ${who}`,
        description: [
          `Attest access request ${requestId}.`,
          `Asked for: ${what}`,
          `For: ${who}`,
          str(details.justification) ? `Justification: ${String(details.justification)}` : '',
          str(details.ticketReference) ? `Ticket reference: ${String(details.ticketReference)}` : '',
          `Audit stream: ${row.stream} (verify with \`attest verify\`).`,
        ]
          .filter(Boolean)
          .join('\n'),
        fields,
      },
      comment,
    };
  }
  const correlationId = str(p.correlationId);
  const campaignId = str(p.campaignId);
  if (correlationId && campaignId && (p.mode === 'campaign' || p.mode === 'existing')) {
    const name = str(details.name) ?? campaignId;
    return {
      correlationId,
      action,
      actor,
      create: p.mode === 'campaign',
      terminal: p.mode === 'campaign' && CAMPAIGN_END.has(action),
      draft: {
        correlationId,
        summary: `Access review ${name} (${campaignId})`,
        description: [
          `Attest access-review campaign ${campaignId}.`,
          `Audit stream: ${row.stream} (verify with \`attest verify\`).`,
        ].join('\n'),
        fields: {},
      },
      comment,
    };
  }
  return 'its payload names neither a request nor a review campaign';
}

/** The closing text of a resolved ticket. */
export function resolutionText(job: TicketJob): string {
  return `Closed by Attest: ${job.action} (audit event ${job.comment.stream}#${job.comment.seq}).`;
}
