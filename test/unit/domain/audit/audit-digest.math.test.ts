import { sha256 } from '../../../../src/adapters/crypto/sha256';
import {
  buildDigest,
  DigestChainVerifier,
  DigestCheckpoints,
  digestHash,
  headsRoot,
} from '../../../../src/domain/audit/audit-digest.math';
import { GENESIS_HASH } from '../../../../src/domain/audit/audit-event.model';

const heads = [
  { stream: 'request/2', seq: 4, hash: '22'.repeat(32) },
  { stream: 'campaign/1', seq: 7, hash: '11'.repeat(32) },
  { stream: 'request/10', seq: 1, hash: '33'.repeat(32) },
];

test('a digest sorts the heads, counts streams and events, and chains to the previous digest', () => {
  const first = buildDigest(undefined, heads, '2026-01-01T00:00:00.000Z', sha256);
  expect(first.seq).toBe(1);
  expect(first.prevDigestHash).toBe(GENESIS_HASH);
  expect(first.heads.map((h) => h.stream)).toEqual(['campaign/1', 'request/10', 'request/2']);
  expect(first.streams).toBe(3);
  expect(first.events).toBe(12);
  expect(first.root).toBe(headsRoot(first.heads, sha256));
  expect(first.hash).toBe(digestHash(first, sha256));
  const second = buildDigest(first, heads, '2026-01-02T00:00:00.000Z', sha256);
  expect(second.seq).toBe(2);
  expect(second.prevDigestHash).toBe(first.hash);
});

test('a sound digest chain verifies, and each kind of forgery is named digest-forged', () => {
  const d1 = buildDigest(undefined, heads, '2026-01-01T00:00:00.000Z', sha256);
  const d2 = buildDigest(d1, heads, '2026-01-02T00:00:00.000Z', sha256);
  const sound = new DigestChainVerifier(sha256);
  expect(sound.push(d1)).toBeUndefined();
  expect(sound.push(d2)).toBeUndefined();

  const forgeries = [
    { ...d2, root: '00'.repeat(32) }, // root edited
    { ...d2, root: '00'.repeat(32), hash: digestHash({ ...d2, root: '00'.repeat(32) }, sha256) }, // and re-hashed
    { ...d2, heads: d2.heads.slice(1) }, // a head dropped
    { ...d2, prevDigestHash: GENESIS_HASH }, // re-chained wrongly
    { ...d2, seq: 3 }, // a digest skipped
  ];
  for (const forged of forgeries) {
    const v = new DigestChainVerifier(sha256);
    v.push(d1);
    expect(v.push(forged)).toMatchObject({ ok: false, stream: '(digests)', problem: 'digest-forged' });
  }
});

test('checkpoints keep each distinct head once, with the first digest that saw it', () => {
  const d1 = buildDigest(undefined, heads, '2026-01-01T00:00:00.000Z', sha256);
  const d2 = buildDigest(
    d1,
    [...heads, { stream: 'request/2', seq: 5, hash: '44'.repeat(32) }].slice(1),
    't',
    sha256,
  );
  const c = new DigestCheckpoints();
  c.add(d1);
  c.add(d2);
  expect([...c.of('request/2').values()]).toEqual([
    { seq: 4, hash: '22'.repeat(32), digestSeq: 1 },
    { seq: 5, hash: '44'.repeat(32), digestSeq: 2 },
  ]);
  expect(c.of('campaign/1').get(7)?.digestSeq).toBe(1);
  expect(c.streams()).toEqual(['campaign/1', 'request/10', 'request/2']);
});
