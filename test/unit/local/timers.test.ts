import { assertNcrontab, nextRun, startTimers } from '../../../src/local/timers';
import type { TimerFunction } from '../../../src/functions/function-types';

test('a schedule must have the six NCRONTAB fields Azure reads, seconds first', () => {
  expect(() => assertNcrontab('digest', '0 2 * * *')).toThrow(
    "Timer 'digest' has schedule '0 2 * * *' with 5 fields; Azure Functions needs 6 (second minute hour day month day-of-week).",
  );
  expect(() => assertNcrontab('digest', '0 0 2 * * *')).not.toThrow();
  expect(() => assertNcrontab('digest', '0 0 25 * * *')).toThrow();
});

test('schedules are evaluated in UTC as Azure does by default', () => {
  const from = new Date('2026-11-22T10:07:13Z');
  expect(nextRun('0 */5 * * * *', from)?.toISOString()).toBe('2026-11-22T10:10:00.000Z');
  expect(nextRun('0 30 9 * * 1-5', from)?.toISOString()).toBe('2026-11-23T09:30:00.000Z'); // Monday
  expect(nextRun('0 0 0 1 * *', from)?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
});

test('a timer function runs on its schedule until stopped', async () => {
  const runs: string[] = [];
  const every: TimerFunction = {
    kind: 'timer',
    name: 'every-second',
    schedule: '* * * * * *',
    handler: async () => undefined,
  };
  const timers = startTimers(
    [every],
    async (fn) => void runs.push(fn.name),
    () => undefined,
  );
  await new Promise((r) => setTimeout(r, 2200));
  timers.stop();
  const counted = runs.length;
  expect(counted).toBeGreaterThanOrEqual(1);
  await new Promise((r) => setTimeout(r, 1200));
  expect(runs.length).toBe(counted);
  expect(runs.every((n) => n === 'every-second')).toBe(true);
});
