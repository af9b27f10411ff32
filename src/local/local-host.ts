/**
 * The local host: runs Attest on this machine with embedded defaults, mounting the same function list as
 * Azure. It starts Azurite (tables and blobs), the Graph simulator with its demo tenant, the HTTP server for
 * every registered route (the bot's /api/messages included) plus /healthz, the timer triggers, the durable
 * replay host, and the Agents Playground.
 */
import { logger } from '../adapters/telemetry/logger';
import fs from 'node:fs';
import path from 'node:path';
import { InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';
import type { DurableClientPort } from '../ports/durable-client.port';
import type { TableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import { describeModes, type AttestConfig } from '../config/config';
import {
  validateFunctionList,
  type AppServices,
  type FunctionContext,
  type FunctionDefinition,
  type HttpFunction,
  type TimerFunction,
} from '../functions/function-types';
import { startAzurite, stopLeftoverAzurite, type EmbeddedAzurite } from './azurite';
import { startGraphSimulator, type GraphSimulator } from './graph-sim/graph-sim';
import { PLAYGROUND_USERS, TAB_SIGNIN_USERS, playgroundConfigYaml } from './graph-sim/demo-tenant';
import { startHttpServer, type LocalHttpServer } from './http-server';
import { startPlayground, type RunningPlayground } from './playground';
import { PLAYGROUND_PERSONAL_CHAT_ID } from './graph-sim/playground-config';
import { PortInUseError, isPortFree } from './port-check';
import type { ActivityRunner, ReplayHost, ReplayHostRegistry } from './replay-host/replay-host';
import { startTimers } from './timers';
import type { TicketFake } from './ticket-fakes/fake-server';
import { startLocalTicketFake } from './ticket-fakes/local-ticket-fake';
import type { GraphAccess } from '../adapters/graph/graph-access';
import type { CatalogInUse } from '../functions/catalog-in-use';
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
   * Functions that stand in for the app's own of the same name. Tests use it to run an earlier version of an
   * orchestration, then restart on today's code and watch its instances finish.
   */
  overrides?: FunctionDefinition[];
  /**
   * Deliver notifications in Teams (default true). Off, they stay in the outbox table and nobody is reported
   * unreachable: what the workflow tests use, which are about the orchestration, not the bot.
   */
  teams?: boolean;
  log?: (line: string) => void;
  /** The clock for the workflow, the replay host, the simulator and the timers (tests move it forward). */
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
  /** The Jira or ServiceNow fake when ATTEST_TICKETS_MODE names one. */
  ticketFake?: TicketFake;
  /** Lines for the start-up banner. */
  banner(): string[];
  stop(): Promise<void>;
}

/**
 * The app's own modules and the SDKs behind them: loading them is most of a start's first second, so the host
 * loads them while Azurite boots in its own processes (the two overlap on a second core).
 */
async function loadApp() {
  const [tableFactory, functionList, composition, replayHost, taskHubStore, graphAccess, systemClock] =
    await Promise.all([
      import('../adapters/tables/table-client-factory'),
      import('../functions/function-list'),
      import('../functions/composition'),
      import('./replay-host/replay-host'),
      import('./replay-host/task-hub-store'),
      import('../adapters/graph/graph-access'),
      import('../adapters/system-clock'),
    ]);
  return {
    createTableFactory: tableFactory.createTableFactory,
    buildFunctionList: functionList.buildFunctionList,
    appServices: composition.appServices,
    ReplayHost: replayHost.ReplayHost,
    TaskHubStore: taskHubStore.TaskHubStore,
    graphAccessFor: graphAccess.graphAccessFor,
    systemClock: systemClock.systemClock,
  };
}

/** Starts every part; on failure, stops what already started and rethrows. */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const { config } = options;
  const serve = options.serve !== false;
  const log = options.log ?? logger('local-host');
  const dataDir = path.resolve(options.dataDir);
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err) => log(`stop: ${(err as Error).message}`));
  };
  try {
    if (options.fresh) {
      await stopLeftoverAzurite(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    // A port of 0 is the one this data folder's host had (so the Playground's and Teams' saved addresses
    // still reach it after a restart), or else whatever the OS assigns when the server binds.
    const had = serve ? readHostRecord(dataDir)?.ports : undefined;
    const portFor = (configured: number, recorded: number | undefined) => ({
      port: configured || recorded || 0,
      recorded: configured === 0 && !!recorded,
    });
    const httpPort = portFor(config.local.httpPort, had?.http);
    const playgroundPort = portFor(config.local.playgroundPort, had?.playground);
    const graphPort = portFor(config.directory.mode === 'simulator' ? config.directory.port : 0, had?.graph);
    // Fail on a taken port before anything starts, with the setting to change.
    const wanted: [string, { port: number; recorded: boolean }, string][] = [
      ['Attest HTTP server', httpPort, 'ATTEST_HTTP_PORT'],
    ];
    if (options.playground !== false)
      wanted.push(['Agents Playground', playgroundPort, 'ATTEST_PLAYGROUND_PORT']);
    if (config.directory.mode === 'simulator')
      wanted.push(['Graph simulator', graphPort, 'ATTEST_GRAPH_SIM_PORT']);
    for (const [part, { port, recorded }, setting] of wanted) {
      if (port !== 0 && !(await isPortFree(port))) throw new PortInUseError(part, port, setting, recorded);
    }
    fs.mkdirSync(dataDir, { recursive: true });

    let azurite: EmbeddedAzurite | undefined;
    let spawned = () => {};
    const azuriteSpawned = new Promise<void>((resolve) => (spawned = resolve));
    const azuriteStarting =
      config.storage.mode === 'embedded'
        ? startAzurite({
            dataDir,
            tablePort: config.storage.tablePort,
            blobPort: config.storage.blobPort,
            had: { tablePort: had?.azuriteTable, blobPort: had?.azuriteBlob },
            spawned,
          })
        : undefined;
    // Once Azurite's processes are on their way (or it failed: awaited below), load the app meanwhile.
    if (azuriteStarting) await Promise.race([azuriteSpawned, azuriteStarting.catch(() => undefined)]);
    let app: Awaited<ReturnType<typeof loadApp>>;
    try {
      app = await loadApp();
    } finally {
      azurite = await azuriteStarting;
      if (azurite) stops.push(() => (azurite as EmbeddedAzurite).stop());
    }
    const { createTableFactory, buildFunctionList, appServices, ReplayHost, TaskHubStore, graphAccessFor } =
      app;
    // Azurite's ports are the ones it bound (the configured ones may be 0).
    const tables = createTableFactory(
      azurite
        ? { mode: 'embedded', tablePort: azurite.tablePort, blobPort: azurite.blobPort }
        : config.storage,
    );
    const probe = await tables.ensureTable(TableNames.hostProbe);
    await probe.upsertEntity({ partitionKey: 'host', rowKey: 'last-start', at: new Date() });

    let graphSim: GraphSimulator | undefined;
    let graph: GraphAccess;
    if (config.directory.mode === 'simulator') {
      const d = config.directory;
      graphSim = await startGraphSimulator({
        port: serve ? graphPort.port : d.port,
        dataDir,
        ...(options.clock ? { now: () => (options.clock as Clock).now() } : {}),
        // Attest calls Graph as the tab's Entra app (the manifest's webApplicationInfo.id), as in Azure.
        callerAppId: config.tab.clientId,
        ...(options.playground !== false ? { personalChatId: () => PLAYGROUND_PERSONAL_CHAT_ID } : {}),
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
    // ATTEST_TICKETS_MODE=jira-local|servicenow-local: the fake runs in this process and the app sees a jira or
    // servicenow configuration pointing at it.
    const ticketFake = await startLocalTicketFake(config.tickets, {
      dataDir,
      ...(options.clock ? { now: () => (options.clock as Clock).now() } : {}),
    });
    if (ticketFake) stops.push(() => ticketFake.fake.close());
    const appConfig: AttestConfig = ticketFake
      ? Object.freeze({ ...config, tickets: ticketFake.tickets })
      : config;
    const services: AppServices = appServices({
      config: appConfig,
      tables,
      graph,
      clock: options.clock ?? app.systemClock,
      teams: options.teams ?? true,
      // The serving host checks the catalog against the directory in the background; CLI sessions do not.
      checkCatalog: serve,
      log,
    });
    stops.push(async () => services.stop?.());
    // The catalog FILE must load (syntax and schema), or a last good one be kept: with neither, start-up stops
    // here. Nothing waits on Graph: the directory check runs in the background (see /healthz catalogCheck).
    await services.workflow();
    const inUse = await (services.catalog as () => Promise<CatalogInUse>)();
    const { catalog } = inUse.loaded;
    const roles = catalog.apps.reduce((n, a) => n + a.roles.length, 0);
    if (inUse.fileProblem) {
      log(
        `attest: the access catalog does not load (${inUse.fileProblem.code}); new requests are refused until it does:\n${inUse.fileProblem.message}\n` +
          `Running on the last good catalog, ${catalog.id} v${catalog.version} (saved ${inUse.savedAt}).`,
      );
    }

    const replaced = new Map((options.overrides ?? []).map((f) => [f.name, f]));
    const list = [
      ...buildFunctionList(appConfig).map((f) => replaced.get(f.name) ?? f),
      ...(options.extraFunctions ?? []),
    ];
    validateFunctionList(list);
    const store = new TaskHubStore(tables.client(TableNames.localTaskHub(config.taskHub)));
    // NB. The registry reaches the host lazily: activities that signal other orchestrations run after it exists.
    const durable: ReplayHost = new ReplayHost(
      store,
      replayRegistry(list, services, () => durable),
      {
        log,
        ...(options.clock ? { now: () => (options.clock as Clock).now(), timerPollMs: 50 } : {}),
        // The serving host notices work the CLI writes into the task hub while it runs.
        ...(serve ? { messagePollMs: 1000 } : {}),
      },
    );
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
        ticketFake: ticketFake?.fake,
        banner: () => [],
        stop: stopAll,
      };
    }
    let playground: RunningPlayground | undefined; // started last, once the bot answers
    const ports = (): LocalHostPorts => ({
      http: server.port,
      ...(graphSim ? { graph: graphSim.port } : {}),
      ...(playground ? { playground: playground.port } : {}),
      ...(azurite ? { azuriteTable: azurite.tablePort, azuriteBlob: azurite.blobPort } : {}),
    });
    const server: LocalHttpServer = await startHttpServer({
      port: httpPort.port,
      recorded: httpPort.recorded,
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
        ports: ports(),
        catalog: {
          id: catalog.id,
          version: catalog.version,
          file: inUse.loaded.file,
          source: inUse.source,
          ...(inUse.fileProblem
            ? {
                newRequests: 'refused',
                fileProblem: { code: inUse.fileProblem.code, message: inUse.fileProblem.message },
              }
            : { newRequests: 'accepted' }),
        },
        catalogCheck: services.catalogCheck?.(),
      }),
    });
    stops.push(() => server.close());
    const url = `http://127.0.0.1:${server.port}`;
    // The local issuer's URL is this server's: its tokens say so in `iss`, and the validator expects it.
    services.tab?.localIssuer?.publish({
      hostUrl: url,
      defaultUserId: options.playgroundUser ?? PLAYGROUND_USERS[0].id,
      people: TAB_SIGNIN_USERS.map((u) => ({
        id: u.id,
        displayName: u.displayName,
        userPrincipalName: u.userPrincipalName,
        role: u.role,
      })),
    });
    const graphToken = graphSim ? await graph.getToken() : undefined;
    const record = (): HostRecord => ({
      pid: process.pid,
      url,
      ports: ports(),
      graph: graphSim ? { url: graphSim.url, token: graphToken as string } : undefined,
    });
    writeHostRecord(dataDir, record());
    // Stopped, the record keeps only the ports, for the next start on this folder to bind again.
    stops.push(async () =>
      writeHostRecord(dataDir, { url, ports: record().ports, stoppedAt: new Date().toISOString() }),
    );

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
      options.clock ? { clock: options.clock } : undefined,
    );
    stops.push(async () => timers.stop());

    if (options.playground !== false) {
      playground = await startPlayground({
        port: playgroundPort.port,
        recorded: playgroundPort.recorded,
        botEndpoint: `${url}/api/messages`,
        configYaml: playgroundConfigYaml({ botName: 'Attest', currentUserId: options.playgroundUser }),
        dataDir,
      });
      stops.push(() => (playground as RunningPlayground).stop());
      writeHostRecord(dataDir, record()); // now with the Playground's port
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
      ticketFake: ticketFake?.fake,
      banner: () => [
        'Attest is running locally.',
        `  storage         ${modes.storage}${azurite ? ` (Azurite tables :${azurite.tablePort}, blobs :${azurite.blobPort}${azurite.adopted ? ', adopted' : ''}; data in ${dataDir})` : ''}`,
        `  directory       ${modes.directory}${graphSim ? ` (Graph simulator ${graphSim.url}, demo tenant)` : ` (${graph.baseUrl})`}`,
        `  mail            ${modes.mail}${config.mail.mode === 'simulator' ? ` (kept in ${path.join(dataDir, 'mail')})` : ''}`,
        config.evidenceMail.recipients.length
          ? `  evidence mail   to ${config.evidenceMail.recipients.join(', ')} on '${config.evidenceMail.schedule}' (UTC), from ${config.mail.sender}`
          : '  evidence mail   off (ATTEST_EVIDENCE_MAIL_TO names no recipient)',
        ticketFake?.banner ?? `  tickets         ${modes.tickets}`,
        `  orchestrations  local replay host (${resumed} resumed)`,
        inUse.fileProblem
          ? `  catalog         ${config.catalogPath} DOES NOT LOAD (${inUse.fileProblem.code}): new requests refused; running on the last good catalog ${catalog.id} v${catalog.version} (saved ${inUse.savedAt})`
          : `  catalog         ${config.catalogPath}: ${catalog.id} v${catalog.version} (${catalog.apps.length} apps, ${roles} roles)`,
        `  catalog check   ${checkLine(services)} (groups and people against the directory, in the background; ${url}/healthz shows it)`,
        `  bot             ${url}/api/messages (${modes.bot})`,
        config.tab.auth === 'local'
          ? `  tab             ${url}/api/tab/index.html (local sign-in: ${url}/api/tab/auth/signin)`
          : `  tab             ${url}/api/tab/index.html (Teams SSO, ${config.tab.appIdUri})`,
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

/** The catalog check's state for the banner. */
function checkLine(services: AppServices): string {
  const check = services.catalogCheck?.();
  if (!check) return 'not run';
  if (check.state === 'pending')
    return check.waiting ? `pending (Graph did not answer yet: retrying)` : 'pending';
  const errors = check.problems.filter((p) => p.severity === 'error').length;
  const warnings = check.problems.length - errors;
  const counts = [
    errors ? `${errors} problem${errors === 1 ? '' : 's'}` : '',
    warnings ? `${warnings} warning${warnings === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return `${check.state}${counts.length ? ` (${counts.join(', ')}: see the log)` : ''}`;
}

/** The ports a serving local host got (0 in the configuration: the OS chose them). */
export interface LocalHostPorts {
  http: number;
  graph?: number;
  playground?: number;
  azuriteTable?: number;
  azuriteBlob?: number;
}

/**
 * What a serving local host leaves in its data folder (`host.json`), so the CLI can find it (and its
 * simulator) and a later start can bind the same ports. A stopped host's record has no `pid`.
 */
export interface HostRecord {
  /** The running host's process; absent once it stopped cleanly. */
  pid?: number;
  url: string;
  ports?: LocalHostPorts;
  stoppedAt?: string;
  /** The simulator's URL and a token it accepts: local development only, like Azurite's well-known key. */
  graph?: { url: string; token: string };
}

function hostRecordPath(dataDir: string): string {
  return path.join(dataDir, 'host.json');
}

function writeHostRecord(dataDir: string, record: HostRecord): void {
  fs.writeFileSync(hostRecordPath(dataDir), JSON.stringify(record), { mode: 0o600 });
}

/** The record a host left in `dataDir` (running, killed or stopped), if any. */
export function readHostRecord(dataDir: string): HostRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(hostRecordPath(path.resolve(dataDir)), 'utf8')) as HostRecord;
  } catch {
    return undefined;
  }
}

/** The serving host on `dataDir`, if one is alive (a record left by a killed or stopped host is ignored). */
export function liveHost(dataDir: string): HostRecord | undefined {
  const record = readHostRecord(dataDir);
  if (record?.pid === undefined) return undefined;
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
  durable?: () => DurableClientPort,
): ReplayHostRegistry {
  const registry = {
    orchestrations: new Map<string, df.OrchestrationHandler>(),
    activities: new Map<string, ActivityRunner>(),
  };
  for (const f of list) {
    if (f.kind === 'orchestration') registry.orchestrations.set(f.name, f.handler);
    if (f.kind === 'activity') {
      registry.activities.set(f.name, (input: unknown, invocation: InvocationContext) =>
        f.handler(input, {
          invocation,
          services,
          ...(f.durableClient && durable ? { durable: durable() } : {}),
        }),
      );
    }
  }
  return registry;
}
