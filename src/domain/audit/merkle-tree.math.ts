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
