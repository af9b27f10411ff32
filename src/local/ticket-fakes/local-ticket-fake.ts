/**
 * For the local host: when ATTEST_TICKETS_MODE is `jira-local` or `servicenow-local`, starts the fake with
 * credentials made up for this run and returns the `jira` / `servicenow` configuration that points the adapter
 * at it, plus the banner line saying where to look.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isPortFree } from '../port-check';
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
  opts: {
    now?: () => Date;
    searchLagMs?: number;
    /** Keep tickets and the port under `<dataDir>/ticket-fakes/` so a restarted host finds them again. */
    dataDir?: string;
  } = {},
): Promise<LocalTicketFake | undefined> {
  if (tickets.mode !== 'jira-local' && tickets.mode !== 'servicenow-local') return undefined;
  const secret = randomBytes(18).toString('base64url');
  const kind = tickets.mode === 'jira-local' ? 'jira' : 'servicenow';
  const dir = opts.dataDir !== undefined ? path.join(opts.dataDir, 'ticket-fakes') : undefined;
  const stateFile = dir !== undefined ? path.join(dir, `${kind}.json`) : undefined;
  const portFile = dir !== undefined ? path.join(dir, `${kind}.port`) : undefined;
  // The port of the last run when it is free: ticket links in the audit log keep working after a restart.
  const had =
    portFile !== undefined && fs.existsSync(portFile) ? Number(fs.readFileSync(portFile, 'utf8')) : 0;
  const port = Number.isInteger(had) && had > 0 && (await isPortFree(had)) ? had : 0;
  const remember = (p: number) => {
    if (portFile === undefined) return;
    fs.mkdirSync(path.dirname(portFile), { recursive: true });
    fs.writeFileSync(portFile, String(p));
  };
  if (tickets.mode === 'jira-local') {
    const { mode: _mode, ...rest } = tickets;
    const email = 'attest@localhost.test';
    const fake = await startJiraFake({
      port,
      stateFile,
      now: opts.now,
      // Jira's search typically catches up within seconds; the local fake lags as much.
      searchLagMs: opts.searchLagMs ?? 2000,
      basic: [[email, secret]],
      projects: [...new Set([tickets.projectKey, ...tickets.allowedProjects])],
      issueTypes: [tickets.issueType, 'Task', 'Bug', 'Story'],
    });
    remember(fake.port);
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
      port,
      stateFile,
      now: opts.now,
      basic: [[user, secret]],
      tables: [tickets.table, 'sc_req_item', 'incident'],
    });
    remember(fake.port);
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
