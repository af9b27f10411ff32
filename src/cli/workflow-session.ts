/**
 * The access-request service for one CLI command. When `npm start` serves the same data folder, the CLI is
 * only a client: it writes the request or decision into the shared task hub and the serving host (which polls
 * for such messages) runs it. Otherwise the CLI runs the orchestrations in its own process until they wait,
 * and a later `npm start` or CLI run resumes them.
 */
import { systemClock } from '../adapters/system-clock';
import { TableNames } from '../adapters/tables/table-names';
import type { AttestConfig } from '../config/config';
import { workflowDepsFactory } from '../functions/composition';
import { buildFunctionList } from '../functions/function-list';
import { liveHost, replayRegistry, startLocalHost } from '../local/local-host';
import { ReplayHost } from '../local/replay-host/replay-host';
import { TaskHubStore } from '../local/replay-host/task-hub-store';
import type { DurableClientPort } from '../ports/durable-client.port';
import { AccessRequestService } from '../workflows/access-request.service';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import { openCliStorage } from './cli-storage';

/** A service ready for one command. */
export interface WorkflowSession {
  service: AccessRequestService;
  deps: WorkflowDeps;
  durable: DurableClientPort;
  /** `client` when a serving host runs the work; `in-process` when this process does. */
  mode: 'client' | 'in-process';
  /** Waits until this process has nothing left to run (in-process), or returns at once (client). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Opens a session on `dataDir`. */
export async function openWorkflowSession(
  config: AttestConfig,
  dataDir: string,
  log: (line: string) => void = () => undefined,
): Promise<WorkflowSession> {
  const live = liveHost(dataDir);
  if (live) {
    if (!live.graph)
      throw new Error(`The host on ${dataDir} does not use the Graph simulator; run this command there.`);
    const storage = await openCliStorage(config, dataDir);
    const graph = { baseUrl: live.graph.url, getToken: async () => (live.graph as { token: string }).token };
    const deps = await workflowDepsFactory({ config, tables: storage.tables, graph, clock: systemClock })();
    const durable = new ReplayHost(
      new TaskHubStore(storage.tables.client(TableNames.localTaskHub(config.taskHub))),
      // A client runs nothing: the serving host executes the activities.
      replayRegistry(buildFunctionList(config), {
        config,
        graph,
        workflow: async () => deps,
        teams: () => Promise.reject(new Error('The CLI does not serve the Teams bot.')),
      }),
      { clientOnly: true },
    );
    return {
      service: new AccessRequestService(deps, durable),
      deps,
      durable,
      mode: 'client',
      settle: async () => undefined,
      close: () => storage.close(),
    };
  }
  // NB. No Teams delivery in-process: nothing serves the bot here, so notifications stay in the outbox table.
  const host = await startLocalHost({ config, dataDir, serve: false, playground: false, log, teams: false });
  const deps = await host.services.workflow();
  return {
    service: new AccessRequestService(deps, host.durable),
    deps,
    durable: host.durable,
    mode: 'in-process',
    settle: () => host.durable.idle(),
    close: () => host.stop(),
  };
}
