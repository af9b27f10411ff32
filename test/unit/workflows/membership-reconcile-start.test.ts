import {
  DurableClientError,
  type DurableClientPort,
  type InstanceStatus,
  type RuntimeStatus,
} from '../../../src/ports/durable-client.port';
import { startMembershipReconcile } from '../../../src/workflows/membership-reconcile.orchestration';
import { MEMBERSHIP_RECONCILE_INSTANCE, OrchestrationNames } from '../../../src/workflows/names';

const INTERVAL = 15 * 60_000;
const now = new Date('2026-03-01T09:15:00.000Z');
const clock = { now: () => now };

function durable(last?: { status: RuntimeStatus; createdAgoMs: number }, startFails?: Error) {
  const started: { name: string; options: unknown }[] = [];
  const port = {
    getStatus: async (): Promise<InstanceStatus | undefined> =>
      last && {
        instanceId: MEMBERSHIP_RECONCILE_INSTANCE,
        name: OrchestrationNames.membershipReconcile,
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
      return MEMBERSHIP_RECONCILE_INSTANCE;
    },
  } as unknown as DurableClientPort;
  return { port, started };
}

test('the first tick starts the singleton run with the time, the run id and the interval', async () => {
  const d = durable();
  expect(await startMembershipReconcile(d.port, clock, INTERVAL)).toBe(`reconcile-${now.toISOString()}`);
  expect(d.started).toEqual([
    {
      name: OrchestrationNames.membershipReconcile,
      options: {
        instanceId: MEMBERSHIP_RECONCILE_INSTANCE,
        input: { runId: `reconcile-${now.toISOString()}`, at: now.toISOString(), intervalMs: INTERVAL },
      },
    },
  ]);
});

test.each([
  ['a run is still going', { status: 'Running' as const, createdAgoMs: INTERVAL * 3 }],
  ['a run is about to start', { status: 'Pending' as const, createdAgoMs: 0 }],
  [
    'a run started less than half an interval ago (a burst of missed ticks)',
    { status: 'Completed' as const, createdAgoMs: INTERVAL / 3 },
  ],
])('a tick is skipped when %s', async (_, last) => {
  const d = durable(last);
  expect(await startMembershipReconcile(d.port, clock, INTERVAL)).toBeUndefined();
  expect(d.started).toEqual([]);
});

test('the next tick after a finished run starts another', async () => {
  const d = durable({ status: 'Completed', createdAgoMs: INTERVAL });
  expect(await startMembershipReconcile(d.port, clock, INTERVAL)).toBeDefined();
  expect(d.started).toHaveLength(1);
});

test('another host starting the run first is a skip, not a failure', async () => {
  const d = durable(undefined, new DurableClientError('INSTANCE.EXISTS', 'already Running'));
  expect(await startMembershipReconcile(d.port, clock, INTERVAL)).toBeUndefined();
});
