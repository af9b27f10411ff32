import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client, GraphError } from '@microsoft/microsoft-graph-client';
import { createGraphClient } from '../../src/adapters/graph/graph-client';
import {
  isLoopbackAddress,
  startGraphSimulator,
  type GraphSimOptions,
  type GraphSimulator,
} from '../../src/local/graph-sim/graph-sim';
import {
  DEMO_APPS,
  DEMO_ATTEST_ADMINS_GROUP_ID,
  DEMO_DISTRIBUTION_LIST_ID,
  DEMO_DYNAMIC_GROUP_ID,
  DEMO_MAIL_ENABLED_SECURITY_GROUP_ID,
  DEMO_ONCALL_GROUP_ID,
  DEMO_ONCALL_SECONDARY_GROUP_ID,
  DEMO_ONPREM_SYNCED_GROUP_ID,
  DEMO_ROLE_ASSIGNABLE_GROUP_ID,
  DEMO_TENANT_ID,
  DEMO_UNIFIED_GROUP_ID,
  PLAYGROUND_USERS,
  demoGroupId,
  demoTenant,
  demoUserId,
  playgroundConfigYaml,
} from '../../src/local/graph-sim/demo-tenant';

interface UserBody {
  id: string;
  displayName: string;
  userPrincipalName: string;
  signInActivity?: { lastSignInDateTime: string | null; lastNonInteractiveSignInDateTime: string | null };
  [key: string]: unknown;
}
interface Collection<T> {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  value: T[];
}
interface BatchResponse {
  responses: {
    id: string;
    status: number;
    headers: Record<string, string>;
    body?: { error?: { code: string; message: string } };
  }[];
}

const ALEX = demoUserId('alex.chen');
const PRIYA = demoUserId('priya.raman');
const CONTRACTOR = demoUserId('taylor.brooks');
const SALESFORCE_USERS = demoGroupId('sg-salesforce-users');
const ref = (userId: string) => ({
  '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${userId}`,
});

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-graph-sim-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A simulator plus a Graph client from our own factory, the way Attest calls Graph. */
async function start(
  opts: Partial<GraphSimOptions> = {},
  retry: { maxRetries?: number; delaySeconds?: number } = { maxRetries: 0 },
): Promise<{ sim: GraphSimulator; client: Client; dataDir: string }> {
  const dataDir = opts.dataDir ?? tempDir();
  const sim = await startGraphSimulator({ port: 0, ...opts, dataDir });
  const token = sim.issueToken();
  return {
    sim,
    client: createGraphClient({ baseUrl: sim.url, getToken: async () => token, retry }),
    dataDir,
  };
}

async function graphErrorOf(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (e) {
    return e as GraphError;
  }
  throw new Error('expected the Graph call to fail');
}

describe('Graph simulator, called through createGraphClient', () => {
  let sim: GraphSimulator;
  let client: Client;
  let dataDir: string;

  beforeAll(async () => {
    ({ sim, client, dataDir } = await start());
  });
  afterAll(() => sim.close());

  test('the client composes ${baseUrl}/users/x and the user comes back in the default projection', async () => {
    const user = (await client.api(`/users/${ALEX}`).get()) as UserBody;
    expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\.0$/);
    expect(user).toEqual({
      '@odata.context': `${sim.url}/$metadata#users/$entity`,
      id: ALEX,
      displayName: 'Alex Chen',
      userPrincipalName: 'alex.chen@contoso.example',
      mail: 'alex.chen@contoso.example',
      department: 'Engineering',
      jobTitle: 'Software Engineer',
      accountEnabled: true,
    });
  });

  test('users filter by `id in (…)`, and with signInActivity a page holds at most 120 users, as in Graph', async () => {
    const ids = [ALEX, PRIYA, CONTRACTOR];
    const filter = encodeURIComponent(`id in (${ids.map((id) => `'${id.toUpperCase()}'`).join(',')})`);
    const found = (await client
      .api(`/users?$filter=${filter}&$select=id,signInActivity`)
      .get()) as Collection<UserBody>;
    expect(found.value.map((u) => u.id).sort()).toEqual([...ids].sort());
    expect(found.value.every((u) => u.signInActivity !== undefined)).toBe(true);
    const bad = await graphErrorOf(
      client.api(`/users?$filter=${encodeURIComponent("id in ('a', true)")}`).get(),
    );
    expect(bad.statusCode).toBe(400);

    // With signInActivity selected a page holds at most 120 users, whatever $top asks (checked on 130 users).
    const big = tempDir();
    fs.mkdirSync(path.join(big, 'graph-sim'), { recursive: true });
    const tenant = demoTenant(new Date());
    const template = tenant.users[0];
    for (let i = 0; i < 130; i++) {
      tenant.users.push({
        ...template,
        id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        userPrincipalName: `bulk${i}@contoso.example`,
      });
    }
    fs.writeFileSync(
      path.join(big, 'graph-sim', 'tenant.json'),
      JSON.stringify({ version: 1, tenant, issuedTokens: [] }),
    );
    const s2 = await start({ dataDir: big });
    try {
      const capped = (await s2.client
        .api('/users?$select=id,signInActivity&$top=999')
        .get()) as Collection<UserBody>;
      expect(capped.value).toHaveLength(120);
      expect(capped['@odata.nextLink']).toBeDefined();
      const plain = (await s2.client.api('/users?$select=id&$top=999').get()) as Collection<UserBody>;
      expect(plain.value.length).toBe(tenant.users.length);
    } finally {
      await s2.sim.close();
    }
  });

  test('a user can be read by userPrincipalName, case-insensitively', async () => {
    const user = (await client.api('/users/Alex.Chen@contoso.example').get()) as UserBody;
    expect(user.id).toBe(ALEX);
  });

  test('signInActivity is returned only when $select names it', async () => {
    const plain = (await client.api('/users').top(999).get()) as Collection<UserBody>;
    expect(plain.value.every((u) => u.signInActivity === undefined)).toBe(true);

    const withActivity = (await client
      .api('/users')
      .select(['id', 'displayName', 'signInActivity'])
      .top(999)
      .get()) as Collection<UserBody>;
    expect(withActivity['@odata.context']).toBe(`${sim.url}/$metadata#users(id,displayName,signInActivity)`);
    expect(Object.keys(withActivity.value[0]).sort()).toEqual(['displayName', 'id', 'signInActivity']);
    const never = withActivity.value.find((u) => u.id === demoUserId('samuel.osei'));
    expect(never?.signInActivity).toEqual({
      lastSignInDateTime: null,
      lastNonInteractiveSignInDateTime: null,
    });
    const stale = withActivity.value.filter((u) => {
      const at = u.signInActivity?.lastSignInDateTime;
      return at !== null && at !== undefined && Date.now() - Date.parse(at) > 90 * 24 * 3600 * 1000;
    });
    expect(stale.length).toBeGreaterThanOrEqual(3);
  });

  test('an unknown $select property is a 400 naming the property', async () => {
    const err = await graphErrorOf(client.api('/users').select('shoeSize').get());
    expect(err.statusCode).toBe(400);
    expect(err.message).toBe("Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.");
  });

  test('$filter combines eq and startswith with and', async () => {
    const res = (await client
      .api('/users')
      .filter("department eq 'Engineering' and startswith(displayName,'Al') and accountEnabled eq true")
      .get()) as Collection<UserBody>;
    expect(res.value.map((u) => u.displayName)).toEqual(['Alex Chen']);
  });

  test("a doubled quote in a string literal matches O'Brien, as in OData", async () => {
    const eq = (await client
      .api('/users')
      .filter("displayName eq 'Siobhan O''Brien'")
      .get()) as Collection<UserBody>;
    const prefix = (await client
      .api('/users')
      .filter(encodeURIComponent("startswith(displayName,'Siobhan O''')"))
      .get()) as Collection<UserBody>;
    expect(eq.value.map((u) => u.userPrincipalName)).toEqual(['siobhan.obrien@contoso.example']);
    expect(prefix.value.map((u) => u.userPrincipalName)).toEqual(['siobhan.obrien@contoso.example']);
  });

  test('a disabled account is found by accountEnabled eq false', async () => {
    const res = (await client.api('/users').filter('accountEnabled eq false').get()) as Collection<UserBody>;
    // A leaver, and the shared mailbox Attest sends from (Entra keeps shared mailboxes as disabled users).
    expect(res.value.map((u) => u.displayName)).toEqual(['Hannah Lee', 'Attest Notifications']);
  });

  test('a malformed filter is 400 BadRequest "Invalid filter clause"', async () => {
    const err = await graphErrorOf(client.api('/users').filter("startswith(displayName,'Al'").get());
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('BadRequest');
    expect(err.message).toMatch(/^Invalid filter clause/);
  });

  test('an unknown user is 404 Request_ResourceNotFound with the message Graph gives', async () => {
    const err = await graphErrorOf(client.api('/users/nobody@contoso.example').get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
    expect(err.message).toBe(
      "Resource 'nobody@contoso.example' does not exist or one of its queried reference-property objects are not present.",
    );
    expect(err.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("a user's manager is returned as a directoryObject of type user", async () => {
    const manager = (await client.api(`/users/${ALEX}/manager`).get()) as UserBody;
    expect(manager['@odata.type']).toBe('#microsoft.graph.user');
    expect(manager.id).toBe(PRIYA);
    const skip = (await client.api(`/users/${PRIYA}/manager`).get()) as UserBody;
    expect(skip.displayName).toBe('Rahul Mehta');
  });

  test('a contractor without a manager gets 404 for /manager', async () => {
    const err = await graphErrorOf(client.api(`/users/${CONTRACTOR}/manager`).get());
    expect(err.statusCode).toBe(404);
    expect(err.code).toBe('Request_ResourceNotFound');
  });

  test('$top outside 1..999 is rejected', async () => {
    const err = await graphErrorOf(client.api('/users').top(1000).get());
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('between 1 and 999');
  });

  test('group members page over @odata.nextLink with $top, users and nested groups each typed', async () => {
    const seen: [string, string][] = [];
    let pages = 0;
    let res = (await client
      .api(`/groups/${DEMO_ONCALL_GROUP_ID}/members`)
      .top(5)
      .select(['id', 'displayName', 'userPrincipalName'])
      .get()) as Collection<UserBody & { '@odata.type': string }>;
    for (;;) {
      pages++;
      expect(res.value.length).toBeLessThanOrEqual(5);
      for (const m of res.value) seen.push([m.id, m['@odata.type']]);
      if (!res['@odata.nextLink']) break;
      expect(res['@odata.nextLink']).toContain('$skiptoken=');
      res = (await client.api(res['@odata.nextLink']).get()) as typeof res;
    }
    const tenant = demoTenant(new Date());
    const expected = tenant.groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID)?.memberIds ?? [];
    expect(pages).toBe(3);
    expect(seen).toEqual(
      expected.map((id) => [
        id,
        tenant.groups.some((g) => g.id === id) ? '#microsoft.graph.group' : '#microsoft.graph.user',
      ]),
    );
    expect(seen).toContainEqual([DEMO_ONCALL_SECONDARY_GROUP_ID, '#microsoft.graph.group']);
  });

  test('group owners are listed', async () => {
    const res = (await client
      .api(`/groups/${DEMO_ATTEST_ADMINS_GROUP_ID}/owners`)
      .get()) as Collection<UserBody>;
    expect(res.value.map((u) => u.displayName)).toEqual(['Amara Nwosu']);
  });

  test('groups are found by mailNickname and by displayName prefix', async () => {
    const byNick = (await client.api('/groups').filter("mailNickname eq 'sg-oncall'").get()) as Collection<{
      id: string;
    }>;
    const byName = (await client
      .api('/groups')
      .filter("startswith(displayName,'AWS Production')")
      .get()) as Collection<{
      displayName: string;
      securityEnabled: boolean;
    }>;
    expect(byNick.value.map((g) => g.id)).toEqual([DEMO_ONCALL_GROUP_ID]);
    expect(byName.value).toHaveLength(3);
    expect(byName.value.every((g) => g.securityEnabled)).toBe(true);
  });

  test('adding a member is 204, adding again is 400 with the exact Graph message', async () => {
    await expect(
      client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)),
    ).resolves.toBeUndefined();
    const again = await graphErrorOf(client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)));
    expect(again.statusCode).toBe(400);
    expect(again.code).toBe('Request_BadRequest');
    expect(again.message).toBe(
      "One or more added object references already exist for the following modified properties: 'members'.",
    );
  });

  test('removing a member is 204, removing again is 404', async () => {
    await client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(PRIYA));
    await expect(
      client.api(`/groups/${SALESFORCE_USERS}/members/${PRIYA}/$ref`).delete(),
    ).resolves.toBeUndefined();
    const again = await graphErrorOf(
      client.api(`/groups/${SALESFORCE_USERS}/members/${PRIYA}/$ref`).delete(),
    );
    expect(again.statusCode).toBe(404);
    expect(again.code).toBe('Request_ResourceNotFound');
    const writes = sim.writes().filter((w) => w.path === `/groups/${SALESFORCE_USERS}/members/${PRIYA}/$ref`);
    expect(writes.map((w) => [w.method, w.status])).toEqual([
      ['DELETE', 204],
      ['DELETE', 404],
    ]);
  });

  test('an unknown group is 404, for reads and for member adds', async () => {
    const missing = '00000000-0000-0000-0000-000000000404';
    const read = await graphErrorOf(client.api(`/groups/${missing}`).get());
    const add = await graphErrorOf(client.api(`/groups/${missing}/members/$ref`).post(ref(ALEX)));
    expect([read.statusCode, read.code]).toEqual([404, 'Request_ResourceNotFound']);
    expect([add.statusCode, add.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  test('a member add with a malformed body is 400', async () => {
    const err = await graphErrorOf(client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post({ id: ALEX }));
    expect(err.statusCode).toBe(400);
  });

  test('$batch runs dependsOn in order and answers 424 when a dependency failed', async () => {
    const group = demoGroupId('sg-jira-site-admins');
    const res = (await client.api('/$batch').post({
      requests: [
        { id: '3', method: 'GET', url: `/groups/${group}/members?$select=id`, dependsOn: ['2'] },
        {
          id: '1',
          method: 'POST',
          url: `/groups/${group}/members/$ref`,
          body: ref(ALEX),
          headers: { 'Content-Type': 'application/json' },
        },
        { id: '2', method: 'POST', url: `/groups/${group}/members/$ref`, body: ref(ALEX), dependsOn: ['1'] },
        { id: '4', method: 'GET', url: `/users/${ALEX}`, dependsOn: ['1'] },
      ],
    })) as BatchResponse;
    const byId = new Map(res.responses.map((r) => [r.id, r]));
    expect(byId.get('1')?.status).toBe(204);
    expect(byId.get('2')?.status).toBe(400);
    expect(byId.get('3')?.status).toBe(424);
    expect(byId.get('3')?.body?.error?.code).toBe('FailedDependency');
    expect(byId.get('4')?.status).toBe(200);
  });

  test('$batch with more than 20 requests is rejected with 400', async () => {
    const requests = Array.from({ length: 21 }, (_, i) => ({
      id: String(i + 1),
      method: 'GET',
      url: '/users?$top=1',
    }));
    const err = await graphErrorOf(client.api('/$batch').post({ requests }));
    expect(err.statusCode).toBe(400);
    expect(err.message).toContain('maximum of 20');
  });

  test('sendMail answers 202 and keeps the message and its attachment under mail/', async () => {
    const csv = 'user,role\nalex.chen,admin\n';
    await client.api(`/users/${ALEX}/sendMail`).post({
      message: {
        subject: 'Evidence for May',
        body: { contentType: 'HTML', content: '<p>Attached.</p>' },
        toRecipients: [{ emailAddress: { address: 'security@contoso.example' } }],
        attachments: [
          {
            '@odata.type': '#microsoft.graph.fileAttachment',
            name: 'evidence.csv',
            contentType: 'text/csv',
            contentBytes: Buffer.from(csv).toString('base64'),
          },
        ],
      },
      saveToSentItems: false,
    });
    const [folder] = fs.readdirSync(path.join(dataDir, 'mail'));
    const stored = JSON.parse(
      fs.readFileSync(path.join(dataDir, 'mail', folder, 'message.json'), 'utf8'),
    ) as {
      subject: string;
      toRecipients: string[];
      from: { emailAddress: { address: string } };
    };
    expect(stored.subject).toBe('Evidence for May');
    expect(stored.toRecipients).toEqual(['security@contoso.example']);
    expect(stored.from.emailAddress.address).toBe('alex.chen@contoso.example');
    expect(fs.readFileSync(path.join(dataDir, 'mail', folder, 'evidence.csv'), 'utf8')).toBe(csv);
  });

  test('sendMail without recipients is 400 ErrorInvalidRecipients', async () => {
    const err = await graphErrorOf(
      client.api(`/users/${ALEX}/sendMail`).post({ message: { subject: 'x', toRecipients: [] } }),
    );
    expect(err.statusCode).toBe(400);
    expect(err.code).toBe('ErrorInvalidRecipients');
  });

  test('an unknown segment is 400 "Resource not found for the segment", a wrong method is 405', async () => {
    const unknown = await graphErrorOf(client.api('/teamz').get());
    const method = await graphErrorOf(client.api(`/users/${ALEX}`).delete());
    expect([unknown.statusCode, unknown.message]).toEqual([
      400,
      "Resource not found for the segment 'teamz'.",
    ]);
    expect(method.statusCode).toBe(405);
  });

  test('a request without a token, or with a token the simulator never issued, is 401', async () => {
    const none = await fetch(`${sim.url}/users`, { headers: { 'client-request-id': 'abc-123' } });
    const noneBody = (await none.json()) as {
      error: { code: string; message: string; innerError: Record<string, string> };
    };
    expect(none.status).toBe(401);
    expect(noneBody.error.code).toBe('InvalidAuthenticationToken');
    expect(noneBody.error.message).toBe('Access token is empty.');
    expect(noneBody.error.innerError['client-request-id']).toBe('abc-123');
    expect(none.headers.get('client-request-id')).toBe('abc-123');
    expect(none.headers.get('request-id')).toBe(noneBody.error.innerError['request-id']);

    const forged = await fetch(`${sim.url}/users`, { headers: { Authorization: 'Bearer not-a-token' } });
    expect(forged.status).toBe(401);
    expect(((await forged.json()) as { error: { message: string } }).error.message).toMatch(
      /^Access token validation failure/,
    );
  });
});

describe('Graph simulator faults', () => {
  test('a 429 with Retry-After: 1 is retried by the client after a second and then succeeds', async () => {
    const dice = [0.1, 0.9];
    let rolls = 0;
    const { sim, client } = await start(
      { faults: { throttleRate: 0.5 }, random: () => (rolls++, dice.shift() ?? 0.9) },
      { maxRetries: 3 },
    );
    try {
      const started = Date.now();
      const user = (await client.api(`/users/${ALEX}`).get()) as UserBody;
      expect(user.id).toBe(ALEX);
      expect(rolls).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await sim.close();
    }
  });

  test('a 429 that is not retried carries TooManyRequests and Retry-After', async () => {
    const { sim, client } = await start({ faults: { throttleRate: 1, retryAfterSeconds: 7 } });
    try {
      const err = await graphErrorOf(client.api('/users').get());
      expect([err.statusCode, err.code]).toEqual([429, 'TooManyRequests']);
      expect(err.headers?.get('Retry-After')).toBe('7');
    } finally {
      await sim.close();
    }
  });

  test('an injected 503 is serviceNotAvailable with Retry-After', async () => {
    const { sim, client } = await start({ faults: { unavailableRate: 1 } });
    try {
      const err = await graphErrorOf(client.api(`/users/${ALEX}`).get());
      expect([err.statusCode, err.code]).toEqual([503, 'serviceNotAvailable']);
      expect(err.headers?.get('Retry-After')).toBe('1');
    } finally {
      await sim.close();
    }
  });

  test('throttling inside $batch shows per request as 429 with Retry-After in that response', async () => {
    const dice = [0.9, 0.1];
    const { sim, client } = await start({ faults: { throttleRate: 0.5 }, random: () => dice.shift() ?? 0.9 });
    try {
      const res = (await client.api('/$batch').post({
        requests: [
          { id: 'a', method: 'GET', url: `/users/${ALEX}` },
          { id: 'b', method: 'GET', url: `/users/${PRIYA}` },
        ],
      })) as BatchResponse;
      expect(res.responses.map((r) => r.status)).toEqual([200, 429]);
      expect(res.responses[1].headers['Retry-After']).toBe('1');
    } finally {
      await sim.close();
    }
  });

  test('latency is added before every answer', async () => {
    const { sim, client } = await start({ faults: { latencyMs: 300 } });
    try {
      const started = Date.now();
      await client.api(`/users/${ALEX}`).get();
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    } finally {
      await sim.close();
    }
  });

  test('the write quota allows 3000 writes per 150 s, then answers 429 until the bucket refills', async () => {
    let clock = Date.parse('2025-06-02T09:00:00Z');
    const { sim, client } = await start({ faults: { writeQuota: true }, now: () => new Date(clock) });
    try {
      // Re-adding an existing member is a cheap write that still counts against the quota.
      const member = demoUserId('marcus.johnson');
      const step = (id: number) => ({
        id: String(id),
        method: 'POST',
        url: `/groups/${SALESFORCE_USERS}/members/$ref`,
        body: ref(member),
      });
      for (let b = 0; b < 150; b++) {
        const res = (await client
          .api('/$batch')
          .post({ requests: Array.from({ length: 20 }, (_, i) => step(i)) })) as BatchResponse;
        expect(res.responses.every((r) => r.status === 400)).toBe(true);
      }
      const throttled = await graphErrorOf(
        client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)),
      );
      expect(throttled.statusCode).toBe(429);
      expect(throttled.headers?.get('Retry-After')).toBe('1');
      const readsStillWork = (await client.api(`/users/${ALEX}`).get()) as UserBody;
      expect(readsStillWork.id).toBe(ALEX);

      clock += 1000;
      await expect(
        client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)),
      ).resolves.toBeUndefined();
      expect(sim.writes().filter((w) => w.status === 429)).toHaveLength(1);
    } finally {
      await sim.close();
    }
  });
});

describe('Graph simulator lifecycle', () => {
  test('tenant, tokens and the writes log survive a restart on the same data dir', async () => {
    const dataDir = tempDir();
    const first = await startGraphSimulator({ port: 0, dataDir });
    const token = first.issueToken();
    const client1 = createGraphClient({
      baseUrl: first.url,
      getToken: async () => token,
      retry: { maxRetries: 0 },
    });
    await client1.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX));
    await first.close();

    const second = await startGraphSimulator({ port: 0, dataDir });
    try {
      const client2 = createGraphClient({
        baseUrl: second.url,
        getToken: async () => token,
        retry: { maxRetries: 0 },
      });
      const members = (await client2
        .api(`/groups/${SALESFORCE_USERS}/members`)
        .select('id')
        .get()) as Collection<UserBody>;
      expect(members.value.map((m) => m.id)).toContain(ALEX);
      expect(second.writes().map((w) => [w.method, w.path, w.status])).toEqual([
        ['POST', `/groups/${SALESFORCE_USERS}/members/$ref`, 204],
      ]);
      expect(fs.readdirSync(path.join(dataDir, 'graph-sim')).sort()).toEqual(['tenant.json', 'writes.jsonl']);
    } finally {
      await second.close();
    }
  });

  test('fresh reseeds the demo tenant and forgets earlier tokens and writes', async () => {
    const dataDir = tempDir();
    const first = await startGraphSimulator({ port: 0, dataDir });
    const oldToken = first.issueToken();
    const c1 = createGraphClient({
      baseUrl: first.url,
      getToken: async () => oldToken,
      retry: { maxRetries: 0 },
    });
    await c1.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX));
    await first.close();

    const second = await startGraphSimulator({ port: 0, dataDir, fresh: true });
    try {
      const stale = createGraphClient({
        baseUrl: second.url,
        getToken: async () => oldToken,
        retry: { maxRetries: 0 },
      });
      expect((await graphErrorOf(stale.api('/users').get())).statusCode).toBe(401);
      const token = second.issueToken();
      const c2 = createGraphClient({
        baseUrl: second.url,
        getToken: async () => token,
        retry: { maxRetries: 0 },
      });
      const members = (await c2
        .api(`/groups/${SALESFORCE_USERS}/members`)
        .select('id')
        .get()) as Collection<UserBody>;
      expect(members.value.map((m) => m.id)).not.toContain(ALEX);
      expect(second.writes()).toEqual([]);
    } finally {
      await second.close();
    }
  });

  test('a port already in use is reported as such', async () => {
    const first = await startGraphSimulator({ port: 0, dataDir: tempDir() });
    try {
      await expect(startGraphSimulator({ port: first.port, dataDir: tempDir() })).rejects.toThrow(
        `Graph simulator: port ${first.port} is already in use`,
      );
    } finally {
      await first.close();
    }
  });
});

describe('demo tenant and Playground config', () => {
  const tenant = demoTenant(new Date('2025-06-02T09:00:00Z'));
  const byId = new Map(tenant.users.map((u) => [u.id, u]));
  const depth = (id: string): number => {
    const m = byId.get(id)?.managerId;
    return m ? 1 + depth(m) : 0;
  };

  test('has at least 40 people, an org chart at least 3 levels deep and lowercase GUID ids', () => {
    expect(tenant.users.length).toBeGreaterThanOrEqual(40);
    expect(Math.max(...tenant.users.map((u) => depth(u.id)))).toBeGreaterThanOrEqual(3);
    const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    expect([...tenant.users, ...tenant.groups].every((x) => guid.test(x.id))).toBe(true);
    expect(tenant.users.filter((u) => u.managerId === null).map((u) => u.jobTitle)).toEqual([
      'Chief Executive Officer',
      'Contractor',
      'Shared mailbox',
    ]);
    expect(tenant.users.some((u) => !u.accountEnabled)).toBe(true);
  });

  test('is the same on every seed at the same instant', () => {
    expect(demoTenant(new Date('2025-06-02T09:00:00Z'))).toEqual(tenant);
  });

  test('maps every app role to a security group with 1-2 owners', () => {
    expect(DEMO_APPS.length).toBeGreaterThanOrEqual(8);
    for (const role of DEMO_APPS.flatMap((a) => a.roles)) {
      const g = tenant.groups.find((x) => x.id === role.groupId);
      expect(g?.securityEnabled).toBe(true);
      expect(g?.ownerIds.length).toBeGreaterThanOrEqual(1);
      expect(g?.ownerIds.length).toBeLessThanOrEqual(2);
    }
  });

  test("the Playground users are six tenant members: engineer, manager, manager's manager and three more", () => {
    const [me, manager, skip] = PLAYGROUND_USERS;
    expect(PLAYGROUND_USERS).toHaveLength(6);
    expect(PLAYGROUND_USERS.every((u) => byId.has(u.id))).toBe(true);
    expect(byId.get(me.id)?.managerId).toBe(manager.id);
    expect(byId.get(manager.id)?.managerId).toBe(skip.id);
    expect(tenant.groups.some((g) => g.ownerIds.includes(PLAYGROUND_USERS[3].id))).toBe(true);
  });

  test('the Playground YAML names the demo tenant, the current user and five others', () => {
    const yaml = playgroundConfigYaml({ botName: 'Attest' });
    expect(yaml).toContain(`tenantId: "${DEMO_TENANT_ID}"`);
    expect(yaml).toContain(`currentUser:\n  id: "29:${ALEX}"`);
    expect(yaml.match(/aadObjectId: /g)).toHaveLength(6);
    expect(yaml).toContain('surname: "O\'Brien"');
    expect(yaml).toContain('userPrincipleName: "priya.raman@contoso.example"');
  });
});

interface DeltaMember {
  '@odata.type': string;
  id: string;
  '@removed'?: { reason: string };
}
interface DeltaGroup {
  id: string;
  displayName?: string;
  '@removed'?: { reason: string };
  'members@delta'?: DeltaMember[];
}
interface DeltaPage {
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: DeltaGroup[];
}

/** A GET with the simulator's bearer token, answering status and JSON body, as a raw HTTP client sees them. */
async function rawGet(
  sim: GraphSimulator,
  token: string,
  pathOrUrl: string,
): Promise<{ status: number; body: unknown }> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sim.url}${pathOrUrl}`;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** Every page of a delta round from `first`, and the deltaLink it ends with. */
async function deltaRound(
  sim: GraphSimulator,
  token: string,
  first: string,
): Promise<{ pages: DeltaPage[]; deltaLink: string }> {
  const pages: DeltaPage[] = [];
  let next: string | undefined = first;
  while (next) {
    const res = await rawGet(sim, token, next);
    expect(res.status).toBe(200);
    const page = res.body as DeltaPage;
    pages.push(page);
    if (page['@odata.deltaLink']) return { pages, deltaLink: page['@odata.deltaLink'] };
    next = page['@odata.nextLink'];
  }
  throw new Error('delta round ended without a deltaLink');
}

const idFilter = (ids: string[]) => encodeURIComponent(ids.map((id) => `id eq '${id}'`).join(' or '));

describe('Graph simulator groups/delta with members@delta', () => {
  const ONCALL_MEMBERS = demoTenant(new Date()).groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID)
    ?.memberIds as string[];
  const ADMINS_MEMBERS = demoTenant(new Date()).groups.find((g) => g.id === DEMO_ATTEST_ADMINS_GROUP_ID)
    ?.memberIds as string[];

  test('a first round lists every current member, splits a large group over pages and ends with a deltaLink', async () => {
    const sim = await startGraphSimulator({ port: 0, dataDir: tempDir(), deltaPageSize: 5 });
    const token = sim.issueToken();
    try {
      const filter = idFilter([DEMO_ONCALL_GROUP_ID, DEMO_ATTEST_ADMINS_GROUP_ID]);
      const { pages, deltaLink } = await deltaRound(
        sim,
        token,
        `/groups/delta?$select=displayName,members&$filter=${filter}`,
      );
      const total = ONCALL_MEMBERS.length + ADMINS_MEMBERS.length;
      expect(pages).toHaveLength(Math.ceil(total / 5));
      expect(pages.slice(0, -1).every((p) => p['@odata.nextLink']?.includes('$skiptoken='))).toBe(true);
      expect(deltaLink).toMatch(new RegExp(`^${sim.url}/groups/delta\\?\\$deltatoken=`));
      // The On-call group spans pages: it appears again, with the next members, on later pages.
      const oncallPages = pages.filter((p) => p.value.some((g) => g.id === DEMO_ONCALL_GROUP_ID));
      expect(oncallPages.length).toBeGreaterThan(1);
      const membersOf = (groupId: string) =>
        pages.flatMap((p) =>
          p.value.filter((g) => g.id === groupId).flatMap((g) => g['members@delta'] ?? []),
        );
      expect(membersOf(DEMO_ONCALL_GROUP_ID).map((m) => m.id)).toEqual(ONCALL_MEMBERS);
      expect(membersOf(DEMO_ATTEST_ADMINS_GROUP_ID).map((m) => m.id)).toEqual(ADMINS_MEMBERS);
      expect(membersOf(DEMO_ATTEST_ADMINS_GROUP_ID)[0]).toEqual({
        '@odata.type': '#microsoft.graph.user',
        id: ADMINS_MEMBERS[0],
      });
      expect(pages[0].value[0].displayName).toBe('On-call');
      // Nothing changed since: the next round is empty and hands out a new deltaLink.
      const again = await deltaRound(sim, token, deltaLink);
      expect(again.pages.flatMap((p) => p.value)).toEqual([]);
    } finally {
      await sim.close();
    }
  });

  test('a later round reports only changed groups: added members, removed ones with @removed, a deleted group', async () => {
    const sim = await startGraphSimulator({ port: 0, dataDir: tempDir() });
    const token = sim.issueToken();
    const client = createGraphClient({
      baseUrl: sim.url,
      getToken: async () => token,
      retry: { maxRetries: 0 },
    });
    try {
      const watched = [SALESFORCE_USERS, DEMO_ATTEST_ADMINS_GROUP_ID, DEMO_ONCALL_GROUP_ID];
      const { deltaLink } = await deltaRound(
        sim,
        token,
        `/groups/delta?$select=members&$filter=${idFilter(watched)}`,
      );
      const marcus = demoUserId('marcus.johnson');
      await client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX));
      await client.api(`/groups/${SALESFORCE_USERS}/members/${marcus}/$ref`).delete();
      // Through $batch as well; and a member added then removed within the round is no net change.
      await client.api('/$batch').post({
        requests: [
          { id: '1', method: 'POST', url: `/groups/${SALESFORCE_USERS}/members/$ref`, body: ref(PRIYA) },
          {
            id: '2',
            method: 'DELETE',
            url: `/groups/${SALESFORCE_USERS}/members/${PRIYA}/$ref`,
            dependsOn: ['1'],
          },
          { id: '3', method: 'POST', url: `/groups/${SALESFORCE_USERS}/members/$ref`, body: ref(CONTRACTOR) },
        ],
      });
      expect(sim.deleteGroup(DEMO_ATTEST_ADMINS_GROUP_ID)).toBe(true);
      // A group outside the filter changes too, and is not reported.
      expect(sim.addGroupMember(demoGroupId('sg-jira-site-admins'), ALEX)).toBe(true);

      const round = await deltaRound(sim, token, deltaLink);
      const groups = round.pages.flatMap((p) => p.value);
      expect(groups.map((g) => g.id)).toEqual([SALESFORCE_USERS, DEMO_ATTEST_ADMINS_GROUP_ID]);
      expect(groups[0]['members@delta']).toEqual([
        { '@odata.type': '#microsoft.graph.user', id: ALEX },
        { '@odata.type': '#microsoft.graph.user', id: marcus, '@removed': { reason: 'deleted' } },
        { '@odata.type': '#microsoft.graph.user', id: CONTRACTOR },
      ]);
      expect(groups[1]).toEqual({ id: DEMO_ATTEST_ADMINS_GROUP_ID, '@removed': { reason: 'changed' } });
    } finally {
      await sim.close();
    }
  });

  test('delta tokens survive a restart on the same data dir, and changes made before it are reported', async () => {
    const dataDir = tempDir();
    const first = await startGraphSimulator({ port: 0, dataDir });
    const token = first.issueToken();
    const { deltaLink } = await deltaRound(
      first,
      token,
      `/groups/delta?$select=members&$filter=${idFilter([SALESFORCE_USERS])}`,
    );
    first.addGroupMember(SALESFORCE_USERS, ALEX);
    await first.close();
    const second = await startGraphSimulator({ port: 0, dataDir });
    try {
      const link = deltaLink.replace(first.url, second.url);
      const round = await deltaRound(second, token, link);
      expect(round.pages.flatMap((p) => p.value)).toEqual([
        { id: SALESFORCE_USERS, 'members@delta': [{ '@odata.type': '#microsoft.graph.user', id: ALEX }] },
      ]);
    } finally {
      await second.close();
    }
  });

  test('an unknown token and an expired one are 400 syncStateNotFound; more than 50 ids in $filter is 400', async () => {
    const sim = await startGraphSimulator({ port: 0, dataDir: tempDir() });
    const token = sim.issueToken();
    try {
      const { deltaLink } = await deltaRound(
        sim,
        token,
        `/groups/delta?$select=members&$filter=${idFilter([SALESFORCE_USERS])}`,
      );
      expect((await rawGet(sim, token, deltaLink)).status).toBe(200);
      sim.expireDeltaTokens();
      for (const link of [
        deltaLink,
        '/groups/delta?$deltatoken=bm90LWEtdG9rZW4',
        '/groups/delta?$skiptoken=x',
      ]) {
        const res = await rawGet(sim, token, link);
        expect(res.status).toBe(400);
        expect((res.body as { error: { code: string } }).error.code).toBe('syncStateNotFound');
      }
      const ids = Array.from(
        { length: 51 },
        (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      const tooMany = await rawGet(sim, token, `/groups/delta?$select=members&$filter=${idFilter(ids)}`);
      expect(tooMany.status).toBe(400);
      expect((tooMany.body as { error: { message: string } }).error.message).toContain('at most 50');
      const fifty = await rawGet(
        sim,
        token,
        `/groups/delta?$select=members&$filter=${idFilter(ids.slice(0, 50))}`,
      );
      expect(fifty.status).toBe(200);
      const other = await rawGet(
        sim,
        token,
        `/groups/delta?$filter=${encodeURIComponent("displayName eq 'x'")}`,
      );
      expect([other.status, (other.body as { error: { code: string } }).error.code]).toEqual([
        400,
        'Request_UnsupportedQuery',
      ]);
    } finally {
      await sim.close();
    }
  });
});

describe('Graph simulator group kinds', () => {
  const KINDS = {
    dynamic: DEMO_DYNAMIC_GROUP_ID,
    synced: DEMO_ONPREM_SYNCED_GROUP_ID,
    mailSecurity: DEMO_MAIL_ENABLED_SECURITY_GROUP_ID,
    distribution: DEMO_DISTRIBUTION_LIST_ID,
    roleAssignable: DEMO_ROLE_ASSIGNABLE_GROUP_ID,
    unified: DEMO_UNIFIED_GROUP_ID,
  };
  let sim: GraphSimulator;
  let client: Client;
  beforeAll(async () => {
    ({ sim, client } = await start());
  });
  afterAll(() => sim.close());

  test('GET /groups/{id} returns the kind flags by default and honours $select', async () => {
    const dyn = (await client.api(`/groups/${KINDS.dynamic}`).get()) as Record<string, unknown>;
    expect(dyn).toMatchObject({
      id: KINDS.dynamic,
      groupTypes: ['DynamicMembership'],
      securityEnabled: true,
      mailEnabled: false,
      onPremisesSyncEnabled: null,
      isAssignableToRole: false,
      membershipRule: '(user.department -eq "Engineering")',
    });
    const synced = (await client
      .api(`/groups/${KINDS.synced}`)
      .select(['id', 'onPremisesSyncEnabled'])
      .get()) as Record<string, unknown>;
    expect(synced).toEqual({
      '@odata.context': `${sim.url}/$metadata#groups(id,onPremisesSyncEnabled)/$entity`,
      id: KINDS.synced,
      onPremisesSyncEnabled: true,
    });
    const dl = (await client.api(`/groups/${KINDS.distribution}`).get()) as Record<string, unknown>;
    expect([dl.mailEnabled, dl.securityEnabled]).toEqual([true, false]);
    const unified = (await client.api(`/groups/${KINDS.unified}`).get()) as Record<string, unknown>;
    expect(unified.groupTypes).toEqual(['Unified']);
    const roles = (await client.api(`/groups/${KINDS.roleAssignable}`).get()) as Record<string, unknown>;
    expect(roles.isAssignableToRole).toBe(true);
  });

  test.each([
    ['dynamic', 403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
    [
      'synced',
      400,
      'Request_BadRequest',
      'Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.',
    ],
    [
      'mailSecurity',
      400,
      'Request_BadRequest',
      'Cannot Update a mail-enabled security groups and or distribution list.',
    ],
    [
      'distribution',
      400,
      'Request_BadRequest',
      'Cannot Update a mail-enabled security groups and or distribution list.',
    ],
    [
      'roleAssignable',
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    ],
  ] as const)(
    'member add and remove on a %s group are refused with %i %s',
    async (kind, status, code, message) => {
      const group = KINDS[kind];
      const before = (await client
        .api(`/groups/${group}/members`)
        .select('id')
        .get()) as Collection<UserBody>;
      const add = await graphErrorOf(client.api(`/groups/${group}/members/$ref`).post(ref(ALEX)));
      const remove = await graphErrorOf(
        client.api(`/groups/${group}/members/${before.value[0].id}/$ref`).delete(),
      );
      for (const err of [add, remove])
        expect([err.statusCode, err.code, err.message]).toEqual([status, code, message]);
      const after = (await client.api(`/groups/${group}/members`).select('id').get()) as Collection<UserBody>;
      expect(after.value).toEqual(before.value);
    },
  );

  test('a Microsoft 365 group takes member writes; a role-assignable one does once RoleManagement is granted', async () => {
    await expect(
      client.api(`/groups/${KINDS.unified}/members/$ref`).post(ref(CONTRACTOR)),
    ).resolves.toBeUndefined();
    const granted = await start({ grantRoleManagement: true });
    try {
      await expect(
        granted.client.api(`/groups/${KINDS.roleAssignable}/members/$ref`).post(ref(ALEX)),
      ).resolves.toBeUndefined();
    } finally {
      await granted.sim.close();
    }
  });

  test('the demo catalog uses none of these groups, and each has a member or two', () => {
    const catalog = fs.readFileSync(path.join(__dirname, '..', '..', 'catalog', 'demo-catalog.yaml'), 'utf8');
    const tenant = demoTenant(new Date());
    for (const id of Object.values(KINDS)) {
      expect(catalog).not.toContain(id);
      expect(tenant.groups.find((g) => g.id === id)?.memberIds.length).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('Graph simulator nested groups: transitiveMembers and checkMemberGroups', () => {
  const NORA = demoUserId('nora.johansson');
  const MARIA = demoUserId('maria.silva');
  let sim: GraphSimulator;
  let client: Client;
  beforeAll(async () => {
    ({ sim, client } = await start());
  });
  afterAll(() => sim.close());

  test('transitiveMembers lists members of nested groups once, with the nested group itself, over pages', async () => {
    const ids: string[] = [];
    let res = (await client
      .api(`/groups/${DEMO_ONCALL_GROUP_ID}/transitiveMembers`)
      .select(['id'])
      .top(4)
      .get()) as Collection<{ id: string; '@odata.type': string }>;
    for (;;) {
      ids.push(...res.value.map((m) => m.id));
      if (!res['@odata.nextLink']) break;
      res = (await client.api(res['@odata.nextLink']).get()) as typeof res;
    }
    const direct = demoTenant(new Date()).groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID)?.memberIds ?? [];
    expect(ids).toEqual([...direct, NORA, MARIA]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('a cycle of nested groups ends: each member once', async () => {
    const { sim: s2, client: c2 } = await start();
    try {
      expect(s2.addGroupMember(DEMO_ONCALL_SECONDARY_GROUP_ID, DEMO_ONCALL_GROUP_ID)).toBe(true);
      const res = (await c2
        .api(`/groups/${DEMO_ONCALL_SECONDARY_GROUP_ID}/transitiveMembers`)
        .select('id')
        .get()) as Collection<{ id: string }>;
      const ids = res.value.map((m) => m.id);
      expect(ids.slice(0, 3)).toEqual([NORA, MARIA, DEMO_ONCALL_GROUP_ID]);
      expect(ids).not.toContain(DEMO_ONCALL_SECONDARY_GROUP_ID);
      expect(new Set(ids).size).toBe(ids.length);
      // Seeding checks what it is given rather than writing a tenant Graph could not have.
      expect(() => s2.addGroupMember(DEMO_ONCALL_GROUP_ID, '00000000-0000-4000-8000-000000000405')).toThrow(
        'no user or group',
      );
      expect(() => s2.addGroupMember(DEMO_ONCALL_GROUP_ID, DEMO_ONCALL_GROUP_ID)).toThrow('member of itself');
    } finally {
      await s2.close();
    }
  });

  test('checkMemberGroups answers the given groups the user is in, through nesting, in the order given', async () => {
    const unknown = '00000000-0000-4000-8000-000000000404';
    const res = (await client.api(`/users/${NORA}/checkMemberGroups`).post({
      groupIds: [SALESFORCE_USERS, DEMO_ONCALL_GROUP_ID, unknown, DEMO_ONCALL_SECONDARY_GROUP_ID],
    })) as { '@odata.context': string; value: string[] };
    expect(res).toEqual({
      '@odata.context': `${sim.url}/$metadata#Collection(Edm.String)`,
      value: [DEMO_ONCALL_GROUP_ID, DEMO_ONCALL_SECONDARY_GROUP_ID],
    });
    // A read: not in the writes log, whatever its method.
    expect(sim.writes().some((w) => w.path.endsWith('checkMemberGroups'))).toBe(false);
  });

  test('checkMemberGroups refuses more than 20 groups, a malformed body and an unknown user', async () => {
    const ids = Array.from(
      { length: 21 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const tooMany = await graphErrorOf(
      client.api(`/users/${NORA}/checkMemberGroups`).post({ groupIds: ids }),
    );
    expect([tooMany.statusCode, tooMany.code]).toEqual([400, 'Request_BadRequest']);
    expect(tooMany.message).toContain('at most 20');
    const malformed = await graphErrorOf(client.api(`/users/${NORA}/checkMemberGroups`).post({ ids }));
    expect(malformed.statusCode).toBe(400);
    const nobody = await graphErrorOf(
      client.api('/users/00000000-0000-4000-8000-000000000405/checkMemberGroups').post({ groupIds: [] }),
    );
    expect([nobody.statusCode, nobody.code]).toEqual([404, 'Request_ResourceNotFound']);
  });

  test('directoryObjects/getByIds answers the objects that exist, of the types asked for', async () => {
    const res = (await client.api('/directoryObjects/getByIds').post({
      ids: [DEMO_ONCALL_GROUP_ID, NORA, '00000000-0000-4000-8000-000000000404'],
      types: ['group'],
    })) as Collection<{ id: string; '@odata.type': string; displayName: string }>;
    expect(res.value.map((o) => [o['@odata.type'], o.id, o.displayName])).toEqual([
      ['#microsoft.graph.group', DEMO_ONCALL_GROUP_ID, 'On-call'],
    ]);
  });
});

describe('Graph simulator fault rules and the admin endpoint', () => {
  const admin = (sim: GraphSimulator, p: string, init: RequestInit = {}) =>
    fetch(`http://127.0.0.1:${sim.port}/_sim/${p}`, init);
  const postRules = (sim: GraphSimulator, rules: unknown) =>
    admin(sim, 'faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ rules }),
    });

  test('an outage set through POST /_sim/faults lasts its duration on the simulator clock, then ends', async () => {
    let clock = Date.parse('2025-06-02T09:00:00Z');
    const { sim, client } = await start({ now: () => new Date(clock) });
    try {
      const set = await postRules(sim, [
        { path: '/users/**', status: 503, durationMs: 2 * 3600_000, retryAfterSeconds: 30 },
      ]);
      expect(set.status).toBe(200);
      const listed = (await (await admin(sim, 'faults')).json()) as { rules: Record<string, unknown>[] };
      expect(listed.rules).toEqual([
        {
          path: '/users/**',
          status: 503,
          durationMs: 7200000,
          retryAfterSeconds: 30,
          since: '2025-06-02T09:00:00.000Z',
          until: '2025-06-02T11:00:00.000Z',
        },
      ]);
      const down = await graphErrorOf(client.api(`/users/${ALEX}/manager`).get());
      expect([down.statusCode, down.code]).toEqual([503, 'serviceNotAvailable']);
      expect(down.headers?.get('Retry-After')).toBe('30');
      // Only what the rule names is down.
      expect(((await client.api(`/groups/${SALESFORCE_USERS}`).get()) as { id: string }).id).toBe(
        SALESFORCE_USERS,
      );
      clock += 2 * 3600_000 - 1;
      expect((await graphErrorOf(client.api(`/users/${ALEX}`).get())).statusCode).toBe(503);
      clock += 1;
      expect(((await client.api(`/users/${ALEX}`).get()) as UserBody).id).toBe(ALEX);
    } finally {
      await sim.close();
    }
  });

  test('a rule matches its method and path only, hits its rate of requests, and DELETE /_sim/faults clears it', async () => {
    const dice = [0.3, 0.7];
    const { sim, client } = await start({ random: () => dice.shift() ?? 0.9 });
    try {
      sim.setFaultRules([
        { method: 'POST', path: '/groups/*/members/$ref', status: 429, rate: 0.5, retryAfterSeconds: 2 },
        { method: 'GET', pathRegex: '^/users/[^/]+/manager$', status: 500 },
      ]);
      const throttled = await graphErrorOf(
        client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)),
      );
      expect([throttled.statusCode, throttled.code]).toEqual([429, 'TooManyRequests']);
      expect(throttled.headers?.get('Retry-After')).toBe('2');
      await expect(
        client.api(`/groups/${SALESFORCE_USERS}/members/$ref`).post(ref(ALEX)),
      ).resolves.toBeUndefined();
      // A DELETE on a members path is not a POST: untouched.
      await expect(
        client.api(`/groups/${SALESFORCE_USERS}/members/${ALEX}/$ref`).delete(),
      ).resolves.toBeUndefined();
      const broken = await graphErrorOf(client.api(`/users/${ALEX}/manager`).get());
      expect([broken.statusCode, broken.code]).toEqual([500, 'generalException']);
      expect(((await client.api(`/users/${ALEX}`).get()) as UserBody).id).toBe(ALEX);
      expect(sim.faultRules()).toHaveLength(2);

      expect((await admin(sim, 'faults', { method: 'DELETE' })).status).toBe(204);
      expect(sim.faultRules()).toEqual([]);
      expect(((await client.api(`/users/${ALEX}/manager`).get()) as UserBody).id).toBe(PRIYA);
    } finally {
      await sim.close();
    }
  });

  test('inside $batch each request gets its own injected status; only a /$batch rule fails the whole batch', async () => {
    const { sim, client } = await start();
    try {
      sim.setFaultRules([
        { method: 'GET', path: '/users/*', status: 503, retryAfterSeconds: 5 },
        { method: 'POST', path: '/groups/*/members/$ref', status: 403 },
      ]);
      const res = (await client.api('/$batch').post({
        requests: [
          { id: 'u', method: 'GET', url: `/users/${ALEX}` },
          { id: 'g', method: 'GET', url: `/groups/${SALESFORCE_USERS}` },
          { id: 'w', method: 'POST', url: `/groups/${SALESFORCE_USERS}/members/$ref`, body: ref(ALEX) },
        ],
      })) as BatchResponse;
      expect(res.responses.map((r) => [r.id, r.status, r.body?.error?.code])).toEqual([
        ['u', 503, 'serviceNotAvailable'],
        ['g', 200, undefined],
        ['w', 403, 'Authorization_RequestDenied'],
      ]);
      expect(res.responses[0].headers['Retry-After']).toBe('5');
      expect(sim.writes().map((w) => [w.method, w.status, w.batch])).toEqual([['POST', 403, true]]);

      sim.setFaultRules([{ path: '/$batch', status: 503 }]);
      const whole = await graphErrorOf(
        client
          .api('/$batch')
          .post({ requests: [{ id: 'g', method: 'GET', url: `/groups/${SALESFORCE_USERS}` }] }),
      );
      expect(whole.statusCode).toBe(503);
      expect(((await client.api(`/users/${ALEX}`).get()) as UserBody).id).toBe(ALEX);
    } finally {
      await sim.close();
    }
  });

  test('the admin endpoint needs no Graph token, refuses malformed rules naming them, and POST /_sim/delta/expire voids delta links', async () => {
    const { sim } = await start();
    const token = sim.issueToken();
    try {
      const bad = await postRules(sim, [{ status: 503 }, { status: 200 }]);
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { message: string } }).error.message).toBe(
        'rule 2: status must be an HTTP error status, 400..599',
      );
      expect((await postRules(sim, [{ status: 503, rate: 2 }])).status).toBe(400);
      expect((await postRules(sim, [{ status: 503, pathRegex: '(' }])).status).toBe(400);
      expect((await postRules(sim, [{ status: 503, colour: 'red' }])).status).toBe(400);
      expect(() => sim.setFaultRules([{ status: 503, durationMs: -1 }])).toThrow('rule 1: durationMs');
      expect((await admin(sim, 'nothing-here')).status).toBe(404);

      const { deltaLink } = await deltaRound(
        sim,
        token,
        `/groups/delta?$select=members&$filter=${idFilter([SALESFORCE_USERS])}`,
      );
      expect((await admin(sim, 'delta/expire', { method: 'POST' })).status).toBe(204);
      const expired = await rawGet(sim, token, deltaLink);
      expect([expired.status, (expired.body as { error: { code: string } }).error.code]).toEqual([
        400,
        'syncStateNotFound',
      ]);
    } finally {
      await sim.close();
    }
  });

  test('only loopback peers may use the admin endpoint', () => {
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1'])
      expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.5', '192.168.1.20', '::ffff:10.0.0.5', 'fe80::1', '', undefined])
      expect(isLoopbackAddress(a)).toBe(false);
  });
});

describe('Graph simulator request counts', () => {
  test('outer requests and $batch sub-requests are counted by method, admin calls are not, and a reset starts again', async () => {
    const { sim, client } = await start({ now: () => new Date('2025-06-02T09:00:00Z') });
    try {
      expect(sim.stats()).toEqual({
        requests: { total: 0, byMethod: {} },
        batchSubRequests: { total: 0, byMethod: {} },
        since: '2025-06-02T09:00:00.000Z',
      });
      await client.api(`/users/${ALEX}`).get();
      await client.api('/groups').get();
      await graphErrorOf(client.api('/users/nobody@contoso.example').get());
      await client.api('/$batch').post({
        requests: [
          { id: '1', method: 'GET', url: `/users/${ALEX}` },
          { id: '2', method: 'GET', url: `/users/${PRIYA}` },
          { id: '3', method: 'POST', url: `/groups/${SALESFORCE_USERS}/members/$ref`, body: ref(ALEX) },
        ],
      });
      await fetch(`http://127.0.0.1:${sim.port}/_sim/faults`);
      const expected = {
        requests: { total: 4, byMethod: { GET: 3, POST: 1 } },
        batchSubRequests: { total: 3, byMethod: { GET: 2, POST: 1 } },
        since: '2025-06-02T09:00:00.000Z',
      };
      expect(sim.stats()).toEqual(expected);
      const viaHttp = await fetch(`http://127.0.0.1:${sim.port}/_sim/stats`);
      expect(await viaHttp.json()).toEqual(expected);

      expect((await fetch(`http://127.0.0.1:${sim.port}/_sim/stats`, { method: 'DELETE' })).status).toBe(204);
      expect(sim.stats().requests.total).toBe(0);
      await client.api(`/users/${ALEX}`).get();
      sim.resetStats();
      expect(sim.stats().requests).toEqual({ total: 0, byMethod: {} });
    } finally {
      await sim.close();
    }
  });
});
