/**
 * The `membership-reconcile` orchestration: one run compares every catalog group in the directory with the
 * membership ledger (batches of ≤50 groups, a few at a time), then carries out the removals that are overdue
 * in slices, after sending Attest admins one digest of those outstanding. One instance at a time (instance
 * id {@link MEMBERSHIP_RECONCILE_INSTANCE}): the timer skips a tick while a run is still going.
 *
 * NB. Deterministic: the run's time comes from its input (the timer's clock), all I/O is in the activities,
 * and every activity is idempotent, so a host killed mid-run resumes and converges (see the activities).
 */
import { startSingletonRun } from './singleton-start';
import type * as df from 'durable-functions';
import type { Clock } from '../ports/clock.port';
import type { DurableClientPort } from '../ports/durable-client.port';
import type {
  BatchSummary,
  DigestSummary,
  OverdueInput,
  OverdueSummary,
  ReconcileRunRef,
} from './membership-reconcile.activities';
import { ActivityNames, MEMBERSHIP_RECONCILE_INSTANCE, OrchestrationNames } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;

/** Batches reconciled at the same time. */
const BATCHES_AT_ONCE = 4;
/** Overdue removals per activity: about 30 s of writes at Graph's quota, so one activity stays short. */
const OVERDUE_SLICE = 600;
/** Slices per run at most; what is left waits for the next run. */
const MAX_OVERDUE_SLICES = 40;

/** What the timer starts a run with. */
export interface ReconcileRunInput extends ReconcileRunRef {
  /** The schedule's interval: a removal owed for longer than this is overdue. */
  intervalMs: number;
}

/** What a run did. */
export interface ReconcileRunSummary {
  batches: number;
  failedBatches: number;
  fullSweeps: number;
  baselinedGroups: number;
  drift: number;
  removedOutside: number;
  overdueRemoved: number;
  overdueFailed: number;
  digest: DigestSummary;
}

/** The orchestrator function registered as `membership-reconcile`. */
export function* membershipReconcileOrchestration(
  context: df.OrchestrationContext,
): Gen<ReconcileRunSummary> {
  const input = context.df.getInput() as ReconcileRunInput;
  const run: ReconcileRunRef = { runId: input.runId, at: input.at };
  const summary = yield* reconcileBatches(context, run);
  const olderThan = new Date(Date.parse(input.at) - input.intervalMs).toISOString();
  // The digest first: what is overdue now, before this run tries those removals again (they may succeed, and
  // the admins should still hear that access outlived its end). It reaches them while the directory is down.
  const digest = (yield context.df.callActivityWithRetry(
    ActivityNames.reconcileOverdueDigest,
    activityRetry(),
    {
      ...run,
      olderThan,
    },
  )) as DigestSummary;
  const overdue = yield* carryOutOverdue(context, run, olderThan);
  return { ...summary, overdueRemoved: overdue.removed, overdueFailed: overdue.failed, digest };
}

/** Every batch of catalog groups, {@link BATCHES_AT_ONCE} at a time; a batch that keeps failing is counted. */
function* reconcileBatches(
  context: df.OrchestrationContext,
  run: ReconcileRunRef,
): Gen<Omit<ReconcileRunSummary, 'overdueRemoved' | 'overdueFailed' | 'digest'>> {
  const plan = (yield context.df.callActivityWithRetry(
    ActivityNames.reconcilePlan,
    activityRetry(),
    run,
  )) as {
    batches: number;
  };
  const out = {
    batches: plan.batches,
    failedBatches: 0,
    fullSweeps: 0,
    baselinedGroups: 0,
    drift: 0,
    removedOutside: 0,
  };
  for (let first = 0; first < plan.batches; first += BATCHES_AT_ONCE) {
    const wave: df.Task[] = [];
    for (let index = first; index < Math.min(first + BATCHES_AT_ONCE, plan.batches); index++) {
      wave.push(
        context.df.callActivityWithRetry(ActivityNames.reconcileBatch, activityRetry(), { ...run, index }),
      );
    }
    let results: BatchSummary[];
    try {
      const answers = (yield context.df.Task.all(wave)) as (BatchSummary | { unavailable: string })[];
      results = answers.filter((r): r is BatchSummary => !('unavailable' in r));
      out.failedBatches += answers.length - results.length;
    } catch {
      // One batch failed after every retry: the others' results are not reported, but their work is recorded
      // (and the next run picks the failed batch up again from its saved delta link).
      out.failedBatches++;
      continue;
    }
    for (const r of results) {
      if (r.mode === 'full') out.fullSweeps++;
      out.baselinedGroups += r.baselinedGroups;
      out.drift += r.drift;
      out.removedOutside += r.removedOutside;
    }
  }
  return out;
}

/** The overdue removals, one slice per activity, until none is left or a slice does nothing. */
function* carryOutOverdue(
  context: df.OrchestrationContext,
  run: ReconcileRunRef,
  olderThan: string,
): Gen<{ removed: number; failed: number }> {
  let removed = 0;
  let failed = 0;
  for (let slice = 0; slice < MAX_OVERDUE_SLICES; slice++) {
    const input: OverdueInput = { ...run, olderThan, limit: OVERDUE_SLICE, skip: failed };
    const r = (yield context.df.callActivityWithRetry(
      ActivityNames.reconcileOverdue,
      activityRetry(),
      input,
    )) as OverdueSummary;
    removed += r.removed + r.alreadyGone;
    failed += r.failed;
    if (r.remaining === 0 || r.processed === 0) break;
  }
  return { removed, failed };
}

/**
 * What the timer does: starts a run unless one is still going or one started less than half an interval ago
 * (then the tick is skipped, and said so). Returns the run id, or undefined when skipped.
 */
export async function startMembershipReconcile(
  durable: DurableClientPort,
  clock: Clock,
  intervalMs: number,
): Promise<string | undefined> {
  return startSingletonRun<ReconcileRunInput>(durable, clock, intervalMs, {
    name: OrchestrationNames.membershipReconcile,
    instanceId: MEMBERSHIP_RECONCILE_INSTANCE,
    inputAt: (at) => ({ runId: `reconcile-${at}`, at, intervalMs }),
  });
}
