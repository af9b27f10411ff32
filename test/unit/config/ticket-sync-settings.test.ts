import { ConfigError, loadConfig } from '../../../src/config/config';

test('ticket sync drains every minute, parks after 8 attempts and searches again after 10 s unless told otherwise', () => {
  expect(loadConfig({}, 'local').ticketSync).toEqual({
    schedule: '0 * * * * *',
    maxAttempts: 8,
    searchLagMs: 10_000,
  });
  expect(
    loadConfig(
      {
        ATTEST_TICKETS_SYNC_SCHEDULE: '0 */5 * * * *',
        ATTEST_TICKETS_MAX_ATTEMPTS: '3',
        ATTEST_TICKETS_SEARCH_LAG_MS: '0',
      },
      'local',
    ).ticketSync,
  ).toEqual({ schedule: '0 */5 * * * *', maxAttempts: 3, searchLagMs: 0 });
});

test.each([
  ['ATTEST_TICKETS_MAX_ATTEMPTS', '0', 'must be at least 1'],
  ['ATTEST_TICKETS_SEARCH_LAG_MS', '3600000', 'must be at most 600000'],
  ['ATTEST_TICKETS_SYNC_SCHEDULE', '* * * * *', 'has 5 fields'],
])('%s=%s is refused with a message that names the setting', (name, value, why) => {
  const load = () => loadConfig({ [name]: value }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(name);
  expect(load).toThrow(why);
});
