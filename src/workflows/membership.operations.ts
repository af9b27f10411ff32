/**
 * The membership ledger in action: grant, end of grant, governed removal and the removal of what is owed.
 * Each operation writes the ledger row (ETag-guarded, re-read and re-decided on a conflict) before it calls
 * the directory, and re-reads after a removal, so a grant that starts while another on the same (group, user)
 * ends never loses its membership. Every operation can run twice (activities are at-least-once) and converge.
 *
 * Directory failures are returned as values ({@link MembershipFailure}), transient or permanent, so the
 * orchestration can decide between retrying on durable timers and failing with a reason a person can act on.
 */
import { DomainError } from '../domain/domain-error';
import {
  afterRemoval,
  claimGrant,
  endGrant,
  governedRemoval,
  grantClaims,
  recordAdd,
  type MembershipEntry,
} from '../domain/ledger/membership-ledger';
import type { Directory } from '../ports/directory.port';
import type { Clock } from '../ports/clock.port';
import type { MembershipLedger } from '../ports/membership-ledger.port';

/** What the membership operations need. */
export interface MembershipDeps {
  directory: Directory;
  ledger: MembershipLedger;
  clock: Clock;
}

/** A directory call that did not succeed, as the orchestration needs to know it. */
export interface MembershipFailure {
  ok: false;
  /** True when retrying cannot help (the group is gone, Graph cannot change it, a permission is missing). */
  permanent: boolean;
  code: string;
  /** A sentence for people: no stack, no internals. */
  reason: string;
}

/** The outcome of a grant. */
export type GrantResult =
  | {
      ok: true;
      /** The directory's answer: 204 added, 400 already a member (Graph's answer to a repeated add). */
      status: number;
      alreadyMember: boolean;
      /** Whether the membership now counts as Attest's (its removal is Attest's to make). */
      addedByAttest: boolean;
      requestId?: string;
    }
  | MembershipFailure;

/** The outcome of ending a grant or a governed removal. */
export type EndResult =
  | {
      ok: true;
      /** `removed`: Attest took the member out; `not-member`: already gone; `kept`: left in place, see `keptBecause`. */
      membership: 'removed' | 'not-member' | 'kept';
      keptBecause?: string;
      /** The directory's answer (204 removed, 404 not a member), absent when Attest left the member in place. */
      status?: number;
      wasMember: boolean;
      /** A grant claimed the membership while it was being removed: the member was added back. */
      readded?: boolean;
      requestId?: string;
    }
  | MembershipFailure;

const CONFLICT_RETRIES = 20;

/** Reads, changes and writes a ledger row, deciding again whenever another writer got there first. */
async function update<T>(
  deps: MembershipDeps,
  groupId: string,
  userId: string,
  change: (entry: MembershipEntry) => { entry: MembershipEntry; result: T } | undefined,
): Promise<{ entry: MembershipEntry; result?: T }> {
  for (let i = 0; i < CONFLICT_RETRIES; i++) {
    const { entry, etag } = await deps.ledger.get(groupId, userId);
    const next = change(entry);
    if (!next) return { entry };
    if (await deps.ledger.put(next.entry, etag)) return next;
  }
  throw new DomainError(
    'LEDGER.CONTENDED',
    `The ledger row of ${userId} in group ${groupId} kept changing under ${CONFLICT_RETRIES} attempts.`,
  );
}

const now = (deps: MembershipDeps) => deps.clock.now().toISOString();

/**
 * Grants: the claim first, then the member is added only if absent, then whether Attest added it. A repeat
 * (the activity retried) finds its claim and adds again harmlessly.
 */
export async function grantMembership(
  deps: MembershipDeps,
  input: { groupId: string; userId: string; requestId: string; expiresAt?: string },
): Promise<GrantResult> {
  const { groupId, userId, requestId } = input;
  await update(deps, groupId, userId, (entry) => ({
    entry: claimGrant(entry, { requestId, expiresAt: input.expiresAt, at: now(deps) }),
    result: true,
  }));
  let outcome: 'added' | 'already-member';
  let graphRequestId: string | undefined;
  try {
    const r = await deps.directory.addMember(groupId, userId);
    outcome = r.outcome;
    graphRequestId = r.requestId;
  } catch (err) {
    return failure(err);
  }
  const { entry } = await update(deps, groupId, userId, (e) => ({
    entry: recordAdd(e, requestId, outcome, now(deps)),
    result: true,
  }));
  return {
    ok: true,
    status: outcome === 'added' ? 204 : 400,
    alreadyMember: outcome === 'already-member',
    addedByAttest: entry.addedByAttest,
    requestId: graphRequestId,
  };
}

/**
 * Ends one grant: its claim goes; the member goes only when no Attest claim remains and Attest added the
 * membership. `legacy` is for grants made before the ledger existed (no claim recorded): their add's answer
 * decides, so a standing member keeps their membership.
 */
export async function endGrantMembership(
  deps: MembershipDeps,
  input: { groupId: string; userId: string; requestId: string; legacy?: { alreadyMember: boolean } },
): Promise<EndResult> {
  const { groupId, userId, requestId } = input;
  const at = now(deps);
  const { result: decision } = await update(deps, groupId, userId, (entry) => {
    let e = entry;
    const known =
      e.claims.some((c) => c.kind === 'grant' && c.requestId === requestId) ||
      e.owed.some((o) => o.requestId === requestId);
    if (!known && input.legacy) {
      // Adopt the grant as it was made: its claim, and what its add found.
      e = recordAdd(
        claimGrant(e, { requestId, at }),
        requestId,
        input.legacy.alreadyMember ? 'already-member' : 'added',
        at,
      );
    }
    const ended = endGrant(e, requestId, at);
    // A repeat with nothing to adopt changes nothing: no write (the caller reads no decision as `none`).
    if (ended.decision.action === 'none' && e === entry) return undefined;
    return { entry: ended.entry, result: ended.decision };
  });
  if (!decision || decision.action === 'none') {
    // A repeat after the end was carried out: make sure a grant that claims the membership still has it.
    return ensurePresentForClaims(deps, groupId, userId, 'not-member');
  }
  if (decision.action === 'keep') {
    return { ok: true, membership: 'kept', keptBecause: decision.reason, wasMember: true };
  }
  return removeOwed(deps, groupId, userId);
}

/**
 * Governed removal (reviews, offboarding): ends every claim and removes the member whoever added them.
 * Returns the grants it ended, so their requests can be closed.
 */
export async function governedRemove(
  deps: MembershipDeps,
  input: { groupId: string; userId: string; reason: string },
): Promise<EndResult & { endedRequestIds?: string[] }> {
  const { result: ended } = await update(deps, input.groupId, input.userId, (entry) => {
    const r = governedRemoval(entry, input.reason, now(deps));
    return { entry: r.entry, result: r.endedGrants.map((g) => g.requestId) };
  });
  const removed = await removeOwed(deps, input.groupId, input.userId);
  return removed.ok ? { ...removed, endedRequestIds: ended ?? [] } : removed;
}

/**
 * Carries out the removals a ledger row owes: removes the member, then re-reads the row; when a grant
 * claimed the membership meanwhile (it started while this removal was in flight) the member is added back.
 * A row that owes nothing is left alone.
 */
export async function removeOwed(deps: MembershipDeps, groupId: string, userId: string): Promise<EndResult> {
  const { entry } = await deps.ledger.get(groupId, userId);
  if (entry.owed.length === 0) return ensurePresentForClaims(deps, groupId, userId, 'not-member');
  let status: number;
  let wasMember: boolean;
  let graphRequestId: string | undefined;
  try {
    const r = await deps.directory.removeMember(groupId, userId);
    status = r.outcome === 'removed' ? 204 : 404;
    wasMember = r.outcome === 'removed';
    graphRequestId = r.requestId;
  } catch (err) {
    return failure(err);
  }
  const { result: readd } = await update(deps, groupId, userId, (e) => {
    const r = afterRemoval(e);
    return { entry: r.entry, result: r.readd };
  });
  if (readd) {
    const back = await ensurePresentForClaims(deps, groupId, userId, 'removed');
    if (!back.ok) return back;
    return { ok: true, membership: 'kept', keptBecause: back.keptBecause, status, wasMember, readded: true };
  }
  return {
    ok: true,
    membership: wasMember ? 'removed' : 'not-member',
    status,
    wasMember,
    requestId: graphRequestId,
  };
}

/** When grants claim the membership, adds the member (idempotent) and records it as Attest's. */
async function ensurePresentForClaims(
  deps: MembershipDeps,
  groupId: string,
  userId: string,
  otherwise: 'not-member' | 'removed',
): Promise<EndResult> {
  const { entry } = await deps.ledger.get(groupId, userId);
  const grants = grantClaims(entry);
  if (grants.length === 0) return { ok: true, membership: 'not-member', wasMember: otherwise === 'removed' };
  const holder = grants[0].requestId;
  try {
    const r = await deps.directory.addMember(groupId, userId);
    if (r.outcome === 'added') {
      await update(deps, groupId, userId, (e) => ({
        entry: recordAdd(e, holder, 'added', now(deps)),
        result: true,
      }));
    }
  } catch (err) {
    return failure(err);
  }
  return {
    ok: true,
    membership: 'kept',
    keptBecause: `still held by request ${grants.map((g) => g.requestId).join(', ')}`,
    wasMember: true,
  };
}

/** Codes of directory failures that retrying will not mend. */
const PERMANENT = new Set(['DIRECTORY.NOT_FOUND', 'DIRECTORY.FORBIDDEN', 'DIRECTORY.FAILED']);

/**
 * A directory failure as a value. Anything that is not a coded directory error (storage, network) is
 * thrown on, for the activity's retry policy.
 */
function failure(err: unknown): MembershipFailure {
  if (err instanceof DomainError && err.code.startsWith('DIRECTORY.')) {
    return { ok: false, permanent: PERMANENT.has(err.code), code: err.code, reason: err.message };
  }
  throw err;
}
