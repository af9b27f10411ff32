/**
 * Embedded Azurite for the local host: the table and blob services from the npm package, each a child
 * process on loopback with its data under `<data>/azurite` and its output in `<data>/azurite/<service>.log`.
 *
 * NB. Azurite keeps tables in LokiJS, which saves to disk every 5 s and on a clean shutdown. Running it in a
 * separate process means a host that crashes (or is SIGKILLed) does not take storage down with it, just as
 * in Azure: the next host start finds the same Azurite still running and adopts it. A clean host stop shuts
 * Azurite down with SIGINT, which saves its data.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PortInUseError, answers, waitForPort, waitForPortFree } from './port-check';

/** One running Azurite service. */
interface ServiceRecord {
  pid: number;
  port: number;
}

/** What the pid file records, so a later host can adopt or stop the services. */
interface AzuriteRecord {
  table: ServiceRecord;
  blob: ServiceRecord;
}

/** A handle on the embedded Azurite. */
export interface EmbeddedAzurite {
  tablePort: number;
  blobPort: number;
  /** True when the services were already running (left by a host that did not stop cleanly). */
  adopted: boolean;
  /** Shuts both services down cleanly (their data is saved). */
  stop(): Promise<void>;
}

const azuriteDist = path.dirname(
  require.resolve('azurite/dist/src/table/main.js', { paths: [process.cwd(), __dirname] }),
);

/** True when `pid` runs and is an Azurite service (a recycled pid must never be signalled). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('azurite');
  } catch {
    return true; // no /proc (macOS): trust the record
  }
}

async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 10000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

function recordPath(dataDir: string): string {
  return path.join(dataDir, 'azurite', 'azurite.json');
}

function readRecord(dataDir: string): AzuriteRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(recordPath(dataDir), 'utf8')) as AzuriteRecord;
  } catch {
    return undefined;
  }
}

/** Stops an Azurite a previous host left running on this data folder (used before --fresh wipes it). */
export async function stopLeftoverAzurite(dataDir: string): Promise<void> {
  const record = readRecord(dataDir);
  if (!record) return;
  await Promise.all([stopPid(record.table.pid), stopPid(record.blob.pid)]);
  fs.rmSync(recordPath(dataDir), { force: true });
}

/**
 * Starts (or adopts) Azurite's table and blob services for `dataDir`. A port of 0 means "the one this data
 * folder's Azurite had (recorded in azurite.json), or else any free one": the OS assigns it when the service
 * binds, and the port is read back from the service itself, so nothing picks a port and lets go of it first.
 * A port that must be bound (set, or recorded) and is taken is a {@link PortInUseError}.
 */
export async function startAzurite(opts: {
  dataDir: string;
  tablePort: number;
  blobPort: number;
  /** Ports this folder's services had, when azurite.json is gone (a clean stop removes it): the host's record. */
  had?: { tablePort?: number; blobPort?: number };
  /** Called once the services' processes are spawned (or adopted): the caller can work while they boot. */
  spawned?: () => void;
}): Promise<EmbeddedAzurite> {
  const location = path.join(opts.dataDir, 'azurite');
  fs.mkdirSync(location, { recursive: true });
  const previous = readRecord(opts.dataDir);
  const fits = (wanted: number, had: ServiceRecord) => wanted === 0 || wanted === had.port;
  if (
    previous &&
    fits(opts.tablePort, previous.table) &&
    fits(opts.blobPort, previous.blob) &&
    alive(previous.table.pid) &&
    alive(previous.blob.pid) &&
    (await answers(previous.table.port)) &&
    (await answers(previous.blob.port))
  ) {
    opts.spawned?.();
    return handle(opts.dataDir, previous, true);
  }
  // NB. The record stays until the new one replaces it: should a recorded port be taken, the next start
  // tries the same ports again (and says so) rather than quietly moving elsewhere.
  if (previous) await Promise.all([stopPid(previous.table.pid), stopPid(previous.blob.pid)]);

  const services = {
    table: {
      part: 'Azurite table service',
      setting: 'ATTEST_AZURITE_TABLE_PORT',
      port: opts.tablePort || previous?.table.port || opts.had?.tablePort || 0,
      recorded: opts.tablePort === 0 && !!(previous?.table.port || opts.had?.tablePort),
    },
    blob: {
      part: 'Azurite blob service',
      setting: 'ATTEST_AZURITE_BLOB_PORT',
      port: opts.blobPort || previous?.blob.port || opts.had?.blobPort || 0,
      recorded: opts.blobPort === 0 && !!(previous?.blob.port || opts.had?.blobPort),
    },
  };
  for (const s of Object.values(services)) {
    // A service just stopped may hold its port for a moment.
    if (s.port !== 0 && !(await waitForPortFree(s.port, 3000)))
      throw new PortInUseError(s.part, s.port, s.setting, s.recorded);
  }

  const common = ['--location', location, '--silent', '--skipApiVersionCheck', '--disableTelemetry'];
  const start = (service: 'table' | 'blob', args: string[]) => {
    const logPath = path.join(location, `${service}.log`);
    const from = fs.existsSync(logPath) ? fs.statSync(logPath).size : 0;
    const log = fs.openSync(logPath, 'a');
    const main = path.join(azuriteDist, '..', service, 'main.js');
    // Detached into its own process group: a Ctrl-C or a kill of the host's group must not cut storage off
    // before the host has stopped writing; the host stops Azurite itself.
    const child = spawn(process.execPath, ['-e', listenReporter(main), '--', ...args, ...common], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    child.unref();
    fs.closeSync(log);
    return { pid: child.pid as number, logPath, from };
  };
  const table = start('table', ['--tableHost', '127.0.0.1', '--tablePort', String(services.table.port)]);
  const blob = start('blob', ['--blobHost', '127.0.0.1', '--blobPort', String(services.blob.port)]);
  // Recorded at once (ports still as asked), so a host that dies now leaves nothing running unrecorded.
  const record: AzuriteRecord = {
    table: { pid: table.pid, port: services.table.port },
    blob: { pid: blob.pid, port: services.blob.port },
  };
  fs.writeFileSync(recordPath(opts.dataDir), JSON.stringify(record));
  opts.spawned?.();
  try {
    const [tablePort, blobPort] = await Promise.all([
      listeningPort(table, services.table),
      listeningPort(blob, services.blob),
    ]);
    record.table.port = tablePort;
    record.blob.port = blobPort;
    fs.writeFileSync(recordPath(opts.dataDir), JSON.stringify(record));
  } catch (err) {
    // Stopped, but recorded with the ports asked for, so the next start asks for the same ones.
    await Promise.all([stopPid(table.pid), stopPid(blob.pid)]);
    throw err;
  }
  return handle(opts.dataDir, record, false);
}

/** The line the reporter writes to a service's log once its server listens. */
const LISTENING = 'attest: azurite listening on port ';

/**
 * Code for `node -e` that runs an Azurite service and writes the port its server really bound to the log.
 * NB. Azurite's table service logs the port it was asked for ("started on 127.0.0.1:0"), not the one it got,
 * so the port is taken from the server's own 'listening' event instead.
 */
function listenReporter(main: string): string {
  return [
    "const net = require('node:net');",
    'const listen = net.Server.prototype.listen;',
    'net.Server.prototype.listen = function (...args) {',
    "  this.once('listening', () => {",
    '    const a = this.address();',
    `    if (a && typeof a === 'object') console.log(${JSON.stringify(LISTENING)} + a.port);`,
    '  });',
    '  return listen.apply(this, args);',
    '};',
    // Azurite parses process.argv as `node main.js ARGS`.
    `process.argv.splice(1, 0, ${JSON.stringify(main)});`,
    `require(${JSON.stringify(main)});`,
  ].join('\n');
}

/** Waits for a started service to report its port in its log (or to fail), then for the port to answer. */
async function listeningPort(
  started: { pid: number; logPath: string; from: number },
  service: { part: string; setting: string; port: number; recorded: boolean },
): Promise<number> {
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    const text = fs.readFileSync(started.logPath, 'utf8').slice(started.from);
    const at = text.indexOf(LISTENING);
    if (at >= 0) {
      const port = Number(/^\d+/.exec(text.slice(at + LISTENING.length))?.[0]);
      if (port > 0) {
        await waitForPort(port, Math.max(1000, deadline - Date.now()), service.part);
        return port;
      }
    }
    if (text.includes('EADDRINUSE'))
      throw new PortInUseError(service.part, service.port, service.setting, service.recorded);
    if (!alive(started.pid)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${service.part} did not start listening within 20 s. See ${started.logPath}.`);
}

function handle(dataDir: string, record: AzuriteRecord, adopted: boolean): EmbeddedAzurite {
  return {
    tablePort: record.table.port,
    blobPort: record.blob.port,
    adopted,
    stop: () => stopLeftoverAzurite(dataDir),
  };
}
