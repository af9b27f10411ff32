/**
 * What `verify` concludes, and the one line the CLI prints for it. Verification stops at the first problem
 * and names it, because an auditor's next question is "where", not "how many".
 */

/** Problems a stream's own rows (and the digests recording it) can show. */
export type ChainProblem = 'edited' | 'missing' | 'reordered' | 'truncated' | 'deleted';

/**
 * Problems of the digest chain against its anchors outside the tables: an anchored digest gone from the chain
 * (`digest-missing`), there with another hash (`digest-altered`), or the chain ending before the newest anchor
 * (`rewound`).
 */
export type AnchorProblem = 'digest-missing' | 'digest-altered' | 'rewound';

/** Every problem verification names; `digest-forged` is a digest that does not add up. */
export type AuditProblem = ChainProblem | 'digest-forged' | AnchorProblem;

/** The pseudo stream id under which digest problems are reported (no real stream can be named so). */
export const DIGEST_STREAM = '(digests)';

/** The first problem found. `seq` is the event (or digest) where it shows. */
export interface AuditFailure {
  ok: false;
  stream: string;
  seq?: number;
  problem: AuditProblem;
  message: string;
}

/** What the anchors outside the tables vouched for in a sound log. */
export interface AnchorCoverage {
  /** Anchors compared with the chain (blob anchors and a given `--anchor`). */
  checked: number;
  /** The newest anchored digest's seq, if any. */
  newest?: number;
  /** The chain's last digest's seq, if any: digests after `newest` are not anchored yet. */
  chainEnd?: number;
}

/** The outcome of verifying the whole log. */
export type VerifyResult =
  { ok: true; streams: number; events: number; anchors?: AnchorCoverage } | AuditFailure;

/** A failure value; a helper so every check builds it the same way. */
export function failure(
  stream: string,
  seq: number | undefined,
  problem: AuditProblem,
  message: string,
): AuditFailure {
  return seq === undefined
    ? { ok: false, stream, problem, message }
    : { ok: false, stream, seq, problem, message };
}

/**
 * The line `attest verify` prints: `verify: ok (<streams> streams, <events> events)` or
 * `verify: FAILED stream=<id> seq=<n> <problem>: <message>` (`seq=-` when the problem has no position).
 */
export function formatVerifyResult(result: VerifyResult): string {
  if (result.ok) {
    const counts = `${result.streams} streams, ${result.events} events`;
    const a = result.anchors;
    if (!a) return `verify: ok (${counts})`;
    const unanchored = (a.chainEnd ?? 0) - (a.newest ?? 0);
    const anchors =
      a.checked === 0
        ? a.chainEnd
          ? `no anchors: digests 1-${a.chainEnd} are not anchored outside the tables`
          : 'no digests yet'
        : `digests checked against ${a.checked} anchor${a.checked === 1 ? '' : 's'}, newest ${a.newest}` +
          (unanchored > 0 ? `; digests ${(a.newest ?? 0) + 1}-${a.chainEnd} not anchored yet` : '');
    return `verify: ok (${counts}; ${anchors})`;
  }
  return `verify: FAILED stream=${result.stream} seq=${result.seq ?? '-'} ${result.problem}: ${result.message}`;
}
