/**
 * `attest verify [--anchor <seq>:<hash>]`: recomputes every audit chain and digest, and checks the digest
 * chain against every anchor outside the tables (the blobs in ATTEST_EVIDENCE_CONTAINER) and against the
 * anchor given (a value from an evidence email or from `attest digest`). The first problem is named: the
 * stream and event, or the digest and the anchor it contradicts (missing, altered, rewound).
 * Exit 0 ok, 1 a failed check (or anchors that cannot be read), 2 usage or configuration error.
 */
import { RestError } from '@azure/storage-blob';
import type { AttestConfig } from '../config/config';
import { formatVerifyResult, type VerifyOptions } from '../ports/audit-log.port';
import { openAuditLog, withCommandStorage } from './cli-storage';

/** An example of the anchor's format, for messages. */
export const ANCHOR_EXAMPLE = `42:${'3f'.repeat(32)}`;

/** Options of `attest verify`. */
export interface VerifyCommandOptions {
  /** Embedded storage's data folder (`--data`, default `.attest`). */
  dataDir: string;
  /** `--anchor <seq>:<hash>` as typed. */
  anchor?: string;
  /** The configuration; read from the environment when absent. */
  config?: AttestConfig;
}

/** A `--anchor` value that is not `<seq>:<hash>`. */
export class AnchorFormatError extends Error {}

/**
 * Parses `<seq>:<hash>` (a digest's sequence number and its SHA-256 in hex, as `attest digest` and the evidence
 * email print it). Throws {@link AnchorFormatError} with an example otherwise.
 */
export function parseAnchor(value: string): NonNullable<VerifyOptions['anchor']> {
  const m = /^\s*(\d{1,10}):([0-9a-fA-F]{64})\s*$/.exec(value);
  const seq = m ? Number(m[1]) : 0;
  if (!m || seq < 1) {
    throw new AnchorFormatError(
      `--anchor must be <seq>:<hash>, a digest's sequence number (1 or more) and its 64-hex-digit SHA-256 ` +
        `as \`attest digest\` and the evidence email print it, e.g. --anchor ${ANCHOR_EXAMPLE}; got '${value}'`,
    );
  }
  return { seq, hash: m[2].toLowerCase() };
}

/** Runs `attest verify`; resolves to the exit code. */
export async function runVerify(
  options: VerifyCommandOptions,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let anchor: VerifyOptions['anchor'];
  if (options.anchor !== undefined) {
    try {
      anchor = parseAnchor(options.anchor);
    } catch (e) {
      if (e instanceof AnchorFormatError) {
        err(`attest: ${e.message}`);
        return 2;
      }
      throw e;
    }
  }
  return withCommandStorage(options, err, async (storage, config) => {
    try {
      const log = await openAuditLog(storage);
      const result = await log.verify(anchor ? { anchor } : {});
      out(formatVerifyResult(result));
      return result.ok ? 0 : 1;
    } catch (e) {
      if (e instanceof RestError && e.request?.url.includes(`/${config.evidence.container}`)) {
        // The anchors could not be read: the log is not verified against them, which is not "ok".
        err(
          `attest: verify could not read the anchors in container ${config.evidence.container} ` +
            `(${e.statusCode ?? e.code ?? 'no answer'}: ${e.message.split('\n')[0]}). Check the storage account and try again.`,
        );
        return 1;
      }
      throw e;
    }
  });
}
