import { batchKey, reconcileBatches } from '../../../../src/domain/ledger/reconcile-batches';

const ids = (n: number, prefix = 'g') =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

test('groups are split into sorted batches of at most 50, without duplicates, ignoring case', () => {
  const batches = reconcileBatches([...ids(120), 'G-0001', 'g-0002']);
  expect(batches.map((b) => b.length)).toEqual([50, 50, 20]);
  expect(batches.flat()).toEqual(ids(120));
});

test('a batch key names exactly one set of groups, whatever their order or case', () => {
  const set = ids(50);
  expect(batchKey([...set].reverse())).toBe(batchKey(set.map((g) => g.toUpperCase())));
  expect(batchKey(set)).not.toBe(batchKey([...set.slice(1), 'g-9999']));
  expect(batchKey(set)).not.toBe(batchKey(set.slice(1)));
  expect(batchKey(set).length).toBeLessThan(100);
});
