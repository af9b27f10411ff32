/**
 * scripts/ensure-chromium.mjs, `npm test`'s first step, run with a PATH holding only stand-ins for `id` and
 * `apt-get` that record how they were called: no real apt-get runs here.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'ensure-chromium.mjs');
let dir: string;
let bin: string;
let calls: string;
let chromium: string;

/** `apt-get` stand-in: logs its arguments and DEBIAN_FRONTEND; `install` creates the browser unless told to fail. */
const APT_GET = `#!/bin/sh
printf '%s DEBIAN_FRONTEND=%s\\n' "$*" "$DEBIAN_FRONTEND" >> "$FAKE_CALLS"
case "$1" in
  install)
    if [ -n "$FAKE_APT_FAIL" ]; then echo "E: Unable to locate package chromium" >&2; exit 100; fi
    : > "$CHROMIUM_PATH" ;;
esac
exit 0
`;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-ensure-chromium-'));
  bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  calls = path.join(dir, 'calls.log');
  chromium = path.join(dir, 'chromium');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function stand(name: string, script: string): void {
  fs.writeFileSync(path.join(bin, name), script, { mode: 0o755 });
}

/** Runs the script as user `uid` (the `id` stand-in says so), with `apt-get` on PATH unless told otherwise. */
function run(uid: number, options: { aptGet?: boolean; aptFails?: boolean } = {}) {
  stand('id', `#!/bin/sh\necho ${uid}\n`);
  if (options.aptGet !== false) stand('apt-get', APT_GET);
  const result = spawnSync(process.execPath, [SCRIPT], {
    encoding: 'utf8',
    env: {
      PATH: bin,
      CHROMIUM_PATH: chromium,
      FAKE_CALLS: calls,
      ...(options.aptFails ? { FAKE_APT_FAIL: '1' } : {}),
    },
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    calls: fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [],
  };
}

test('with Chromium in place it does nothing and says nothing', () => {
  fs.writeFileSync(chromium, '');
  const result = run(0);
  expect(result).toEqual({ code: 0, stdout: '', stderr: '', calls: [] });
});

test('as root without Chromium it runs apt-get update, then installs chromium, non-interactively', () => {
  const result = run(0);
  expect(result.calls).toEqual([
    'update -qq DEBIAN_FRONTEND=noninteractive',
    'install -y -qq chromium DEBIAN_FRONTEND=noninteractive',
  ]);
  expect(result.code).toBe(0);
  expect(fs.existsSync(chromium)).toBe(true);
  expect(result.stdout).toContain(`npm test: Chromium installed (${chromium}).`);
});

test('as another user without Chromium it installs nothing and says in one line what to run', () => {
  const result = run(1000);
  expect(result.calls).toEqual([]);
  expect(result.code).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toEqual([
    `npm test: the browser tests need Chromium and ${chromium} is missing: run \`sudo apt-get install -y chromium\` (or set CHROMIUM_PATH to a Chromium binary), then npm test again.`,
  ]);
});

test('as root, a failing apt-get stops it with what apt said and the command that failed', () => {
  const result = run(0, { aptFails: true });
  expect(result.calls).toHaveLength(2);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('E: Unable to locate package chromium');
  expect(result.stderr).toContain('npm test: `apt-get install -y -qq chromium` failed (exit 100)');
  expect(fs.existsSync(chromium)).toBe(false);
});

test('as root on a machine without apt-get it says to install Chromium and set CHROMIUM_PATH', () => {
  const result = run(0, { aptGet: false });
  expect(result.code).toBe(1);
  expect(result.stderr.trim()).toBe(
    `${chromium} is missing and this machine has no apt-get: install Chromium with its package manager and set CHROMIUM_PATH to the binary, then run npm test again.`,
  );
});
