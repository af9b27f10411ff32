import fs from 'node:fs';
import path from 'node:path';
import type * as df from 'durable-functions';
import { DurableClientError } from '../../../src/ports/durable-client.port';
import { ReplayHost, type ActivityRunner } from '../../../src/local/replay-host/replay-host';
import { TaskHubStore } from '../../../src/local/replay-host/task-hub-store';
import { SelfCheck, selfCheckOrchestration, selfCheckRecord } from '../../support/self-check.functions';
import { eventually, startTestStorage, type TestStorage } from '../../support/storage';

let storage: TestStorage;
let effects: string;
const hosts: ReplayHost[] = [];

beforeAll(async () => {
  storage = await startTestStorage();
  effects = path.join(storage.dataDir, 'effects');
  process.env.SELF_CHECK_DIR = effects;
});
afterAll(async () => {
  await Promise.all(hosts.map((h) => h.stop()));
  await storage.stop();
});

function executions(): string[] {
  const file = path.join(effects, 'executions.log');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim().split('\n') : [];
}

async function newHost(
  table: string,
  orchestrations: Record<string, df.OrchestrationHandler> = {
    [SelfCheck.orchestration]: selfCheckOrchestration,
  },
  activities: Record<string, ActivityRunner> = { [SelfCheck.activity]: (input) => selfCheckRecord(input) },
): Promise<ReplayHost> {
  const store = new TaskHubStore(storage.tables.client(table));
  const host = new ReplayHost(
    store,
    {
      orchestrations: new Map(Object.entries(orchestrations)),
      activities: new Map(Object.entries(activities)),
    },
    { log: process.env.DEBUG_REPLAY ? (line) => console.log(line) : undefined },
  );
  hosts.push(host);
  await host.start();
  return host;
}

async function completed(host: ReplayHost, id: string) {
  return eventually(
    async () => {
      const s = await host.getStatus(id);
      return s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus) ? s : undefined;
    },
    20000,
    `${id} to finish`,
  );
}

test('an orchestration with an activity, a timer and an event raced against a timer completes with the event', async () => {
  const host = await newHost('ReplayA');
  const id = await host.startNew(SelfCheck.orchestration, { input: { timerMs: 300, eventTimeoutMs: 20000 } });
  await eventually(async () => (executions().includes(`${id} timer-fired`) ? true : undefined));
  const raised = await host.raiseEvent(id, SelfCheck.event, 'approved', { eventId: 'evt-1' });
  expect(raised).toEqual({ delivered: true, duplicate: false });
  const status = await completed(host, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ decision: 'approved' });
  expect(executions().filter((l) => l.startsWith(id))).toEqual([
    `${id} started`,
    `${id} timer-fired`,
    `${id} decided`,
  ]);
});

test('the timer wins the race when no event arrives', async () => {
  const host = await newHost('ReplayB');
  const id = await host.startNew(SelfCheck.orchestration, { input: { timerMs: 100, eventTimeoutMs: 300 } });
  const status = await completed(host, id);
  expect(status.output).toEqual({ decision: 'timed-out' });
});

test('an event raised twice with the same id is delivered once', async () => {
  const host = await newHost('ReplayC');
  const id = await host.startNew(SelfCheck.orchestration, { input: { timerMs: 50, eventTimeoutMs: 20000 } });
  const first = await host.raiseEvent(id, SelfCheck.event, 'approved', { eventId: 'same' });
  const second = await host.raiseEvent(id, SelfCheck.event, 'denied', { eventId: 'same' });
  expect(first.delivered).toBe(true);
  expect(second).toEqual({ delivered: false, duplicate: true });
  expect((await completed(host, id)).output).toEqual({ decision: 'approved' });
});

test('an event for an unknown instance is refused with a clear error', async () => {
  const host = await newHost('ReplayD');
  await expect(host.raiseEvent('no-such-instance', SelfCheck.event, 'x', { eventId: 'e' })).rejects.toThrow(
    new DurableClientError(
      'INSTANCE.NOT_FOUND',
      "No orchestration instance 'no-such-instance': event 'Approval' was not delivered.",
    ),
  );
});

test('activities retried by policy, sub-orchestrations and continue-as-new run as in Azure', async () => {
  let attempts = 0;
  function* child(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
    const n = context.df.getInput() as number;
    const doubled = yield context.df.callActivity('double', n);
    return doubled;
  }
  function* parent(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
    const round = (context.df.getInput() as number | null) ?? 0;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { RetryOptions } = require('durable-functions') as typeof df;
    const flaky = yield context.df.callActivityWithRetry('flaky', new RetryOptions(50, 3), round);
    const fanned = yield context.df.Task.all(
      [1, 2, 3].map((n) => context.df.callSubOrchestrator('child', n)),
    );
    if (round === 0) {
      context.df.continueAsNew(1);
      return undefined;
    }
    return { flaky, fanned };
  }
  const host = await newHost(
    'ReplayE',
    { parent, child },
    {
      double: async (n) => (n as number) * 2,
      flaky: async (round) => {
        attempts++;
        if (attempts % 2 === 1) throw new Error('transient');
        return `ok-${round}`;
      },
    },
  );
  const id = await host.startNew('parent', { input: 0 });
  const status = await completed(host, id);
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ flaky: 'ok-1', fanned: [2, 4, 6] });
  expect(attempts).toBe(4);
});

test('an orchestrator that throws ends Failed with its message, and terminate stops a waiting instance', async () => {
  function* broken(context: df.OrchestrationContext): Generator<df.Task, unknown, unknown> {
    if (context.df.getInput() === undefined) throw new Error('policy file unreadable');
    return yield context.df.callActivity('never-called');
  }
  const host = await newHost('ReplayF', { broken, [SelfCheck.orchestration]: selfCheckOrchestration });
  const failed = await completed(host, await host.startNew('broken'));
  expect(failed.runtimeStatus).toBe('Failed');
  expect(String(failed.output)).toContain('policy file unreadable');

  const waiting = await host.startNew(SelfCheck.orchestration, {
    input: { timerMs: 60000, eventTimeoutMs: 60000 },
  });
  await eventually(async () =>
    (await host.getStatus(waiting))?.runtimeStatus === 'Running' ? true : undefined,
  );
  await host.terminate(waiting, 'no longer needed');
  expect((await host.getStatus(waiting))?.runtimeStatus).toBe('Terminated');
  await expect(host.raiseEvent(waiting, SelfCheck.event, 'x', { eventId: 'late' })).rejects.toMatchObject({
    code: 'INSTANCE.NOT_RUNNING',
  });
  await expect(host.startNew('unknown-orchestration')).rejects.toMatchObject({
    code: 'ORCHESTRATION.UNKNOWN',
  });
});

test('large payloads (an input, an activity result and a continue-as-new input of ~150,000 characters) are stored across several properties and replay intact', async () => {
  // A request whose stage resolved to hundreds of approvers is this big; Table Storage caps a property at 64 KiB.
  const big = (tag: string) => ({
    tag,
    approvers: Array.from({ length: 1500 }, (_, i) => `approver-${tag}-${i}`.padEnd(90, '.')),
  });
  const orchestration: df.OrchestrationHandler = function* (context) {
    const input = context.df.getInput() as { round: number; carried: ReturnType<typeof big> };
    const echoed = (yield context.df.callActivity('echo-big', big(`r${input.round}`))) as ReturnType<
      typeof big
    >;
    if (input.round < 2) {
      context.df.continueAsNew({ round: input.round + 1, carried: echoed });
      return undefined;
    }
    return {
      carried: input.carried.tag,
      echoed: echoed.tag,
      sizes: [input.carried.approvers.length, echoed.approvers.length],
    };
  };
  const host = await newHost(
    'LargePayloadHub',
    { 'large-payload': orchestration },
    { 'echo-big': async (input) => input },
  );
  expect(JSON.stringify(big('x')).length).toBeGreaterThan(130_000);
  await host.startNew('large-payload', { instanceId: 'large-1', input: { round: 1, carried: big('start') } });
  const status = await completed(host, 'large-1');
  expect(status.runtimeStatus).toBe('Completed');
  expect(status.output).toEqual({ carried: 'r1', echoed: 'r2', sizes: [1500, 1500] });
});
