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
      return new JiraTicketSystem({ config: tickets, ...opts });
    case 'servicenow':
      return new ServiceNowTicketSystem({ config: tickets, ...opts });
    default:
      throw rejected(
        `ATTEST_TICKETS_MODE=${tickets.mode} needs the local fake started first: only the local host (npm start) runs it.`,
      );
  }
}
