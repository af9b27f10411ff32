#!/usr/bin/env node
/**
 * `attest` — the command line: `attest verify` proves the audit log is intact, `attest log <stream>` prints a
 * stream's events in order. Options: `--data DIR` (embedded storage's data folder, default `.attest`).
 * Exit codes: 0 ok, 1 verification failed, 2 usage or configuration error.
 */
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { sha256 } from '../adapters/crypto/sha256';
import { systemClock } from '../adapters/system-clock';
import { TableNames } from '../adapters/tables/table-names';
import { ConfigError, loadConfigFromProcess } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { formatVerifyResult, type AuditEvent } from '../ports/audit-log.port';
import { PortInUseError } from '../local/port-check';
import { openCliStorage } from './cli-storage';

const USAGE = [
  'usage: attest <command> [--data DIR]',
  '  verify            recompute every audit chain and digest; exit 1 and name the first problem if any',
  '  log <stream>      print one stream (a request id, a campaign id) in order',
].join('\n');

/** A mistake on the command line; printed with the usage. */
class UsageError extends Error {}

/** The parsed command line. */
export interface CliArgs {
  command: 'verify' | 'log' | 'help';
  stream?: string;
  dataDir: string;
}

/** Parses argv (without node and the script). */
export function parseCliArgs(argv: string[]): CliArgs {
  let dataDir = '.attest';
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--data' || a.startsWith('--data=')) {
      const value = a === '--data' ? argv[++i] : a.slice('--data='.length);
      if (!value || value.startsWith('--'))
        throw new UsageError('--data needs a folder, e.g. --data .attest');
      dataDir = value;
    } else if (a === '--help' || a === '-h') return { command: 'help', dataDir };
    else if (a.startsWith('-')) throw new UsageError(`unknown option ${a}`);
    else positional.push(a);
  }
  const [command, ...rest] = positional;
  if (command === 'verify' && rest.length === 0) return { command, dataDir };
  if (command === 'log' && rest.length === 1) return { command, stream: rest[0], dataDir };
  if (command === 'log') throw new UsageError('log needs exactly one stream id, e.g. attest log 5f0c…');
  if (command === undefined) throw new UsageError('no command given');
  throw new UsageError(`unknown command ${command}${rest.length ? ` ${rest.join(' ')}` : ''}`);
}

/** One event as a person reads it. */
export function formatEvent(e: AuditEvent): string {
  const who = e.actor.upn ?? e.actor.objectId;
  const details = Object.keys(e.details).length ? ` ${JSON.stringify(e.details)}` : '';
  return `#${e.seq} ${e.time} ${e.action} by ${who} (${e.actor.channel}) on ${e.subject}${details}`;
}

/** Runs the CLI; resolves to the exit code. `out`/`err` default to the console. */
export async function runCli(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
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
  runCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`attest: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}
