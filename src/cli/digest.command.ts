/**
 * `attest digest`: writes an audit digest now (over every stream's head, from the previous digest and the
 * streams touched since) and anchors it outside the tables, with any earlier digest left unanchored. Prints
 * its sequence, root and hash, and the anchor as `<seq>:<hash>` — the value `attest verify --anchor` takes.
 * Exit 0 when written and anchored, 1 when the digest was written but could not be anchored (the next digest
 * anchors it), 2 for a usage or configuration error.
 */
import { ConfigError, loadConfigFromProcess, type AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { PortInUseError } from '../local/port-check';
import { openAuditLog, openCliStorage, type CliStorage } from './cli-storage';

/** The usage lines this command adds to `attest --help`. */
export const DIGEST_USAGE = [
  '  digest            write an audit digest now and anchor it outside the tables; prints its sequence, root,',
  '                    hash and the anchor <seq>:<hash> (keep it: `attest verify --anchor` checks against it)',
];

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
  let config: AttestConfig;
  let storage: CliStorage;
  try {
    config = options.config ?? loadConfigFromProcess('local');
    storage = await openCliStorage(config, options.dataDir);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PortInUseError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
  try {
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
  } catch (e) {
    if (e instanceof DomainError) {
      err(`attest: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await storage.close();
  }
}
