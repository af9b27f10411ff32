/**
 * Microsoft 365 Agents Playground (npm @microsoft/m365agentsplayground), started by the local host against
 * the bot endpoint. Its `.m365agentsplayground.yml` is generated from the demo tenant, so the people it lets
 * you act as are the simulator's people, with the ids it sends as `from.aadObjectId`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childProcessEnv } from '../config/config';
import { PortInUseError, waitForPort, waitForPortFree } from './port-check';

/** A running Playground. */
export interface RunningPlayground {
  url: string;
  stop(): Promise<void>;
}

const cli = require.resolve('@microsoft/m365agentsplayground/cli.js', { paths: [process.cwd(), __dirname] });

/** Starts the Playground on `port` against `botEndpoint`, with `configYaml` as its configuration. */
export async function startPlayground(opts: {
  port: number;
  botEndpoint: string;
  configYaml: string;
  dataDir: string;
}): Promise<RunningPlayground> {
  const dir = path.join(opts.dataDir, 'playground');
  const pidFile = path.join(dir, 'playground.pid');
  // A host that was killed leaves its Playground running: stop that one before starting ours.
  stopLeftover(pidFile);
  if (!(await waitForPortFree(opts.port, 3000)))
    throw new PortInUseError('Agents Playground', opts.port, 'ATTEST_PLAYGROUND_PORT');
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(dir, '.m365agentsplayground.yml');
  fs.writeFileSync(configPath, opts.configYaml);
  const logPath = path.join(dir, 'playground.log');
  const out = fs.openSync(logPath, 'a');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      cli,
      'start',
      '--app-endpoint',
      opts.botEndpoint,
      '--channel-id',
      'msteams',
      '--port',
      String(opts.port),
      '--disable-telemetry',
    ],
    {
      cwd: dir,
      stdio: ['ignore', out, out],
      env: childProcessEnv({
        M365_AGENTS_PLAYGROUND_CONFIG_PATH: configPath,
        M365_AGENTS_PLAYGROUND_LOGFILE: path.join(dir, 'playground-events.log'),
        TEAMSAPPTESTER_BROWSER: 'none',
      }),
    },
  );
  fs.closeSync(out);
  fs.writeFileSync(pidFile, String(child.pid));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await Promise.race([
      waitForPort(opts.port, 30000, 'Agents Playground'),
      exited.then((code) => {
        throw new Error(`Agents Playground exited with code ${code} before it listened; see ${logPath}.`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${opts.port}`,
    async stop() {
      fs.rmSync(pidFile, { force: true });
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Kills a Playground a previous host left behind, if the pid still belongs to one. */
function stopLeftover(pidFile: string): void {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8'));
  } catch {
    return;
  }
  try {
    if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('m365agentsplayground'))
      process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
  fs.rmSync(pidFile, { force: true });
}
