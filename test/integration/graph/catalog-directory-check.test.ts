import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { checkCatalogAgainstDirectory } from '../../../src/functions/catalog-check';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import {
  DEMO_DYNAMIC_GROUP_ID,
  DEMO_MAIL_ENABLED_SECURITY_GROUP_ID,
  DEMO_ONPREM_SYNCED_GROUP_ID,
  DEMO_ROLE_ASSIGNABLE_GROUP_ID,
} from '../../../src/local/graph-sim/demo-tenant';

const DEMO = path.resolve(__dirname, '..', '..', '..', 'catalog', 'demo-catalog.yaml');
const GITHUB_OWNERS = '816daa42-c86c-5791-9a5a-14fb28761b30'; // sg-github-owners, behind github/owner
let dir: string;
let sim: GraphSimulator;
let directory: GraphDirectory;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-catalog-check-'));
  sim = await startGraphSimulator({ port: 0, dataDir: dir });
  const token = sim.issueToken();
  directory = new GraphDirectory(createGraphClient({ baseUrl: sim.url, getToken: async () => token }));
});
afterAll(async () => {
  await sim.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the demo catalog names only groups and people that exist in the directory', async () => {
  const report = await checkCatalogAgainstDirectory(
    directory,
    fs.readFileSync(DEMO, 'utf8'),
    'demo-catalog.yaml',
  );
  expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.groups).toBeGreaterThan(10);
});

test('a group id the directory does not know is reported with the file, the line and the fix', async () => {
  const lines = fs.readFileSync(DEMO, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(GITHUB_OWNERS));
  lines[at] = lines[at].replace(GITHUB_OWNERS, '0badc0de-0000-4000-8000-000000000000');
  const report = await checkCatalogAgainstDirectory(directory, lines.join('\n'), 'typo-catalog.yaml');
  expect(report.ok).toBe(false);
  expect(report.problems.filter((p) => p.severity === 'error')).toEqual([
    expect.objectContaining({
      severity: 'error',
      code: 'CATALOG.UNKNOWN_GROUP',
      file: 'typo-catalog.yaml',
      line: at + 1,
      message: expect.stringContaining('0badc0de-0000-4000-8000-000000000000'),
    }),
  ]);
});

test("a role's group that Graph cannot change (dynamic, synced from on-premises, mail-enabled) fails the check on the role's line; role-assignable is a warning", async () => {
  const text = fs.readFileSync(DEMO, 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes(GITHUB_OWNERS)) + 1;
  const withRoleGroup = (groupId: string) => text.replace(GITHUB_OWNERS, groupId);
  for (const [groupId, why] of [
    [DEMO_DYNAMIC_GROUP_ID, 'dynamic membership'],
    [DEMO_ONPREM_SYNCED_GROUP_ID, 'on-premises'],
    [DEMO_MAIL_ENABLED_SECURITY_GROUP_ID, 'mail-enabled'],
  ]) {
    const report = await checkCatalogAgainstDirectory(directory, withRoleGroup(groupId), 'demo-catalog.yaml');
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'CATALOG.UNCHANGEABLE_GROUP',
        line,
        message: expect.stringContaining(why),
      }),
    ]);
  }

  const roleAssignable = await checkCatalogAgainstDirectory(
    directory,
    withRoleGroup(DEMO_ROLE_ASSIGNABLE_GROUP_ID),
    'demo-catalog.yaml',
  );
  expect(roleAssignable.ok).toBe(true);
  expect(roleAssignable.problems).toEqual([
    expect.objectContaining({
      severity: 'warning',
      line,
      message: expect.stringContaining('RoleManagement.ReadWrite.Directory'),
    }),
  ]);
});

test('with Graph unavailable the check throws DIRECTORY.UNAVAILABLE (the host retries it), and passes once Graph is back', async () => {
  sim.setFaults({ unavailableRate: 1, retryAfterSeconds: 0 });
  try {
    await expect(
      checkCatalogAgainstDirectory(directory, fs.readFileSync(DEMO, 'utf8'), 'demo-catalog.yaml'),
    ).rejects.toMatchObject({ code: 'DIRECTORY.UNAVAILABLE' });
  } finally {
    sim.setFaults({ unavailableRate: 0 });
  }
  const report = await checkCatalogAgainstDirectory(
    directory,
    fs.readFileSync(DEMO, 'utf8'),
    'demo-catalog.yaml',
  );
  expect(report.ok).toBe(true);
});
