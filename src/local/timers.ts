/**
 * Timer triggers on the local host, from the same 6-field NCRONTAB expressions (second first) that Azure
 * reads. Evaluated in UTC, as Azure does by default (WEBSITE_TIME_ZONE unset). On wall time by default; given a
 * {@link Clock} (a test's), on that clock, so one clock drives the replay host, the simulator and the timers.
 */
import { Cron } from 'croner';
import type { TimerFunction } from '../functions/function-types';
import type { Clock } from '../ports/clock.port';

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

/** Drives timers from a clock other than wall time. */
export interface TimerClockOptions {
  clock: Clock;
  /** How often the clock is read (default 50 ms, as the replay host polls its timers). */
  pollMs?: number;
}

/**
 * Runs each timer function on its schedule until stopped. On wall time, a run still going skips the next tick.
 * With `options.clock`, the clock is polled and every occurrence of a schedule that it has passed fires once,
 * in order, one run at a time (a jump of three days fires a daily timer three times).
 */
export function startTimers(
  timers: TimerFunction[],
  run: (fn: TimerFunction) => Promise<void>,
  log: (line: string) => void,
  options?: TimerClockOptions,
): { stop(): void } {
  timers.forEach((fn) => assertNcrontab(fn.name, fn.schedule));
  const fire = async (fn: TimerFunction) => {
    try {
      await run(fn);
    } catch (err) {
      log(`timer ${fn.name} failed: ${(err as Error).message}`);
    }
  };
  if (options) return startOnClock(timers, fire, options);
  const jobs = timers.map((fn) => {
    return new Cron(fn.schedule, { timezone: 'UTC', protect: true }, () => fire(fn));
  });
  return { stop: () => jobs.forEach((j) => j.stop()) };
}

function startOnClock(
  timers: TimerFunction[],
  fire: (fn: TimerFunction) => Promise<void>,
  { clock, pollMs = 50 }: TimerClockOptions,
): { stop(): void } {
  const start = clock.now();
  const due = timers.map((fn) => ({
    fn,
    job: new Cron(fn.schedule, { timezone: 'UTC', paused: true }),
    next: undefined as Date | undefined,
  }));
  for (const d of due) d.next = d.job.nextRun(start) ?? undefined;
  let stopped = false;
  let running = false;
  const poll = async () => {
    if (running || stopped) return;
    running = true;
    try {
      // Occurrences of every schedule that the clock has passed, earliest first, each once.
      for (;;) {
        const now = clock.now().getTime();
        const d = due
          .filter((x) => x.next !== undefined && x.next.getTime() <= now)
          .sort((a, b) => (a.next as Date).getTime() - (b.next as Date).getTime())[0];
        if (!d || stopped) break;
        d.next = d.job.nextRun(d.next) ?? undefined;
        await fire(d.fn);
      }
    } finally {
      running = false;
    }
  };
  const interval = setInterval(() => void poll(), pollMs);
  return {
    stop: () => {
      stopped = true;
      clearInterval(interval);
      due.forEach((d) => d.job.stop());
    },
  };
}
