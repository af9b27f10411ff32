/**
 * The reconciler's overdue removal, in two halves: the directory call, then the ledger row (owed removals
 * done, the member added back when a grant claimed the membership while the removal was in flight).
 *
 * NB. `removeOwed` in membership.operations.ts does both in one call. The reconciler needs them apart: its
 * audit event (with the directory's answer) is written between the two, so a host killed after the removal
 * finds the row still owed on replay and audits it then, instead of losing the event.
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
