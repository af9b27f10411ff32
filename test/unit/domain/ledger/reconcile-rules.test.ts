import {
  claimGrant,
  emptyEntry,
  reconcileMember,
  recordBaseline,
  recordClaimGone,
  recordOutsideGone,
} from '../../../../src/domain/ledger/membership-ledger';

const at = '2026-03-01T09:00:00.000Z';

test('a claimed membership removed outside Attest keeps its claims and says since when it is gone, once', () => {
  const claimed = claimGrant(emptyEntry('g', 'u'), { requestId: 'r-1', at });
  const gone = recordClaimGone(claimed, '2026-03-02T00:00:00.000Z');
  expect(gone.claims).toEqual(claimed.claims);
  expect(gone.goneAt).toBe('2026-03-02T00:00:00.000Z');
  expect(recordClaimGone(gone, '2026-03-03T00:00:00.000Z')).toBe(gone);
  expect(reconcileMember(gone, false, true)).toEqual({ kind: 'in-order' });
  // Unclaimed entries have nothing to record.
  const baseline = recordBaseline(emptyEntry('g', 'u'), at);
  expect(recordClaimGone(baseline, at)).toBe(baseline);
});

test('a baseline membership that ended outside Attest loses its outside claim, so a later re-add is drift', () => {
  const baseline = recordBaseline(emptyEntry('g', 'u'), at);
  expect(reconcileMember(baseline, false, true)).toEqual({ kind: 'outside-gone' });
  const gone = recordOutsideGone(baseline);
  expect(gone.claims).toEqual([]);
  expect(reconcileMember(gone, false, true)).toEqual({ kind: 'in-order' });
  expect(reconcileMember(gone, true, true)).toEqual({ kind: 'drift' });
  expect(recordOutsideGone(gone)).toBe(gone);
});
