import { assertNcrontab, nextRun, startTimers } from '../../../src/local/timers';
import { TestClock } from '../../support/test-clock';
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

test('on a test clock, each occurrence the clock passes fires once, in order, and nothing fires while it stands still', async () => {
  const clock = new TestClock(new Date('2026-11-22T10:07:13Z'));
  const runs: string[] = [];
  const timer = (name: string, schedule: string): TimerFunction => ({
    kind: 'timer',
    name,
    schedule,
    handler: async () => undefined,
  });
  const timers = startTimers(
    [timer('five-minutes', '0 */5 * * * *'), timer('daily', '0 0 2 * * *')],
    async (fn) => void runs.push(`${fn.name} ${clock.now().toISOString()}`),
    () => undefined,
    { clock, pollMs: 10 },
  );
  try {
    await new Promise((r) => setTimeout(r, 100));
    expect(runs).toEqual([]); // wall time passes, the clock does not

    clock.advance(13 * 60_000); // 10:20:13: passes 10:10, 10:15 and 10:20
    await waitFor(() => runs.length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.map((r) => r.split(' ')[0])).toEqual(['five-minutes', 'five-minutes', 'five-minutes']);

    runs.length = 0;
    clock.advance(16 * 3600_000); // 02:20:13 the next day: 190 five-minute marks and one 02:00
    await waitFor(() => runs.length >= 193);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs.filter((r) => r.startsWith('five-minutes'))).toHaveLength(192);
    expect(runs.filter((r) => r.startsWith('daily'))).toHaveLength(1);
    // Due at the same moment, timers fire in list order: the daily one after the five-minute runs up to 02:00.
    const daily = runs.findIndex((r) => r.startsWith('daily'));
    expect(runs.filter((r, i) => i < daily && r.startsWith('five-minutes'))).toHaveLength(188);
  } finally {
    timers.stop();
  }
  const counted = runs.length;
  clock.advance(3600_000);
  await new Promise((r) => setTimeout(r, 100));
  expect(runs.length).toBe(counted);
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}
