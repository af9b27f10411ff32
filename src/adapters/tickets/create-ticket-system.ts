/**
 * The ticket system the configuration names: the Jira or ServiceNow adapter, or undefined when ticket sync is
 * off. The local modes (`jira-local`, `servicenow-local`) need their fake running: the local host starts it and
 * passes the config it returns (see src/local/ticket-fakes/local-ticket-fake.ts), so here they are refused.
 */
import type { TicketsConfig } from '../../config/config';
import type { TicketSystem } from '../../ports/ticket-system.port';
import { JiraTicketSystem } from './jira-ticket-system';
import { ServiceNowTicketSystem } from './servicenow-ticket-system';
import { rejected } from './ticket-text';
import { traced } from '../telemetry/tracing';

/** What the adapters may be given besides their configuration. */
export interface TicketSystemOptions {
  /** Where throttling reasons (Jira's RateLimit-Reason) and duplicates found are noted. */
  log?: (line: string) => void;
  /** The clock for Retry-After dates and OAuth token lifetimes. */
  now?: () => Date;
  /** Per-request timeout in ms (default 30 s). */
  timeoutMs?: number;
}

/** The adapter for `tickets`, or undefined for `none`. */
export function createTicketSystem(
  tickets: TicketsConfig,
  opts: TicketSystemOptions = {},
): TicketSystem | undefined {
  switch (tickets.mode) {
    case 'none':
      return undefined;
    case 'jira':
      return withSpans(new JiraTicketSystem({ config: tickets, ...opts }));
    case 'servicenow':
      return withSpans(new ServiceNowTicketSystem({ config: tickets, ...opts }));
    default:
      throw rejected(
        `ATTEST_TICKETS_MODE=${tickets.mode} needs the local fake started first: only the local host (npm start) runs it.`,
      );
  }
}

/**
 * The ticket system with one span per call (`tickets <kind> <operation>`, the status code of a failure); the
 * ticket key is an id and is recorded, comment and ticket text never are.
 */
export function withSpans(system: TicketSystem): TicketSystem {
  const span = <T>(op: string, attrs: Record<string, string>, fn: () => Promise<T>) =>
    traced(`tickets ${system.kind} ${op}`, { 'attest.tickets.system': system.kind, ...attrs }, fn);
  const wrapped: TicketSystem = {
    kind: system.kind,
    find: (correlationId) => span('find', {}, () => system.find(correlationId)),
    create: (draft) => span('create', {}, () => system.create(draft)),
    commentedHashes: (ticket) =>
      span('commentedHashes', { 'attest.tickets.key': ticket.key }, () => system.commentedHashes(ticket)),
    comment: (ticket, comment) =>
      span('comment', { 'attest.tickets.key': ticket.key }, () => system.comment(ticket, comment)),
    resolve: (ticket, resolution) =>
      span('resolve', { 'attest.tickets.key': ticket.key }, () => system.resolve(ticket, resolution)),
  };
  if (system.referenceAllowed) wrapped.referenceAllowed = (reference) => system.referenceAllowed!(reference);
  return wrapped;
}
