import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runToExit } from '../../support/host-process';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DEMO = path.join(ROOT, 'catalog', 'demo-catalog.yaml');
const GITHUB_OWNERS = '816daa42-c86c-5791-9a5a-14fb28761b30';
let dataDir: string;

beforeAll(() => (dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-cli-catalog-'))));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

const check = (...args: string[]) => runToExit(CLI, ['catalog', 'check', '--data', dataDir, ...args], {});

test('attest catalog check passes the demo catalog against the demo directory', async () => {
  const result = await check('--file', DEMO);
  expect(result.stdout).toMatch(
    /contoso-demo v\d+ \(\d+ apps, \d+ roles, 2 access reviews\) loads; checking it against the directory/,
  );
  expect(result.stdout).toMatch(/^catalog check: ok \(\d+ groups, \d+ people exist/m);
  expect(result.code).toBe(0);
});

test('attest catalog check names a group the directory lacks with file:line, and exits 1', async () => {
  const lines = fs.readFileSync(DEMO, 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes(GITHUB_OWNERS));
  lines[at] = lines[at].replace(GITHUB_OWNERS, '0badc0de-0000-4000-8000-000000000000');
  const file = path.join(dataDir, 'typo.yaml');
  fs.writeFileSync(file, lines.join('\n'));
  const result = await check('--file', file);
  expect(result.stdout).toContain(
    `typo.yaml:${at + 1}: role "owner" of app "github": groupId 0badc0de-0000-4000-8000-000000000000 is not a group in the directory.`,
  );
  expect(result.stdout).toMatch(/^catalog check: FAILED \(1 problem/m);
  expect(result.code).toBe(1);
});

test('attest catalog check reports a file that does not load with file:line, without asking the directory', async () => {
  const file = path.join(dataDir, 'broken.yaml');
  fs.writeFileSync(
    file,
    'id: broken\nname: Broken\nversion: 1\napps:\n  crm:\n    name: CRM\n    colour: blue\n    roles: {}\n',
  );
  const result = await check('--file', file);
  expect(result.stdout).toMatch(/broken\.yaml:7: /);
  expect(result.stdout).toContain('catalog check: FAILED (CATALOG.INVALID)');
  expect(result.code).toBe(1);
});

test('attest catalog without check is a usage error', async () => {
  const result = await runToExit(CLI, ['catalog'], {});
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('attest: catalog needs a subcommand: check');
  expect(result.stderr).toContain('catalog check [--file PATH]');
});
