import {
  afterRemoval,
  claimGrant,
  emptyEntry,
  endGrant,
  governedRemoval,
  recordAdd,
  recordBaseline,
  reconcileMember,
  type MembershipEntry,
} from '../../../../src/domain/ledger/membership-ledger';

const T = '2026-11-29T10:00:00Z';
const granted = (requestId: string, outcome: 'added' | 'already-member', entry = emptyEntry('g', 'u')) =>
  recordAdd(claimGrant(entry, { requestId, at: T }), requestId, outcome, T);

test("a grant whose add found the member there records them as a member before Attest's grant, and its end keeps them", () => {
  const entry = granted('r1', 'already-member');
  expect(entry.claims).toEqual([
    { kind: 'grant', requestId: 'r1', expiresAt: undefined, since: T },
    { kind: 'outside', source: 'before-grant', since: T },
  ]);
  const ended = endGrant(entry, 'r1', T);
  expect(ended.decision).toEqual({ action: 'keep', reason: "member before Attest's grant" });
  expect(ended.entry.owed).toEqual([]);
});

test('the end of a grant Attest added removes the member, once: a repeat owes the same removal until it is done', () => {
  const ended = endGrant(granted('r1', 'added'), 'r1', T);
  expect(ended.decision).toEqual({ action: 'remove' });
  expect(ended.entry.owed).toEqual([{ requestId: 'r1', since: T, reason: 'end-of-grant' }]);
  expect(endGrant(ended.entry, 'r1', T).decision).toEqual({ action: 'remove' });
  const done = afterRemoval(ended.entry);
  expect(done).toEqual({ entry: { ...ended.entry, owed: [], addedByAttest: false }, readd: false });
  expect(endGrant(done.entry, 'r1', T).decision).toEqual({ action: 'none' });
});

test('two grants on one membership: the first end keeps it for the second, the second removes it', () => {
  const both = granted('r2', 'already-member', granted('r1', 'added'));
  expect(both.claims.filter((c) => c.kind === 'outside')).toEqual([]); // Attest's own add, not a standing member
  const first = endGrant(both, 'r1', T);
  expect(first.decision).toEqual({ action: 'keep', reason: 'still held by request r2' });
  expect(endGrant(first.entry, 'r2', T).decision).toEqual({ action: 'remove' });
});

test('a grant claimed while a removal is in flight cancels what is owed and has the member added back', () => {
  const ending = endGrant(granted('r1', 'added'), 'r1', T).entry;
  const claimed = claimGrant(ending, { requestId: 'r2', at: T });
  expect(claimed.owed).toEqual([]);
  expect(afterRemoval(claimed).readd).toBe(true);
});

test('governed removal ends every claim, standing or granted, and owes the removal', () => {
  const entry: MembershipEntry = granted('r1', 'already-member');
  const { entry: next, endedGrants } = governedRemoval(entry, 'review', T);
  expect(endedGrants.map((g) => g.requestId)).toEqual(['r1']);
  expect(next.claims).toEqual([]);
  expect(next.owed).toEqual([{ requestId: 'r1', since: T, reason: 'review' }]);
  const standing = recordBaseline(emptyEntry('g', 'u'), T);
  expect(governedRemoval(standing, 'offboarded', T).entry.owed).toEqual([
    { requestId: 'governed:offboarded', since: T, reason: 'offboarded' },
  ]);
});

test('reconciliation: baseline before the first sweep, drift after it, overdue removals, claims removed outside', () => {
  expect(reconcileMember(undefined, true, false)).toEqual({ kind: 'baseline' });
  expect(reconcileMember(undefined, true, true)).toEqual({ kind: 'drift' });
  expect(reconcileMember(emptyEntry('g', 'u'), true, true)).toEqual({ kind: 'drift' }); // e.g. re-added after Attest removed them
  const owing = endGrant(granted('r1', 'added'), 'r1', T).entry;
  expect(reconcileMember(owing, true, true)).toEqual({ kind: 'overdue-removal', owed: owing.owed });
  expect(reconcileMember(owing, false, true)).toEqual({ kind: 'owed-done' });
  expect(reconcileMember(granted('r1', 'added'), false, true)).toEqual({
    kind: 'claim-gone',
    requestIds: ['r1'],
  });
  expect(reconcileMember({ ...granted('r1', 'added'), goneAt: T }, false, true)).toEqual({
    kind: 'in-order',
  });
  expect(reconcileMember(recordBaseline(emptyEntry('g', 'u'), T), false, true)).toEqual({
    kind: 'outside-gone',
  });
  expect(reconcileMember(granted('r1', 'added'), true, true)).toEqual({ kind: 'in-order' });
});
