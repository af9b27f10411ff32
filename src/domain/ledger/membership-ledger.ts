/**
 * The membership ledger: what Attest answers for. A request is not access; access is a membership of an
 * Entra group, and several things can hold one membership: Attest grants (one claim each), or nothing Attest
 * knows of (the person was a member before Attest's grant, or was there when Attest first looked). These pure
 * rules decide, per (group, user), when Attest may add or remove the member. The Graph call always happens
 * outside the ledger row, so every rule is written to stay right when another grant on the same membership
 * starts or ends between the row write and the call (see {@link afterRemoval}).
 *
 * NB. Pure: no I/O and no clock; times are passed in as ISO strings.
 */

/** A claim of one Attest grant on a membership. */
export interface GrantClaim {
  kind: 'grant';
  requestId: string;
  /** When the grant ends (ISO), absent for a permanent grant. */
  expiresAt?: string;
  since: string;
}

/** Why a membership is held by something other than an Attest grant. */
export type OutsideSource =
  /** The person was already a member when an Attest grant tried to add them. */
  | 'before-grant'
  /** The person was a member when the reconciler first swept the group. */
  | 'baseline';

/** A membership Attest did not create and must never take away at the end of a grant. */
export interface OutsideClaim {
  kind: 'outside';
  source: OutsideSource;
  since: string;
}

/** Something that holds a membership. */
export type MembershipClaim = GrantClaim | OutsideClaim;

/** An ended grant whose removal from the group is owed (its Graph call has not succeeded yet). */
export interface OwedRemoval {
  requestId: string;
  /** When the removal became owed. */
  since: string;
  /** `end-of-grant` for expiry and early revoke; otherwise the governed removal's reason. */
  reason: string;
}

/** The ledger's row for one (group, user). */
export interface MembershipEntry {
  groupId: string;
  userId: string;
  claims: MembershipClaim[];
  /** True while the membership exists because an Attest add created it. */
  addedByAttest: boolean;
  /** Removals decided and not yet carried out in the directory. */
  owed: OwedRemoval[];
  /** When the reconciler last saw the membership present (ISO); absent when it never looked. */
  seenAt?: string;
  /** The reconciler saw the member gone while a grant still claimed it (removed outside Attest). */
  goneAt?: string;
}

/** A fresh entry for a membership Attest has not touched yet. */
export function emptyEntry(groupId: string, userId: string): MembershipEntry {
  return { groupId, userId, claims: [], addedByAttest: false, owed: [] };
}

/** The grant claims on an entry. */
export function grantClaims(entry: MembershipEntry): GrantClaim[] {
  return entry.claims.filter((c): c is GrantClaim => c.kind === 'grant');
}

/** The first step of a grant: its claim is recorded before the member is added, so an ending grant sees it. */
export function claimGrant(
  entry: MembershipEntry,
  claim: { requestId: string; expiresAt?: string; at: string },
): MembershipEntry {
  const others = entry.claims.filter((c) => !(c.kind === 'grant' && c.requestId === claim.requestId));
  return {
    ...entry,
    claims: [
      ...others,
      { kind: 'grant', requestId: claim.requestId, expiresAt: claim.expiresAt, since: claim.at },
    ],
    // A new claim wants the member present: any removal still owed is cancelled.
    owed: [],
    goneAt: undefined,
  };
}

/**
 * The second step of a grant, after the directory answered the add. `added`: Attest created the membership,
 * so any outside claim still on the row is stale (the member was absent when Attest added them: a baseline
 * taken while an earlier Attest grant held the membership, or a membership that ended outside Attest before
 * the reconciler noticed) and goes, or the grant's end would keep a membership Attest created.
 * `already-member`: it existed; when no Attest grant held it and Attest had not added it, it was there before
 * Attest (an outside claim, so the grant's end leaves it in place).
 */
export function recordAdd(
  entry: MembershipEntry,
  requestId: string,
  outcome: 'added' | 'already-member',
  at: string,
): MembershipEntry {
  if (outcome === 'added') {
    return { ...entry, claims: grantClaims(entry), addedByAttest: true, goneAt: undefined };
  }
  const otherGrants = grantClaims(entry).some((c) => c.requestId !== requestId);
  // A baseline claim does not stop this one: the add's own answer says more precisely why the member stays.
  const beforeGrant = entry.claims.some((c) => c.kind === 'outside' && c.source === 'before-grant');
  if (entry.addedByAttest || otherGrants || beforeGrant) return entry;
  return { ...entry, claims: [...entry.claims, { kind: 'outside', source: 'before-grant', since: at }] };
}

/** What the end of a grant decided for the membership. */
export type EndDecision =
  /** Remove the member from the group (then call {@link afterRemoval}). */
  | { action: 'remove' }
  /** Leave the member in place, and why (for the audit event). */
  | { action: 'keep'; reason: string }
  /** The grant's claim was already gone and nothing is owed: a repeat of an end already carried out. */
  | { action: 'none' };

/**
 * Ends one grant's claim: the member is removed only when no Attest claim remains and Attest added the
 * membership. Idempotent: ending a grant whose removal is still owed decides `remove` again.
 */
export function endGrant(
  entry: MembershipEntry,
  requestId: string,
  at: string,
): { entry: MembershipEntry; decision: EndDecision } {
  const had = entry.claims.some((c) => c.kind === 'grant' && c.requestId === requestId);
  const stillOwed = entry.owed.some((o) => o.requestId === requestId);
  if (!had) {
    return stillOwed ? { entry, decision: { action: 'remove' } } : { entry, decision: { action: 'none' } };
  }
  const claims = entry.claims.filter((c) => !(c.kind === 'grant' && c.requestId === requestId));
  const next = { ...entry, claims };
  const why = keepReason(next);
  if (why) return { entry: next, decision: { action: 'keep', reason: why } };
  return {
    entry: { ...next, owed: [...next.owed, { requestId, since: at, reason: 'end-of-grant' }] },
    decision: { action: 'remove' },
  };
}

/** Why a membership with these claims must stay after a grant ends, or undefined when it may go. */
function keepReason(entry: MembershipEntry): string | undefined {
  const grants = grantClaims(entry);
  if (grants.length) return `still held by request ${grants.map((g) => g.requestId).join(', ')}`;
  const outside = entry.claims.filter((c): c is OutsideClaim => c.kind === 'outside');
  if (outside.some((c) => c.source === 'before-grant')) return "member before Attest's grant";
  if (outside.some((c) => c.source === 'baseline')) return 'member before Attest first looked at the group';
  if (!entry.addedByAttest) return 'Attest did not add this membership';
  return undefined;
}

/**
 * Governed removal (access reviews, offboarding): ends every claim, whoever added the membership, and owes
 * its removal. The ended grant claims are returned, so their requests can be told.
 */
export function governedRemoval(
  entry: MembershipEntry,
  reason: string,
  at: string,
): { entry: MembershipEntry; endedGrants: GrantClaim[] } {
  const endedGrants = grantClaims(entry);
  const owedFor = endedGrants.length ? endedGrants.map((g) => g.requestId) : [`governed:${reason}`];
  return {
    entry: {
      ...entry,
      claims: [],
      owed: [
        ...entry.owed.filter((o) => !owedFor.includes(o.requestId)),
        ...owedFor.map((requestId) => ({ requestId, since: at, reason })),
      ],
    },
    endedGrants,
  };
}

/**
 * After the directory removed the member (or found them gone): the owed removals are done. When a grant
 * claimed the membership meanwhile (it started while this removal was in flight), the member must be added
 * back: `readd` says so.
 */
export function afterRemoval(entry: MembershipEntry): { entry: MembershipEntry; readd: boolean } {
  const readd = grantClaims(entry).length > 0;
  return { entry: { ...entry, owed: [], addedByAttest: false }, readd };
}

/** The reconciler's verdict on one (group, user) after comparing the directory with the ledger. */
export type ReconcileFinding =
  /** First sweep of the group: the member is recorded as present without Attest. */
  | { kind: 'baseline' }
  /** A removal is owed and the member is still there: remove again (an overdue revocation). */
  | { kind: 'overdue-removal'; owed: OwedRemoval[] }
  /** A member nobody claims, who appeared after the baseline: drift, reported and never adopted. */
  | { kind: 'drift' }
  /** A grant claims the membership, but the member is gone (removed outside Attest). */
  | { kind: 'claim-gone'; requestIds: string[] }
  /** A removal was owed and the member is gone: the owed removal is done. */
  | { kind: 'owed-done' }
  /** Only outside claims held it, and the member is gone: the membership ended outside Attest. */
  | { kind: 'outside-gone' }
  | { kind: 'in-order' };

/**
 * Compares one (group, user) of the ledger with whether the directory shows the member, for the
 * reconciler. `baselined`: the group has had its first sweep.
 */
export function reconcileMember(
  entry: MembershipEntry | undefined,
  present: boolean,
  baselined: boolean,
): ReconcileFinding {
  if (present) {
    if (entry?.owed.length) return { kind: 'overdue-removal', owed: entry.owed };
    if (entry && entry.claims.length > 0) return { kind: 'in-order' };
    return baselined ? { kind: 'drift' } : { kind: 'baseline' };
  }
  if (!entry) return { kind: 'in-order' };
  if (entry.owed.length) return { kind: 'owed-done' };
  const grants = grantClaims(entry);
  if (grants.length) {
    return entry.goneAt
      ? { kind: 'in-order' }
      : { kind: 'claim-gone', requestIds: grants.map((g) => g.requestId) };
  }
  if (entry.claims.length) return { kind: 'outside-gone' };
  return { kind: 'in-order' };
}

/** Records a baseline: the member was there when Attest first looked. */
export function recordBaseline(entry: MembershipEntry, at: string): MembershipEntry {
  if (entry.claims.some((c) => c.kind === 'outside')) return { ...entry, seenAt: at };
  return {
    ...entry,
    claims: [...entry.claims, { kind: 'outside', source: 'baseline', since: at }],
    seenAt: at,
  };
}

/**
 * The reconciler saw the member gone while grants still claim the membership (removed outside Attest): the
 * claims stay (the requests still say what was granted) and the entry says since when it is gone.
 */
export function recordClaimGone(entry: MembershipEntry, at: string): MembershipEntry {
  if (!grantClaims(entry).length || entry.goneAt) return entry;
  return { ...entry, goneAt: at };
}

/**
 * The reconciler saw a membership held only by outside claims end (outside Attest): those claims go, so a
 * later re-add of the member is drift rather than silently covered by a claim from before.
 */
export function recordOutsideGone(entry: MembershipEntry): MembershipEntry {
  const grants = grantClaims(entry);
  if (grants.length === entry.claims.length) return entry;
  return { ...entry, claims: grants, seenAt: undefined };
}
