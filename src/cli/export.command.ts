/**
 * `attest export --from <date> --to <date> [--format csv|jsonl] [--out FILE] [--no-verify]`: one evidence row
 * per access lifecycle (docs/evidence.md), streamed from the audit log to stdout or a file in constant memory.
 * A file is written as `FILE.partial` and renamed when complete, so a failed export never leaves a file that
 * looks whole. The log is verified first (`attest verify`'s checks) and each exported stream's chain again as it
 * is read; a failure refuses the export with the problem named. `--no-verify` skips both and says so on stderr.
 */
import { once } from 'node:events';
import fs from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify';
import { lifecycleRows } from '../domain/evidence/lifecycle-rows.projection';
import { toCsvCells, toJsonRecord } from '../domain/evidence/lifecycle-row.model';
import { LIFECYCLE_CSV_OPTIONS } from '../adapters/evidence/lifecycle-csv';
import { sha256 } from '../adapters/crypto/sha256';
import { StreamVerifier } from '../domain/audit/hash-chain.math';
import { DomainError } from '../domain/domain-error';
import { EvidenceErrorCodes } from '../domain/evidence/evidence.errors';
import { formatVerifyResult, type AuditEvent, type AuditLogPort } from '../ports/audit-log.port';
import { withAuditLog } from './cli-storage';
import { CliUsageError, valueOption, type CliContext } from './cli-program';

/** The export's options as given on the command line. */
export const EXPORT_OPTIONS = ['--from', '--to', '--format', '--out'] as const;

/** One of {@link EXPORT_OPTIONS}. */
export type ExportOptionName = (typeof EXPORT_OPTIONS)[number];

/** The output formats. */
export type ExportFormat = 'csv' | 'jsonl';

/** A parsed, validated export command. */
export interface ExportOptions {
  /** Inclusive lower bound on requested-at, as an ISO 8601 UTC instant. */
  from: string;
  /** Exclusive upper bound on requested-at, as an ISO 8601 UTC instant. */
  to: string;
  format: ExportFormat;
  /** The file to write; stdout when absent. */
  out?: string;
  /** Verify the log before and while exporting (default true); false for `--no-verify`. */
  verify?: boolean;
}

/** A mistake in the export's arguments; the CLI prints it with the usage and exits 2. */
export class ExportArgumentError extends CliUsageError {}

const DATE_HINT = 'use YYYY-MM-DD (UTC midnight) or an ISO 8601 time with a zone, e.g. 2026-11-01T09:00Z';

function isRealDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * A `--from`/`--to` value as an ISO 8601 UTC instant: `YYYY-MM-DD` is midnight UTC; a date-time must carry
 * `Z` or an offset. NB. a time without a zone is refused rather than guessed: evidence windows must not shift
 * with the machine's time zone.
 */
export function parseDateBound(option: string, value: string): string {
  const date = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (date) {
    if (!isRealDate(Number(date[1]), Number(date[2]), Number(date[3])))
      throw new ExportArgumentError(`${option} ${value} is not a date in the calendar.`);
    return `${value}T00:00:00.000Z`;
  }
  const time =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i.exec(
      value,
    );
  if (!time) throw new ExportArgumentError(`${option} ${value} is not a date: ${DATE_HINT}.`);
  const [, y, mo, d, h, mi, s = '00', fraction = '', zone] = time;
  if (zone === undefined) {
    throw new ExportArgumentError(
      `${option} ${value} has no time zone: add Z for UTC or an offset, e.g. ${value}Z or ${value}+01:00.`,
    );
  }
  if (!isRealDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new ExportArgumentError(`${option} ${value} is not a time in the calendar.`);
  }
  let offset = zone.toUpperCase();
  if (offset !== 'Z')
    offset = offset.length === 3 ? `${offset}:00` : `${offset.slice(0, 3)}:${offset.slice(-2)}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction.slice(0, 4)}${offset}`);
  if (Number.isNaN(ms)) throw new ExportArgumentError(`${option} ${value} is not a date: ${DATE_HINT}.`);
  return new Date(ms).toISOString();
}

/** Validates the export's options (by name, as given after `attest export`). */
export function parseExportOptions(
  given: Partial<Record<ExportOptionName, string>> & { '--no-verify'?: boolean },
): ExportOptions {
  const example = 'e.g. attest export --from 2026-11-01 --to 2026-12-01';
  if (given['--from'] === undefined || given['--to'] === undefined) {
    const missing = (['--from', '--to'] as const).filter((o) => given[o] === undefined).join(' and ');
    throw new ExportArgumentError(`export needs ${missing}, ${example}`);
  }
  const from = parseDateBound('--from', given['--from']);
  const to = parseDateBound('--to', given['--to']);
  if (Date.parse(from) >= Date.parse(to)) {
    throw new ExportArgumentError(
      `--from ${given['--from']} must be before --to ${given['--to']} (--from is inclusive, --to exclusive).`,
    );
  }
  const format = given['--format'] ?? 'csv';
  if (format !== 'csv' && format !== 'jsonl') {
    throw new ExportArgumentError(`--format ${format} is not a format: use csv or jsonl.`);
  }
  const options: ExportOptions = { from, to, format, verify: given['--no-verify'] !== true };
  if (given['--out'] !== undefined) options.out = given['--out'];
  return options;
}

function refuse(what: string): never {
  throw new DomainError(
    EvidenceErrorCodes.logUnverified,
    `${what}. Nothing was exported: an export of a log that does not verify is not evidence ` +
      '(run attest verify; --no-verify exports anyway and says so).',
  );
}

/**
 * Every event of the log, one stream at a time in seq order, as {@link lifecycleRows} needs them: one ordered
 * pass over the table, page by page. Unless `verify` is false, the whole log is verified first (chains, digests
 * and the anchors the store checks) and each stream's chain is checked again as it streams past, so an event
 * written or altered after that check is caught too; either failure throws `EVIDENCE.LOG_UNVERIFIED` naming it.
 */
export async function* eventsInStreamOrder(
  log: Pick<AuditLogPort, 'scanAll'> & Partial<Pick<AuditLogPort, 'verify'>>,
  opts: { verify?: boolean } = {},
): AsyncIterable<AuditEvent> {
  if (opts.verify === false) {
    yield* log.scanAll();
    return;
  }
  if (log.verify) {
    const result = await log.verify();
    if (!result.ok) refuse(formatVerifyResult(result));
  }
  let verifier: StreamVerifier | undefined;
  for await (const e of log.scanAll()) {
    if (verifier && verifier.stream !== e.stream) {
      const problem = verifier.finish();
      if (problem) refuse(formatVerifyResult(problem));
      verifier = undefined;
    }
    verifier ??= new StreamVerifier(e.stream, sha256);
    const problem = verifier.push(e);
    if (problem) refuse(formatVerifyResult(problem));
    yield e;
  }
  const problem = verifier?.finish();
  if (problem) refuse(formatVerifyResult(problem));
}

/** The note `--no-verify` writes to stderr (never into the exported file, which stays plain CSV or JSONL). */
export const NO_VERIFY_NOTE =
  'export: --no-verify: these rows were NOT checked against the hash chains and digests; ' +
  'run attest verify before relying on them.';

/** Where the export writes, and the terminal it reports progress on. */
export interface ExportIo {
  stdout: Writable;
  stderr: { isTTY?: boolean; write(text: string): unknown };
  /** Milliseconds, for the rate; `Date.now` by default. */
  now?: () => number;
}

/** What an export wrote. */
export interface ExportSummary {
  rows: number;
  streams: number;
}

/** How often the progress line is redrawn. */
const PROGRESS_INTERVAL_MS = 200;

/** A progress line on a terminal, redrawn in place with `\r`; silent when told not to show. */
class ProgressLine {
  private readonly started: number;
  private lastDrawn = -Infinity;
  private width = 0;

  constructor(
    private readonly stderr: ExportIo['stderr'],
    private readonly now: () => number,
    private readonly shown: boolean,
  ) {
    this.started = now();
  }

  update(summary: ExportSummary, final = false): void {
    if (!this.shown) return;
    const t = this.now();
    if (!final && t - this.lastDrawn < PROGRESS_INTERVAL_MS) return;
    this.lastDrawn = t;
    const seconds = Math.max((t - this.started) / 1000, 0.001);
    const rate = Math.round(summary.rows / seconds);
    const text =
      `export: ${summary.rows.toLocaleString('en-US')} rows written, ` +
      `${summary.streams.toLocaleString('en-US')} streams scanned, ${rate.toLocaleString('en-US')} rows/s`;
    // Pad over the previous line's tail: a shorter line must not leave old characters behind.
    this.stderr.write(`\r${text.padEnd(this.width)}${final ? '\n' : ''}`);
    this.width = text.length;
  }
}

/** The destination: stdout, or `FILE.partial` renamed to FILE on success and removed on failure. */
interface Target {
  stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function openTarget(out: string | undefined, stdout: Writable): Promise<Target> {
  if (out === undefined)
    return { stream: stdout, commit: async () => undefined, abort: async () => undefined };
  const partial = `${out}.partial`;
  // NB. flush: the data is on disk before the rename, so a crash right after cannot leave a short FILE.
  const stream = fs.createWriteStream(partial, { flush: true });
  // Fail on an unwritable path before reading any of the log.
  await once(stream, 'open');
  return {
    stream,
    commit: () => fs.promises.rename(partial, out),
    async abort() {
      stream.destroy();
      if (!stream.closed) await once(stream, 'close').catch(() => undefined);
      await fs.promises.rm(partial, { force: true });
    },
  };
}

/**
 * Streams the evidence rows of `events` (in stream order) to stdout or `options.out`, with backpressure.
 * Throws what failed (an unwritable file, a storage error, `EVIDENCE.OUT_OF_ORDER`) after removing the
 * partial file; a reader that closes stdout early (`| head`) simply ends the export.
 */
export async function runExport(
  events: AsyncIterable<AuditEvent>,
  options: ExportOptions,
  io: ExportIo,
): Promise<ExportSummary> {
  const now = io.now ?? Date.now;
  const summary: ExportSummary = { rows: 0, streams: 0 };
  if (options.verify === false) io.stderr.write(`${NO_VERIFY_NOTE}\n`);
  const progress = new ProgressLine(io.stderr, now, options.out !== undefined && io.stderr.isTTY === true);
  const target = await openTarget(options.out, io.stdout);
  const rows = lifecycleRows(events, {
    from: options.from,
    to: options.to,
    onStream: () => {
      summary.streams++;
      progress.update(summary);
    },
  });
  async function* records(): AsyncIterable<string[] | string> {
    for await (const row of rows) {
      summary.rows++;
      progress.update(summary);
      yield options.format === 'csv' ? toCsvCells(row) : `${JSON.stringify(toJsonRecord(row))}\n`;
    }
  }
  const source = Readable.from(records());
  try {
    if (options.format === 'csv') {
      const csv = stringify(LIFECYCLE_CSV_OPTIONS);
      await pipeline(source, csv, target.stream);
    } else {
      await pipeline(source, target.stream);
    }
    await target.commit();
  } catch (err) {
    await target.abort();
    if (options.out === undefined && (err as NodeJS.ErrnoException).code === 'EPIPE') return summary;
    throw err;
  }
  progress.update(summary, true);
  return summary;
}

/** System calls whose failure means the export's output file could not be written. */
const FILE_SYSCALLS: ReadonlySet<string> = new Set(['open', 'write', 'fsync', 'close', 'rename']);

/** `attest export`. */
export function registerExportCommand(program: Command, cli: CliContext): void {
  program
    .command('export')
    .usage('--from <date> --to <date> [--format csv|jsonl] [--out FILE] [--no-verify]')
    .description(
      'one evidence row per access request submitted in [from, to) (dates as YYYY-MM-DD, UTC, or ISO 8601 with a zone); CSV by default; to stdout unless --out (see docs/evidence.md)',
    )
    .addOption(valueOption('--from <date>', 'first day (or instant) requested, inclusive', { once: true }))
    .addOption(valueOption('--to <date>', 'end of the period, exclusive', { once: true }))
    .addOption(valueOption('--format <format>', 'csv (the default) or jsonl', { once: true }))
    .addOption(
      valueOption('--out <file>', 'write to FILE (whole or not at all) instead of stdout', { once: true }),
    )
    .option(
      '--no-verify',
      'export without verifying the log first (says so on stderr); by default a log that does not verify is not exported',
    )
    .action(
      cli.action<Partial<Record<'from' | 'to' | 'format' | 'out', string>> & { verify?: boolean }>(
        async ({ options: given, dataDir, err }) => {
          const options = parseExportOptions({
            '--from': given.from,
            '--to': given.to,
            '--format': given.format,
            '--out': given.out,
            '--no-verify': given.verify === false,
          });
          return withAuditLog(dataDir, async (log) => {
            try {
              await runExport(eventsInStreamOrder(log, { verify: options.verify }), options, {
                stdout: process.stdout,
                stderr: process.stderr,
              });
              return 0;
            } catch (e) {
              // A file-system failure (no such folder, disk full) is the user's to fix: say which file.
              const syscall = (e as NodeJS.ErrnoException).syscall;
              if (options.out !== undefined && syscall !== undefined && FILE_SYSCALLS.has(syscall)) {
                err(`attest: could not write ${options.out}: ${(e as Error).message}`);
                return 1;
              }
              throw e;
            }
          });
        },
      ),
    );
}
