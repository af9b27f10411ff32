/**
 * The gauges of work waiting on people: pending approvals, overdue revocations, parked ticket rows, drift
 * findings. NB. Counting is a table query, so it is NOT done when a gauge is exported (every minute or so, per
 * instance): a timer (function-list `telemetryCounts`, every 5 minutes) counts with narrow queries that return
 * only keys, and the gauges report the last counts this instance took. An instance that has not counted lately
 * reports nothing (not zero).
 */
import { metrics, type Meter } from '@opentelemetry/api';
import { odata } from '@azure/data-tables';
import type { TableFactory } from '../tables/table-client-factory';
import { TableNames } from '../tables/table-names';
import { ATTEST_SCOPE } from './tracing';

/** Metric names (one place; docs/operations.md names the alerts on them). */
export const WorkMetrics = {
  pendingApprovals: 'attest.approvals.pending',
  overdueRevocations: 'attest.revocations.overdue',
  parkedTicketRows: 'attest.tickets.parked_rows',
  driftFindings: 'attest.drift.findings',
} as const;

/** What the timer counted. `parkedTicketRows` is undefined when ticket sync is off. */
export interface WorkCounts {
  pendingApprovals: number;
  overdueRevocations: number;
  parkedTicketRows?: number;
  driftFindings: number;
  /** When they were counted (ISO). */
  at: string;
}

let latest: WorkCounts | undefined;
/** Counts older than two timer periods and a minute are not reported (see registerWorkGauges). */
const STALE_AFTER_MS = 11 * 60_000;
const registered = new WeakSet<Meter>();

/** Counts matching rows, reading only their keys. A table not created yet counts as empty. */
async function countRows(tables: TableFactory, table: string, filter?: string): Promise<number> {
  let n = 0;
  try {
    const rows = tables.client(table).listEntities({
      queryOptions: { ...(filter && { filter }), select: ['RowKey'] },
    });
    for await (const page of rows.byPage({ maxPageSize: 1000 })) n += page.length;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return 0;
    throw err;
  }
  return n;
}

/**
 * Counts the work waiting now. `overdueAfterMs`: a removal owed for longer than this is overdue (the reconciler's
 * interval, the same rule as its overdue sweep).
 */
export async function countWork(
  tables: TableFactory,
  opts: { now: Date; overdueAfterMs: number; tickets: boolean },
): Promise<WorkCounts> {
  const overdueBefore = new Date(opts.now.getTime() - opts.overdueAfterMs).toISOString();
  const [pendingApprovals, overdueRevocations, parkedTicketRows, driftFindings] = await Promise.all([
    // The request store's by-id rows carry `awaiting` (a stage waits on approvers): see request.store.ts.
    countRows(tables, TableNames.accessRequests, "PartitionKey eq 'by-id' and awaiting eq true"),
    // Ledger rows with a removal owed since before the interval: see membership-ledger.store.ts owedRemovals.
    countRows(tables, TableNames.membershipLedger, odata`owed eq true and owedSince le ${overdueBefore}`),
    opts.tickets
      ? countRows(tables, TableNames.ticketSync, "PartitionKey eq 'parked'")
      : Promise.resolve(undefined),
    // NB. Findings have no closed state yet: every finding recorded counts.
    countRows(tables, TableNames.driftFindings),
  ]);
  return {
    pendingApprovals,
    overdueRevocations,
    ...(parkedTicketRows !== undefined && { parkedTicketRows }),
    driftFindings,
    at: opts.now.toISOString(),
  };
}

/** Keeps the counts the gauges report. */
export function recordWorkCounts(counts: WorkCounts): void {
  latest = counts;
}

/** The counts the gauges report now (for the health page and tests). */
export function latestWorkCounts(): WorkCounts | undefined {
  return latest;
}

/** Registers the four observable gauges on `meter` (once per meter). */
export function registerWorkGauges(meter: Meter = metrics.getMeter(ATTEST_SCOPE)): void {
  if (registered.has(meter)) return;
  registered.add(meter);
  const gauge = (name: string, description: string, read: (c: WorkCounts) => number | undefined) =>
    meter.createObservableGauge(name, { description, unit: '{item}' }).addCallback((result) => {
      // NB. Only counts this instance took lately: Azure runs a timer on one instance at a time, and an instance
      // the timer moved away from must stop reporting, not repeat its last counts for ever.
      if (!latest || Date.now() - Date.parse(latest.at) > STALE_AFTER_MS) return;
      const value = read(latest);
      if (value !== undefined) result.observe(value);
    });
  gauge(
    WorkMetrics.pendingApprovals,
    'Access requests waiting on an approval stage',
    (c) => c.pendingApprovals,
  );
  gauge(
    WorkMetrics.overdueRevocations,
    'Group memberships whose removal is owed for longer than the reconcile interval',
    (c) => c.overdueRevocations,
  );
  gauge(
    WorkMetrics.parkedTicketRows,
    'Audit outbox rows parked by ticket sync until an admin releases or skips them',
    (c) => c.parkedTicketRows,
  );
  gauge(
    WorkMetrics.driftFindings,
    'Drift findings recorded by the membership reconciler',
    (c) => c.driftFindings,
  );
}
