import { ConfigError, loadConfig } from '../../../src/config/config';

test('the reconcile runs every 15 minutes unless ATTEST_RECONCILE_SCHEDULE says otherwise', () => {
  expect(loadConfig({}, 'local').reconcile).toEqual({ schedule: '0 */15 * * * *', intervalMs: 15 * 60_000 });
  expect(loadConfig({ ATTEST_RECONCILE_SCHEDULE: '0 0 * * * *' }, 'local').reconcile.intervalMs).toBe(
    3_600_000,
  );
});

test.each([
  ['*/15 * * * *', 'has 5 fields'],
  ['0 */15 * * * * *', 'has 7 fields'],
  ['0 99 * * * *', 'is not a schedule'],
])('a malformed schedule %s stops start-up and says how to fix it', (schedule, problem) => {
  const load = () => loadConfig({ ATTEST_RECONCILE_SCHEDULE: schedule }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(problem);
  expect(load).toThrow('NCRONTAB');
});

test('the offboarding sweep runs every 15 minutes unless ATTEST_OFFBOARDING_SCHEDULE says otherwise, and a bad one stops start-up', () => {
  expect(loadConfig({}, 'local').offboarding).toEqual({
    schedule: '0 */15 * * * *',
    intervalMs: 15 * 60_000,
  });
  expect(loadConfig({ ATTEST_OFFBOARDING_SCHEDULE: '0 0 * * * *' }, 'local').offboarding.intervalMs).toBe(
    3_600_000,
  );
  const load = () => loadConfig({ ATTEST_OFFBOARDING_SCHEDULE: '*/15 * * * *' }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow('ATTEST_OFFBOARDING_SCHEDULE');
});
