import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { startLocalHost, type LocalHost } from '../../../src/local/local-host';
import { AccessRequestService } from '../../../src/workflows/access-request.service';
import { eventually } from '../../support/storage';
import { as } from '../../support/workflow-scenarios';

const DEMO = path.resolve(__dirname, '..', '..', '..', 'catalog', 'demo-catalog.yaml');
const [, priya, , , siobhan] = PLAYGROUND_USERS;
const PORTS = {
  ATTEST_HTTP_PORT: '0',
  ATTEST_GRAPH_SIM_PORT: '0',
  ATTEST_AZURITE_TABLE_PORT: '0',
  ATTEST_AZURITE_BLOB_PORT: '0',
};
const dirs: string[] = [];
let host: LocalHost | undefined;

afterEach(async () => {
  await host?.stop();
  host = undefined;
});
afterAll(async () => {
  for (const d of dirs) {
    await stopLeftoverAzurite(d);
    fs.rmSync(d, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-catalog-start-'));
  dirs.push(d);
  return d;
}

interface Health {
  catalog: { source: string; newRequests: string; fileProblem?: { code: string; message: string } };
  catalogCheck: { state: string; problems: { message: string }[]; checkedAt?: string; attempts: number };
}

async function health(h: LocalHost): Promise<Health> {
  return (await (await fetch(`${h.url}/healthz`)).json()) as Health;
}

async function start(dataDir: string, env: Record<string, string>, log: string[] = []): Promise<LocalHost> {
  host = await startLocalHost({
    config: loadConfig({ ...PORTS, ...env }, 'local'),
    dataDir,
    playground: false,
    teams: false,
    log: (line) => void log.push(line),
  });
  return host;
}

test('with Graph answering 503 to everything the host still starts, /healthz shows the catalog check pending, and it completes ok once Graph is back', async () => {
  const log: string[] = [];
  const h = await start(tempDir(), { ATTEST_GRAPH_SIM_UNAVAILABLE_RATE: '1' }, log);
  expect(h.banner().join('\n')).toMatch(/catalog check {3}pending/);
  const during = await health(h);
  expect(during.catalog).toMatchObject({ source: 'file', newRequests: 'accepted' });
  expect(during.catalogCheck).toMatchObject({ state: 'pending', problems: [] });
  expect(during.catalogCheck.checkedAt).toBeUndefined();

  // Still pending while Graph stays down: the check retries rather than failing.
  await eventually(
    async () =>
      log.some((l) => l.startsWith('catalog check: pending, Microsoft Graph did not answer'))
        ? true
        : undefined,
    30000,
    'a logged retry',
  );
  expect((await health(h)).catalogCheck.state).toBe('pending');

  h.graphSim?.setFaults({ unavailableRate: 0 });
  const after = await eventually(
    async () => {
      const c = (await health(h)).catalogCheck;
      return c.state === 'pending' ? undefined : c;
    },
    60000,
    'the catalog check to finish',
  );
  expect(after.state).toBe('ok');
  expect(after.checkedAt).toEqual(expect.any(String));
  expect(log).toContainEqual(expect.stringMatching(/^catalog check: ok \(\d+ groups, \d+ people exist/));
}, 120000);

test('a catalog file that stops loading at a restart: existing requests go on under the last good catalog, new ones are refused with CATALOG.UNAVAILABLE and the file:line', async () => {
  const dataDir = tempDir();
  const file = path.join(dataDir, 'catalog.yaml');
  fs.copyFileSync(DEMO, file);
  const env = { ATTEST_CATALOG_PATH: file };

  let h = await start(dataDir, env);
  let service = new AccessRequestService(await h.services.workflow(), h.durable);
  const { requestId } = await service.submit({
    actor: as(siobhan),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 3600_000,
    justification: 'Quarterly churn analysis for the board pack',
  });
  const deps = await h.services.workflow();
  await eventually(
    async () => ((await deps.requests.get(requestId))?.stages[0]?.outcome === 'pending' ? true : undefined),
    30000,
    'stage 1 to open',
  );
  await h.stop();
  host = undefined;

  // A bad edit: the mapping under `apps` is broken on line 3.
  fs.writeFileSync(file, 'id: contoso-demo\nversion: 2\napps:\n  github: [unclosed\n');
  const log: string[] = [];
  h = await start(dataDir, env, log);
  const state = await health(h);
  expect(state.catalog).toMatchObject({ source: 'last-good', newRequests: 'refused' });
  expect(state.catalog.fileProblem).toMatchObject({ code: 'CATALOG.INVALID' });
  expect(state.catalog.fileProblem?.message).toMatch(/catalog\.yaml:\d+: YAML syntax/);
  expect(h.banner().join('\n')).toMatch(/DOES NOT LOAD \(CATALOG\.INVALID\): new requests refused/);
  expect(log.join('\n')).toMatch(/new requests are refused until it does/);

  const after = await h.services.workflow();
  service = new AccessRequestService(after, h.durable);
  const refused = service.submit({
    actor: as(siobhan),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 3600_000,
    justification: 'Quarterly churn analysis for the board pack',
  });
  await expect(refused).rejects.toMatchObject({ code: 'CATALOG.UNAVAILABLE' });
  await expect(refused).rejects.toThrow(/catalog\.yaml:\d+: YAML syntax/);
  await expect(refused).rejects.toThrow(/last good catalog, contoso-demo v1/);

  // The request made before goes on: its approver decides it under the last good catalog.
  await service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await eventually(
    async () => ((await after.requests.get(requestId))?.stages[0]?.outcome === 'approved' ? true : undefined),
    30000,
    'stage 1 approved',
  );
  expect((await after.requests.get(requestId))?.policy).toMatchObject({ id: 'contoso-demo', version: '1' });
}, 120000);
