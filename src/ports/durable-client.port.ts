/**
 * The one client interface the rest of Attest uses to drive orchestrations. In Azure it is backed by the
 * Durable Functions client binding (src/adapters/durable); on the local host by the replay host (src/local).
 */

/** Runtime status names, as Durable Functions spells them. */
export type RuntimeStatus = 'Pending' | 'Running' | 'Completed' | 'Failed' | 'Terminated' | 'ContinuedAsNew';

/** What a caller can learn about one orchestration instance. */
export interface InstanceStatus {
  instanceId: string;
  name: string;
  runtimeStatus: RuntimeStatus;
  input: unknown;
  output: unknown;
  customStatus: unknown;
  createdTime: Date;
  lastUpdatedTime: Date;
}

/** The outcome of raising an event: `duplicate` when an event with the same id was delivered before. */
export interface RaiseEventResult {
  delivered: boolean;
  duplicate: boolean;
}

/** A durable-client failure a caller can act on; `code` is stable. */
export class DurableClientError extends Error {
  constructor(
    readonly code:
      | 'INSTANCE.NOT_FOUND'
      | 'INSTANCE.NOT_RUNNING'
      | 'INSTANCE.EXISTS'
      | 'INSTANCE.INVALID_ID'
      | 'ORCHESTRATION.UNKNOWN'
      | 'EVENT.INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'DurableClientError';
  }
}

/** Start, signal, inspect and stop orchestrations. */
export interface DurableClientPort {
  /** Starts `name`; `instanceId` defaults to a new GUID. Refuses an id whose instance is still running. */
  startNew(name: string, options?: { instanceId?: string; input?: unknown }): Promise<string>;
  /**
   * Delivers an external event. Events are de-duplicated by `eventId`: an id raised again after it was
   * delivered is answered `duplicate` and not delivered again, while a raise that failed may be retried with
   * the same id. NB. Two raises of one id that race may both be delivered (in Azure): orchestrations take an
   * event id once. An unknown or finished instance is refused with a {@link DurableClientError}.
   */
  raiseEvent(
    instanceId: string,
    eventName: string,
    data: unknown,
    options: { eventId: string },
  ): Promise<RaiseEventResult>;
  /** The instance's status, or undefined when there is no such instance. */
  getStatus(instanceId: string): Promise<InstanceStatus | undefined>;
  /** Stops a running instance; its pending work is abandoned. */
  terminate(instanceId: string, reason: string): Promise<void>;
  /** Instances, optionally only those in the given statuses. */
  list(filter?: { runtimeStatus?: RuntimeStatus[] }): Promise<InstanceStatus[]>;
}
