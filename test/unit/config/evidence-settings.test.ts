import { ConfigError, loadConfig } from '../../../src/config/config';
import { buildFunctionList } from '../../../src/functions/function-list';
import { nextRun } from '../../../src/local/timers';
import { FunctionNames } from '../../../src/workflows/names';

test('digests are anchored in attest-evidence and written every 15 minutes unless the settings say otherwise', () => {
  expect(loadConfig({}, 'local').evidence).toEqual({
    container: 'attest-evidence',
    digestIntervalMinutes: 15,
    digestSchedule: '0 */15 * * * *',
  });
  const set = loadConfig(
    { ATTEST_EVIDENCE_CONTAINER: 'audit-anchors-2', ATTEST_DIGEST_INTERVAL_MINUTES: '60' },
    'local',
  ).evidence;
  expect(set).toEqual({
    container: 'audit-anchors-2',
    digestIntervalMinutes: 60,
    digestSchedule: '0 0 * * * *',
  });
});

test.each([
  ['ATTEST_DIGEST_INTERVAL_MINUTES', '7', 'must divide an hour: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60'],
  ['ATTEST_DIGEST_INTERVAL_MINUTES', 'often', 'ATTEST_DIGEST_INTERVAL_MINUTES'],
  ['ATTEST_EVIDENCE_CONTAINER', 'Attest_Evidence', 'must be a blob container name'],
  ['ATTEST_EVIDENCE_CONTAINER', 'ab', 'must be a blob container name'],
  ['ATTEST_EVIDENCE_CONTAINER', 'attest--evidence', 'must be a blob container name'],
])('%s=%s stops start-up and says how to fix it', (name, value, says) => {
  const load = () => loadConfig({ [name]: value }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(says);
});

test('the interval digest timer fires every N minutes; the daily one stays at 02:00 UTC', () => {
  const config = loadConfig({ ATTEST_DIGEST_INTERVAL_MINUTES: '20' }, 'local');
  const timers = buildFunctionList(config).filter((f) => f.kind === 'timer');
  const interval = timers.find((f) => f.name === FunctionNames.auditDigestInterval);
  const daily = timers.find((f) => f.name === FunctionNames.auditDigest);
  expect(
    interval && 'schedule' in interval && nextRun(interval.schedule, new Date('2026-11-29T16:41:00Z')),
  ).toEqual(new Date('2026-11-29T17:00:00Z'));
  expect(daily && 'schedule' in daily && daily.schedule).toBe('0 0 2 * * *');
});
