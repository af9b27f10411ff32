/**
 * Access-request figures (issue: access requests end to end): from an approver's decision being accepted by
 * the application service to the Graph member add arriving at the simulator (latency 0), p50 and p99. Runs
 * the real local host in-process: Azurite, the Graph simulator, the replay host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/config';
import { stopLeftoverAzurite } from '../src/local/azurite';
import { PLAYGROUND_USERS } from '../src/local/graph-sim/demo-tenant';
import { startLocalHost } from '../src/local/local-host';
import { AccessRequestService } from '../src/workflows/access-request.service';
import { percentile, type BenchRow } from './bench-kit';

const SAMPLES = Number(process.env.BENCH_DECISIONS ?? 50);

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-requests-'));
  const config = loadConfig(
    {
      ATTEST_AZURITE_TABLE_PORT: '0',
      ATTEST_AZURITE_BLOB_PORT: '0',
      ATTEST_GRAPH_SIM_PORT: '0',
    },
    'local',
  );
  const host = await startLocalHost({
    config,
    dataDir,
    serve: false,
    playground: false,
    log: () => undefined,
  });
  try {
    const deps = await host.services.workflow();
    const service = new AccessRequestService(deps, host.durable);
    const sim = host.graphSim;
    if (!sim) throw new Error('the bench needs the Graph simulator');
    const [, priya, , , siobhan] = PLAYGROUND_USERS;
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      // snowflake/analyst: one stage (the manager); each sample is a fresh request, revoked before the next.
      const { requestId } = await service.submit({
        actor: { objectId: siobhan.id, upn: siobhan.userPrincipalName, channel: 'cli' },
        appId: 'snowflake',
        roleId: 'analyst',
        durationMs: 3600_000,
        justification: 'Quarterly churn analysis for the board pack',
      });
      await host.durable.idle();
      const before = sim.writes().length;
      await service.decide({
        actor: { objectId: priya.id, upn: priya.userPrincipalName, channel: 'cli' },
        requestId,
        decision: 'approve',
      });
      const decidedAt = Date.now();
      let addedAt = 0;
      while (!addedAt) {
        const add = sim
          .writes()
          .slice(before)
          .find((w) => w.method === 'POST' && w.path.includes('/members/$ref'));
        if (add) addedAt = new Date(add.time).getTime();
        else await new Promise((r) => setTimeout(r, 2));
      }
      latencies.push(addedAt - decidedAt);
      await host.durable.idle();
      await service.revoke({ actor: { objectId: siobhan.id, channel: 'cli' }, requestId });
      await host.durable.idle();
    }
    latencies.sort((a, b) => a - b);
    const note = `${SAMPLES} one-stage requests on the local host; simulator latency 0`;
    return [
      { figure: 'decision recorded → Graph add issued, p50', value: `${percentile(latencies, 50)} ms`, note },
      { figure: 'decision recorded → Graph add issued, p99', value: `${percentile(latencies, 99)} ms`, note },
    ];
  } finally {
    await host.stop();
    await stopLeftoverAzurite(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
