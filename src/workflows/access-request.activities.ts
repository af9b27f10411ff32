/**
 * The access-request activities: each validates its input and calls one operation, and each can run twice
 * (activities are at-least-once) with the world ending up the same.
 */
import { DomainError } from '../domain/domain-error';
import type { AccessRequest, Person } from '../domain/request/access-request';
import {
  endGrantMembership,
  grantMembership,
  type EndResult,
  type GrantResult,
} from './membership.operations';
import type { DirectoryUser } from '../ports/directory.port';
import type {
  LegacyGrant,
  LegacyRevoke,
  MembershipInput,
  NotifyInput,
  RecordStepInput,
  ResolveApproversInput,
  ResolvedApprovers,
} from './access-request.types';
import type { NotifyResult } from '../ports/notifier.port';
import type { WorkflowDeps } from './workflow-deps';

const person = (u: DirectoryUser): Person => ({
  id: u.id,
  upn: u.userPrincipalName,
  displayName: u.displayName,
});

/**
 * Appends the step's audit event at exactly `expectedSeq` and saves the request's state. A retry after the
 * event landed finds the head at or past `expectedSeq` and only saves the state again.
 */
export async function recordStep(
  deps: WorkflowDeps,
  input: RecordStepInput,
): Promise<{ seq: number; hash: string }> {
  const head = await deps.audit.head(input.event.stream);
  const at = head?.seq ?? 0;
  let result: { seq: number; hash: string };
  if (head && at >= input.expectedSeq) {
    result = { seq: input.expectedSeq, hash: head.seq === input.expectedSeq ? head.hash : '' };
  } else if (at !== input.expectedSeq - 1) {
    throw new DomainError(
      'AUDIT.OUT_OF_ORDER',
      `Stream ${input.event.stream} is at seq ${at}, but this step expects to write seq ${input.expectedSeq}.`,
    );
  } else {
    // The ticket update this event owes is written in the same transaction (the outbox), or not at all.
    const outbox = deps.ticketTarget
      ? [
          {
            target: deps.ticketTarget,
            payload: {
              requestId: input.request.id,
              action: input.event.action,
              subject: input.event.subject,
              actor: input.event.actor.upn ?? input.event.actor.objectId,
              status: input.request.status,
              details: input.event.details,
            },
          },
        ]
      : undefined;
    const written = await deps.audit.append(input.event, { outbox });
    result = { seq: written.seq, hash: written.hash };
  }
  await deps.requests.save({ ...input.request, auditSeq: input.expectedSeq });
  return result;
}

/**
 * The people who may decide a stage, resolved through the directory now. Disabled accounts and the requester
 * are left out; when nobody is left, the stage's fallback stands in (never nobody).
 */
export async function resolveApprovers(
  deps: WorkflowDeps,
  input: ResolveApproversInput,
): Promise<ResolvedApprovers> {
  try {
    return await findApprovers(deps, input);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    // Throttled or unavailable is worth another try later; anything else (nobody can decide, a group that is
    // gone, a missing permission) is not.
    const transient = err.code === 'DIRECTORY.THROTTLED' || err.code === 'DIRECTORY.UNAVAILABLE';
    return { approvers: [], failure: { permanent: !transient, code: err.code, reason: err.message } };
  }
}

async function findApprovers(deps: WorkflowDeps, input: ResolveApproversInput): Promise<ResolvedApprovers> {
  const { stage, requesterId } = input;
  const source = stage.approvers;
  let found: DirectoryUser[] = [];
  let why = '';
  switch (source.kind) {
    case 'manager': {
      const chain = await deps.directory.managerChain(requesterId, source.levels);
      const manager = chain[source.levels - 1];
      if (manager) found = [manager];
      else
        why =
          source.levels === 1
            ? 'the requester has no manager'
            : `the requester has no manager ${source.levels} levels up`;
      break;
    }
    case 'group-owners':
      found = await deps.directory.groupOwners(source.groupId);
      if (!found.length) why = 'the group has no owners';
      break;
    case 'group-members':
      found = await deps.directory.groupMembers(source.groupId);
      if (!found.length) why = 'the approvers group is empty';
      break;
    case 'people':
      for (const p of source.people) {
        const u = await deps.directory.getUser(p);
        if (u) found.push(u);
      }
      if (!found.length) why = 'none of the named approvers exists';
      break;
  }
  const me = requesterId.toLowerCase();
  const approvers = found.filter((u) => u.accountEnabled && u.id.toLowerCase() !== me).map(person);
  if (approvers.length > 0) return { approvers };
  why ||= 'every approver found is the requester or a disabled account';
  const fallback = await deps.directory.getUser(stage.fallback);
  if (!fallback || !fallback.accountEnabled || fallback.id.toLowerCase() === me) {
    throw new DomainError(
      'REQUEST.NO_APPROVER',
      `Stage ${stage.number} has no approver: ${why}, and its fallback ${stage.fallback} cannot decide it. Fix the catalog's fallback.`,
    );
  }
  return { approvers: [person(fallback)], fallbackReason: why };
}

/**
 * Looks a person up by object id or UPN (for escalation to a stage's fallback). `enabled` says whether they
 * can sign in to decide; absent from answers recorded before it existed.
 */
export async function resolvePerson(
  deps: WorkflowDeps,
  idOrUpn: string,
): Promise<Person & { enabled: boolean }> {
  const u = await deps.directory.getUser(idOrUpn);
  if (!u) throw new DomainError('DIRECTORY.NOT_FOUND', `No user ${idOrUpn} in the directory.`);
  return { ...person(u), enabled: u.accountEnabled };
}

/**
 * Grants through the membership ledger: the claim, then the member added only if absent. Directory failures
 * come back as values (transient or permanent) for the orchestration to retry or fail on.
 *
 * NB. An input without `requestId` was scheduled by the orchestration's first version before it was replaced
 * (an instance caught mid-grant): it gets that version's plain add and answer, which its replay expects.
 */
export async function grantAccess(
  deps: WorkflowDeps,
  input: MembershipInput,
): Promise<GrantResult | LegacyGrant> {
  if (!input.requestId) {
    const r = await deps.directory.addMember(input.groupId, input.userId);
    return {
      status: r.outcome === 'added' ? 204 : 400,
      alreadyMember: r.outcome === 'already-member',
      requestId: r.requestId,
    };
  }
  const refused = await refuseLeaver(deps, input.userId);
  if (refused) return refused;
  return grantMembership(deps, {
    groupId: input.groupId,
    userId: input.userId,
    requestId: input.requestId,
    expiresAt: input.expiresAt,
  });
}

/**
 * A request approved after its requester left (account disabled or deleted in Entra) is not granted: adding a
 * leaver to a group, even for the moment until the offboarding sweep's Revoke takes it away, is access Attest
 * must never give. A directory that does not answer does not stop the grant (the sweep still removes a
 * leaver); the refusal is permanent, so the request ends failed with the reason and nothing is added.
 */
async function refuseLeaver(deps: WorkflowDeps, userId: string): Promise<GrantResult | undefined> {
  let user: DirectoryUser | undefined;
  try {
    user = await deps.directory.getUser(userId);
  } catch {
    return undefined;
  }
  if (user?.accountEnabled) return undefined;
  return {
    ok: false,
    permanent: true,
    code: 'DIRECTORY.ACCOUNT_DISABLED',
    reason: user
      ? `${user.displayName}'s account is disabled in Entra (offboarded): access is not granted.`
      : 'The requester no longer exists in Entra (offboarded): access is not granted.',
  };
}

/**
 * Ends the grant through the membership ledger (the member goes only when no Attest claim remains and Attest
 * added it). With `state`, first saves the request as Revoking, so the stored state never reads Active after
 * the grant's end, whatever the directory does next.
 *
 * NB. An input without `requestId` was scheduled by the first version (an instance caught mid-revoke): it gets
 * that version's plain remove and answer.
 */
export async function revokeAccess(
  deps: WorkflowDeps,
  input: MembershipInput,
): Promise<EndResult | LegacyRevoke> {
  if (!input.requestId) {
    const r = await deps.directory.removeMember(input.groupId, input.userId);
    return {
      status: r.outcome === 'removed' ? 204 : 404,
      wasMember: r.outcome === 'removed',
      requestId: r.requestId,
    };
  }
  if (input.state) await deps.requests.save(input.state);
  return endGrantMembership(deps, {
    groupId: input.groupId,
    userId: input.userId,
    requestId: input.requestId,
    legacy: input.legacy,
  });
}

/** Saves the request's state without an audit event (a step whose event was written earlier, or none is due). */
export async function saveState(deps: WorkflowDeps, input: { request: AccessRequest }): Promise<void> {
  await deps.requests.save(input.request);
}

/** Records and delivers a notification (idempotent by its id); says whom it could not reach. */
export async function notify(deps: WorkflowDeps, input: NotifyInput): Promise<NotifyResult> {
  const result = await deps.notifier.notify(input);
  return { unreachable: result?.unreachable ?? [] };
}
