/**
 * `npm start` as a developer runs it (issue 11: "Two commands, really"): the real command, build included, on a
 * fresh clone of this repository's HEAD (its node_modules linked, as `npm ci` would have left it), timed from
 * the command to /healthz answering 200; then again on the same, now unchanged, clone. Each start gets its own
 * data folder and OS-chosen ports.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../src/local/azurite';
import { ROOT, type BenchRow } from './bench-kit';

const PORTS_FROM_THE_OS = {
  ATTEST_HTTP_PORT: '0',
  ATTEST_GRAPH_SIM_PORT: '0',
  ATTEST_AZURITE_TABLE_PORT: '0',
  ATTEST_AZURITE_BLOB_PORT: '0',
  ATTEST_PLAYGROUND_PORT: '0',
};

/** Runs `npm start -- --data <fresh folder>` in `checkout`; returns the seconds until /healthz said 200. */
async function timeToHealthy(checkout: string): Promise<number> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-npm-start-'));
  const t0 = performance.now();
  // Its own process group: npm, the shell it runs the script in, the host and Azurite stop together.
  const child = spawn('npm', ['start', '--', '--data', dataDir], {
    cwd: checkout,
    env: { ...process.env, ...PORTS_FROM_THE_OS },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let exited = false;
  child.once('exit', () => (exited = true));
  let healthyAt = 0;
  try {
    while (!healthyAt && !exited && performance.now() - t0 < 120_000) {
      try {
        // The host records its URL in the data folder once it serves (the ports are the OS's choice).
        const { url } = JSON.parse(fs.readFileSync(path.join(dataDir, 'host.json'), 'utf8')) as {
          url: string;
        };
        if ((await fetch(`${url}/healthz`)).ok) healthyAt = performance.now();
      } catch {
        // not built or not listening yet
      }
      if (!healthyAt) await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    if (!exited) {
      process.kill(-(child.pid as number), 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await stopLeftoverAzurite(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  if (!healthyAt) throw new Error(`npm start in ${checkout} did not become healthy:\n${out}`);
  return (healthyAt - t0) / 1000;
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-clone-'));
  const clone = path.join(tmp, 'attest');
  try {
    execFileSync('git', ['clone', '--quiet', ROOT, clone]);
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(clone, 'node_modules'));
    const first = await timeToHealthy(clone);
    const unchanged = await timeToHealthy(clone);
    return [
      {
        figure: 'npm start, first build: time to healthy',
        value: `${first.toFixed(1)} s`,
        goal: '30 s',
        note: 'fresh clone of HEAD (no dist/), full tsc and tab build, then the host',
      },
      {
        figure: 'npm start, unchanged tree: time to healthy',
        value: `${unchanged.toFixed(1)} s`,
        goal: '5 s',
        note: 'the same clone started again: nothing to compile or bundle',
      },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
