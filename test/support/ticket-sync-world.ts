/**
 * Test support for ticket sync: an audit log, TicketSync table and notifier on the test's Azurite, a TestClock
 * the drain's waits move, lifecycle events written with the outbox row recordStep writes, and a drain loop.
 */
import type { TableClient } from '@azure/data-tables';
import { sha256 } from '../../src/adapters/crypto/sha256';
import { AuditLogStore } from '../../src/adapters/tables/audit-log.store';
import { TableNotifier } from '../../src/adapters/tables/notification.store';
import { TableNames } from '../../src/adapters/tables/table-names';
import { TicketSync, type TicketSyncSettings } from '../../src/adapters/tickets/ticket-sync';
import { TicketSyncStore } from '../../src/adapters/tickets/ticket-sync.store';
import type { AuditAction, AuditEvent, JsonObject } from '../../src/domain/audit/audit-event.model';
import type { RequestStatus } from '../../src/domain/request/request-lifecycle';
import type { TicketSystem } from '../../src/ports/ticket-system.port';
import type { TestStorage } from './storage';
import { TestClock } from './test-clock';

export const MIN = 60_000;

/** The steps of one lifecycle: the action written and the request's status after it. */
export const LIFECYCLE: [AuditAction, RequestStatus][] = [
  ['request.submitted', 'Submitted'],
  ['policy.evaluated', 'PendingApproval'],
  ['approval.requested', 'PendingApproval'],
  ['approval.decided', 'Approved'],
  ['access.granted', 'Active'],
  ['access.revoked', 'Revoked'],
];

/** Storage, clock and log lines shared by a test's drains. */
export interface SyncWorld {
  clock: TestClock;
  log: AuditLogStore;
  /** The AuditLog table behind `log` (to plant a malformed row). */
  auditTable: TableClient;
  store: TicketSyncStore;
  notifier: TableNotifier;
  lines: string[];
  /** A drain instance on `system` (one per host; a restart is a new one). */
  sync(system: TicketSystem, settings?: Partial<TicketSyncSettings>, holder?: string): TicketSync;
}

let n = 0;

/** Fresh tables (suffixed per world) on the test's Azurite. */
export async function syncWorld(
  storage: TestStorage,
  clock = new TestClock(new Date('2026-11-29T09:00:00Z')),
): Promise<SyncWorld> {
  n++;
  const auditTable = storage.tables.client(`${TableNames.auditLog}S${n}`);
  const log = new AuditLogStore({
    table: auditTable,
    digests: storage.tables.client(`${TableNames.auditDigests}S${n}`),
    touched: storage.tables.client(`${TableNames.auditTouched}S${n}`),
    clock,
    sha256,
  });
  const store = new TicketSyncStore(storage.tables.client(`${TableNames.ticketSync}S${n}`), clock);
  const notifier = new TableNotifier(storage.tables.client(`${TableNames.notifications}S${n}`), clock);
  await Promise.all([log.init(), store.init(), notifier.init()]);
  const lines: string[] = [];
  return {
    clock,
    log,
    auditTable,
    store,
    notifier,
    lines,
    sync: (system, settings = {}, holder = 'host-1') =>
      new TicketSync({
        system,
        log,
        store,
        clock,
        sleep: async (ms) => clock.advance(ms),
        notifier,
        admins: async () => ['admin-1'],
        holder,
        settings: { searchLagMs: 5_000, ...settings },
        logLine: (l) => lines.push(l),
      }),
  };
}

/** Appends lifecycle step `i` of `requestId` with the outbox row recordStep writes (same payload, one transaction). */
export async function step(
  w: Pick<SyncWorld, 'log'>,
  target: 'jira' | 'servicenow',
  requestId: string,
  i: number,
  extra: Record<string, string> = {},
): Promise<AuditEvent> {
  const [action, status] = LIFECYCLE[i];
  const details: JsonObject =
    action === 'request.submitted'
      ? {
          justification: 'month-end close',
          policy: { id: 'payroll', version: '3', hash: 'ab'.repeat(32) },
          appId: 'payroll',
          roleId: 'reader',
          requester: { id: 'u-ada', upn: 'ada@contoso.test', displayName: 'Ada Lovelace' },
          ...extra,
        }
      : { step: i };
  const event = {
    stream: requestId,
    actor: { objectId: 'u-ada', upn: 'ada@contoso.test', channel: 'teams' as const },
    action,
    subject: 'app:payroll/role:reader',
    details,
    correlation: { requestId },
  };
  return w.log.append(event, {
    outbox: [
      {
        target,
        payload: { requestId, action, subject: event.subject, actor: 'ada@contoso.test', status, details },
      },
    ],
  });
}

/** Drains once a minute (the timer) until a drain completes with nothing left to carry; returns the ticks. */
export async function drainUntilQuiet(
  w: Pick<SyncWorld, 'clock' | 'lines'>,
  sync: TicketSync,
  maxTicks = 500,
): Promise<number> {
  for (let tick = 0; tick < maxTicks; tick++) {
    const r = await sync.drain();
    if (r.outcome === 'done' && r.rows === 0 && r.parked === 0 && r.held === 0) return tick;
    w.clock.advance(MIN);
  }
  throw new Error(`still draining after ${maxTicks} ticks: ${w.lines.slice(-3).join(' | ')}`);
}

/** A stream's events in order. */
export async function eventsOf(w: Pick<SyncWorld, 'log'>, stream: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of w.log.read(stream)) out.push(e);
  return out;
}
