/**
 * The DurableClientPort on Azure: the Durable Functions client binding, plus event-id de-duplication in
 * Table Storage (the binding itself delivers every raise, so a retried card action would be seen twice): a
 * row per event id, written once the event was raised.
 */
import { writeLog } from '../telemetry/logger';
import { RestError, type TableClient } from '@azure/data-tables';
import * as df from 'durable-functions';
import {
  DurableClientError,
  type DurableClientPort,
  type InstanceStatus,
  type RaiseEventResult,
  type RuntimeStatus,
} from '../../ports/durable-client.port';

/**
 * Statuses of an instance that is still alive. NB. ContinuedAsNew is the moment between two executions: the
 * Durable Functions client raises events to it (its IsOrchestrationRunning counts it) and the next execution
 * receives them, so refusing it here would drop a signal raised while an orchestration restarts itself.
 */
const LIVE: RuntimeStatus[] = ['Pending', 'Running', 'ContinuedAsNew'];

/** Whether an event's "delivered" marker row is there. */
async function markerExists(
  table: TableClient,
  marker: { partitionKey: string; rowKey: string },
): Promise<boolean> {
  try {
    await table.getEntity(marker.partitionKey, marker.rowKey);
    return true;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return false;
    throw err;
  }
}

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
        if (existing && LIVE.includes(existing.runtimeStatus)) {
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
      if (!LIVE.includes(existing.runtimeStatus)) {
        throw new DurableClientError(
          'INSTANCE.NOT_RUNNING',
          `Orchestration instance '${instanceId}' is ${existing.runtimeStatus}: event '${eventName}' was not delivered.`,
        );
      }
      const table = await eventIds();
      const marker = {
        partitionKey: instanceId,
        rowKey: Buffer.from(eventId).toString('base64url').slice(0, 512),
      };
      // NB. The marker means "delivered", so it is written only after the raise succeeded: a raise that failed
      // leaves none, and its retry with the same id raises again. Two retries racing may both raise; that is
      // safe, as external events are at-least-once and the orchestration takes each event id once.
      if (await markerExists(table, marker)) return { delivered: false, duplicate: true };
      await client.raiseEvent(instanceId, eventName, data);
      try {
        await table.createEntity(marker);
      } catch (err) {
        // 409: a racing retry marked it. Anything else: the event is delivered all the same; without the
        // marker a later retry raises it again, which the orchestration ignores.
        if (!(err instanceof RestError && err.statusCode === 409)) {
          writeLog(
            'warn',
            'durable-client',
            `durable: event ${eventName} for ${instanceId} delivered but not marked: ${String(err)}`,
          );
        }
      }
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
