/**
 * Test support for access-request scenarios on the in-process host: the demo tenant's people by alias, the
 * actor a channel would pass for them, a request taken through its approval stages to an active grant, and a
 * snapshot of everything a submit could have written.
 */
import { TableNames } from '../../src/adapters/tables/table-names';
import type { AuditActor } from '../../src/domain/audit/audit-event.model';
import type { AccessRequest } from '../../src/domain/request/access-request';
import { DEMO_DOMAIN, demoUserId } from '../../src/local/graph-sim/demo-tenant';
import type { AuditEvent } from '../../src/ports/audit-log.port';
import type { SubmitCommand } from '../../src/workflows/access-request.service';
import { eventually } from './storage';
import type { WorkflowHost } from './workflow-host';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** A person of the demo tenant (src/local/graph-sim/demo-tenant.ts). */
export interface DemoPerson {
  alias: string;
  id: string;
  userPrincipalName: string;
}

/** The demo tenant's person with this UPN alias, e.g. `taylor.brooks`. */
export function demo(alias: string): DemoPerson {
  return { alias, id: demoUserId(alias), userPrincipalName: `${alias}@${DEMO_DOMAIN}` };
}

/** The actor an authenticated channel hands the service for `person`. */
export function as(person: { id: string; userPrincipalName: string }): AuditActor {
  return { objectId: person.id, upn: person.userPrincipalName, channel: 'cli' };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Gives timers (polled every 50 ms under a TestClock) and the episodes they start time to run. */
export async function letTimersRun(w: WorkflowHost): Promise<void> {
  await sleep(400);
  await w.host.durable.idle();
  await sleep(100);
  await w.host.durable.idle();
}

/** The request's state as stored; fails when there is none. */
export async function stored(w: WorkflowHost, requestId: string): Promise<AccessRequest> {
  const request = await w.deps.requests.get(requestId);
  if (!request) throw new Error(`no stored request ${requestId}`);
  return request;
}

/**
 * The request's state once `ready` holds for it. NB. A step appends its audit event and then saves the state,
 * so right after an event shows up the stored state may still be the one before it.
 */
export async function storedWhen(
  w: WorkflowHost,
  requestId: string,
  ready: (request: AccessRequest) => boolean,
): Promise<AccessRequest> {
  return eventually(
    async () => {
      const request = await w.deps.requests.get(requestId);
      return request && ready(request) ? request : undefined;
    },
    30000,
    `the stored state of ${requestId} to be ready`,
  );
}

/** The stream's events with this action, in order. */
export async function eventsOf(w: WorkflowHost, stream: string, action: string): Promise<AuditEvent[]> {
  return (await w.events(stream)).filter((e) => e.action === action);
}

/** The one event of the stream with this action; fails when there is none or more than one. */
export async function onlyEvent(w: WorkflowHost, stream: string, action: string): Promise<AuditEvent> {
  const found = await eventsOf(w, stream, action);
  if (found.length !== 1) throw new Error(`${stream} has ${found.length} ${action} events, expected 1`);
  return found[0];
}

/**
 * Submits `command`, has `approvers[i]` approve stage i + 1, and waits until access is granted. Returns the
 * request id and its state once active.
 */
export async function activeGrant(
  w: WorkflowHost,
  command: SubmitCommand,
  approvers: DemoPerson[],
): Promise<{ requestId: string; request: AccessRequest }> {
  const { requestId, extended } = await w.service.submit(command);
  if (extended) throw new Error(`${command.appId}/${command.roleId} was already held: submit extended it`);
  for (const [i, approver] of approvers.entries()) {
    await w.stageOpen(requestId, i + 1);
    await w.service.decide({ actor: as(approver), requestId, decision: 'approve' });
  }
  await w.until(requestId, 'access.granted');
  return { requestId, request: await storedWhen(w, requestId, (r) => r.status === 'Active') };
}

/** What a submit can write: audit streams, orchestration instances, and the requester's stored requests. */
export interface WriteSnapshot {
  streams: string[];
  instances: string[];
  requests: string[];
}

/** Takes a {@link WriteSnapshot}, with `requesterId`'s stored requests. */
export async function writes(w: WorkflowHost, requesterId: string): Promise<WriteSnapshot> {
  const streams: string[] = [];
  for await (const s of w.deps.audit.streams()) streams.push(s);
  const instances = (await w.host.durable.list()).map((i) => i.instanceId);
  const requests = (await w.deps.requests.byRequester(requesterId)).map((r) => r.id);
  return { streams: streams.sort(), instances: instances.sort(), requests: requests.sort() };
}

/** Waits until the orchestration has scheduled the activity `name` (a TaskScheduled event in its history). */
export async function activityScheduled(w: WorkflowHost, instanceId: string, name: string): Promise<void> {
  const table = w.host.tables.client(TableNames.localTaskHub(w.host.services.config.taskHub));
  await eventually(
    async () => {
      for await (const row of table.listEntities<{ event?: string }>({
        queryOptions: { filter: `PartitionKey eq '${instanceId}'` },
      })) {
        const e = row.event ? (JSON.parse(row.event) as { EventType: number; Name?: string }) : undefined;
        if (e?.EventType === 4 && e.Name === name) return true; // TaskScheduled
      }
      return undefined;
    },
    30000,
    `${instanceId} to schedule ${name}`,
  );
}
