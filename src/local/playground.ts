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
  port: number;
  stop(): Promise<void>;
}

const cli = require.resolve('@microsoft/m365agentsplayground/cli.js', { paths: [process.cwd(), __dirname] });

/**
 * Starts the Playground on `port` (0: any free port, read back from what it prints) against `botEndpoint`,
 * with `configYaml` as its configuration. `recorded` says the port is the one this data folder had before.
 */
export async function startPlayground(opts: {
  port: number;
  recorded?: boolean;
  botEndpoint: string;
  configYaml: string;
  dataDir: string;
}): Promise<RunningPlayground> {
  const dir = path.join(opts.dataDir, 'playground');
  const pidFile = path.join(dir, 'playground.pid');
  // A host that was killed leaves its Playground running: stop that one before starting ours.
  stopLeftover(pidFile);
  if (opts.port !== 0 && !(await waitForPortFree(opts.port, 3000)))
    throw new PortInUseError('Agents Playground', opts.port, 'ATTEST_PLAYGROUND_PORT', opts.recorded);
  fs.mkdirSync(dir, { recursive: true });
  const configPath = path.join(dir, '.m365agentsplayground.yml');
  fs.writeFileSync(configPath, opts.configYaml);
  const logPath = path.join(dir, 'playground.log');
  const from = fs.existsSync(logPath) ? fs.statSync(logPath).size : 0;
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
  let port = opts.port;
  try {
    await Promise.race([
      (async () => {
        if (port === 0) port = await reportedPort(logPath, from, 30000);
        await waitForPort(port, 30000, 'Agents Playground');
      })(),
      exited.then((code) => {
        throw new Error(`Agents Playground exited with code ${code} before it listened; see ${logPath}.`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      fs.rmSync(pidFile, { force: true });
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The port the Playground prints ("Listening on PORT") in its log after `from`. */
async function reportedPort(logPath: string, from: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = /Listening on (\d+)/.exec(fs.readFileSync(logPath, 'utf8').slice(from));
    if (match) return Number(match[1]);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `Agents Playground did not say which port it listens on within ${timeoutMs} ms; see ${logPath}.`,
  );
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
