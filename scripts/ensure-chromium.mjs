/**
 * The first step of `npm test`: the browser tests drive Debian's Chromium through playwright-core (no browser
 * download), at CHROMIUM_PATH or else /usr/bin/chromium, as test/support/browser.ts finds it. When it is
 * missing: as root, `apt-get update` then `apt-get install -y chromium` (quietly; apt's own output is shown only
 * when it fails); as anyone else, one line saying what to run, and a non-zero exit.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Where the browser tests look for Chromium (keep in step with test/support/browser.ts). */
const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Whether this runs as root, as `id -u` says (a test stands in its own `id` on PATH). */
function isRoot() {
  const id = spawnSync('id', ['-u'], { encoding: 'utf8' });
  if (id.status === 0) return id.stdout.trim() === '0';
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Runs apt-get quietly; on failure prints what it said and exits. */
function aptGet(args) {
  const run = spawnSync('apt-get', args, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (run.error && run.error.code === 'ENOENT') {
    fail(
      `${chromium} is missing and this machine has no apt-get: install Chromium with its package manager and set CHROMIUM_PATH to the binary, then run npm test again.`,
    );
  }
  if (run.status !== 0) {
    const said = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    fail(
      `${said ? `${said}\n` : ''}npm test: \`apt-get ${args.join(' ')}\` failed (exit ${run.status ?? run.signal}); see above.`,
    );
  }
}

function fail(line) {
  console.error(line);
  process.exit(1);
}

if (!fs.existsSync(chromium)) {
  if (!isRoot()) {
    fail(
      `npm test: the browser tests need Chromium and ${chromium} is missing: run \`sudo apt-get install -y chromium\` (or set CHROMIUM_PATH to a Chromium binary), then npm test again.`,
    );
  }
  console.log(
    `npm test: ${chromium} is missing; installing Debian's chromium (apt-get update, apt-get install -y chromium)...`,
  );
  aptGet(['update', '-qq']);
  aptGet(['install', '-y', '-qq', 'chromium']);
  if (!fs.existsSync(chromium)) {
    fail(
      `npm test: apt-get installed chromium but ${chromium} is still missing${process.env.CHROMIUM_PATH ? ' (CHROMIUM_PATH names another file)' : ''}.`,
    );
  }
  console.log(`npm test: Chromium installed (${chromium}).`);
}
