/**
 * The Graph simulator's Teams app installation, over HTTP with Graph's wire format: the org app catalog,
 * installing the Attest app in a person's personal scope (201, then 409 when installed), finding the
 * installation with `$expand=teamsApp&$filter=teamsApp/id eq '...'`, the chat between the person and the bot,
 * and the refusals (403 for an app that is not the catalog app's own Entra app, 403 for a person a policy
 * blocks, 404 for an app not in the catalog), each with Graph's error body.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startGraphSimulator, type GraphSimulator } from '../../src/local/graph-sim/graph-sim';
import { DEMO_TEAMS_CATALOG_APP_ID, demoUserId } from '../../src/local/graph-sim/demo-tenant';

const PRIYA = demoUserId('priya.raman');
const ALEX = demoUserId('alex.chen');
const BIND = {
  'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${DEMO_TEAMS_CATALOG_APP_ID}`,
};

const tempDirs: string[] = [];
let sims: GraphSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(
  opts: { callerAppId?: string; dataDir?: string } = {},
): Promise<{ sim: GraphSimulator; call: Call; dataDir: string }> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'attest-sim-teams-'));
  if (!opts.dataDir) tempDirs.push(dataDir);
  const sim = await startGraphSimulator({ port: 0, dataDir, callerAppId: opts.callerAppId });
  sims.push(sim);
  const token = sim.issueToken();
  const call: Call = async (method, p, body) => {
    const res = await fetch(`${sim.url}${p}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as GraphBody) };
  };
  return { sim, call, dataDir };
}

type GraphBody = Record<string, unknown> & {
  value?: Record<string, unknown>[];
  error?: { code: string; message: string; innerError: Record<string, string> };
};
type Call = (method: string, p: string, body?: unknown) => Promise<{ status: number; body?: GraphBody }>;

const installedApps = (user: string) => `/users/${user}/teamwork/installedApps`;
const filterFor = (appId: string) =>
  `?$expand=teamsApp&$filter=${encodeURIComponent(`teamsApp/id eq '${appId}'`)}`;

test('the org catalog lists the Attest app', async () => {
  const { call } = await start();
  const res = await call('GET', '/appCatalogs/teamsApps');
  expect(res.status).toBe(200);
  expect(res.body?.value).toEqual([
    expect.objectContaining({
      id: DEMO_TEAMS_CATALOG_APP_ID,
      displayName: 'Attest',
      distributionMethod: 'organization',
    }),
  ]);
});

test('installing for a person answers 201, a second time 409, and the installation leads to their chat', async () => {
  const { sim, call, dataDir } = await start();
  expect(await call('POST', installedApps(PRIYA), BIND)).toEqual({ status: 201, body: undefined });
  const again = await call('POST', installedApps(PRIYA), BIND);
  expect(again.status).toBe(409);
  expect(again.body?.error).toMatchObject({ code: 'Conflict' });
  expect(again.body?.error?.innerError['request-id']).toBeTruthy();

  const found = await call('GET', `${installedApps(PRIYA)}${filterFor(DEMO_TEAMS_CATALOG_APP_ID)}`);
  expect(found.status).toBe(200);
  expect(found.body?.value).toHaveLength(1);
  const installation = found.body?.value?.[0] as { id: string; teamsApp: { id: string } };
  expect(installation.teamsApp.id).toBe(DEMO_TEAMS_CATALOG_APP_ID);
  // Graph's installation ids are base64: a caller that does not escape them in the path breaks on `/` or `+`.
  const chat = await call('GET', `${installedApps(PRIYA)}/${encodeURIComponent(installation.id)}/chat`);
  expect(chat.status).toBe(200);
  expect(chat.body).toMatchObject({ id: `19:${PRIYA}_${DEMO_TEAMS_CATALOG_APP_ID}@unq.gbl.spaces` });

  // Nobody else got it, another app's filter finds nothing, and the installation survives a restart.
  expect(
    (await call('GET', `${installedApps(ALEX)}${filterFor(DEMO_TEAMS_CATALOG_APP_ID)}`)).body?.value,
  ).toEqual([]);
  expect(
    (await call('GET', `${installedApps(PRIYA)}${filterFor('00000000-0000-0000-0000-000000000000')}`)).body
      ?.value,
  ).toEqual([]);
  await sim.close();
  sims = [];
  const restarted = await start({ dataDir });
  expect(restarted.sim.appInstallations()).toEqual([
    expect.objectContaining({ userId: PRIYA, teamsAppId: DEMO_TEAMS_CATALOG_APP_ID }),
  ]);
});

test('an app that is not the catalog app own Entra app is refused with 403 (least privilege)', async () => {
  const { call, sim } = await start({ callerAppId: '11111111-2222-3333-4444-555555555555' });
  const res = await call('POST', installedApps(PRIYA), BIND);
  expect(res.status).toBe(403);
  expect(res.body?.error?.code).toBe('Forbidden');
  expect(res.body?.error?.message).toContain('webApplicationInfo.id');
  expect(sim.appInstallations()).toEqual([]);
});

test('a person an app permission policy blocks is refused with 403 until allowed again (/_sim control)', async () => {
  const { call, sim } = await start();
  const admin = (verb: string) =>
    fetch(`${sim.url.replace(/\/v1\.0$/, '')}/_sim/users/${PRIYA}/${verb}`, { method: 'POST' });
  const blocked = await admin('block-teams-apps');
  expect(blocked.status).toBe(200);
  expect(await blocked.json()).toEqual({ id: PRIYA, teamsAppsBlocked: true, changed: true });
  const refused = await call('POST', installedApps(PRIYA), BIND);
  expect(refused.status).toBe(403);
  expect(refused.body?.error?.message).toMatch(/blocked .*policy/);
  expect((await admin('allow-teams-apps')).status).toBe(200);
  expect((await call('POST', installedApps(PRIYA), BIND)).status).toBe(201);
  const listed = await fetch(`${sim.url.replace(/\/v1\.0$/, '')}/_sim/teams-installations`);
  expect(((await listed.json()) as { value: unknown[] }).value).toHaveLength(1);
});

test('an app not in the catalog, an unknown person, a bad body and an unsupported filter are refused', async () => {
  const { call } = await start();
  const missing = await call('POST', installedApps(PRIYA), {
    'teamsApp@odata.bind':
      'https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/00000000-0000-0000-0000-000000000000',
  });
  expect(missing.status).toBe(404);
  expect(missing.body?.error?.code).toBe('NotFound');
  expect((await call('POST', installedApps('00000000-0000-0000-0000-00000000beef'), BIND)).status).toBe(404);
  expect((await call('POST', installedApps(PRIYA), { teamsApp: DEMO_TEAMS_CATALOG_APP_ID })).status).toBe(
    400,
  );
  const filter = await call(
    'GET',
    `${installedApps(PRIYA)}?$filter=${encodeURIComponent("teamsApp/displayName eq 'Attest'")}`,
  );
  expect(filter.status).toBe(400);
  expect(filter.body?.error?.code).toBe('Request_UnsupportedQuery');
  expect((await call('GET', `${installedApps(PRIYA)}/bm9uZQ%3D%3D/chat`)).status).toBe(404);
});
