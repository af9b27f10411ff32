import {
  DurableClientError,
  type DurableClientPort,
  type InstanceStatus,
  type RuntimeStatus,
} from '../../../src/ports/durable-client.port';
import { OFFBOARDING_INSTANCE, OrchestrationNames } from '../../../src/workflows/names';
import { startOffboardingSweep } from '../../../src/workflows/offboarding.orchestration';

const INTERVAL = 15 * 60_000;
const now = new Date('2026-03-01T09:15:00.000Z');
const clock = { now: () => now };

function durable(last?: { status: RuntimeStatus; createdAgoMs: number }, startFails?: Error) {
  const started: { name: string; options: unknown }[] = [];
  const port = {
    getStatus: async (): Promise<InstanceStatus | undefined> =>
      last && {
        instanceId: OFFBOARDING_INSTANCE,
        name: OrchestrationNames.offboardingSweep,
        runtimeStatus: last.status,
        input: undefined,
        output: undefined,
        customStatus: undefined,
        createdTime: new Date(now.getTime() - last.createdAgoMs),
        lastUpdatedTime: now,
      },
    startNew: async (name: string, options: unknown) => {
      if (startFails) throw startFails;
      started.push({ name, options });
      return OFFBOARDING_INSTANCE;
    },
  } as unknown as DurableClientPort;
  return { port, started };
}

test('the first tick starts the singleton sweep with its time and run id', async () => {
  const d = durable();
  expect(await startOffboardingSweep(d.port, clock, INTERVAL)).toBe(`offboarding-${now.toISOString()}`);
  expect(d.started).toEqual([
    {
      name: OrchestrationNames.offboardingSweep,
      options: {
        instanceId: OFFBOARDING_INSTANCE,
        input: { runId: `offboarding-${now.toISOString()}`, at: now.toISOString() },
      },
    },
  ]);
});

test.each([
  ['a sweep is still going', { status: 'Running' as const, createdAgoMs: INTERVAL * 3 }],
  ['a sweep is about to start', { status: 'Pending' as const, createdAgoMs: 0 }],
  [
    'a sweep started less than half an interval ago',
    { status: 'Completed' as const, createdAgoMs: INTERVAL / 3 },
  ],
])('a tick is skipped when %s', async (_, last) => {
  const d = durable(last);
  expect(await startOffboardingSweep(d.port, clock, INTERVAL)).toBeUndefined();
  expect(d.started).toEqual([]);
});

test('the next tick after a failed sweep starts another (it reads the same changes again from the kept link)', async () => {
  const d = durable({ status: 'Failed', createdAgoMs: INTERVAL });
  expect(await startOffboardingSweep(d.port, clock, INTERVAL)).toBeDefined();
  expect(d.started).toHaveLength(1);
});

test('another host starting the sweep first is a skip, not a failure', async () => {
  const d = durable(undefined, new DurableClientError('INSTANCE.EXISTS', 'already Running'));
  expect(await startOffboardingSweep(d.port, clock, INTERVAL)).toBeUndefined();
});
