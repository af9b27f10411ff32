import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { checkCatalogAgainstDirectory } from '../../../src/functions/catalog-check';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { Directory, DirectoryGroup } from '../../../src/ports/directory.port';

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

/** The directory with `getGroup` answered from `kinds` (groups not listed: as the directory says). */
function describing(kinds: Record<string, Partial<DirectoryGroup>>): Directory {
  return Object.assign(Object.create(directory) as Directory, {
    getGroup: async (id: string): Promise<DirectoryGroup | undefined> => ({
      id,
      displayName: `group ${id.slice(0, 8)}`,
      groupTypes: [],
      securityEnabled: true,
      mailEnabled: false,
      onPremisesSyncEnabled: false,
      isAssignableToRole: false,
      ...kinds[id],
    }),
  });
}

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
  // NB. Errors only: until the Graph adapter describes groups, a warning says their kind was not checked.
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

test("a role's group that Graph cannot change fails the check on the role's line; role-assignable is a warning", async () => {
  const text = fs.readFileSync(DEMO, 'utf8');
  const line = text.split('\n').findIndex((l) => l.includes(GITHUB_OWNERS)) + 1;
  const dynamic = await checkCatalogAgainstDirectory(
    describing({ [GITHUB_OWNERS]: { groupTypes: ['DynamicMembership'] } }),
    text,
    'demo-catalog.yaml',
  );
  expect(dynamic.ok).toBe(false);
  expect(dynamic.problems).toEqual([
    expect.objectContaining({
      severity: 'error',
      code: 'CATALOG.UNCHANGEABLE_GROUP',
      line,
      message: expect.stringContaining('dynamic membership'),
    }),
  ]);

  const roleAssignable = await checkCatalogAgainstDirectory(
    describing({ [GITHUB_OWNERS]: { isAssignableToRole: true } }),
    text,
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
