/**
 * `attest evidence --from <date> --to <date> --out DIR`: writes an evidence bundle for the period
 * (adapters/evidence/evidence-bundle.ts), and `attest verify --bundle DIR [--anchor <seq>:<hash>]`: verifies
 * one offline, with no storage (adapters/evidence/bundle-verifier.ts). Exit codes: 0 ok, 1 a check failed,
 * 2 usage or configuration error.
 */
import type { Command } from 'commander';
import { valueOption, type CliContext } from './cli-program';
import fs from 'node:fs';
import path from 'node:path';
import { writeEvidenceBundle } from '../adapters/evidence/evidence-bundle';
import { formatBundleResult, verifyBundle } from '../adapters/evidence/bundle-verifier';
import { systemClock } from '../adapters/system-clock';
import { ConfigError, loadConfigFromProcess } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { EvidenceErrorCodes } from '../domain/evidence/evidence.errors';
import { PortInUseError } from '../local/port-check';
import type { AnchorStore } from '../ports/anchor-store.port';
import type { AuditLogPort } from '../ports/audit-log.port';
import type { Clock } from '../ports/clock.port';
import { AnchorFormatError, parseAnchor } from './verify.command';
import { openAuditLog, openCliStorage } from './cli-storage';
import { ExportArgumentError, parseDateBound } from './export.command';

/** The usage lines these commands add to `attest --help`. */
export const EVIDENCE_USAGE = [
  '  evidence --from <date> --to <date> --out DIR',
  '                    write the evidence bundle of the period to a new folder: lifecycle CSV, reviews, drift,',
  '                    refused attempts, summary (JSON + one-page HTML), raw events, digest, proofs, manifest',
  '  verify --bundle DIR [--anchor <seq>:<hash>]',
  '                    verify an evidence bundle offline (no storage needed); --anchor is the digest printed in',
  '                    the evidence email; exit 1 naming the file (and line) of the first problem',
];

/** `attest evidence`'s options as given. */
export interface EvidenceCommandOptions {
  from?: string;
  to?: string;
  out?: string;
  /** The data folder of the embedded storage (`--data`, default `.attest`). */
  data?: string;
}

/** What `attest evidence` works on; the CLI opens storage itself when none is given (tests pass their own). */
export interface EvidenceDeps {
  audit: AuditLogPort;
  anchors?: AnchorStore;
  clock: Clock;
}

type Line = (line: string) => void;

async function openDeps(dataDir: string): Promise<{ deps: EvidenceDeps; close(): Promise<void> }> {
  const storage = await openCliStorage(loadConfigFromProcess('local'), dataDir);
  // The log anchors its own digests (backfilling any a blob outage left); the bundle files go to the same store.
  const log = await openAuditLog(storage);
  // Every bundle file also goes to the write-once container, beside the digest anchors.
  return {
    deps: { audit: log, anchors: storage.anchors, clock: systemClock },
    close: () => storage.close(),
  };
}

/** Runs `attest evidence`; resolves to the exit code. */
export async function runEvidence(
  opts: EvidenceCommandOptions,
  out: Line,
  err: Line,
  deps?: EvidenceDeps,
): Promise<number> {
  const usage = (message: string) => {
    err(`attest evidence: ${message}\n${EVIDENCE_USAGE.join('\n')}`);
    return 2;
  };
  const missing = (['from', 'to', 'out'] as const).filter((k) => !opts[k]);
  if (missing.length > 0)
    return usage(
      `needs ${missing.map((k) => `--${k}`).join(' and ')}, e.g. attest evidence --from 2026-10-01 --to 2027-01-01 --out q4-evidence`,
    );
  let from: string;
  let to: string;
  try {
    from = parseDateBound('--from', opts.from as string);
    to = parseDateBound('--to', opts.to as string);
  } catch (e) {
    if (e instanceof ExportArgumentError) return usage(e.message);
    throw e;
  }
  if (Date.parse(from) >= Date.parse(to))
    return usage(`--from ${opts.from} must be before --to ${opts.to} (--from is inclusive, --to exclusive).`);
  const outDir = opts.out as string;
  if (fs.existsSync(outDir) && (!fs.statSync(outDir).isDirectory() || fs.readdirSync(outDir).length > 0))
    return usage(`--out ${outDir} exists and is not an empty folder: name a new folder.`);

  let opened: { deps: EvidenceDeps; close(): Promise<void> } | undefined;
  try {
    if (!deps) {
      try {
        opened = await openDeps(opts.data ?? '.attest');
      } catch (e) {
        if (e instanceof ConfigError || e instanceof PortInUseError) {
          err(e.message);
          return 2;
        }
        throw e;
      }
    }
    const result = await writeEvidenceBundle(deps ?? opened!.deps, {
      from: new Date(from),
      to: new Date(to),
      outDir,
    });
    const s = result.summary;
    out(`evidence: wrote bundle ${result.bundleId} to ${result.dir} (${result.files.length} files)`);
    out(
      `evidence: ${s.bundle.streams} streams, ${s.bundle.events} events; ${s.requests.lifecycles} lifecycles, ` +
        `${s.requests.submitted} requests, ${s.grants} grants, ${s.revocations.total} revocations, ` +
        `${s.overdueRevocations.open} revocations overdue, ${s.refusedAttempts.total} refused attempts`,
    );
    out(`evidence: digest ${result.digest.seq} root ${result.digest.root}`);
    out(`evidence: anchor ${result.digest.seq}:${result.digest.hash}`);
    out(
      `evidence: check it with: attest verify --bundle ${path.relative(process.cwd(), result.dir) || '.'} --anchor ${result.digest.seq}:${result.digest.hash}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof DomainError) {
      err(`attest evidence: ${e.code}: ${e.message}`);
      return e.code === EvidenceErrorCodes.logUnverified ? 1 : 2;
    }
    throw e;
  } finally {
    await opened?.close();
  }
}

/** Runs `attest verify --bundle DIR [--anchor <seq>:<hash>]`; resolves to the exit code. Needs no storage. */
export async function runVerifyBundle(
  opts: { dir?: string; anchor?: string },
  out: Line,
  err: Line,
): Promise<number> {
  const usage = (message: string) => {
    err(`attest verify: ${message}\n${EVIDENCE_USAGE.slice(3).join('\n')}`);
    return 2;
  };
  if (!opts.dir) return usage('--bundle needs the bundle folder, e.g. attest verify --bundle q4-evidence');
  let anchor: { seq: number; hash: string } | undefined;
  if (opts.anchor !== undefined) {
    try {
      anchor = parseAnchor(opts.anchor);
    } catch (e) {
      if (e instanceof AnchorFormatError) return usage(e.message);
      throw e;
    }
  }
  if (!fs.existsSync(opts.dir) || !fs.statSync(opts.dir).isDirectory())
    return usage(`--bundle ${opts.dir} is not a folder (unzip a mailed bundle first)`);
  const result = await verifyBundle(opts.dir, anchor ? { anchor } : {});
  out(formatBundleResult(result));
  return result.ok ? 0 : 1;
}

/** `attest evidence --from --to --out`. */
export function registerEvidenceCommand(program: Command, cli: CliContext): void {
  program
    .command('evidence')
    .usage('--from <date> --to <date> --out <dir>')
    .description(
      'write the evidence bundle of [from, to) to a new folder: lifecycle CSV, reviews, drift, refused attempts, ' +
        'summary (JSON and a one-page HTML report), raw streams, digest, inclusion proofs, manifest (docs/evidence.md)',
    )
    .addOption(valueOption('--from <date>', 'first day (or instant), inclusive', { once: true }))
    .addOption(valueOption('--to <date>', 'end of the period, exclusive', { once: true }))
    .addOption(valueOption('--out <dir>', 'a new (or empty) folder for the bundle', { once: true }))
    .action(
      cli.action<{ from?: string; to?: string; out?: string }>(({ options, dataDir, out, err }) =>
        runEvidence({ ...options, data: dataDir }, out, err),
      ),
    );
}
