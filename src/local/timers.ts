/**
 * Timer triggers on the local host, from the same 6-field NCRONTAB expressions (second first) that Azure
 * reads. Evaluated in UTC, as Azure does by default (WEBSITE_TIME_ZONE unset).
 */
import { Cron } from 'croner';
import type { TimerFunction } from '../functions/function-types';

/** Validates an NCRONTAB expression the way the host needs it: six fields. */
export function assertNcrontab(name: string, schedule: string): void {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) {
    throw new Error(
      `Timer '${name}' has schedule '${schedule}' with ${fields.length} fields; Azure Functions needs 6 (second minute hour day month day-of-week).`,
    );
  }
  new Cron(schedule, { timezone: 'UTC', paused: true }).stop();
}

/** When `schedule` fires next after `from` (exposed for tests of schedules). */
export function nextRun(schedule: string, from: Date): Date | undefined {
  const job = new Cron(schedule, { timezone: 'UTC', paused: true });
  const next = job.nextRun(from) ?? undefined;
  job.stop();
  return next;
}

/** Runs each timer function on its schedule until stopped; a run still going skips the next tick. */
export function startTimers(
  timers: TimerFunction[],
  run: (fn: TimerFunction) => Promise<void>,
  log: (line: string) => void,
): { stop(): void } {
  const jobs = timers.map((fn) => {
    assertNcrontab(fn.name, fn.schedule);
    return new Cron(fn.schedule, { timezone: 'UTC', protect: true }, async () => {
      try {
        await run(fn);
      } catch (err) {
        log(`timer ${fn.name} failed: ${(err as Error).message}`);
      }
    });
  });
  return { stop: () => jobs.forEach((j) => j.stop()) };
}
