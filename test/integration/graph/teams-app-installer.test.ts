/**
 * The Teams app installer on real parts: the Graph client over HTTP to the Graph simulator (its org app catalog
 * and installedApps routes, with fault rules for throttling and outages), conversation references and the audit
 * log in Azurite. Failure paths first: throttled, down, refused, misconfigured, nowhere to post.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphTeamsAppInstaller } from '../../../src/adapters/graph/teams-app-installer';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { ConversationStore } from '../../../src/adapters/tables/teams.store';
import { teamsStream } from '../../../src/domain/audit/audit-events';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import { DEMO_TEAMS_CATALOG_APP_ID, demoUserId } from '../../../src/local/graph-sim/demo-tenant';
import type { AuditEvent } from '../../../src/ports/audit-log.port';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';

jest.setTimeout(60_000);

const TENANT = '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';
const PURPOSE = { kind: 'approval-requested', about: 'r-1' };

let storage: TestStorage;
let audit: AuditLogStore;
let n = 0;
const dirs: string[] = [];
const sims: GraphSimulator[] = [];
const logged: string[] = [];

beforeAll(async () => {
  storage = await startTestStorage('attest-installer-');
  audit = AuditLogStore.on(storage.tables, new TestClock(new Date('2026-12-01T09:00:00Z')));
  await audit.init();
});
afterAll(async () => {
  await Promise.all(sims.map((s) => s.close()));
  await storage?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh simulator and conversation table; `withTemplate` stores one person's reference (Alex wrote to the bot). */
async function world(
  opts: {
    callerAppId?: string;
    catalogAppId?: string;
    withTemplate?: boolean;
    fallbackUrl?: string;
    /** The simulator's dice, one per request while a throttle or unavailable rate is set. */
    dice?: number[];
  } = {},
) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-installer-sim-'));
  dirs.push(dataDir);
  const dice = [...(opts.dice ?? [])];
  const sim = await startGraphSimulator({
    port: 0,
    dataDir,
    callerAppId: opts.callerAppId,
    random: () => dice.shift() ?? 0.99,
  });
  sims.push(sim);
  const token = sim.issueToken();
  const client = createGraphClient({
    baseUrl: sim.url,
    getToken: async () => token,
    retry: { maxRetries: 2, delaySeconds: 1 },
  });
  const conversations = new ConversationStore(
    storage.tables.client(`${TableNames.teamsConversations}${++n}`),
  );
  await conversations.init();
  if (opts.withTemplate !== false) {
    await conversations.rememberUser(demoUserId('alex.chen'), {
      channelId: 'msteams',
      serviceUrl: SERVICE_URL,
      bot: { id: '28:attest-bot', name: 'Attest' },
      conversation: {
        id: 'a:alex',
        conversationType: 'personal',
        isGroup: false,
        name: '',
        tenantId: TENANT,
      },
    });
  }
  const installer = new GraphTeamsAppInstaller({
    client,
    catalogAppId: opts.catalogAppId ?? DEMO_TEAMS_CATALOG_APP_ID,
    conversations,
    audit,
    fallback: { tenantId: TENANT, ...(opts.fallbackUrl ? { serviceUrl: opts.fallbackUrl } : {}) },
    log: (line) => logged.push(line),
  });
  return { sim, installer, conversations };
}

async function events(userId: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const e of audit.read(teamsStream(userId))) out.push(e);
  return out;
}

const installs = (sim: GraphSimulator) =>
  sim.writes().filter((w) => w.method === 'POST' && w.path.endsWith('/teamwork/installedApps'));

test('a throttled installation (429) is retried by the Graph client and reaches the person', async () => {
  // The first request (the install) is throttled with Retry-After 0; every later one goes through.
  const { sim, installer, conversations } = await world({ dice: [0] });
  sim.setFaults({ throttleRate: 0.5, retryAfterSeconds: 0 });
  const priya = demoUserId('priya.raman');
  const result = await installer.reach(priya, PURPOSE);
  expect(result).toMatchObject({ reached: true, installed: 'new' });
  expect(installs(sim).map((w) => w.status)).toEqual([429, 201]);
  const reference = await conversations.user(priya);
  expect(reference).toMatchObject({
    channelId: 'msteams',
    serviceUrl: SERVICE_URL,
    bot: { id: '28:attest-bot' },
    user: { aadObjectId: priya },
    conversation: {
      id: `19:${priya}_${DEMO_TEAMS_CATALOG_APP_ID}@unq.gbl.spaces`,
      conversationType: 'personal',
      tenantId: TENANT,
    },
  });
  const recorded = await events(priya);
  expect(recorded.map((e) => e.action)).toEqual(['teams.app-installed']);
  expect(recorded[0].actor).toEqual({ objectId: 'system', channel: 'system' });
  expect(recorded[0].correlation).toEqual({ requestId: 'r-1' });
});

test('installed already (a retried activity: Graph answers 409) finds the installation and its chat', async () => {
  const { sim, installer } = await world();
  const kenji = demoUserId('kenji.watanabe');
  expect(await installer.reach(kenji, PURPOSE)).toMatchObject({ reached: true, installed: 'new' });
  const again = await installer.reach(kenji, PURPOSE);
  expect(again).toMatchObject({
    reached: true,
    installed: 'already',
    reference: { conversation: { id: `19:${kenji}_${DEMO_TEAMS_CATALOG_APP_ID}@unq.gbl.spaces` } },
  });
  expect(installs(sim).map((w) => w.status)).toEqual([201, 409]);
  expect(sim.appInstallations()).toHaveLength(1);
});

test('Graph down past the retries (503) throws, installs nothing and records nothing, and a later try reaches', async () => {
  const { sim, installer, conversations } = await world();
  const rahul = demoUserId('rahul.mehta');
  sim.setFaultRules([{ path: '/users/**', status: 503, retryAfterSeconds: 0 }]);
  await expect(installer.reach(rahul, PURPOSE)).rejects.toMatchObject({ statusCode: 503 });
  expect(sim.appInstallations()).toEqual([]);
  expect(await conversations.user(rahul)).toBeUndefined();
  expect(await events(rahul)).toEqual([]);
  sim.clearFaultRules();
  expect(await installer.reach(rahul, PURPOSE)).toMatchObject({ reached: true });
});

test('an app id that is not in the org catalog (404) is refused, audited with what to check', async () => {
  const { installer } = await world({ catalogAppId: '0a0a0a0a-0000-4000-8000-000000000000' });
  const siobhan = demoUserId('siobhan.obrien');
  const result = await installer.reach(siobhan, { kind: 'review-assigned', about: 'review:q4' });
  expect(result).toMatchObject({ reached: false, code: 'INSTALL.NOT_FOUND', status: 404 });
  const [refused] = await events(siobhan);
  expect(refused.action).toBe('teams.app-install-refused');
  expect(refused.details).toMatchObject({ status: 404, code: 'NotFound', purpose: { about: 'review:q4' } });
  expect(String(refused.details.remedy)).toContain('ATTEST_TEAMS_CATALOG_APP_ID');
  // A campaign is not a request: no request id in the correlation.
  expect(refused.correlation).toEqual({});
});

test('calling Graph as another Entra app than the manifest names (403) is refused, audited with the fix', async () => {
  const { installer, sim } = await world({ callerAppId: '11111111-2222-4333-8444-555555555555' });
  const ravi = demoUserId('ravi.patel');
  const result = await installer.reach(ravi, PURPOSE);
  expect(result).toMatchObject({ reached: false, code: 'INSTALL.REFUSED', status: 403 });
  expect(result.reached === false && result.reason).toContain('webApplicationInfo.id');
  const [refused] = await events(ravi);
  expect(String(refused.details.remedy)).toContain('ATTEST_GRAPH_CLIENT_ID = ATTEST_TAB_CLIENT_ID');
  expect(sim.appInstallations()).toEqual([]);
  expect(logged.some((l) => l.includes(ravi) && l.includes('403 Forbidden'))).toBe(true);
});

test('with no Teams service URL known (nobody wrote to the bot, none configured) nothing is installed', async () => {
  const { installer, sim } = await world({ withTemplate: false });
  const mei = demoUserId('mei.lin');
  expect(await installer.reach(mei, PURPOSE)).toMatchObject({
    reached: false,
    code: 'INSTALL.NO_SERVICE_URL',
  });
  expect(installs(sim)).toEqual([]);
  // With Teams' global URL configured (behind the Bot Service), the same person is reached.
  const teams = await world({ withTemplate: false, fallbackUrl: 'https://smba.trafficmanager.net/teams/' });
  expect(await teams.installer.reach(mei, PURPOSE)).toMatchObject({
    reached: true,
    reference: { serviceUrl: 'https://smba.trafficmanager.net/teams/', conversation: { tenantId: TENANT } },
  });
});
