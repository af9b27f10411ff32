/**
 * Test support: a real local host in a child process (the compiled `npm start` entry, or the sample host),
 * on free ports and its own data folder, so tests can kill it with SIGKILL and start it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/local/port-check';
import { eventually } from './storage';

const ROOT = path.resolve(__dirname, '..', '..');

/** The compiled entry points; `npm test` builds them first. */
export const ENTRY = {
  main: path.join(ROOT, 'dist', 'src', 'local', 'main.js'),
  sampleHost: path.join(ROOT, 'dist', 'test', 'support', 'sample-host.js'),
};

/** The ports one host uses, chosen once so a restarted host comes back on the same ones. */
export interface HostPorts extends Record<string, string> {
  ATTEST_HTTP_PORT: string;
  ATTEST_GRAPH_SIM_PORT: string;
  ATTEST_AZURITE_TABLE_PORT: string;
  ATTEST_AZURITE_BLOB_PORT: string;
  ATTEST_PLAYGROUND_PORT: string;
}

/** Free ports for one host. */
export async function choosePorts(): Promise<HostPorts> {
  return {
    ATTEST_HTTP_PORT: String(await freePort()),
    ATTEST_GRAPH_SIM_PORT: String(await freePort()),
    ATTEST_AZURITE_TABLE_PORT: String(await freePort()),
    ATTEST_AZURITE_BLOB_PORT: String(await freePort()),
    ATTEST_PLAYGROUND_PORT: String(await freePort()),
  };
}

/** A host process and what it printed. */
export interface HostProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  url: string;
}

/** Starts `entry` with `args`; resolves once /healthz answers. */
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
  const url = `http://127.0.0.1:${env.ATTEST_HTTP_PORT}`;
  let ended = false;
  void exited.then(() => (ended = true));
  await eventually(
    async () => {
      if (ended) throw new Error(`host exited early:\n${out}`);
      const res = await fetch(`${url}/healthz`);
      return res.ok ? true : undefined;
    },
    healthTimeoutMs,
    `${url}/healthz`,
  ).catch((err) => {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n--- host output ---\n${out}`);
  });
  return { child, output: () => out, exited, url };
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
