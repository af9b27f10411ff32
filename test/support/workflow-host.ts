/**
 * Test support: the local host in-process (Azurite, the Graph simulator, the replay host; no Playground),
 * with the access-request service wired to it, on ports the OS assigns and a temporary data folder.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config';
import { stopLeftoverAzurite } from '../../src/local/azurite';
import { startLocalHost, type LocalHost } from '../../src/local/local-host';
import type { AuditEvent } from '../../src/ports/audit-log.port';
import type { Clock } from '../../src/ports/clock.port';
import type { DurableClientPort, RuntimeStatus } from '../../src/ports/durable-client.port';
import type { FunctionDefinition } from '../../src/functions/function-types';
import { AccessRequestService } from '../../src/workflows/access-request.service';
import type { WorkflowDeps } from '../../src/workflows/workflow-deps';
import { eventually } from './storage';

/** A schedule that never comes in a test's lifetime (1 January, midnight). */
export const OFFBOARDING_OFF = '0 0 0 1 1 *';

/** A running host with the service and ports handy. */
export interface WorkflowHost {
  host: LocalHost;
  deps: WorkflowDeps;
  service: AccessRequestService;
  dataDir: string;
  /** The actions of a stream's events, in order. */
  actions(stream: string): Promise<string[]>;
  events(stream: string): Promise<AuditEvent[]>;
  /** Waits until the orchestration reaches one of `statuses`. */
  settled(requestId: string, statuses?: RuntimeStatus[]): Promise<void>;
  /** Waits until the request's stream has `action`, and the stored state reflects it. */
  until(requestId: string, action: string): Promise<void>;
  /** Waits until stage `n` is open for decisions in the request's state (as an approver's card would be). */
  stageOpen(requestId: string, n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the host for one test file; pass a TestClock to move time forward (timers, expiry). */
export async function startWorkflowHost(
  options: {
    clock?: Clock;
    teams?: boolean;
    env?: Record<string, string>;
    /** Reuse a data folder (a restart); it is then the caller's to remove. */
    dataDir?: string;
    /** Functions that stand in for the app's own (an earlier version of an orchestration). */
    overrides?: FunctionDefinition[];
    /** Wraps the durable client the service starts orchestrations with. */
    durable?: (client: DurableClientPort) => DurableClientPort;
  } = {},
): Promise<WorkflowHost> {
  const ownData = options.dataDir === undefined;
  const dataDir = options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'attest-workflow-'));
  const env = {
    ATTEST_HTTP_PORT: '0',
    ATTEST_GRAPH_SIM_PORT: '0',
    ATTEST_AZURITE_TABLE_PORT: '0',
    ATTEST_AZURITE_BLOB_PORT: '0',
    // The offboarding sweep changes the demo tenant on its first tick (a disabled user still in a catalog group
    // loses that membership): off unless a test turns it on, so tests of other features keep their tenant.
    ATTEST_OFFBOARDING_SCHEDULE: OFFBOARDING_OFF,
    // The weekly evidence e-mail (Mondays 07:00) would build bundles and send mail in tests that move the clock
    // days ahead: off unless a test turns it on.
    ATTEST_EVIDENCE_MAIL_SCHEDULE: OFFBOARDING_OFF,
    ...options.env,
  };
  const log = process.env.DEBUG_WORKFLOW ? (line: string) => console.log(line) : () => undefined;
  const host = await startLocalHost({
    config: loadConfig(env, 'local'),
    dataDir,
    playground: false,
    log,
    clock: options.clock,
    teams: options.teams ?? false,
    overrides: options.overrides,
  });
  const deps = await host.services.workflow();
  const service = new AccessRequestService(
    deps,
    options.durable ? options.durable(host.durable) : host.durable,
  );
  const events = async (stream: string) => {
    const out: AuditEvent[] = [];
    for await (const e of deps.audit.read(stream)) out.push(e);
    return out;
  };
  return {
    host,
    deps,
    service,
    dataDir,
    events,
    actions: async (stream) => (await events(stream)).map((e) => e.action),
    settled: async (id, statuses = ['Completed', 'Failed', 'Terminated']) => {
      await eventually(
        async () => {
          const s = await host.durable.getStatus(id);
          return s && statuses.includes(s.runtimeStatus) ? true : undefined;
        },
        30000,
        `${id} to reach ${statuses.join('/')}`,
      );
    },
    until: async (id, action) => {
      const seq = await eventually(
        async () => (await events(id)).find((e) => e.action === action)?.seq,
        30000,
        `${action} in ${id}`,
      );
      // The stored state follows its event: wait until it reflects this one too.
      await eventually(
        async () => (((await deps.requests.get(id))?.auditSeq ?? 0) >= seq ? true : undefined),
        30000,
        `the stored state of ${id} to reach seq ${seq}`,
      );
    },
    stageOpen: async (id, n) => {
      await eventually(
        async () => {
          const r = await deps.requests.get(id);
          const stage = r?.stages[r.currentStage];
          return stage?.number === n && stage.outcome === 'pending' ? true : undefined;
        },
        30000,
        `stage ${n} of ${id} to open`,
      );
    },
    stop: async () => {
      await host.stop();
      if (!ownData) return;
      await stopLeftoverAzurite(dataDir);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
