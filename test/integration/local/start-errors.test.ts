import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { ENTRY, ANY_PORTS, runToExit, startHostProcess, type HostProcess } from '../../support/host-process';
import { eventually } from '../../support/storage';

let dataDir: string;
beforeAll(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-start-errors-'))));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

test('a malformed setting stops npm start with one line naming it, and a non-zero exit', async () => {
  const result = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], {
    ATTEST_STORAGE_MODE: 'azurite',
  });
  expect(result.code).toBe(2);
  expect(lines(result.stderr)).toEqual([
    expect.stringMatching(/^config: ATTEST_STORAGE_MODE is "azurite", which must be one of/),
  ]);
  expect(fs.existsSync(path.join(dataDir, 'azurite'))).toBe(false); // nothing was started or written
});

test('a missing required setting stops npm start with one line naming it', async () => {
  const result = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], {
    ATTEST_DIRECTORY_MODE: 'graph',
  });
  expect(result.code).toBe(2);
  expect(lines(result.stderr)).toEqual([
    expect.stringMatching(
      /^config: ATTEST_GRAPH_TENANT_ID is missing \(needed when ATTEST_DIRECTORY_MODE=graph\)\./,
    ),
  ]);
});

test('a port already in use is one clear line, not a stack trace', async () => {
  // The blocker takes a port from the OS and keeps it; the host is told to use exactly that one.
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const ports = { ...ANY_PORTS, ATTEST_HTTP_PORT: String((blocker.address() as net.AddressInfo).port) };
  try {
    const result = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], { ...ports });
    expect(result.code).toBe(2);
    expect(lines(result.stderr)).toEqual([
      `Attest HTTP server: port ${ports.ATTEST_HTTP_PORT} on 127.0.0.1 is already in use. Stop whatever listens there, or set ATTEST_HTTP_PORT to a free port.`,
    ]);
  } finally {
    blocker.close();
  }
});

test('an unknown option prints the usage', async () => {
  const result = await runToExit(ENTRY.main, ['--data'], {});
  expect(result.code).toBe(2);
  expect(result.stderr.trim()).toBe('--data needs a folder, e.g. --data .attest');
  const unknown = await runToExit(ENTRY.main, ['--verbose'], {});
  expect(unknown.stderr.trim()).toBe(
    'unknown option --verbose. usage: npm start -- [--data DIR] [--fresh] [--no-playground] [--as alex.chen|priya.raman|rahul.mehta|kenji.watanabe|siobhan.obrien|ravi.patel]',
  );
});

// NB. Only at a first start: with a last good catalog kept in storage, the host starts on that one and refuses
// new requests instead (test/integration/local/catalog-start.test.ts). Graph is not involved either way.
test('an access catalog that does not load at a first start stops npm start with its problems, file and line', async () => {
  const ports = ANY_PORTS;
  const missing = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], {
    ...ports,
    ATTEST_CATALOG_PATH: path.join(dataDir, 'no-such-catalog.yaml'),
  });
  expect(missing.code).toBe(2);
  expect(missing.stderr).toContain('CATALOG.NOT_FOUND');
  expect(missing.stderr).toContain('no-such-catalog.yaml: cannot read the access catalog');

  const broken = path.join(dataDir, 'broken-catalog.yaml');
  fs.writeFileSync(
    broken,
    'id: broken\nname: Broken\nversion: 1\napps:\n  crm:\n    name: CRM\n    colour: blue\n    roles: {}\n',
  );
  const invalid = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], {
    ...ANY_PORTS,
    ATTEST_CATALOG_PATH: broken,
  });
  expect(invalid.code).toBe(2);
  expect(invalid.stderr).toContain('CATALOG.INVALID');
  expect(invalid.stderr).toMatch(/broken-catalog\.yaml:7:/);

  fs.writeFileSync(broken, 'id: broken\nversion: 1\napps:\n  crm: [unclosed\n');
  const syntax = await runToExit(ENTRY.main, ['--data', dataDir, '--no-playground'], {
    ...ANY_PORTS,
    ATTEST_CATALOG_PATH: broken,
  });
  expect(syntax.code).toBe(2);
  expect(syntax.stderr).toMatch(/broken-catalog\.yaml:\d+: YAML syntax/);
});

test('Graph answering 503 to everything does not stop npm start: /healthz answers with the catalog check pending', async () => {
  const graphDown = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-graph-down-'));
  let host: HostProcess | undefined;
  try {
    host = await startHostProcess(ENTRY.main, ['--data', graphDown, '--no-playground'], {
      ...ANY_PORTS,
      ATTEST_GRAPH_SIM_UNAVAILABLE_RATE: '1',
    });
    const health = (await (await fetch(`${host.url}/healthz`)).json()) as {
      status: string;
      catalogCheck: { state: string };
    };
    expect(health.status).toBe('ok');
    expect(health.catalogCheck.state).toBe('pending');
    const running = host;
    await eventually(
      async () => (running.output().includes('Press Ctrl+C to stop.') ? true : undefined),
      20000,
      'the banner',
    );
    expect(host.output()).toMatch(/catalog check {3}pending/);
    host.child.kill('SIGTERM');
    expect(await host.exited).toBe(0);
    host = undefined;
  } finally {
    host?.child.kill('SIGKILL');
    await stopLeftoverAzurite(graphDown);
    fs.rmSync(graphDown, { recursive: true, force: true });
  }
});
