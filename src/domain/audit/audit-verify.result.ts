/**
 * What `verify` concludes, and the one line the CLI prints for it. Verification stops at the first problem
 * and names it, because an auditor's next question is "where", not "how many".
 */

/** Problems a stream's own rows (and the digests recording it) can show. */
export type ChainProblem = 'edited' | 'missing' | 'reordered' | 'truncated' | 'deleted';

/** Every problem verification names; `digest-forged` is a digest that does not add up. */
export type AuditProblem = ChainProblem | 'digest-forged';

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

/** The outcome of verifying the whole log. */
export type VerifyResult = { ok: true; streams: number; events: number } | AuditFailure;

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
  if (result.ok) return `verify: ok (${result.streams} streams, ${result.events} events)`;
  return `verify: FAILED stream=${result.stream} seq=${result.seq ?? '-'} ${result.problem}: ${result.message}`;
}
