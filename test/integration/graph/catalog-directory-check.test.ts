import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { loadCatalogAgainst } from '../../../src/functions/composition';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';

const DEMO = path.resolve(__dirname, '..', '..', '..', 'catalog', 'demo-catalog.yaml');
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
  const loaded = await loadCatalogAgainst(directory, DEMO);
  expect(loaded.catalog.id).toBe('contoso-demo');
});

test('a group id the directory does not know stops the load with the file, the line and the fix', async () => {
  const text = fs.readFileSync(DEMO, 'utf8');
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.includes('816daa42-c86c-5791-9a5a-14fb28761b30')); // sg-github-owners
  lines[at] = lines[at].replace(
    '816daa42-c86c-5791-9a5a-14fb28761b30',
    '0badc0de-0000-4000-8000-000000000000',
  );
  const file = path.join(dir, 'typo-catalog.yaml');
  fs.writeFileSync(file, lines.join('\n'));
  await expect(loadCatalogAgainst(directory, file)).rejects.toMatchObject({
    code: 'CATALOG.INVALID',
    message: expect.stringContaining(`typo-catalog.yaml:${at + 1}:`),
  });
  await expect(loadCatalogAgainst(directory, file)).rejects.toThrow(/0badc0de-0000-4000-8000-000000000000/);
});
