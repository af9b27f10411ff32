import { createHash } from 'node:crypto';
import { sha256 } from '../../../../src/adapters/crypto/sha256';
import { toHex } from '../../../../src/domain/audit/canonical-json.codec';
import { merkleRoot } from '../../../../src/domain/audit/merkle-tree.math';

const H = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/**
 * An independent construction: hash the leaves, then pair neighbours level by level, carrying an odd last
 * node up unchanged. For RFC 6962's left-balanced tree this gives the same root as the recursive split.
 */
function bottomUpRoot(data: Buffer[]): string {
  if (data.length === 0) return H().toString('hex');
  let level: Buffer[] = data.map((d) => H(Buffer.from([0]), d));
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? H(Buffer.from([1]), level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0].toString('hex');
}

// The leaves of the Certificate Transparency reference tests (certificate-transparency-go, merkle tests).
const CT_LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map((h) => Buffer.from(h, 'hex'));

test.each([0, 1, 2, 3, 5, 8])(
  'the root over %i leaves matches an independent bottom-up construction',
  (n) => {
    const data = CT_LEAVES.slice(0, n);
    expect(toHex(merkleRoot(data, sha256))).toBe(bottomUpRoot(data));
  },
);

test('roots match the RFC 6962 reference vectors', () => {
  const expected: Record<number, string> = {
    0: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    1: '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    2: 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    3: 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
    5: '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
    8: '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  };
  for (const [n, root] of Object.entries(expected)) {
    expect(toHex(merkleRoot(CT_LEAVES.slice(0, Number(n)), sha256))).toBe(root);
  }
});

test('a leaf cannot pose as an inner node: the prefixes keep the two apart', () => {
  const a = Buffer.from('a');
  const b = Buffer.from('b');
  const inner = Buffer.concat([H(Buffer.from([0]), a), H(Buffer.from([0]), b)]);
  expect(toHex(merkleRoot([a, b], sha256))).not.toBe(toHex(merkleRoot([inner], sha256)));
});

test('many leaves (1..70) agree with the independent construction', () => {
  for (let n = 1; n <= 70; n++) {
    const data = Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}`));
    expect(toHex(merkleRoot(data, sha256))).toBe(bottomUpRoot(data));
  }
});
