/**
 * The Jira and ServiceNow fakes on the wire: their admin endpoint (fault rules, down switch, counters,
 * listing), Jira's search endpoint as jira.js 5 calls it, and the error bodies each system sends.
 */
import { startJiraFake, type JiraFake } from '../../../src/local/ticket-fakes/jira-fake';
import { startServiceNowFake, type ServiceNowFake } from '../../../src/local/ticket-fakes/servicenow-fake';
import { startLocalTicketFake } from '../../../src/local/ticket-fakes/local-ticket-fake';
import { createTicketSystem } from '../../../src/adapters/tickets/create-ticket-system';
import { TicketErrorCodes } from '../../../src/ports/ticket-system.port';
import { DomainError } from '../../../src/domain/domain-error';
import { TestClock } from '../../support/test-clock';

const AUTH = `Basic ${Buffer.from('a@b.example:tok').toString('base64')}`;
const JSON_HEADERS = { Authorization: AUTH, 'Content-Type': 'application/json' };

let clock: TestClock;
let jira: JiraFake;
let snow: ServiceNowFake;

beforeEach(async () => {
  clock = new TestClock(new Date('2026-11-29T10:00:00Z'));
  jira = await startJiraFake({ now: () => clock.now(), basic: [['a@b.example', 'tok']], searchLagMs: 1000 });
  snow = await startServiceNowFake({ now: () => clock.now(), basic: [['a@b.example', 'tok']] });
});

afterEach(async () => {
  await jira.close();
  await snow.close();
});

async function call(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: unknown }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text === '' ? undefined : (JSON.parse(text) as unknown),
  };
}

async function createIssue(summary = 'one'): Promise<string> {
  const res = await call(`${jira.url}/rest/api/3/issue`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({
      fields: { project: { key: 'SEC' }, issuetype: { name: 'Task' }, summary, labels: ['attest-x'] },
    }),
  });
  expect(res.status).toBe(201);
  return (res.body as { key: string }).key;
}

describe('the fakes’ admin endpoint', () => {
  test('fault rules by method and path glob, counted, until a time on the fake clock, then gone', async () => {
    const until = new Date(clock.now().getTime() + 60_000).toISOString();
    const set = await call(`${jira.url}/_fake/faults`, {
      method: 'POST',
      body: JSON.stringify({
        method: 'POST',
        path: '/rest/api/3/issue',
        status: 429,
        until,
        retryAfter: 0,
        rateLimitReason: 'jira-quota-global-based',
      }),
    });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({
      faults: [
        {
          method: 'POST',
          path: '/rest/api/3/issue',
          status: 429,
          until,
          retryAfter: 0,
          rateLimitReason: 'jira-quota-global-based',
        },
      ],
    });
    const throttled = await call(`${jira.url}/rest/api/3/issue`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: '{}',
    });
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('0');
    expect(throttled.headers.get('ratelimit-reason')).toBe('jira-quota-global-based');
    expect(throttled.body).toEqual({ errorMessages: ['Rate limit exceeded.'], errors: {} });
    // Other methods and paths are not touched by the rule.
    expect((await call(`${jira.url}/rest/api/3/issue/SEC-1`, { headers: JSON_HEADERS })).status).toBe(404);
    clock.advance(60_000);
    await createIssue();
    expect(jira.count('POST /rest/api/3/issue')).toBe(2);
    expect((await call(`${jira.url}/_fake/counts`)).body).toEqual({
      counts: { 'POST /rest/api/3/issue': 2, 'GET /rest/api/3/issue/SEC-1': 1 },
    });
    expect((await call(`${jira.url}/_fake/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${jira.url}/_fake/faults`)).body).toEqual({ faults: [] });
  });

  test('a rate below 1 faults that share of requests (with the injected randomness)', async () => {
    await jira.close();
    const draws = [0.1, 0.9, 0.4, 0.6];
    jira = await startJiraFake({ basic: [['a@b.example', 'tok']], random: () => draws.shift() ?? 1 });
    jira.addFaults([{ status: 503, rate: 0.5 }]);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(`${jira.url}/rest/api/3/issue/SEC-1`, { headers: JSON_HEADERS })).status);
    expect(statuses).toEqual([503, 404, 503, 404]);
  });

  test('malformed rules are refused naming the rule and the field', async () => {
    const res = await call(`${snow.url}/_fake/faults`, {
      method: 'POST',
      body: JSON.stringify([{ status: 429 }, { status: 200 }]),
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'rule 2: status must be an HTTP error status, 400..599' });
    const unknown = await call(`${snow.url}/_fake/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 429, retry: 5 }),
    });
    expect((unknown.body as { error: string }).error).toContain("rule 1 has an unknown field 'retry'");
    expect(snow.faults()).toEqual([]);
  });

  test('down answers 503 in the system’s own error shape until it is lifted', async () => {
    expect((await call(`${snow.url}/_fake/down`, { method: 'POST', body: '{"mode":"503"}' })).status).toBe(
      200,
    );
    const down = await call(`${snow.url}/api/now/table/sc_req_item`, { headers: JSON_HEADERS });
    expect(down.status).toBe(503);
    expect(down.body).toEqual({
      error: { message: 'Service Unavailable', detail: 'The instance is unavailable; try again later' },
      status: 'failure',
    });
    expect((await call(`${snow.url}/_fake/down`, { method: 'DELETE' })).status).toBe(204);
    expect((await call(`${snow.url}/api/now/table/sc_req_item`, { headers: JSON_HEADERS })).body).toEqual({
      result: [],
    });
  });

  test('the listing shows what is stored, as JSON or a page', async () => {
    const key = await createIssue('Access to GitHub');
    const listing = (await call(`${jira.url}/_fake/tickets`)).body as {
      issues: Array<Record<string, unknown>>;
    };
    expect(listing.issues).toEqual([
      expect.objectContaining({ key, summary: 'Access to GitHub', labels: ['attest-x'], status: 'To Do' }),
    ]);
    const page = await fetch(`${jira.url}/_fake/tickets?format=html`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('Access to GitHub');
  });
});

describe('the Jira fake', () => {
  test('search at /rest/api/3/search/jql (GET and POST) lags behind creation and pages with nextPageToken', async () => {
    for (let i = 0; i < 3; i++) await createIssue(`issue ${i}`);
    const q = (jql: string, extra = '') =>
      call(`${jira.url}/rest/api/3/search/jql?jql=${encodeURIComponent(jql)}${extra}`, {
        headers: JSON_HEADERS,
      });
    expect(((await q('labels = "attest-x"')).body as { issues: unknown[] }).issues).toEqual([]);
    clock.advance(1000);
    const first = (await q('project = SEC AND labels = "attest-x"', '&maxResults=2&fields=summary')).body as {
      issues: Array<{ key: string; fields: Record<string, unknown> }>;
      nextPageToken: string;
      isLast: boolean;
    };
    expect(first.issues.map((i) => i.key)).toEqual(['SEC-1', 'SEC-2']);
    expect(first.issues[0].fields).toEqual({ summary: 'issue 0' });
    expect(first.isLast).toBe(false);
    const second = await call(`${jira.url}/rest/api/3/search/jql`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ jql: 'labels = "attest-x"', maxResults: 2, nextPageToken: first.nextPageToken }),
    });
    expect(second.body).toMatchObject({ issues: [{ key: 'SEC-3' }], isLast: true });
    expect((await q('')).body).toEqual({
      errorMessages: [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ],
      errors: {},
    });
    expect((await q('assignee = bob')).status).toBe(400);
  });

  test('refuses requests without valid credentials as Jira does', async () => {
    const res = await call(`${jira.url}/rest/api/3/issue/SEC-1`, {
      headers: { Authorization: `Basic ${Buffer.from('a@b.example:wrong').toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      errorMessages: ['Client must be authenticated to access this resource.'],
      errors: {},
    });
  });
});

describe('the local modes', () => {
  test('start the fake and give the adapter a config pointing at it, with a banner line', async () => {
    const local = await startLocalTicketFake(
      {
        mode: 'jira-local',
        projectKey: 'SEC',
        issueType: 'Task',
        fields: {},
        resolveTransition: 'Done',
        allowedProjects: ['SEC'],
      },
      { now: () => clock.now() },
    );
    try {
      expect(local?.banner).toContain(`Jira fake ${local?.fake.url}`);
      expect(local?.banner).toContain('/_fake/tickets');
      const system = createTicketSystem(local!.tickets, { now: () => clock.now() });
      const ref = await system!.create({ correlationId: 'r-9', summary: 's', description: 'd', fields: {} });
      clock.advance(2000);
      expect(await system!.find('r-9')).toEqual(ref);
    } finally {
      await local?.fake.close();
    }
  });

  test('the factory returns nothing for none and refuses a local mode without its fake', () => {
    expect(createTicketSystem({ mode: 'none' })).toBeUndefined();
    let err: unknown;
    try {
      createTicketSystem({ mode: 'servicenow-local', table: 'sc_req_item', closedState: '3', fields: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).code).toBe(TicketErrorCodes.rejected);
    expect((err as DomainError).message).toContain('only the local host');
  });
});
