/**
 * `attest digest`: writes an audit digest now (over every stream's head, from the previous digest and the
 * streams touched since) and anchors it outside the tables, with any earlier digest left unanchored. Prints
 * its sequence, root and hash, and the anchor as `<seq>:<hash>` — the value `attest verify --anchor` takes.
 * Exit 0 when written and anchored, 1 when the digest was written but could not be anchored (the next digest
 * anchors it), 2 for a usage or configuration error.
 */
import type { AttestConfig } from '../config/config';
import { openAuditLog, withCommandStorage } from './cli-storage';

/** Options of `attest digest`. */
export interface DigestCommandOptions {
  /** Embedded storage's data folder (`--data`, default `.attest`). */
  dataDir: string;
  /** The configuration; read from the environment when absent. */
  config?: AttestConfig;
}

/** Runs `attest digest`; resolves to the exit code. */
export async function runDigest(
  options: DigestCommandOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  return withCommandStorage(options, err, async (storage, config) => {
    const log = await openAuditLog(storage);
    const d = await log.writeDigest();
    out(`digest ${d.seq}: ${d.streams} streams, ${d.events} events, at ${d.time}`);
    out(`root   ${d.root}`);
    out(`hash   ${d.hash}`);
    out(`anchor ${d.seq}:${d.hash}`);
    if (!d.anchored) {
      err(
        `attest: digest ${d.seq} is in the tables but NOT anchored in container ${config.evidence.container}: ` +
          `${d.anchorProblem ?? 'unknown reason'}. The next digest (the timer, or \`attest digest\`) anchors it.`,
      );
      return 1;
    }
    out(`anchored in container ${config.evidence.container}`);
    if (d.anchorProblem) {
      // This digest is anchored, but an earlier one could not be: a rewritten chain or a lost row.
      err(`attest: earlier digests could not be anchored: ${d.anchorProblem}`);
      return 1;
    }
    return 0;
  });
}
