#!/usr/bin/env node
/**
 * `attest` — the command line: `attest verify` proves the audit log is intact, `attest log <stream>` prints a
 * stream's events in order, `attest export` writes one evidence row per access lifecycle (export.command.ts),
 * `attest catalog check` checks the access catalog against the directory (catalog.command.ts).
 * Options: `--data DIR` (embedded storage's data folder, default `.attest`).
 * Exit codes: 0 ok, 1 verification or export failed, 2 usage or configuration error.
 */
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { sha256 } from '../adapters/crypto/sha256';
import { systemClock } from '../adapters/system-clock';
import { TableNames } from '../adapters/tables/table-names';
import { ConfigError, loadConfigFromProcess } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { formatVerifyResult } from '../ports/audit-log.port';
import { PortInUseError } from '../local/port-check';
import { openCliStorage } from './cli-storage';
import { formatEvent } from './event-format';
import { REQUEST_USAGE, RequestUsageError, runRequestCommand } from './request.commands';
import { CATALOG_USAGE, CatalogUsageError, runCatalogCommand } from './catalog.command';
import {
  eventsInStreamOrder,
  EXPORT_OPTIONS,
  ExportArgumentError,
  parseExportOptions,
  runExport,
  type ExportOptionName,
  type ExportOptions,
} from './export.command';

const USAGE = [
  'usage: attest <command> [--data DIR]',
  '  verify            recompute every audit chain and digest; exit 1 and name the first problem if any',
  '  log <stream>      print one stream (a request id, a campaign id) in order',
  '  export --from <date> --to <date> [--format csv|jsonl] [--out FILE]',
  '                    one evidence row per access request submitted in [from, to) (dates as YYYY-MM-DD,',
  '                    UTC, or ISO 8601 with a zone); CSV by default; to stdout unless --out (see docs/evidence.md)',
  ...REQUEST_USAGE,
  ...CATALOG_USAGE,
].join('\n');

const REQUEST_COMMANDS = ['request', 'decide', 'status', 'demo'] as const;

/** System calls whose failure means the export's output file could not be written. */
const FILE_SYSCALLS: ReadonlySet<string> = new Set(['open', 'write', 'fsync', 'close', 'rename']);

/** A mistake on the command line; printed with the usage. */
class UsageError extends Error {}

/** The parsed command line. */
export interface CliArgs {
  command: 'verify' | 'log' | 'export' | 'help';
  stream?: string;
  /** The export's options, for `export`. */
  export?: ExportOptions;
  dataDir: string;
}

function isExportOption(name: string): name is ExportOptionName {
  return (EXPORT_OPTIONS as readonly string[]).includes(name);
}

/** Parses argv (without node and the script). */
export function parseCliArgs(argv: string[]): CliArgs {
  let dataDir = '.attest';
  const positional: string[] = [];
  const exportGiven: Partial<Record<ExportOptionName, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') && a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (name === '--data') {
      const value = a === '--data' ? argv[++i] : a.slice('--data='.length);
      if (!value || value.startsWith('--'))
        throw new UsageError('--data needs a folder, e.g. --data .attest');
      dataDir = value;
    } else if (isExportOption(name)) {
      const value = a === name ? argv[++i] : a.slice(name.length + 1);
      // A value starting with `--` is the next option: the value was left out.
      if (!value || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
      if (exportGiven[name] !== undefined) throw new UsageError(`${name} given twice`);
      exportGiven[name] = value;
    } else if (a === '--help' || a === '-h') return { command: 'help', dataDir };
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  const [command, ...rest] = positional;
  const exportNames = Object.keys(exportGiven);
  if (command !== 'export' && command !== undefined && exportNames.length > 0)
    throw new UsageError(`${exportNames[0]} is an option of export, not of ${command}`);
  if (command === 'verify' && rest.length === 0) return { command, dataDir };
  if (command === 'log' && rest.length === 1) return { command, stream: rest[0], dataDir };
  if (command === 'export') {
    if (rest.length > 0) throw new UsageError(`export takes options only, not ${rest.join(' ')}`);
    try {
      return { command, export: parseExportOptions(exportGiven), dataDir };
    } catch (e) {
      if (e instanceof ExportArgumentError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (command === 'log') throw new UsageError('log needs exactly one stream id, e.g. attest log 5f0c…');
  if (command === undefined) throw new UsageError('no command given');
  throw new UsageError(`unknown command ${command}${rest.length ? ` ${rest.join(' ')}` : ''}`);
}

export { formatEvent };

/** Runs the CLI; resolves to the exit code. `out`/`err` default to the console. */
export async function runCli(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  const first = argv.find((a) => !a.startsWith('-'));
  if (first === 'catalog') {
    try {
      return await runCatalogCommand(
        argv.filter((a, i) => i !== argv.indexOf(first)),
        loadConfigFromProcess('local'),
        out,
      );
    } catch (e) {
      if (e instanceof CatalogUsageError) {
        err(`attest: ${e.message}\n${USAGE}`);
        return 2;
      }
      if (e instanceof ConfigError || e instanceof PortInUseError) {
        err(e.message);
        return 2;
      }
      throw e;
    }
  }
  if (first && (REQUEST_COMMANDS as readonly string[]).includes(first)) {
    try {
      return await runRequestCommand(
        first as (typeof REQUEST_COMMANDS)[number],
        argv.filter((a) => a !== first),
        out,
      );
    } catch (e) {
      if (e instanceof RequestUsageError) {
        err(`attest: ${e.message}\n${USAGE}`);
        return 2;
      }
      if (e instanceof ConfigError || e instanceof PortInUseError) {
        err(e.message);
        return 2;
      }
      if (e instanceof DomainError) {
        err(`attest: ${e.code}: ${e.message}`);
        return 1;
      }
      throw e;
    }
  }
  let args: CliArgs;
  try {
    args = parseCliArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`attest: ${e.message}\n${USAGE}`);
      return 2;
    }
    throw e;
  }
  if (args.command === 'help') {
    out(USAGE);
    return 0;
  }
  let storage;
  try {
    storage = await openCliStorage(loadConfigFromProcess('local'), args.dataDir);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PortInUseError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
  try {
    const log = new AuditLogStore({
      table: storage.tables.client(TableNames.auditLog),
      digests: storage.tables.client(TableNames.auditDigests),
      clock: systemClock,
      sha256,
    });
    await log.init();
    if (args.command === 'verify') {
      const result = await log.verify();
      out(formatVerifyResult(result));
      return result.ok ? 0 : 1;
    }
    if (args.command === 'export') {
      const options = args.export as ExportOptions;
      try {
        await runExport(eventsInStreamOrder(log), options, {
          stdout: process.stdout,
          stderr: process.stderr,
        });
      } catch (e) {
        // A file-system failure (no such folder, disk full) is the user's to fix: say which file.
        const syscall = (e as NodeJS.ErrnoException).syscall;
        if (options.out !== undefined && syscall !== undefined && FILE_SYSCALLS.has(syscall)) {
          err(`attest: could not write ${options.out}: ${(e as Error).message}`);
          return 1;
        }
        throw e;
      }
      return 0;
    }
    let n = 0;
    for await (const event of log.read(args.stream as string)) {
      out(formatEvent(event));
      n++;
    }
    if (n === 0) {
      err(
        `attest: no events in stream ${args.stream} (check the id; \`attest verify\` counts the streams there are)`,
      );
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

if (require.main === module) {
  // NB. should the run ever stop with nothing left to wait for but unsettled, exit 1, never a silent 0.
  process.exitCode = 1;
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`attest: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
