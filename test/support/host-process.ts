/**
 * Test support: a real local host in a child process (the compiled `npm start` entry, or the sample host),
 * on ports the OS assigns (every port setting 0) and its own data folder, so tests can kill it with SIGKILL and
 * start it again. The test learns the ports from the host (host.json and /healthz), never by choosing them:
 * a port chosen and released can be taken by a parallel test before the host binds it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopLeftoverAzurite } from '../../src/local/azurite';
import type { LocalHostPorts } from '../../src/local/local-host';
import { eventually } from './storage';

const ROOT = path.resolve(__dirname, '..', '..');

/** The compiled entry points; `npm test` builds them first. */
export const ENTRY = {
  main: path.join(ROOT, 'dist', 'src', 'local', 'main.js'),
  sampleHost: path.join(ROOT, 'dist', 'test', 'support', 'sample-host.js'),
};

/** Port settings for a host: all 0, so each server binds what the OS gives it (a restart binds the same). */
export interface HostPorts extends Record<string, string> {
  ATTEST_HTTP_PORT: string;
  ATTEST_GRAPH_SIM_PORT: string;
  ATTEST_AZURITE_TABLE_PORT: string;
  ATTEST_AZURITE_BLOB_PORT: string;
  ATTEST_PLAYGROUND_PORT: string;
}

/** Every port setting 0; the CLI run with these on a host's data folder finds that host's Azurite. */
export const ANY_PORTS: HostPorts = {
  ATTEST_HTTP_PORT: '0',
  ATTEST_GRAPH_SIM_PORT: '0',
  ATTEST_AZURITE_TABLE_PORT: '0',
  ATTEST_AZURITE_BLOB_PORT: '0',
  ATTEST_PLAYGROUND_PORT: '0',
};

/** A host process and what it printed. */
export interface HostProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  url: string;
  /** The ports the host reported on /healthz once it served (the Playground, started last, may not be in yet). */
  ports: LocalHostPorts;
  /** The ports /healthz reports now (after the banner: the Playground's too). */
  currentPorts(): Promise<LocalHostPorts>;
}

/** Starts `entry` with `args`; resolves once the host has recorded its URL and /healthz answers there. */
export async function startHostProcess(
  entry: string,
  args: string[],
  env: Record<string, string>,
  healthTimeoutMs = 30000,
): Promise<HostProcess> {
  if (!fs.existsSync(entry))
    throw new Error(`${entry} is missing: run \`npm run build\` first (npm test does).`);
  const child = spawn(process.execPath, [entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  // The host records its URL and ports in <data>/host.json as soon as it serves (before the Playground is up).
  const dataAt = args.indexOf('--data');
  const recordPath = path.resolve(ROOT, dataAt >= 0 ? args[dataAt + 1] : '.attest', 'host.json');
  let url = '';
  const ports = await eventually(
    async () => {
      if (ended) throw new Error(`host exited early:\n${out}`);
      if (!url) {
        const record = JSON.parse(fs.readFileSync(recordPath, 'utf8')) as { pid?: number; url: string };
        if (record.pid !== child.pid) return undefined; // a record left by an earlier host
        url = record.url;
      }
      const res = await fetch(`${url}/healthz`);
      return res.ok ? ((await res.json()) as { ports: LocalHostPorts }).ports : undefined;
    },
    healthTimeoutMs,
    `${recordPath} naming this host, and its /healthz`,
  ).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- host output ---\n${out}`);
  });
  const currentPorts = async () =>
    ((await (await fetch(`${url}/healthz`)).json()) as { ports: LocalHostPorts }).ports;
  return { child, output: () => out, exited, url, ports, currentPorts };
}

/** Runs `entry` to completion (for start-up failures) and returns its exit code and output. */
export function runToExit(
  entry: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The `attest` command, compiled. */
export const CLI = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');

/**
 * A host process on a data folder of its own, for tests that SIGKILL and restart it: `start` (with extra
 * settings), `kill`, the `attest` command on the same folder, and `cleanup` for afterAll.
 */
export function killableHost(prefix: string) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  let host: HostProcess | undefined;
  return {
    dataDir,
    /** The running host (undefined between a kill and the next start). */
    get host(): HostProcess | undefined {
      return host;
    },
    start: async (env: Record<string, string> = {}): Promise<HostProcess> =>
      (host = await startHostProcess(ENTRY.main, ['--data', dataDir, '--no-playground'], {
        ...ANY_PORTS,
        // The offboarding sweep changes the demo tenant on its first tick: off unless the test turns it on.
        ATTEST_OFFBOARDING_SCHEDULE: '0 0 0 1 1 *',
        // The weekly evidence e-mail likewise: only its own tests send it.
        ATTEST_EVIDENCE_MAIL_SCHEDULE: '0 0 0 1 1 *',
        ...env,
      })),
    kill: async (): Promise<void> => {
      host?.child.kill('SIGKILL');
      await host?.exited;
      host = undefined;
    },
    cli: (...args: string[]) => runToExit(CLI, [...args, '--data', dataDir], ANY_PORTS),
    cleanup: async (): Promise<void> => {
      host?.child.kill('SIGKILL');
      await stopLeftoverAzurite(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The Graph simulator's successful and failed writes on a data folder (`graph-sim/writes.jsonl`), in order. */
export function simWrites(dataDir: string): { method: string; path: string; status: number }[] {
  const file = path.join(dataDir, 'graph-sim', 'writes.jsonl');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { method: string; path: string; status: number });
}
