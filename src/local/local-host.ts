/**
 * The local host: runs Attest on this machine with embedded defaults, mounting the same function list as
 * Azure. It starts Azurite (tables and blobs), the Graph simulator with its demo tenant, the HTTP server for
 * every registered route (the bot's /api/messages included) plus /healthz, the timer triggers, the durable
 * replay host, and the Agents Playground.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';
import { createTableFactory, type TableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import { describeModes, type AttestConfig } from '../config/config';
import { buildFunctionList } from '../functions/function-list';
import {
  validateFunctionList,
  type AppServices,
  type FunctionContext,
  type FunctionDefinition,
  type GraphAccess,
  type HttpFunction,
  type TimerFunction,
} from '../functions/function-types';
import { startAzurite, stopLeftoverAzurite, type EmbeddedAzurite } from './azurite';
import { startGraphSimulator, type GraphSimulator } from './graph-sim/graph-sim';
import { PLAYGROUND_USERS, playgroundConfigYaml } from './graph-sim/demo-tenant';
import { startHttpServer, type LocalHttpServer } from './http-server';
import { startPlayground, type RunningPlayground } from './playground';
import { PortInUseError, isPortFree } from './port-check';
import { ReplayHost, type ActivityRunner, type ReplayHostRegistry } from './replay-host/replay-host';
import { TaskHubStore } from './replay-host/task-hub-store';
import { startTimers } from './timers';
import { graphAccessFor } from '../adapters/graph/graph-access';
import { systemClock } from '../adapters/system-clock';
import { appServices } from '../functions/composition';
import type { Clock } from '../ports/clock.port';

/** How to start the local host. */
export interface LocalHostOptions {
  config: AttestConfig;
  /** The data folder (default `.attest`): Azurite's data, the simulator's tenant, sent mail. */
  dataDir: string;
  /** Start from empty data. */
  fresh?: boolean;
  /** Start the Agents Playground (default true). */
  playground?: boolean;
  /** Object id of the demo person the Playground chats as (default: the first of PLAYGROUND_USERS). */
  playgroundUser?: string;
  /**
   * Serve HTTP (routes, /healthz), timers and the Playground, and own the task hub (default true). The CLI
   * passes false to run orchestrations in its own process when no host is running.
   */
  serve?: boolean;
  /** Functions to mount besides the app's own (tests mount samples here). */
  extraFunctions?: FunctionDefinition[];
  /**
   * Deliver notifications in Teams (default true). Off, they stay in the outbox table and nobody is reported
   * unreachable: what the workflow tests use, which are about the orchestration, not the bot.
   */
  teams?: boolean;
  log?: (line: string) => void;
  /** The clock for the workflow and the replay host (tests move it forward). */
  clock?: Clock;
}

/** A running local host. */
export interface LocalHost {
  url: string;
  playgroundUrl?: string;
  graphUrl?: string;
  durable: ReplayHost;
  services: AppServices;
  tables: TableFactory;
  graphSim?: GraphSimulator;
  /** Lines for the start-up banner. */
  banner(): string[];
  stop(): Promise<void>;
}

/** Starts every part; on failure, stops what already started and rethrows. */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { config } = options;
  const serve = options.serve !== false;
  const log = options.log ?? ((line: string) => console.log(line));
  const dataDir = path.resolve(options.dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`stop: ${(err as Error).message}`));
  };
  try {
    // Fail on a taken port before anything starts, with the setting to change.
    const wanted: [string, number, string][] = [
      ['Attest HTTP server', config.local.httpPort, 'ATTEST_HTTP_PORT'],
    ];
    if (options.playground !== false)
      wanted.push(['Agents Playground', config.local.playgroundPort, 'ATTEST_PLAYGROUND_PORT']);
    if (config.directory.mode === 'simulator' && config.directory.port !== 0) {
      wanted.push(['Graph simulator', config.directory.port, 'ATTEST_GRAPH_SIM_PORT']);
    }
    for (const [part, port, setting] of wanted) {
      if (port !== 0 && !(await isPortFree(port))) throw new PortInUseError(part, port, setting);
    }

    if (options.fresh) {
      await stopLeftoverAzurite(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    fs.mkdirSync(dataDir, { recursive: true });

    let azurite: EmbeddedAzurite | undefined;
    if (config.storage.mode === 'embedded') {
      azurite = await startAzurite({
        dataDir,
        tablePort: config.storage.tablePort,
        blobPort: config.storage.blobPort,
      });
      stops.push(() => (azurite as EmbeddedAzurite).stop());
    }
    const tables = createTableFactory(config.storage);
    const probe = await tables.ensureTable(TableNames.hostProbe);
    await probe.upsertEntity({ partitionKey: 'host', rowKey: 'last-start', at: new Date() });

    let graphSim: GraphSimulator | undefined;
    let graph: GraphAccess;
    if (config.directory.mode === 'simulator') {
      const d = config.directory;
      graphSim = await startGraphSimulator({
        port: d.port,
        dataDir,
        ...(options.clock ? { now: () => (options.clock as Clock).now() } : {}),
        faults: {
          latencyMs: d.latencyMs,
          throttleRate: d.throttleRate,
          unavailableRate: d.unavailableRate,
          writeQuota: d.writeQuota,
        },
      });
      const sim = graphSim;
      stops.push(() => sim.close());
      const token = sim.issueToken();
      graph = { baseUrl: sim.url, getToken: async () => token };
    } else {
      graph = graphAccessFor(config.directory);
    }
    const services: AppServices = appServices({
      config,
      tables,
      graph,
      clock: options.clock ?? systemClock,
      teams: options.teams ?? true,
    });
    // Fail fast: a catalog that does not load (or names groups the directory lacks) stops start-up here.
    const { catalog } = (await services.workflow()).catalog;
    const roles = catalog.apps.reduce((n, a) => n + a.roles.length, 0);

    const list = [...buildFunctionList(config), ...(options.extraFunctions ?? [])];
    validateFunctionList(list);
    const store = new TaskHubStore(tables.client(TableNames.localTaskHub(config.taskHub)));
    const durable = new ReplayHost(store, replayRegistry(list, services), {
      log,
      ...(options.clock ? { now: () => (options.clock as Clock).now(), timerPollMs: 50 } : {}),
      // The serving host notices work the CLI writes into the task hub while it runs.
      ...(serve ? { messagePollMs: 1000 } : {}),
    });
    const { resumed } = await durable.start();
    stops.push(() => durable.stop());

    const contextFor = (invocation: InvocationContext): FunctionContext => ({
      invocation,
      services,
      durable,
    });
    const startedAt = new Date();
    if (!serve) {
      return {
        url: '',
        durable,
        services,
        tables,
        graphSim,
        banner: () => [],
        stop: stopAll,
      };
    }
    const server: LocalHttpServer = await startHttpServer({
      port: config.local.httpPort,
      functions: list.filter((f): f is HttpFunction => f.kind === 'http'),
      contextFor,
      log,
      health: async () => ({
        status: 'ok',
        startedAt: startedAt.toISOString(),
        modes: describeModes(config),
        parts: {
          storage: azurite
            ? { tablePort: azurite.tablePort, blobPort: azurite.blobPort, adopted: azurite.adopted }
            : {},
          directory: graphSim ? { url: graphSim.url } : { url: graph.baseUrl },
          playground: playground ? { url: playground.url } : { disabled: true },
          orchestrations: { resumed },
        },
      }),
    });
    stops.push(() => server.close());
    const url = `http://127.0.0.1:${server.port}`;
    writeHostRecord(dataDir, {
      pid: process.pid,
      url,
      graph: graphSim ? { url: graphSim.url, token: await graph.getToken() } : undefined,
    });
    stops.push(async () => fs.rmSync(hostRecordPath(dataDir), { force: true }));

    const timers = startTimers(
      list.filter((f): f is TimerFunction => f.kind === 'timer'),
      (fn) =>
        fn.handler(
          contextFor(
            new InvocationContext({
              functionName: fn.name,
              logHandler: (level, ...a) => log(`[${fn.name}] ${level}: ${a.join(' ')}`),
            }),
          ),
        ),
      log,
    );
    stops.push(async () => timers.stop());

    let playground: RunningPlayground | undefined;
    if (options.playground !== false) {
      playground = await startPlayground({
        port: config.local.playgroundPort,
        botEndpoint: `${url}/api/messages`,
        configYaml: playgroundConfigYaml({ botName: 'Attest', currentUserId: options.playgroundUser }),
        dataDir,
      });
      stops.push(() => (playground as RunningPlayground).stop());
    }

    const modes = describeModes(config);
    return {
      url,
      playgroundUrl: playground?.url,
      graphUrl: graphSim?.url,
      durable,
      services,
      tables,
      graphSim,
      banner: () => [
        'Attest is running locally.',
        `  storage         ${modes.storage}${azurite ? ` (Azurite tables :${azurite.tablePort}, blobs :${azurite.blobPort}${azurite.adopted ? ', adopted' : ''}; data in ${dataDir})` : ''}`,
        `  directory       ${modes.directory}${graphSim ? ` (Graph simulator ${graphSim.url}, demo tenant)` : ` (${graph.baseUrl})`}`,
        `  mail            ${modes.mail}${config.mail.mode === 'simulator' ? ` (kept in ${path.join(dataDir, 'mail')})` : ''}`,
        `  tickets         ${modes.tickets}`,
        `  orchestrations  local replay host (${resumed} resumed)`,
        `  catalog         ${config.catalogPath}: ${catalog.id} v${catalog.version} (${catalog.apps.length} apps, ${roles} roles)`,
        `  bot             ${url}/api/messages (${modes.bot})`,
        `  health          ${url}/healthz`,
        playground
          ? `Open ${playground.url} to chat with the bot in the Agents Playground as ${(PLAYGROUND_USERS.find((u) => u.id === options.playgroundUser) ?? PLAYGROUND_USERS[0]).displayName} (restart with --as priya.raman to approve as the manager).`
          : 'Playground off (--no-playground): point a Bot Framework client at the bot endpoint above.',
        'Press Ctrl+C to stop.',
      ],
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** What a serving local host leaves in its data folder, so the CLI can find it (and its simulator). */
export interface HostRecord {
  pid: number;
  url: string;
  /** The simulator's URL and a token it accepts: local development only, like Azurite's well-known key. */
  graph?: { url: string; token: string };
}

function hostRecordPath(dataDir: string): string {
  return path.join(dataDir, 'host.json');
}

function writeHostRecord(dataDir: string, record: HostRecord): void {
  fs.writeFileSync(hostRecordPath(dataDir), JSON.stringify(record), { mode: 0o600 });
}

/** The serving host on `dataDir`, if one is alive (a record left by a killed host is ignored). */
export function liveHost(dataDir: string): HostRecord | undefined {
  let record: HostRecord;
  try {
    record = JSON.parse(fs.readFileSync(hostRecordPath(path.resolve(dataDir)), 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
  try {
    process.kill(record.pid, 0);
    const cmdline = fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8');
    return cmdline.includes('node') ? record : undefined;
  } catch {
    return undefined;
  }
}

/** The replay host's view of a function list: orchestrations by name, and activities bound to `services`. */
export function replayRegistry(
  list: readonly FunctionDefinition[],
  services: AppServices,
): ReplayHostRegistry {
  const registry = {
    orchestrations: new Map<string, df.OrchestrationHandler>(),
    activities: new Map<string, ActivityRunner>(),
  };
  for (const f of list) {
    if (f.kind === 'orchestration') registry.orchestrations.set(f.name, f.handler);
    if (f.kind === 'activity') {
      registry.activities.set(f.name, (input: unknown, invocation: InvocationContext) =>
        f.handler(input, { invocation, services }),
      );
    }
  }
  return registry;
}
