/**
 * Ticket-sync figures (issue 10): a backlog of 10,000 audit events (1,667 access-request lifecycles of six
 * events, each with the outbox row recordStep writes) drained into the local Jira fake through the jira.js adapter
 * and into the ServiceNow fake through the Table API adapter, over HTTP, with the audit log, its touched-streams
 * index and the TicketSync table on Azurite. The drain runs as the timer runs it (one drain after another, each
 * holding the lease for at most its 4-minute budget), on the wall clock.
 *
 * Per ticket: one create, six comments, one resolve (Jira: a transition; ServiceNow: a state update), one
 * TicketSync write for the `creating` mark, one for the key, one `ticket.linked` audit event, and one stream-state
 * write per stream. No search is made (nothing crashed), and no comment listing (the ticket is new).
 */
import { sha256 } from '../src/adapters/crypto/sha256';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import type { TableFactory } from '../src/adapters/tables/table-client-factory';
import { TableNames } from '../src/adapters/tables/table-names';
import { JiraTicketSystem } from '../src/adapters/tickets/jira-ticket-system';
import { ServiceNowTicketSystem } from '../src/adapters/tickets/servicenow-ticket-system';
import { TicketSync } from '../src/adapters/tickets/ticket-sync';
import { TicketSyncStore } from '../src/adapters/tickets/ticket-sync.store';
import { systemClock } from '../src/adapters/system-clock';
import type { JsonObject } from '../src/domain/audit/audit-event.model';
import { startJiraFake } from '../src/local/ticket-fakes/jira-fake';
import { startServiceNowFake } from '../src/local/ticket-fakes/servicenow-fake';
import type { TicketSystem } from '../src/ports/ticket-system.port';
import { mapPool } from '../src/workflows/map-pool';
import { LIFECYCLE } from '../test/support/ticket-sync-world';
import { withStorage, type BenchRow } from './bench-kit';

const LIFECYCLES = 1_667;
const SECRET = 'bench-secret-0123456789';

/** Writes the backlog: every lifecycle's events in order, 32 lifecycles at a time. */
async function writeBacklog(
  audit: AuditLogStore,
  target: 'jira' | 'servicenow',
  prefix: string,
): Promise<number> {
  const ids = Array.from({ length: LIFECYCLES }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);
  let events = 0;
  await mapPool(ids, 32, async (requestId) => {
    for (const [action, status] of LIFECYCLE) {
      const details: JsonObject =
        action === 'request.submitted'
          ? {
              justification: 'bench',
              policy: { id: 'payroll', version: '1', hash: 'ab'.repeat(32) },
              appId: 'payroll',
              roleId: 'reader',
              requester: { id: 'u-1', upn: 'ada@contoso.test' },
            }
          : {};
      await audit.append(
        {
          stream: requestId,
          actor: { objectId: 'u-1', upn: 'ada@contoso.test', channel: 'teams' },
          action,
          subject: 'app:payroll/role:reader',
          details,
          correlation: { requestId },
        },
        {
          outbox: [
            {
              target,
              payload: {
                requestId,
                action,
                subject: 'app:payroll/role:reader',
                actor: 'ada@contoso.test',
                status,
                details,
              },
            },
          ],
        },
      );
      events++;
    }
  });
  return events;
}

async function drainAll(
  tables: TableFactory,
  kind: 'jira' | 'servicenow',
  system: TicketSystem,
): Promise<BenchRow[]> {
  const suffix = kind === 'jira' ? 'J' : 'N';
  const audit = new AuditLogStore({
    table: tables.client(`${TableNames.auditLog}${suffix}`),
    digests: tables.client(`${TableNames.auditDigests}${suffix}`),
    touched: tables.client(`${TableNames.auditTouched}${suffix}`),
    clock: systemClock,
    sha256,
  });
  const store = new TicketSyncStore(tables.client(`${TableNames.ticketSync}${suffix}`), systemClock);
  await Promise.all([audit.init(), store.init()]);
  const events = await writeBacklog(audit, kind, `b${suffix}`);
  const sync = new TicketSync({ system, log: audit, store, clock: systemClock, logLine: () => undefined });
  const started = process.hrtime.bigint();
  let drains = 0;
  let rows = 0;
  for (;;) {
    const r = await sync.drain();
    drains++;
    rows += r.rows;
    if (r.outcome !== 'done' && r.outcome !== 'stopped') throw new Error(`drain ${r.outcome}: ${r.reason}`);
    if (r.outcome === 'done') break;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (rows !== events) throw new Error(`${kind}: carried ${rows} rows of ${events}`);
  const name = kind === 'jira' ? 'Jira fake (jira.js)' : 'ServiceNow fake (Table API)';
  return [
    {
      figure: `ticket sync: drain rate, ${name}`,
      value: `${(events / seconds).toFixed(0)} events/s`,
      note: `${events} events on ${LIFECYCLES} tickets over HTTP on loopback; Azurite state`,
    },
    {
      figure: `ticket sync: catch-up of a 10,000-event backlog, ${name}`,
      value: `${seconds.toFixed(1)} s`,
      note: `${drains} drain(s) back to back (timer ticks each minute; a drain holds the lease ≤ 4 min)`,
    },
  ];
}

/** The section. */
export async function run(): Promise<BenchRow[]> {
  return withStorage(async (tables) => {
    const rows: BenchRow[] = [];
    const jira = await startJiraFake({
      searchLagMs: 2000,
      basic: [['bench@contoso.test', SECRET]],
      projects: ['SEC'],
    });
    try {
      const system = new JiraTicketSystem({
        config: {
          baseUrl: jira.url,
          auth: { kind: 'token', email: 'bench@contoso.test', apiToken: SECRET },
          projectKey: 'SEC',
          issueType: 'Task',
          fields: {},
          resolveTransition: 'Done',
          allowedProjects: ['SEC'],
        },
        log: () => undefined,
      });
      rows.push(...(await drainAll(tables, 'jira', system)));
    } finally {
      await jira.close();
    }
    const sn = await startServiceNowFake({ basic: [['attest.integration', SECRET]] });
    try {
      const system = new ServiceNowTicketSystem({
        config: {
          instanceUrl: sn.url,
          table: 'sc_req_item',
          auth: { kind: 'basic', username: 'attest.integration', password: SECRET },
          closedState: '3',
          fields: {},
        },
        log: () => undefined,
      });
      rows.push(...(await drainAll(tables, 'servicenow', system)));
    } finally {
      await sn.close();
    }
    return rows;
  });
}
