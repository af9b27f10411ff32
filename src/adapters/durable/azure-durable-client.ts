/**
 * The DurableClientPort on Azure: the Durable Functions client binding, plus event-id de-duplication in
 * Table Storage (the binding itself delivers every raise, so a retried card action would be seen twice).
 */
import { RestError, type TableClient } from '@azure/data-tables';
import * as df from 'durable-functions';
import {
  DurableClientError,
  type DurableClientPort,
  type InstanceStatus,
  type RaiseEventResult,
  type RuntimeStatus,
} from '../../ports/durable-client.port';

/** Wraps the binding's client for one invocation. */
export function azureDurableClient(
  client: df.DurableClient,
  eventIds: () => Promise<TableClient>,
): DurableClientPort {
  const toStatus = (s: df.DurableOrchestrationStatus): InstanceStatus => ({
    instanceId: s.instanceId,
    name: s.name,
    runtimeStatus: s.runtimeStatus as RuntimeStatus,
    input: s.input,
    output: s.output,
    customStatus: s.customStatus,
    createdTime: new Date(s.createdTime),
    lastUpdatedTime: new Date(s.lastUpdatedTime),
  });
  const status = async (instanceId: string) => {
    const s = await client.getStatus(instanceId);
    // The binding answers an unknown id with an empty status rather than an error.
    return s && s.instanceId ? toStatus(s) : undefined;
  };
  return {
    async startNew(name, options = {}) {
      if (options.instanceId) {
        const existing = await status(options.instanceId);
        if (existing && ['Pending', 'Running'].includes(existing.runtimeStatus)) {
          throw new DurableClientError(
            'INSTANCE.EXISTS',
            `Orchestration instance '${options.instanceId}' is already ${existing.runtimeStatus}.`,
          );
        }
      }
      return client.startNew(name, { instanceId: options.instanceId, input: options.input });
    },
    async raiseEvent(instanceId, eventName, data, { eventId }): Promise<RaiseEventResult> {
      const existing = await status(instanceId);
      if (!existing) {
        throw new DurableClientError(
          'INSTANCE.NOT_FOUND',
          `No orchestration instance '${instanceId}': event '${eventName}' was not delivered.`,
        );
      }
      if (!['Pending', 'Running'].includes(existing.runtimeStatus)) {
        throw new DurableClientError(
          'INSTANCE.NOT_RUNNING',
          `Orchestration instance '${instanceId}' is ${existing.runtimeStatus}: event '${eventName}' was not delivered.`,
        );
      }
      const table = await eventIds();
      try {
        await table.createEntity({
          partitionKey: instanceId,
          rowKey: Buffer.from(eventId).toString('base64url').slice(0, 512),
        });
      } catch (err) {
        if (err instanceof RestError && err.statusCode === 409) return { delivered: false, duplicate: true };
        throw err;
      }
      await client.raiseEvent(instanceId, eventName, data);
      return { delivered: true, duplicate: false };
    },
    getStatus: status,
    async terminate(instanceId, reason) {
      await client.terminate(instanceId, reason);
    },
    async list(filter) {
      const all = filter?.runtimeStatus
        ? await client.getStatusBy({ runtimeStatus: filter.runtimeStatus as df.OrchestrationRuntimeStatus[] })
        : await client.getStatusAll();
      return all.map(toStatus);
    },
  };
}
