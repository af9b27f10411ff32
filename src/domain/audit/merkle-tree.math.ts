/**
 * Merkle tree hashing as RFC 6962 §2.1 defines it (Certificate Transparency), so a digest's root can be
 * checked with any CT tooling: leaf = H(0x00 || data), node = H(0x01 || left || right), the left subtree
 * holding the largest power of two smaller than n leaves, and the empty tree H("").
 *
 * NB. the 0x00/0x01 prefixes keep a leaf from being passed off as an inner node (second-preimage attack).
 */
import type { Sha256 } from './audit-event.model';
import { concatBytes } from './canonical-json.codec';

const LEAF = Uint8Array.of(0x00);
const NODE = Uint8Array.of(0x01);

/** RFC 6962 leaf hash of one leaf's data. */
export function leafHash(data: Uint8Array, sha256: Sha256): Uint8Array {
  return sha256(concatBytes(LEAF, data));
}

/** RFC 6962 interior node hash. */
export function nodeHash(left: Uint8Array, right: Uint8Array, sha256: Sha256): Uint8Array {
  return sha256(concatBytes(NODE, left, right));
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function subtree(leaves: Uint8Array[], from: number, to: number, sha256: Sha256): Uint8Array {
  const n = to - from;
  if (n === 1) return leaves[from];
  const k = split(n);
  return nodeHash(subtree(leaves, from, from + k, sha256), subtree(leaves, from + k, to, sha256), sha256);
}

/** MTH(D[n]): the root over the leaves' data, in the order given. */
export function merkleRoot(data: readonly Uint8Array[], sha256: Sha256): Uint8Array {
  if (data.length === 0) return sha256(new Uint8Array(0));
  const leaves = data.map((d) => leafHash(d, sha256));
  return subtree(leaves, 0, leaves.length, sha256);
}

/** The proof that one leaf is in a tree: RFC 6962 §2.1.1 audit path, bottom-up. */
export interface InclusionProof {
  /** 0-based position of the leaf. */
  leafIndex: number;
  /** Number of leaves in the tree. */
  treeSize: number;
  /** Sibling subtree hashes from the leaf's level up to the root's children (PATH(m, D[n])). */
  path: Uint8Array[];
}

/**
 * The audit paths of several leaves at once, given the leaves' hashes (already {@link leafHash}ed): one pass
 * over the tree, every subtree hashed once, O(n + k log n). Returns the proofs in the order of `indices`.
 */
export function inclusionProofs(
  leaves: readonly Uint8Array[],
  indices: readonly number[],
  sha256: Sha256,
): InclusionProof[] {
  const n = leaves.length;
  for (const m of indices) {
    if (!Number.isInteger(m) || m < 0 || m >= n) throw new RangeError(`leaf ${m} is not in a tree of ${n}`);
  }
  const paths = new Map<number, Uint8Array[]>(indices.map((m) => [m, []]));
  const targets = [...paths.keys()].sort((a, b) => a - b);
  // PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) when m < k, else PATH(m - k, D[k:n]) : MTH(D[0:k]).
  // Recursing first and appending after keeps each path bottom-up.
  const walk = (from: number, to: number, lo: number, hi: number): Uint8Array => {
    // targets[lo..hi) are the leaves inside [from, to).
    if (to - from === 1) return leaves[from];
    const mid = from + split(to - from);
    let cut = lo;
    while (cut < hi && targets[cut] < mid) cut++;
    const left = walk(from, mid, lo, cut);
    const right = walk(mid, to, cut, hi);
    for (let i = lo; i < cut; i++) paths.get(targets[i])!.push(right);
    for (let i = cut; i < hi; i++) paths.get(targets[i])!.push(left);
    return nodeHash(left, right, sha256);
  };
  if (n > 0 && targets.length > 0) walk(0, n, 0, targets.length);
  return indices.map((m) => ({ leafIndex: m, treeSize: n, path: paths.get(m)! }));
}

/** The audit path of leaf `index` over the leaves' data (RFC 6962 §2.1.1). */
export function inclusionProof(data: readonly Uint8Array[], index: number, sha256: Sha256): InclusionProof {
  return inclusionProofs(
    data.map((d) => leafHash(d, sha256)),
    [index],
    sha256,
  )[0];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * True when `leaf` (a leaf hash) at `proof.leafIndex` of a tree of `proof.treeSize` leaves leads through
 * `proof.path` to `root`. The verification algorithm of RFC 9162 §2.1.3.2 (RFC 6962's audit path, checked
 * without rebuilding the tree); a path one element too long or too short fails.
 */
export function verifyInclusion(
  leaf: Uint8Array,
  proof: InclusionProof,
  root: Uint8Array,
  sha256: Sha256,
): boolean {
  const { leafIndex, treeSize, path } = proof;
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize)) return false;
  if (leafIndex < 0 || leafIndex >= treeSize) return false;
  // NB. BigInt-free bit arithmetic: indices stay far below 2^53, and Math.floor(x / 2) is x >> 1 for them.
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r, sha256);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p, sha256);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && sameBytes(r, root);
}
