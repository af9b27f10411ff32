/**
 * The `offboarding-sweep` orchestration: one run reads a Graph users delta round (a full sweep on the first
 * run ever or when the saved link is refused), takes every leaver's Attest grants and catalog-group
 * memberships away (a few leavers at a time), and only then saves the delta link. One instance at a time
 * (instance id {@link OFFBOARDING_INSTANCE}): the timer skips a tick while a run is still going.
 *
 * A run that cannot read the round (Graph down) ends at once reporting `unavailable`; a leaver whose activity
 * fails after every retry fails the run. Either way the link stays where it was, so the next tick reads the
 * same changes again and every leaver is handled (the activities are idempotent).
 *
 * NB. Deterministic: the run's time comes from its input (the timer's clock), all I/O is in the activities.
 */
import { startSingletonRun } from './singleton-start';
import type * as df from 'durable-functions';
import type { Clock } from '../ports/clock.port';
import type { DurableClientPort } from '../ports/durable-client.port';
import { ActivityNames, OFFBOARDING_INSTANCE, OrchestrationNames } from './names';
import type { LeaverSummary, LeaversFound, OffboardingRunRef } from './offboarding.activities';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;

/** Leavers handled at the same time (their removals share the directory's write pacer). */
const LEAVERS_AT_ONCE = 4;

/** What a run did. */
export interface OffboardingRunSummary {
  /** Set when the directory could not be read: nothing was done, the link is kept for the next tick. */
  unavailable?: string;
  mode?: LeaversFound['mode'];
  fullBecause?: LeaversFound['fullBecause'];
  usersSeen: number;
  leavers: number;
  removed: number;
  notMember: number;
  owed: number;
  requestsEnded: number;
}

/** The orchestrator function registered as `offboarding-sweep`. */
export function* offboardingSweepOrchestration(context: df.OrchestrationContext): Gen<OffboardingRunSummary> {
  const input = context.df.getInput() as OffboardingRunRef;
  const run: OffboardingRunRef = { runId: input.runId, at: input.at };
  const found = (yield context.df.callActivityWithRetry(
    ActivityNames.offboardingFindLeavers,
    activityRetry(),
    run,
  )) as LeaversFound | { unavailable: string };
  const summary: OffboardingRunSummary = {
    usersSeen: 0,
    leavers: 0,
    removed: 0,
    notMember: 0,
    owed: 0,
    requestsEnded: 0,
  };
  if ('unavailable' in found) return { ...summary, unavailable: found.unavailable };
  summary.mode = found.mode;
  if (found.fullBecause) summary.fullBecause = found.fullBecause;
  summary.usersSeen = found.usersSeen;
  summary.leavers = found.leavers.length;
  for (let first = 0; first < found.leavers.length; first += LEAVERS_AT_ONCE) {
    const wave = found.leavers.slice(first, first + LEAVERS_AT_ONCE).map((leaver) =>
      context.df.callActivityWithRetry(ActivityNames.offboardingOffboardUser, activityRetry(), {
        ...run,
        ...leaver,
      }),
    );
    // A leaver failing after every retry fails the run: the link is not saved, the next tick does them again.
    const results = (yield context.df.Task.all(wave)) as LeaverSummary[];
    for (const r of results) {
      summary.removed += r.removed;
      summary.notMember += r.notMember;
      summary.owed += r.owed;
      summary.requestsEnded += r.requestsEnded.length;
    }
  }
  yield context.df.callActivityWithRetry(ActivityNames.offboardingSaveLink, activityRetry(), {
    ...run,
    deltaLink: found.deltaLink,
  });
  return summary;
}

/**
 * What the timer does: starts a run unless one is still going or one started less than half an interval ago
 * (a burst of ticks after downtime makes one run). Returns the run id, or undefined when skipped.
 */
export async function startOffboardingSweep(
  durable: DurableClientPort,
  clock: Clock,
  intervalMs: number,
): Promise<string | undefined> {
  return startSingletonRun<OffboardingRunRef>(durable, clock, intervalMs, {
    name: OrchestrationNames.offboardingSweep,
    instanceId: OFFBOARDING_INSTANCE,
    inputAt: (at) => ({ runId: `offboarding-${at}`, at }),
  });
}
