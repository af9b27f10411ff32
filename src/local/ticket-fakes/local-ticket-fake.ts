/**
 * For the local host: when ATTEST_TICKETS_MODE is `jira-local` or `servicenow-local`, starts the fake with
 * credentials made up for this run and returns the `jira` / `servicenow` configuration that points the adapter
 * at it, plus the banner line saying where to look.
 */
import { randomBytes } from 'node:crypto';
import type { TicketsConfig } from '../../config/config';
import { startJiraFake } from './jira-fake';
import type { TicketFake } from './fake-server';
import { startServiceNowFake } from './servicenow-fake';

/** A started local fake and the configuration to use instead of the local mode. */
export interface LocalTicketFake {
  fake: TicketFake;
  tickets: TicketsConfig;
  /** One line for the start-up banner. */
  banner: string;
}

/** Starts the fake a local mode names; undefined for every other mode. */
export async function startLocalTicketFake(
  tickets: TicketsConfig,
  opts: { now?: () => Date; searchLagMs?: number } = {},
): Promise<LocalTicketFake | undefined> {
  const secret = randomBytes(18).toString('base64url');
  if (tickets.mode === 'jira-local') {
    const { mode: _mode, ...rest } = tickets;
    const email = 'attest@localhost.test';
    const fake = await startJiraFake({
      now: opts.now,
      // Jira's search typically catches up within seconds; the local fake lags as much.
      searchLagMs: opts.searchLagMs ?? 2000,
      basic: [[email, secret]],
      projects: [...new Set([tickets.projectKey, ...tickets.allowedProjects])],
      issueTypes: [tickets.issueType, 'Task', 'Bug', 'Story'],
    });
    return {
      fake,
      tickets: { mode: 'jira', ...rest, baseUrl: fake.url, auth: { kind: 'token', email, apiToken: secret } },
      banner: `  tickets         jira-local (Jira fake ${fake.url}, project ${tickets.projectKey}; tickets at ${fake.url}/_fake/tickets?format=html)`,
    };
  }
  if (tickets.mode === 'servicenow-local') {
    const { mode: _mode, ...rest } = tickets;
    const user = 'attest.integration';
    const fake = await startServiceNowFake({
      now: opts.now,
      basic: [[user, secret]],
      tables: [tickets.table, 'sc_req_item', 'incident'],
    });
    return {
      fake,
      tickets: {
        mode: 'servicenow',
        ...rest,
        instanceUrl: fake.url,
        auth: { kind: 'basic', username: user, password: secret },
      },
      banner: `  tickets         servicenow-local (ServiceNow fake ${fake.url}, table ${tickets.table}; tickets at ${fake.url}/_fake/tickets?format=html)`,
    };
  }
  return undefined;
}
