/**
 * Carrying out a removal the ledger still owes: the directory call, then the ledger row (owed removals done),
 * then the member added back when a grant claimed the membership while the removal was in flight.
 *
 * NB. Stands in for the lead's `removeOwed(deps, groupId, userId)` (src/workflows/membership.operations.ts on
 * main) until it lands here; the two do the same thing and should become one when the branches meet.
 */
import {
  afterRemoval,
  grantClaims,
  recordAdd,
  type MembershipEntry,
  type OwedRemoval,
} from '../domain/ledger/membership-ledger';
import type { MembershipLedger } from '../ports/membership-ledger.port';
import type { Directory } from '../ports/directory.port';

/** Writes against a row someone else keeps changing are tried this many times before giving up. */
const MAX_CONFLICTS = 8;

/** What {@link removeOverdue} did. */
export type OverdueOutcome =
  /** Nothing was owed any more (carried out meanwhile, or a new grant cancelled it). */
  | { outcome: 'nothing-owed' }
  | {
      outcome: 'removed' | 'not-member';
      /** The removals that were owed, as found before the call. */
      owed: OwedRemoval[];
      /** A grant claimed the membership meanwhile and the member was added back. */
      readded: boolean;
    };

/**
 * Reads the row, applies `change` (undefined: nothing to write), writes it back against its version; again on
 * a conflict. Returns what was written.
 */
export async function updateEntry(
  ledger: MembershipLedger,
  groupId: string,
  userId: string,
  change: (entry: MembershipEntry) => MembershipEntry | undefined,
): Promise<MembershipEntry | undefined> {
  for (let attempt = 0; attempt < MAX_CONFLICTS; attempt++) {
    const { entry, etag } = await ledger.get(groupId, userId);
    const next = change(entry);
    if (!next) return undefined;
    if (await ledger.put(next, etag)) return next;
  }
  throw new Error(`The ledger row of user ${userId} in group ${groupId} kept changing; try again.`);
}

/** The directory half of an owed removal: what was owed, and what the directory answered. */
export type DirectoryRemoval =
  { outcome: 'nothing-owed' } | { outcome: 'removed' | 'not-member'; owed: OwedRemoval[] };

/**
 * Removes the member from the group when the ledger row still owes a removal. The ledger is not written: call
 * {@link settleRemoval} after (the reconciler audits in between, so a crash before the row is settled leaves
 * the removal owed, and a replay finds it again).
 */
export async function removeOwedInDirectory(
  deps: { directory: Directory; ledger: MembershipLedger },
  groupId: string,
  userId: string,
): Promise<DirectoryRemoval> {
  const { entry } = await deps.ledger.get(groupId, userId);
  if (!entry.owed.length) return { outcome: 'nothing-owed' };
  const removed = await deps.directory.removeMember(groupId, userId);
  return { outcome: removed.outcome, owed: entry.owed };
}

/**
 * The ledger half: the owed removals are done ({@link afterRemoval}); when a grant claimed the membership while
 * the removal was in flight, the member is added back. Returns whether it was.
 */
export async function settleRemoval(
  deps: { directory: Directory; ledger: MembershipLedger },
  groupId: string,
  userId: string,
  at: string,
): Promise<boolean> {
  let readd = false;
  await updateEntry(deps.ledger, groupId, userId, (current) => {
    const after = afterRemoval(current);
    readd = after.readd;
    return after.entry;
  });
  if (!readd) return false;
  const added = await deps.directory.addMember(groupId, userId);
  await updateEntry(deps.ledger, groupId, userId, (current) => {
    const claim = grantClaims(current).at(-1);
    return claim ? recordAdd(current, claim.requestId, added.outcome, at) : undefined;
  });
  return true;
}

/**
 * Both halves: removes the member of an entry with owed removals, records it in the ledger, and adds the member
 * back when a grant claimed the membership meanwhile. Idempotent: run again, it finds nothing owed.
 */
export async function removeOverdue(
  deps: { directory: Directory; ledger: MembershipLedger },
  groupId: string,
  userId: string,
  at: string,
): Promise<OverdueOutcome> {
  const removed = await removeOwedInDirectory(deps, groupId, userId);
  if (removed.outcome === 'nothing-owed') return removed;
  const readded = await settleRemoval(deps, groupId, userId, at);
  return { ...removed, readded };
}
