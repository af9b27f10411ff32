/**
 * The Azure durable client's event de-duplication, against Azurite. The Durable Functions binding is the edge
 * we cannot run here, so a fake stands in for it: an orchestration that is running, and a raiseEvent that
 * can be told to fail (as the host's HTTP API does when it times out or answers 500).
 */
import type * as df from 'durable-functions';
import { azureDurableClient } from '../../../src/adapters/durable/azure-durable-client';
import type { DurableClientPort } from '../../../src/ports/durable-client.port';
import { startTestStorage, type TestStorage } from '../../support/storage';

let storage: TestStorage;
beforeAll(async () => {
  storage = await startTestStorage('attest-durable-');
});
afterAll(async () => {
  await storage?.stop();
});

/** The binding's client for one running instance; its raiseEvent fails the first `failures` times. */
function fakeBinding(failures = 0, runtimeStatus = 'Running') {
  const raised: { instanceId: string; eventName: string; data: unknown }[] = [];
  let left = failures;
  const client = {
    getStatus: async (instanceId: string) => ({
      instanceId,
      name: 'access-request',
      runtimeStatus,
      input: null,
      output: null,
      customStatus: null,
      createdTime: new Date(0).toISOString(),
      lastUpdatedTime: new Date(0).toISOString(),
    }),
    raiseEvent: async (instanceId: string, eventName: string, data: unknown) => {
      if (left-- > 0) throw new Error('Webhook failed with status code 500');
      raised.push({ instanceId, eventName, data });
    },
  };
  return { client: client as unknown as df.DurableClient, raised };
}

let n = 0;
function durableClient(binding: df.DurableClient): DurableClientPort {
  const table = `TestHub${++n}EventIds`;
  return azureDurableClient(binding, () => storage.tables.ensureTable(table));
}

const decision = { decisionId: 'teams:act-1', decision: 'approve' };

test('a raise that failed is delivered when it is retried with the same event id', async () => {
  const { client, raised } = fakeBinding(1);
  const durable = durableClient(client);
  await expect(
    durable.raiseEvent('req-1', 'decision', decision, { eventId: decision.decisionId }),
  ).rejects.toThrow('status code 500');
  await expect(
    durable.raiseEvent('req-1', 'decision', decision, { eventId: decision.decisionId }),
  ).resolves.toEqual({ delivered: true, duplicate: false });
  expect(raised).toEqual([{ instanceId: 'req-1', eventName: 'decision', data: decision }]);
});

test('an event delivered once is answered as a duplicate and not raised again', async () => {
  const { client, raised } = fakeBinding();
  const durable = durableClient(client);
  await expect(
    durable.raiseEvent('req-2', 'decision', decision, { eventId: decision.decisionId }),
  ).resolves.toEqual({ delivered: true, duplicate: false });
  await expect(
    durable.raiseEvent('req-2', 'decision', decision, { eventId: decision.decisionId }),
  ).resolves.toEqual({ delivered: false, duplicate: true });
  expect(raised).toHaveLength(1);
  // The same event id on another instance is another event.
  await expect(
    durable.raiseEvent('req-3', 'decision', decision, { eventId: decision.decisionId }),
  ).resolves.toEqual({ delivered: true, duplicate: false });
});

test('an instance between two executions (ContinuedAsNew) takes events; a finished one refuses them', async () => {
  // The binding raises to ContinuedAsNew too (the next execution receives the event): refusing it here would
  // drop a review campaign's signal raised while the campaign restarts itself.
  const restarting = fakeBinding(0, 'ContinuedAsNew');
  await expect(
    durableClient(restarting.client).raiseEvent(
      'review-1',
      'ReviewSignal',
      { kind: 'close' },
      { eventId: 'c-1' },
    ),
  ).resolves.toEqual({ delivered: true, duplicate: false });
  expect(restarting.raised).toHaveLength(1);
  await expect(
    durableClient(restarting.client).startNew('review-campaign', { instanceId: 'review-1' }),
  ).rejects.toMatchObject({ code: 'INSTANCE.EXISTS' });
  const done = fakeBinding(0, 'Completed');
  await expect(
    durableClient(done.client).raiseEvent('review-2', 'ReviewSignal', { kind: 'close' }, { eventId: 'c-2' }),
  ).rejects.toMatchObject({ code: 'INSTANCE.NOT_RUNNING' });
  expect(done.raised).toEqual([]);
});
