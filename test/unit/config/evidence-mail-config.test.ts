import { ConfigError, loadConfig, schedulePeriodAt } from '../../../src/config/config';

test('the evidence e-mail goes Mondays 07:00 UTC, five tries, links valid 7 days; locally to the demo security team', () => {
  expect(loadConfig({}, 'local').evidenceMail).toEqual({
    schedule: '0 0 7 * * 1',
    recipients: ['security-team@contoso.example'],
    allowedDomains: ['contoso.example'],
    attempts: 5,
    linkValidMs: 7 * 86_400_000,
  });
});

test('recipients are a comma-separated list, compared and kept lower-case, each once', () => {
  const config = loadConfig(
    {
      ATTEST_EVIDENCE_MAIL_TO: ' Audit@Contoso.example, security-team@contoso.example,audit@contoso.example ',
    },
    'local',
  );
  expect(config.evidenceMail.recipients).toEqual(['audit@contoso.example', 'security-team@contoso.example']);
});

test('a recipient outside the allowed domains stops start-up, naming the address and the fix', () => {
  const load = () =>
    loadConfig({ ATTEST_EVIDENCE_MAIL_TO: 'security-team@contoso.example, leak@gmail.com' }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(
    'ATTEST_EVIDENCE_MAIL_TO names leak@gmail.com, outside the domains evidence may be sent to (contoso.example)',
  );
  expect(load).toThrow('ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS');
});

test('ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS lets evidence go to another domain, and replaces the sender’s', () => {
  const env = {
    ATTEST_EVIDENCE_MAIL_TO: 'auditor@audit-firm.example',
    ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS: 'Audit-Firm.example',
  };
  expect(loadConfig(env, 'local').evidenceMail).toMatchObject({
    recipients: ['auditor@audit-firm.example'],
    allowedDomains: ['audit-firm.example'],
  });
  expect(() =>
    loadConfig({ ...env, ATTEST_EVIDENCE_MAIL_TO: 'security-team@contoso.example' }, 'local'),
  ).toThrow('outside the domains evidence may be sent to (audit-firm.example)');
});

test.each([
  ['ATTEST_EVIDENCE_MAIL_TO', 'Security <security@contoso.example>', 'is not a list of e-mail addresses'],
  ['ATTEST_EVIDENCE_MAIL_TO', 'security@contoso', 'is not a list of e-mail addresses (security@contoso)'],
  ['ATTEST_EVIDENCE_MAIL_ALLOWED_DOMAINS', 'contoso.example, @x', 'is not a list of domains (@x)'],
  ['ATTEST_EVIDENCE_MAIL_ATTEMPTS', '0', 'is "0"'],
  ['ATTEST_EVIDENCE_MAIL_LINK_DAYS', '8', 'is "8"'],
  ['ATTEST_EVIDENCE_MAIL_SCHEDULE', '0 7 * * 1', 'has 5 fields'],
])('%s=%s stops start-up', (name, value, problem) => {
  const load = () => loadConfig({ [name]: value }, 'local');
  expect(load).toThrow(ConfigError);
  expect(load).toThrow(name);
  expect(load).toThrow(problem);
});

test('in Azure no recipient is configured by default: no evidence e-mail is sent until one is', () => {
  const azure = {
    ATTEST_STORAGE_MODE: 'managed-identity',
    ATTEST_STORAGE_TABLE_URL: 'https://acct.table.core.windows.net',
    ATTEST_GRAPH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    ATTEST_GRAPH_CLIENT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db48',
    ATTEST_DIRECTORY_MODE: 'graph',
    ATTEST_MAIL_SENDER: 'attest@contoso.com',
    ATTEST_BOT_APP_ID: '72f988bf-86f1-41af-91ab-2d7cd011db49',
    ATTEST_BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    ATTEST_ALLOWED_TENANTS: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    ATTEST_CATALOG_PATH: 'catalog.yaml',
    ATTEST_TAB_CLIENT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db4a',
    ATTEST_TAB_APP_ID_URI: 'api://attest.example/72f988bf-86f1-41af-91ab-2d7cd011db4a',
  };
  expect(loadConfig(azure, 'azure').evidenceMail).toMatchObject({
    recipients: [],
    allowedDomains: ['contoso.com'],
    schedule: '0 0 7 * * 1',
  });
});

describe('the period a scheduled run covers', () => {
  test('a run at Monday 07:00 covers the week before it', () => {
    expect(schedulePeriodAt('0 0 7 * * 1', new Date('2026-11-23T07:00:00Z'))).toEqual({
      from: '2026-11-16T07:00:00.000Z',
      to: '2026-11-23T07:00:00.000Z',
    });
  });

  test('a run started late (the host was down at 07:00) covers the same week', () => {
    expect(schedulePeriodAt('0 0 7 * * 1', new Date('2026-11-25T13:12:00Z'))).toEqual({
      from: '2026-11-16T07:00:00.000Z',
      to: '2026-11-23T07:00:00.000Z',
    });
  });

  test('a monthly and a quarter-hourly schedule have periods of their own length', () => {
    expect(schedulePeriodAt('0 0 6 1 * *', new Date('2026-11-29T00:00:00Z'))).toEqual({
      from: '2026-10-01T06:00:00.000Z',
      to: '2026-11-01T06:00:00.000Z',
    });
    expect(schedulePeriodAt('0 */15 * * * *', new Date('2026-11-29T10:20:00Z'))).toEqual({
      from: '2026-11-29T10:00:00.000Z',
      to: '2026-11-29T10:15:00.000Z',
    });
  });
});
