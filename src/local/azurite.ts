/**
 * Embedded Azurite for the local host: the table and blob services from the npm package, each a child
 * process on loopback with its data under `<data>/azurite`.
 *
 * NB. Azurite keeps tables in LokiJS, which saves to disk every 5 s and on a clean shutdown. Running it in a
 * separate process means a host that crashes (or is SIGKILLed) does not take storage down with it, just as
 * in Azure: the next host start finds the same Azurite still running and adopts it. A clean host stop shuts
 * Azurite down with SIGINT, which saves its data.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PortInUseError, answers, isPortFree, waitForPort } from './port-check';

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
 * Starts (or adopts) Azurite's table and blob services for `dataDir` on the given ports. A port taken by
 * something else is a {@link PortInUseError}.
 */
export async function startAzurite(opts: {
  dataDir: string;
  tablePort: number;
  blobPort: number;
}): Promise<EmbeddedAzurite> {
  const location = path.join(opts.dataDir, 'azurite');
  fs.mkdirSync(location, { recursive: true });
  const previous = readRecord(opts.dataDir);
  if (
    previous &&
    previous.table.port === opts.tablePort &&
    previous.blob.port === opts.blobPort &&
    alive(previous.table.pid) &&
    alive(previous.blob.pid) &&
    (await answers(opts.tablePort)) &&
    (await answers(opts.blobPort))
  ) {
    return handle(opts.dataDir, previous, true);
  }
  if (previous) await stopLeftoverAzurite(opts.dataDir);

  if (!(await isPortFree(opts.tablePort)))
    throw new PortInUseError('Azurite table service', opts.tablePort, 'ATTEST_AZURITE_TABLE_PORT');
  if (!(await isPortFree(opts.blobPort)))
    throw new PortInUseError('Azurite blob service', opts.blobPort, 'ATTEST_AZURITE_BLOB_PORT');

  const log = fs.openSync(path.join(location, 'azurite.log'), 'a');
  const common = ['--location', location, '--silent', '--skipApiVersionCheck', '--disableTelemetry'];
  const start = (script: string, args: string[]) => {
    // Detached into its own process group: a Ctrl-C or a kill of the host's group must not cut storage off
    // before the host has stopped writing; the host stops Azurite itself.
    const child = spawn(process.execPath, [path.join(azuriteDist, '..', script), ...args, ...common], {
      stdio: ['ignore', log, log],
      detached: true,
    });
    child.unref();
    return child.pid as number;
  };
  const record: AzuriteRecord = {
    table: {
      pid: start('table/main.js', ['--tableHost', '127.0.0.1', '--tablePort', String(opts.tablePort)]),
      port: opts.tablePort,
    },
    blob: {
      pid: start('blob/main.js', ['--blobHost', '127.0.0.1', '--blobPort', String(opts.blobPort)]),
      port: opts.blobPort,
    },
  };
  fs.closeSync(log);
  fs.writeFileSync(recordPath(opts.dataDir), JSON.stringify(record));
  try {
    await Promise.all([
      waitForPort(opts.tablePort, 20000, 'Azurite table service'),
      waitForPort(opts.blobPort, 20000, 'Azurite blob service'),
    ]);
  } catch (err) {
    await stopLeftoverAzurite(opts.dataDir);
    throw new Error(`${(err as Error).message} See ${path.join(location, 'azurite.log')}.`);
  }
  return handle(opts.dataDir, record, false);
}

function handle(dataDir: string, record: AzuriteRecord, adopted: boolean): EmbeddedAzurite {
  return {
    tablePort: record.table.port,
    blobPort: record.blob.port,
    adopted,
    stop: () => stopLeftoverAzurite(dataDir),
  };
}
