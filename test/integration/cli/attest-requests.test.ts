import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../../src/local/azurite';
import { ENTRY, ANY_PORTS, runToExit, startHostProcess, type HostProcess } from '../../support/host-process';
import { eventually } from '../../support/storage';

const CLI = path.resolve(__dirname, '..', '..', '..', 'dist', 'src', 'cli', 'main.js');
const dirs: string[] = [];
let host: HostProcess | undefined;

function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-cli-req-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  host?.child.kill('SIGTERM');
  if (host) await host.exited;
  for (const dir of dirs) {
    await stopLeftoverAzurite(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const SIOBHAN = 'siobhan.obrien@contoso.example';
const request = [
  'request',
  '--as',
  SIOBHAN,
  '--app',
  'github',
  '--role',
  'owner',
  '--duration',
  '4h',
  '--justification',
  'Rotate the organisation webhook secrets after the incident',
  '--ticket',
  'CHG0012345',
];

test('attest demo runs the whole lifecycle on a fresh folder and ends with verify: ok', async () => {
  const result = await runToExit(CLI, ['demo'], {});
  const lines = result.stdout.trim().split('\n');
  expect(result.code).toBe(0);
  expect(lines.at(-1)).toBe('verify: ok (1 streams, 9 events; digests checked against 1 anchor, newest 1)');
  expect(result.stdout).toContain('5. expired and revoked');
  const folder = /demo data folder: (.+)/.exec(result.stdout)?.[1];
  if (folder) dirs.push(folder);
});

test('attest request and decide carry a request through its stages, and refuse the wrong approver', async () => {
  const dataDir = freshDir();
  const ports = ANY_PORTS;
  const submitted = await runToExit(CLI, [...request, '--data', dataDir], ports);
  expect(submitted.code).toBe(0);
  const [id, status] = submitted.stdout.trim().split('\n');
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(status).toContain('PendingApproval — stage 1 waits on priya.raman@contoso.example');

  const wrong = await runToExit(
    CLI,
    ['decide', '--as', 'rahul.mehta@contoso.example', id, 'approve', '--data', dataDir],
    ports,
  );
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toContain('REQUEST.NOT_AN_APPROVER');

  const ok = await runToExit(
    CLI,
    ['decide', '--as', 'priya.raman@contoso.example', id, 'approve', '--data', dataDir],
    ports,
  );
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('stage 2 waits on rahul.mehta@contoso.example');

  const log = await runToExit(CLI, ['log', id, '--data', dataDir], ports);
  expect(log.stdout).toContain('approval.decided by priya.raman@contoso.example (cli)');

  const bad = await runToExit(
    CLI,
    [
      'request',
      '--as',
      SIOBHAN,
      '--app',
      'github',
      '--role',
      'owner',
      '--duration',
      'soon',
      '--data',
      dataDir,
    ],
    ports,
  );
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('"soon" is not a duration');
});

test('with npm start serving the folder, the CLI only submits and the serving host carries the request on', async () => {
  const dataDir = freshDir();
  const ports = ANY_PORTS;
  host = await startHostProcess(ENTRY.main, ['--data', dataDir, '--no-playground'], { ...ports });
  const submitted = await runToExit(CLI, [...request, '--data', dataDir], ports);
  expect(submitted.code).toBe(0);
  expect(submitted.stdout).toContain('npm start is running on this data folder');
  const id = submitted.stdout.trim().split('\n')[0];
  await eventually(
    async () => {
      const s = await runToExit(CLI, ['status', id, '--data', dataDir], ports);
      return s.stdout.includes('stage 1 waits on priya.raman@contoso.example') ? true : undefined;
    },
    30000,
    'the serving host to open stage 1',
  );
});
