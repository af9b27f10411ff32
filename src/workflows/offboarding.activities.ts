/**
 * The offboarding sweep's activities: find who left (a Graph users delta round from the saved link; the first
 * round ever, or a refused link, is a full sweep), take each leaver's access away through the ledger's governed
 * removal (reason `offboarded`), close the Attest requests whose grants that ended, and save the delta link
 * once every leaver of the round is handled.
 *
 * Each activity can run twice (a retry, a host killed mid-run) and the world ends up the same:
 * - a round is read again from the same saved link (a delta link can be used again: a replay sees the same
 *   changes), and the link is saved last, by its own activity, after every leaver's activity succeeded;
 * - governed removal is idempotent (the ledger row is ETag-guarded; a removal repeated answers `not-member`);
 *   a (run, group) already audited in the user's stream is not removed or audited again;
 * - each Revoke event carries an id derived from the request, so a repeat is a duplicate the durable client
 *   and the orchestration both drop; a request found Revoking or finished is left alone.
 *
 * NB. Failure paths. The directory down for the delta round: the round answers `unavailable`, the link is kept
 * and the next tick tries again. A removal the directory refuses or cannot do now: the ledger keeps it owed
 * (the audit event says `removal-owed`), the request's own orchestration retries it on durable timers while it
 * reads Revoking, and the membership reconcile's overdue path retries a standing membership's removal and puts
 * it in the admins' daily digest of overdue revocations.
 */
import { isDirectoryOutage } from '../ports/directory.port';
import { memberOffboarded, type OffboardedBecause } from '../domain/audit/audit-events';
import type { AuditActor } from '../domain/audit/audit-event.model';
import { grantClaims } from '../domain/ledger/membership-ledger';
import { catalogRoleGroups } from '../domain/ledger/reconcile-batches';
import type { RequestStatus } from '../domain/request/request-lifecycle';
import { DirectoryError, type UsersDelta } from '../ports/directory.port';
import { DurableClientError, type DurableClientPort } from '../ports/durable-client.port';
import type { RevokeEvent } from './access-request.types';
import { governedRemove } from './membership.operations';
import { EventNames } from './names';
import type { WorkflowDeps } from './workflow-deps';

const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };

/** The ReconcileState key of the users delta link (batch keys are hashes of group ids: no clash). */
export const USERS_DELTA_KEY = 'offboarding-users-delta';

/** The governed removal's reason, on the ledger and on each request it ends. */
const REASON = 'offboarded';

/** Requests still able to hold access: an offboarded requester's are all ended (see {@link closeRequests}). */
const OPEN: ReadonlySet<RequestStatus> = new Set<RequestStatus>([
  'Submitted',
  'PendingApproval',
  'Approved',
  'Active',
]);

/** The audit stream of one leaver: every membership offboarding removed from them, in order. */
export function offboardingStream(userId: string): string {
  return `offboarding-${userId.toLowerCase()}`;
}

/** What a run passes every activity: its id (the audit events' correlation) and its time. */
export interface OffboardingRunRef {
  runId: string;
  /** The run's time (ISO), from the orchestration's input: the same on every replay. */
  at: string;
}

/** Someone who left: disabled, or deleted, in Entra. */
export interface Leaver {
  userId: string;
  because: OffboardedBecause;
}

/** What a round found. */
export interface LeaversFound {
  /** `delta`: changes since the saved link; `full`: every user (first round ever, or the link was refused). */
  mode: 'delta' | 'full';
  fullBecause?: 'first-round' | 'delta-expired';
  /** Users the round reported (all of them in a full round). */
  usersSeen: number;
  leavers: Leaver[];
  /** Where the next round starts; saved only after every leaver is handled. */
  deltaLink: string;
}

/** What offboarding one leaver did. */
export interface LeaverSummary {
  userId: string;
  /** Memberships removed, found already gone, and left owed (the directory refused or was down). */
  removed: number;
  notMember: number;
  owed: number;
  /** Requests sent a Revoke (reason offboarded). */
  requestsEnded: string[];
}

/** Finds who left since the last round. The directory down: `{ unavailable }`, and the link stays as it was. */
export async function findLeavers(
  deps: WorkflowDeps,
  _run: OffboardingRunRef,
): Promise<LeaversFound | { unavailable: string }> {
  try {
    return await leaversOfRound(deps);
  } catch (err) {
    // Answered at once rather than retried for half a minute: the next tick tries again from the same link.
    if (isDirectoryOutage(err)) return { unavailable: err.message };
    throw err;
  }
}

async function leaversOfRound(deps: WorkflowDeps): Promise<LeaversFound> {
  const link = await deps.reconcile.deltaLink(USERS_DELTA_KEY);
  if (link) {
    let delta: UsersDelta | undefined;
    try {
      delta = await deps.directory.usersDelta({ deltaLink: link });
    } catch (err) {
      if (!(err instanceof DirectoryError && err.code === 'DIRECTORY.DELTA_EXPIRED')) throw err;
    }
    if (delta) {
      const leavers: Leaver[] = [];
      for (const c of delta.changes) {
        if (c.deleted) leavers.push({ userId: c.userId.toLowerCase(), because: 'deleted' });
        else if (c.accountEnabled === false)
          leavers.push({ userId: c.userId.toLowerCase(), because: 'disabled' });
      }
      return {
        mode: 'delta',
        usersSeen: delta.changes.length,
        leavers: sortLeavers(leavers),
        deltaLink: delta.deltaLink,
      };
    }
    return fullSweep(deps, 'delta-expired');
  }
  return fullSweep(deps, 'first-round');
}

/**
 * Every user, and a fresh link: the leavers are the disabled users who are a direct member of a catalog group
 * or have a ledger row there, and the users with a ledger row in a catalog group who no longer exist (deleted,
 * whose deletion the refused link would have told). A disabled user who holds nothing of Attest's is no leaver
 * to act on.
 */
async function fullSweep(deps: WorkflowDeps, because: LeaversFound['fullBecause']): Promise<LeaversFound> {
  const round = await deps.directory.usersDelta({ initial: true });
  const existing = new Set<string>();
  const disabled = new Set<string>();
  for (const c of round.changes) {
    if (c.deleted) continue;
    const id = c.userId.toLowerCase();
    existing.add(id);
    if (c.accountEnabled === false) disabled.add(id);
  }
  const holders = new Set<string>();
  for (const groupId of catalogRoleGroups(deps.catalog.catalog)) {
    for (const row of await deps.ledger.byGroup(groupId)) {
      if (row.claims.length || row.owed.length) holders.add(row.userId.toLowerCase());
    }
    if (!disabled.size) continue;
    try {
      for (const m of await deps.directory.groupMembers(groupId)) holders.add(m.id.toLowerCase());
    } catch (err) {
      // A catalog group missing from the directory holds nobody; the catalog check reports it.
      if (!(err instanceof DirectoryError && err.code === 'DIRECTORY.NOT_FOUND')) throw err;
    }
  }
  const leavers: Leaver[] = [];
  for (const userId of holders) {
    if (!existing.has(userId)) leavers.push({ userId, because: 'deleted' });
    else if (disabled.has(userId)) leavers.push({ userId, because: 'disabled' });
  }
  return {
    mode: 'full',
    fullBecause: because,
    usersSeen: round.changes.length,
    leavers: sortLeavers(leavers),
    deltaLink: round.deltaLink,
  };
}

const sortLeavers = (l: Leaver[]) => l.sort((a, b) => a.userId.localeCompare(b.userId));

/** The catalog groups the user is a direct member of now (Entra removes a deleted user from every group). */
async function directCatalogGroups(deps: WorkflowDeps, userId: string): Promise<string[]> {
  const groups = catalogRoleGroups(deps.catalog.catalog);
  if (!groups.length) return [];
  let transitive: string[];
  try {
    transitive = await deps.directory.memberGroupIds(userId, groups);
  } catch (err) {
    if (!(err instanceof DirectoryError && err.code === 'DIRECTORY.NOT_FOUND')) throw err;
    // A catalog group, or the user, is gone: ask group by group and skip what does not exist.
    transitive = [];
    for (const g of groups) {
      try {
        if (await deps.directory.isMember(g, userId)) transitive.push(g);
      } catch (e) {
        if (!(e instanceof DirectoryError && e.code === 'DIRECTORY.NOT_FOUND')) throw e;
      }
    }
    return transitive.map((g) => g.toLowerCase());
  }
  const direct: string[] = [];
  for (const g of transitive) if (await deps.directory.isMember(g, userId)) direct.push(g.toLowerCase());
  return direct;
}

/**
 * Takes one leaver's access away: every ledger row that still holds or owes something, and every catalog group
 * they are a direct member of, through governed removal (reason `offboarded`); one `member.offboarded` event
 * per membership in the user's stream; then every open request of theirs gets a Revoke (reason offboarded).
 */
export async function offboardUser(
  deps: WorkflowDeps,
  durable: DurableClientPort,
  input: OffboardingRunRef & Leaver,
): Promise<LeaverSummary> {
  const userId = input.userId.toLowerCase();
  const stream = offboardingStream(userId);
  const done = new Set<string>();
  for await (const e of deps.audit.read(stream)) {
    if (e.correlation.instanceId === input.runId && e.action === 'member.offboarded')
      done.add(String((e.details.group as { id?: string } | undefined)?.id ?? ''));
  }
  const rows = (await deps.ledger.byUser(userId)).filter((r) => r.claims.length || r.owed.length);
  const groups = new Set(rows.map((r) => r.groupId.toLowerCase()));
  if (input.because === 'disabled') for (const g of await directCatalogGroups(deps, userId)) groups.add(g);

  const summary: LeaverSummary = { userId, removed: 0, notMember: 0, owed: 0, requestsEnded: [] };
  for (const groupId of [...groups].sort()) {
    if (done.has(groupId)) continue;
    const { entry } = await deps.ledger.get(groupId, userId);
    const held = new Set([
      ...grantClaims(entry).map((c) => c.requestId),
      ...entry.owed.filter((o) => !o.requestId.startsWith('governed:')).map((o) => o.requestId),
    ]);
    const result = await governedRemove(deps, { groupId, userId, reason: REASON });
    const at = deps.clock.now().toISOString();
    const ctx = {
      stream,
      actor: SYSTEM,
      subject: `group:${groupId}/user:${userId}`,
      correlation: { instanceId: input.runId, ...(held.size ? { requestId: [...held][0] } : {}) },
    };
    if (result.ok) {
      for (const r of result.endedRequestIds ?? []) held.add(r);
      const removed = result.membership === 'removed' || result.wasMember;
      summary[removed ? 'removed' : 'notMember']++;
      await deps.audit.append(
        memberOffboarded(ctx, {
          group: { id: groupId },
          userId,
          because: input.because,
          requestIds: [...held].sort(),
          outcome: removed ? 'removed' : 'not-member',
          removedAt: at,
          ...(result.status !== undefined
            ? {
                graph: {
                  status: result.status,
                  wasMember: result.wasMember,
                  ...(result.requestId ? { requestId: result.requestId } : {}),
                },
              }
            : {}),
        }),
      );
    } else {
      summary.owed++;
      await deps.audit.append(
        memberOffboarded(ctx, {
          group: { id: groupId },
          userId,
          because: input.because,
          requestIds: [...held].sort(),
          outcome: 'removal-owed',
          error: { code: result.code, reason: result.reason },
        }),
      );
    }
  }
  summary.requestsEnded = await closeRequests(deps, durable, userId);
  return summary;
}

/**
 * Sends every open request of the leaver a Revoke with reason `offboarded`, so each ends revoked-offboarded
 * (its orchestration finds the claim already ended and the member gone: no second removal). Requests not yet
 * granted take the Revoke as soon as their grant is made. Returns the requests signalled.
 */
async function closeRequests(
  deps: WorkflowDeps,
  durable: DurableClientPort,
  userId: string,
): Promise<string[]> {
  const open = (await deps.requests.byRequester(userId)).filter((r) => OPEN.has(r.status));
  const ended: string[] = [];
  for (const request of open) {
    const event: RevokeEvent = { eventId: `offboarded-${request.id}`, actor: SYSTEM, reason: 'offboarded' };
    try {
      await durable.raiseEvent(request.id, EventNames.revoke, event, { eventId: event.eventId });
      ended.push(request.id);
    } catch (err) {
      // Finished meanwhile (denied, expired, revoked): nothing left to end.
      if (
        err instanceof DurableClientError &&
        (err.code === 'INSTANCE.NOT_RUNNING' || err.code === 'INSTANCE.NOT_FOUND')
      )
        continue;
      throw err;
    }
  }
  return ended.sort();
}

/** Saves the link the round ended with: the next round starts after everything this one reported. */
export async function saveUsersDeltaLink(
  deps: WorkflowDeps,
  input: OffboardingRunRef & { deltaLink: string },
): Promise<{ saved: true }> {
  await deps.reconcile.saveDeltaLink(USERS_DELTA_KEY, input.deltaLink);
  return { saved: true };
}
