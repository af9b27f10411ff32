/**
 * `npm start` with ATTEST_TICKETS_MODE=jira-local or servicenow-local: the local host runs the fake, the app
 * sees a configuration pointing at it, and the banner says where to look.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { startLocalHost, type LocalHost } from '../../../src/local/local-host';

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

test.each([
  ['jira-local', 'Jira fake'],
  ['servicenow-local', 'ServiceNow fake'],
])('ATTEST_TICKETS_MODE=%s starts the %s and the banner points at its ticket list', async (mode, name) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-ticket-fake-'));
  dirs.push(dataDir);
  host = await startLocalHost({
    config: loadConfig({ ...PORTS, ATTEST_TICKETS_MODE: mode }, 'local'),
    dataDir,
    playground: false,
    teams: false,
    log: () => undefined,
  });
  const fake = host.ticketFake;
  expect(fake).toBeDefined();
  const line = host.banner().find((l) => l.includes(name));
  expect(line).toBe(
    `  tickets         ${mode} (${name} ${fake?.url}, ${mode === 'jira-local' ? 'project SEC' : 'table sc_req_item'}; tickets at ${fake?.url}/_fake/tickets?format=html)`,
  );
  const listing = await fetch(`${fake?.url}/_fake/tickets`);
  expect(listing.status).toBe(200);
  await host.stop();
  host = undefined;
  // Stopped with the host: nothing listens there any more.
  await expect(fetch(`${fake?.url}/_fake/tickets`)).rejects.toThrow();
});
