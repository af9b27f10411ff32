/**
 * Digests: a Merkle root over every stream's head, chained to the previous digest. A digest fixes what
 * every stream looked like at that moment, which is what lets verification notice a stream that was cut
 * short or deleted outright — things a hash chain on its own cannot show.
 */
import { GENESIS_HASH, type Sha256, type StreamHead } from './audit-event.model';
import { DIGEST_STREAM, failure, type AuditFailure } from './audit-verify.result';
import { canonicalJson, hashCanonical, toHex, utf8 } from './canonical-json.codec';
import type { Checkpoint } from './hash-chain.math';
import { merkleRoot } from './merkle-tree.math';

/** One digest. `hash` covers every field but `heads` and `hash`; the heads are bound through `root`. */
export interface AuditDigest {
  seq: number;
  time: string;
  /** Hex RFC 6962 root over the heads, sorted by stream; leaf data = canonical `{stream, seq, hash}`. */
  root: string;
  /** Number of streams (= heads.length). */
  streams: number;
  /** Number of events (= the sum of the heads' seq). */
  events: number;
  heads: StreamHead[];
  prevDigestHash: string;
  hash: string;
}

/** The digest without its heads: what an evidence email or an immutable blob needs to anchor the log. */
export type DigestSummary = Omit<AuditDigest, 'heads'>;

/** The digest's summary fields, in a fixed order (what an anchor, digest.json or a caller holds). */
export function digestSummaryOf(d: DigestSummary): DigestSummary {
  return {
    seq: d.seq,
    time: d.time,
    root: d.root,
    streams: d.streams,
    events: d.events,
    prevDigestHash: d.prevDigestHash,
    hash: d.hash,
  };
}

/** Orders heads by stream in UTF-16 code units (the order the Merkle leaves use). */
export function sortHeads(heads: readonly StreamHead[]): StreamHead[] {
  return [...heads].sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0));
}

/** Hex Merkle root over heads already sorted by {@link sortHeads}. */
export function headsRoot(heads: readonly StreamHead[], sha256: Sha256): string {
  return toHex(
    merkleRoot(
      heads.map((h) => utf8(canonicalJson({ stream: h.stream, seq: h.seq, hash: h.hash }))),
      sha256,
    ),
  );
}

/** The digest's own hash, over its summary fields. */
export function digestHash(d: Omit<DigestSummary, 'hash'>, sha256: Sha256): string {
  return hashCanonical(
    {
      seq: d.seq,
      time: d.time,
      root: d.root,
      streams: d.streams,
      events: d.events,
      prevDigestHash: d.prevDigestHash,
    },
    sha256,
  );
}

/** The next digest after `prev` (undefined for the first) over the given heads, at `time` (ISO 8601 UTC). */
export function buildDigest(
  prev: Pick<DigestSummary, 'seq' | 'hash'> | undefined,
  heads: readonly StreamHead[],
  time: string,
  sha256: Sha256,
): AuditDigest {
  const sorted = sortHeads(heads).map((h) => ({ stream: h.stream, seq: h.seq, hash: h.hash }));
  const body = {
    seq: prev ? prev.seq + 1 : 1,
    time,
    root: headsRoot(sorted, sha256),
    streams: sorted.length,
    events: sorted.reduce((n, h) => n + h.seq, 0),
    prevDigestHash: prev ? prev.hash : GENESIS_HASH,
  };
  return { ...body, heads: sorted, hash: digestHash(body, sha256) };
}

/**
 * Verifies digests in seq order: each one's hash, its link to the previous, its root over its heads and its
 * counts. `push` returns the first problem as `digest-forged`, reported under {@link DIGEST_STREAM}.
 */
export class DigestChainVerifier {
  private last: { seq: number; hash: string } | undefined;

  constructor(private readonly sha256: Sha256) {}

  /** The last digest accepted. */
  get latest(): { seq: number; hash: string } | undefined {
    return this.last;
  }

  /** Checks the next digest. */
  push(d: AuditDigest): AuditFailure | undefined {
    const forged = (why: string) => failure(DIGEST_STREAM, d.seq, 'digest-forged', `digest ${d.seq} ${why}.`);
    const expected = this.last ? this.last.seq + 1 : 1;
    if (d.seq !== expected) return forged(`follows digest ${expected - 1} (digest ${expected} is missing)`);
    if (d.prevDigestHash !== (this.last ? this.last.hash : GENESIS_HASH)) {
      return forged(`does not point at digest ${expected - 1}`);
    }
    if (digestHash(d, this.sha256) !== d.hash) return forged('does not match its own hash');
    for (let i = 1; i < d.heads.length; i++) {
      if (!(d.heads[i - 1].stream < d.heads[i].stream))
        return forged('lists its heads out of order or twice');
    }
    if (d.streams !== d.heads.length)
      return forged(`counts ${d.streams} streams but lists ${d.heads.length}`);
    const events = d.heads.reduce((n, h) => n + h.seq, 0);
    if (d.events !== events) return forged(`counts ${d.events} events but its heads add up to ${events}`);
    if (headsRoot(d.heads, this.sha256) !== d.root) return forged('has a root that does not match its heads');
    this.last = { seq: d.seq, hash: d.hash };
    return undefined;
  }
}

/**
 * Every stream head any digest recorded, per stream and seq. Later digests mostly repeat earlier heads, so
 * memory grows with distinct heads, not with digests × streams.
 */
export class DigestCheckpoints {
  private readonly byStream = new Map<string, Map<number, Checkpoint>>();

  /** Records a verified digest's heads. */
  add(d: AuditDigest): void {
    for (const h of d.heads) {
      let seqs = this.byStream.get(h.stream);
      if (!seqs) this.byStream.set(h.stream, (seqs = new Map()));
      // Keep the first digest that saw this head: it is the one an auditor would cite.
      if (!seqs.has(h.seq)) seqs.set(h.seq, { seq: h.seq, hash: h.hash, digestSeq: d.seq });
    }
  }

  /** The checkpoints of one stream (empty when no digest saw it). */
  of(stream: string): ReadonlyMap<number, Checkpoint> {
    return this.byStream.get(stream) ?? new Map();
  }

  /** Every stream some digest recorded, sorted. */
  streams(): string[] {
    return [...this.byStream.keys()].sort();
  }
}
