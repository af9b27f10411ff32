import { createHash } from 'node:crypto';
import { sha256 } from '../../../../src/adapters/crypto/sha256';
import { toHex } from '../../../../src/domain/audit/canonical-json.codec';
import {
  inclusionProof,
  inclusionProofs,
  leafHash,
  merkleRoot,
  verifyInclusion,
} from '../../../../src/domain/audit/merkle-tree.math';

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

/** PATH(m, D[n]) written out as RFC 6962 §2.1.1 defines it, recursively over the data: the reference. */
function referencePath(m: number, data: Buffer[]): string[] {
  const n = data.length;
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k
    ? [...referencePath(m, data.slice(0, k)), toHex(merkleRoot(data.slice(k), sha256))]
    : [...referencePath(m - k, data.slice(k)), toHex(merkleRoot(data.slice(0, k), sha256))];
}

/** For each level of PATH(m, D[n]), bottom-up: is the sibling on the right? */
function sides(m: number, n: number): boolean[] {
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k ? [...sides(m, k), true] : [...sides(m - k, n - k), false];
}

test('audit paths match the Certificate Transparency reference vectors', () => {
  const hex = (m: number, n: number) =>
    inclusionProof(CT_LEAVES.slice(0, n), m, sha256).path.map((p) => toHex(p));
  expect(hex(0, 1)).toEqual([]);
  expect(hex(0, 8)).toEqual([
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]);
  expect(hex(5, 8)).toEqual([
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]);
  expect(hex(2, 3)).toEqual(['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']);
  expect(hex(1, 5)).toEqual([
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  ]);
});

test('every audit path of trees of 1..40 leaves equals the recursive definition and verifies', () => {
  for (let n = 1; n <= 40; n++) {
    const data = Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}`));
    const root = merkleRoot(data, sha256);
    const leaves = data.map((d) => leafHash(d, sha256));
    const all = inclusionProofs(
      leaves,
      Array.from({ length: n }, (_, i) => i),
      sha256,
    );
    for (let m = 0; m < n; m++) {
      expect(all[m].path.map((p) => toHex(p))).toEqual(referencePath(m, data));
      expect(all[m]).toMatchObject({ leafIndex: m, treeSize: n });
      expect(verifyInclusion(leaves[m], all[m], root, sha256)).toBe(true);
    }
  }
});

test('brute force: a proof verifies for its own leaf, index and size only, and any altered byte fails', () => {
  for (let n = 1; n <= 17; n++) {
    const data = Array.from({ length: n }, (_, i) => Buffer.from(`leaf-${i}`));
    const root = merkleRoot(data, sha256);
    const leaves = data.map((d) => leafHash(d, sha256));
    for (let m = 0; m < n; m++) {
      const proof = inclusionProof(data, m, sha256);
      for (let other = 0; other < n; other++) {
        // Another leaf at this index, or this leaf claimed at another index, never verifies.
        expect(verifyInclusion(leaves[other], proof, root, sha256)).toBe(other === m);
        expect(verifyInclusion(leaves[m], { ...proof, leafIndex: other }, root, sha256)).toBe(other === m);
      }
      for (let size = 1; size <= n + 2; size++) {
        if (size === n) continue;
        // A claimed size verifies exactly when its tree puts the siblings on the same sides, level by level.
        expect(verifyInclusion(leaves[m], { ...proof, treeSize: size }, root, sha256)).toBe(
          m < size && sides(m, size).join() === sides(m, n).join(),
        );
      }
      for (let i = 0; i < proof.path.length; i++) {
        const altered = proof.path.map((p) => Uint8Array.from(p));
        altered[i][i % 32] ^= 0x01;
        expect(verifyInclusion(leaves[m], { ...proof, path: altered }, root, sha256)).toBe(false);
      }
      expect(verifyInclusion(leaves[m], { ...proof, path: proof.path.slice(1) }, root, sha256)).toBe(
        proof.path.length === 0,
      );
      expect(verifyInclusion(leaves[m], { ...proof, path: [...proof.path, root] }, root, sha256)).toBe(false);
      const wrongRoot = Uint8Array.from(root);
      wrongRoot[0] ^= 0x80;
      expect(verifyInclusion(leaves[m], proof, wrongRoot, sha256)).toBe(false);
    }
  }
  expect(
    verifyInclusion(
      leafHash(Buffer.from('x'), sha256),
      { leafIndex: 0, treeSize: 0, path: [] },
      merkleRoot([], sha256),
      sha256,
    ),
  ).toBe(false);
  expect(() => inclusionProof([Buffer.from('x')], 1, sha256)).toThrow(RangeError);
});
