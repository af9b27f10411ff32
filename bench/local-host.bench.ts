/**
 * Local host figures (issue: Foundation): start to healthy, and the replay host's throughput and
 * raise-event latency over Azurite.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as df from 'durable-functions';
import type { TableFactory } from '../src/adapters/tables/table-client-factory';
import { stopLeftoverAzurite } from '../src/local/azurite';
import { ReplayHost } from '../src/local/replay-host/replay-host';
import { TaskHubStore } from '../src/local/replay-host/task-hub-store';
import { ROOT, percentile, withStorage, type BenchRow } from './bench-kit';

/** Spawns `npm start`'s entry on fresh data and times start → /healthz 200 and start → banner. */
async function localHostStart(): Promise<BenchRow[]> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-start-'));
  const env = {
    ...process.env,
    ATTEST_HTTP_PORT: '0',
    ATTEST_GRAPH_SIM_PORT: '0',
    ATTEST_AZURITE_TABLE_PORT: '0',
    ATTEST_AZURITE_BLOB_PORT: '0',
    ATTEST_PLAYGROUND_PORT: '0',
  };
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'dist', 'src', 'local', 'main.js'), '--data', dataDir, '--fresh'],
    {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let bannerAt = 0;
  child.stdout.on('data', (d) => {
    out += d;
    if (!bannerAt && out.includes('Press Ctrl+C to stop.')) bannerAt = performance.now();
  });
  child.stderr.on('data', (d) => (out += d));
  let healthyAt = 0;
  while (performance.now() - t0 < 60000 && (!healthyAt || !bannerAt)) {
    if (!healthyAt) {
      try {
        // The ports are the OS's choice: the host records its URL in the data folder once it serves.
        const { url } = JSON.parse(fs.readFileSync(path.join(dataDir, 'host.json'), 'utf8')) as {
          url: string;
        };
        const res = await fetch(`${url}/healthz`);
        if (res.ok) healthyAt = performance.now();
      } catch {
        // not listening yet
      }
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  if (!healthyAt) throw new Error(`the local host did not become healthy:\n${out}`);
  return [
    {
      figure: 'local host: start to healthy',
      value: `${((healthyAt - t0) / 1000).toFixed(2)} s`,
      note: 'fresh data folder, /healthz 200',
    },
    {
      figure: 'local host: start to ready (Playground up)',
      value: bannerAt ? `${((bannerAt - t0) / 1000).toFixed(2)} s` : 'n/a',
      note: 'banner printed',
    },
  ];
}

/** Orchestrations of three activities each, all started at once, on the replay host over Azurite. */
async function replayThroughput(tables: TableFactory, count: number): Promise<BenchRow[]> {
  function* threeSteps(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
    const n = context.df.getInput() as number;
    const a = yield context.df.callActivity('add-one', n);
    const b = yield context.df.callActivity('add-one', a);
    const c = yield context.df.callActivity('add-one', b);
    return c;
  }
  const host = new ReplayHost(new TaskHubStore(tables.client('BenchThroughput')), {
    orchestrations: new Map([['three-steps', threeSteps]]),
    activities: new Map([['add-one', async (n: unknown) => (n as number) + 1]]),
  });
  await host.start();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: count }, (_, i) => host.startNew('three-steps', { input: i })));
  await host.idle();
  const seconds = (performance.now() - t0) / 1000;
  const done = (await host.list({ runtimeStatus: ['Completed'] })).length;
  await host.stop();
  if (done !== count) throw new Error(`only ${done} of ${count} orchestrations completed`);
  return [
    {
      figure: 'replay host: orchestrations completed per second (3 activities each)',
      value: (count / seconds).toFixed(1),
      note: `${count} started at once; ${seconds.toFixed(1)} s`,
    },
  ];
}

/** One orchestration at a time: raise the event, time until the activity after it starts. */
async function raiseToActivity(tables: TableFactory, samples: number): Promise<BenchRow[]> {
  const startedAt = new Map<string, number>();
  function* waitThenAct(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
    yield context.df.waitForExternalEvent('Go');
    return yield context.df.callActivity('mark', context.df.instanceId);
  }
  const host = new ReplayHost(new TaskHubStore(tables.client('BenchLatency')), {
    orchestrations: new Map([['wait-then-act', waitThenAct]]),
    activities: new Map([
      [
        'mark',
        async (id: unknown) => {
          startedAt.set(id as string, performance.now());
          return id;
        },
      ],
    ]),
  });
  await host.start();
  const latencies: number[] = [];
  for (let i = 0; i < samples; i++) {
    const id = await host.startNew('wait-then-act');
    await host.idle(); // the orchestration now waits on its event
    const t0 = performance.now();
    await host.raiseEvent(id, 'Go', null, { eventId: `go-${i}` });
    await host.idle();
    latencies.push((startedAt.get(id) as number) - t0);
  }
  await host.stop();
  latencies.sort((a, b) => a - b);
  return [
    {
      figure: 'replay host: raise-event → next activity start, p50',
      value: `${percentile(latencies, 50).toFixed(1)} ms`,
      note: `${samples} samples`,
    },
    {
      figure: 'replay host: raise-event → next activity start, p99',
      value: `${percentile(latencies, 99).toFixed(1)} ms`,
      note: `${samples} samples`,
    },
  ];
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const rows = await localHostStart();
  await withStorage(async (tables) => {
    rows.push(...(await replayThroughput(tables, Number(process.env.BENCH_ORCHESTRATIONS ?? 200))));
    rows.push(...(await raiseToActivity(tables, Number(process.env.BENCH_SAMPLES ?? 200))));
  });
  return rows;
}
