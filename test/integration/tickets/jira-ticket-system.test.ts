/**
 * The Jira adapter (jira.js 5 over HTTP) against the local Jira fake: tickets found by label once search
 * catches up, comments in ADF carrying the event hash, resolve through the configured transition, and every
 * failure mapped to the ticket port's codes with what Jira said.
 */
import { DomainError } from '../../../src/domain/domain-error';
import { JiraTicketSystem } from '../../../src/adapters/tickets/jira-ticket-system';
import { jiraLabelFor } from '../../../src/adapters/tickets/ticket-text';
import { TicketErrorCodes, type TicketComment } from '../../../src/ports/ticket-system.port';
import type { JiraTicketsConfig } from '../../../src/config/config';
import { startJiraFake, type JiraFake } from '../../../src/local/ticket-fakes/jira-fake';
import { TestClock } from '../../support/test-clock';

const EMAIL = 'attest@acme.example';
const TOKEN = 'api-token-0123456789';
const OAUTH = 'oauth-access-token-0123456789abcdef';

let clock: TestClock;
let fake: JiraFake;
let logs: string[];

function config(over: Partial<Omit<JiraTicketsConfig, 'mode'>> = {}): Omit<JiraTicketsConfig, 'mode'> {
  return {
    baseUrl: fake.url,
    auth: { kind: 'token', email: EMAIL, apiToken: TOKEN },
    projectKey: 'SEC',
    issueType: 'Task',
    fields: { requester: 'customfield_10010', app: 'customfield_10011' },
    resolveTransition: 'Done',
    allowedProjects: ['SEC', 'IT'],
    ...over,
  };
}

function jira(
  over: Partial<Omit<JiraTicketsConfig, 'mode'>> = {},
  commentPageSize?: number,
): JiraTicketSystem {
  return new JiraTicketSystem({
    config: config(over),
    log: (l) => logs.push(l),
    now: () => clock.now(),
    ...(commentPageSize ? { commentPageSize } : {}),
  });
}

function event(seq: number, over: Partial<TicketComment> = {}): TicketComment {
  return {
    eventHash: `${'ab'.repeat(31)}${String(seq).padStart(2, '0')}`,
    stream: 'request:r-1',
    seq,
    action: 'approval.decided',
    actor: 'priya.raman@contoso.example',
    time: '2026-11-29T10:00:00.000Z',
    text: `Approved (event ${seq})`,
    ...over,
  };
}

async function failure(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

beforeEach(async () => {
  clock = new TestClock(new Date('2026-11-29T10:00:00Z'));
  logs = [];
  fake = await startJiraFake({
    now: () => clock.now(),
    searchLagMs: 5000,
    basic: [[EMAIL, TOKEN]],
    bearerTokens: [OAUTH],
    projects: ['SEC', 'IT'],
    customFields: ['customfield_10010', 'customfield_10011'],
    commentPageMax: 3,
  });
});

afterEach(async () => {
  await fake.close();
});

describe('the Jira adapter', () => {
  test('creates a labelled issue with ADF description and mapped fields, found by search only after the lag', async () => {
    const j = jira();
    const ref = await j.create({
      correlationId: 'r-1',
      summary: 'Access to GitHub: Organization Owner for alex.chen',
      description: 'Requested by alex.chen\nfor the release',
      fields: { requester: 'alex.chen@contoso.example', app: 'GitHub', role: 'Organization Owner' },
    });
    expect(ref).toEqual({ key: 'SEC-1', url: `${fake.url}/browse/SEC-1` });
    const issue = fake.issue('SEC-1');
    expect(issue?.fields.labels).toEqual(['attest-r-1']);
    expect(issue?.fields.issuetype.name).toBe('Task');
    expect(issue?.fields.customfield_10010).toBe('alex.chen@contoso.example');
    expect(issue?.fields.customfield_10011).toBe('GitHub');
    expect(issue?.fields.description).toMatchObject({ type: 'doc', version: 1 });
    expect(JSON.stringify(issue?.fields.description)).toContain('role: Organization Owner');

    expect(await j.find('r-1')).toBeUndefined(); // search lags, as Jira's does
    clock.advance(5000);
    expect(await j.find('r-1')).toEqual(ref);
    expect(await j.find('r-2')).toBeUndefined();
    expect(fake.count('GET /rest/api/3/search/jql')).toBe(3);
  });

  test('labels of ids with awkward characters are distinct and findable', async () => {
    const j = jira();
    await j.create({ correlationId: 'campaign:c 1', summary: 'Review', description: '', fields: {} });
    await j.create({ correlationId: 'campaign_3ac_201', summary: 'Review', description: '', fields: {} });
    expect(jiraLabelFor('campaign:c 1')).toBe('attest-campaign_3ac_201');
    expect(jiraLabelFor('campaign_3ac_201')).toBe('attest-campaign_5f3ac_5f201');
    clock.advance(5000);
    expect((await j.find('campaign:c 1'))?.key).toBe('SEC-1');
    expect((await j.find('campaign_3ac_201'))?.key).toBe('SEC-2');
  });

  test('comments carry the event hash, and commentedHashes reads every page', async () => {
    const j = jira({}, 2);
    const ref = await j.create({ correlationId: 'r-1', summary: 's', description: 'd', fields: {} });
    for (let seq = 1; seq <= 7; seq++) await j.comment(ref, event(seq));
    const hashes = await j.commentedHashes(ref);
    expect([...hashes].sort()).toEqual([1, 2, 3, 4, 5, 6, 7].map((s) => event(s).eventHash).sort());
    // Pages of 2 asked: 4 reads for 7 comments.
    expect(fake.count('GET /rest/api/3/issue/*/comment')).toBe(4);
    const text = fake.issue('SEC-1')?.comments[0].text ?? '';
    expect(text).toContain('approval.decided by priya.raman@contoso.example at 2026-11-29T10:00:00.000Z');
    expect(text).toContain('attest-stream: request:r-1 #1');
    expect(text.split('\n').at(-1)).toBe(`attest-event: ${event(1).eventHash}`);
  });

  test('resolve runs the named transition with the closing comment, and again is a no-op', async () => {
    const j = jira();
    const ref = await j.create({ correlationId: 'r-1', summary: 's', description: 'd', fields: {} });
    await j.resolve(ref, 'access expired');
    const issue = fake.issue('SEC-1');
    expect(issue?.fields.status.name).toBe('Done');
    expect(issue?.comments.map((c) => c.text)).toEqual(['Resolved: access expired']);
    await j.resolve(ref, 'access expired');
    expect(fake.issue('SEC-1')?.comments).toHaveLength(1);
    expect(fake.issue('SEC-1')?.transitionsApplied).toEqual(['Done']);
  });

  test('a transition that does not exist is rejected naming those that do', async () => {
    const j = jira({ resolveTransition: 'Close Issue' });
    const ref = await j.create({ correlationId: 'r-1', summary: 's', description: 'd', fields: {} });
    const err = await failure(j.resolve(ref, 'done'));
    expect(err.code).toBe(TicketErrorCodes.rejected);
    expect(err.message).toContain('no transition named "Close Issue" on SEC-1');
    expect(err.message).toContain('"In Progress", "Done"');
    expect(err.message).toContain('ATTEST_JIRA_RESOLVE_TRANSITION');
  });

  test('OAuth bearer tokens are accepted; wrong credentials are rejected and say what to check', async () => {
    const viaOauth = jira({ auth: { kind: 'oauth', accessToken: OAUTH } });
    expect(
      (await viaOauth.create({ correlationId: 'o', summary: 's', description: '', fields: {} })).key,
    ).toBe('SEC-1');
    const wrong = jira({ auth: { kind: 'token', email: EMAIL, apiToken: 'not-the-token' } });
    const err = await failure(wrong.find('r-1'));
    expect(err.code).toBe(TicketErrorCodes.rejected);
    expect(err.details?.status).toBe(401);
    expect(err.message).toContain('ATTEST_JIRA_API_TOKEN');
    expect(err.message).toContain('Client must be authenticated to access this resource.');
  });

  test("a 400 carries Jira's field errors in a readable message", async () => {
    const j = jira({ fields: { requester: 'customfield_99999' }, issueType: 'Epic' });
    const err = await failure(
      j.create({ correlationId: 'r-1', summary: 's', description: '', fields: { requester: 'x' } }),
    );
    expect(err.code).toBe(TicketErrorCodes.rejected);
    expect(err.message).toContain('issuetype: Specify an issue type');
    expect(err.message).toContain(
      "customfield_99999: Field 'customfield_99999' cannot be set. It is not on the appropriate screen, or unknown.",
    );
    const missing = await failure(j.comment({ key: 'SEC-404', url: '' }, event(1)));
    expect(missing.code).toBe(TicketErrorCodes.rejected);
    expect(missing.message).toContain('Issue does not exist or you do not have permission to see it.');
  });

  test.each([
    ['0', 0, 0],
    ['absent', undefined, undefined],
    ['30 seconds', 30, 30_000],
  ])(
    '429 with Retry-After %s is throttled with retryAfterMs and the reason logged',
    async (_, retryAfter, ms) => {
      const j = jira();
      const ref = await j.create({ correlationId: 'r-1', summary: 's', description: '', fields: {} });
      fake.addFaults([
        {
          method: 'POST',
          path: '/rest/api/3/issue/*/comment',
          status: 429,
          count: 1,
          ...(retryAfter !== undefined ? { retryAfter } : {}),
          rateLimitReason: 'jira-per-issue-on-write',
        },
      ]);
      const err = await failure(j.comment(ref, event(1)));
      expect(err.code).toBe(TicketErrorCodes.throttled);
      expect(err.details).toMatchObject({ status: 429, rateLimitReason: 'jira-per-issue-on-write' });
      expect(err.details?.retryAfterMs).toBe(ms);
      expect(logs.join('\n')).toContain('RateLimit-Reason jira-per-issue-on-write');
      await j.comment(ref, event(1)); // the rule was spent
      expect(fake.issue('SEC-1')?.comments).toHaveLength(1);
    },
  );

  test("Jira's own per-issue write limit answers 429 jira-per-issue-on-write with a Retry-After", async () => {
    await fake.close();
    fake = await startJiraFake({
      now: () => clock.now(),
      basic: [[EMAIL, TOKEN]],
      perIssueWriteLimit: { writes: 2, perMs: 10_000 },
    });
    const j = jira();
    const ref = await j.create({ correlationId: 'r-1', summary: 's', description: '', fields: {} });
    await j.comment(ref, event(1));
    await j.comment(ref, event(2));
    const err = await failure(j.comment(ref, event(3)));
    expect(err.code).toBe(TicketErrorCodes.throttled);
    expect(err.details).toMatchObject({ retryAfterMs: 10_000, rateLimitReason: 'jira-per-issue-on-write' });
    clock.advance(10_000);
    await j.comment(ref, event(3));
    expect(fake.issue('SEC-1')?.comments).toHaveLength(3);
  });

  test('5xx, a 503 outage and connection refused are unavailable; the outage ends on the fake clock', async () => {
    const j = jira();
    fake.addFaults([{ path: '/rest/api/3/**', status: 503, durationMs: 60 * 60 * 1000 }]);
    const err = await failure(j.create({ correlationId: 'r-1', summary: 's', description: '', fields: {} }));
    expect(err.code).toBe(TicketErrorCodes.unavailable);
    expect(err.message).toContain('Jira answered 503');
    clock.advance(60 * 60 * 1000);
    expect((await j.create({ correlationId: 'r-1', summary: 's', description: '', fields: {} })).key).toBe(
      'SEC-1',
    );

    await fake.setDown('refused');
    // A kept-alive connection may be reset first; a new one is refused.
    const reset = await failure(j.find('r-1'));
    expect(reset.code).toBe(TicketErrorCodes.unavailable);
    expect(reset.message).toMatch(/ECONNREFUSED|ECONNRESET/);
    const refused = await failure(j.find('r-1'));
    expect(refused.code).toBe(TicketErrorCodes.unavailable);
    expect(refused.message).toContain('ECONNREFUSED');
    await fake.setDown(false);
    clock.advance(5000);
    expect((await j.find('r-1'))?.key).toBe('SEC-1');

    await fake.setDown('503');
    expect((await failure(j.find('r-1'))).code).toBe(TicketErrorCodes.unavailable);
  });

  test('references are allowed only in the configured projects', () => {
    const j = jira();
    expect(j.referenceAllowed('SEC-7')).toBe(true);
    expect(j.referenceAllowed('IT-12')).toBe(true);
    expect(j.referenceAllowed('HR-3')).toBe(false);
    expect(j.referenceAllowed('sec-7')).toBe(false);
    expect(j.referenceAllowed('CHG0012345')).toBe(false);
  });
});
