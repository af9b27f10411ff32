/**
 * `npm start`: runs Attest locally with embedded defaults. Options: --data DIR (default .attest), --fresh,
 * --no-playground, --as USER (who the Playground chats as). A bad setting or a taken port ends it with one line and a non-zero exit.
 */
import { ConfigError, loadConfigFromProcess } from '../config/config';
import { DomainError } from '../domain/domain-error';
import type { FunctionDefinition } from '../functions/function-types';
import { PLAYGROUND_USERS } from './graph-sim/demo-tenant';
import { startLocalHost, type LocalHost } from './local-host';
import { PortInUseError } from './port-check';

/** Parsed command line. */
export interface LocalHostArgs {
  dataDir: string;
  fresh: boolean;
  playground: boolean;
  /** The demo person the Playground chats as (user name before @, e.g. priya.raman); default the first. */
  as?: string;
}

const USAGE = `usage: npm start -- [--data DIR] [--fresh] [--no-playground] [--as ${PLAYGROUND_USERS.map((u) => u.userPrincipalName.split('@')[0]).join('|')}]`;

/** Parses the command line; unknown options are errors with the usage line. */
export function parseArgs(argv: string[]): LocalHostArgs {
  const args: LocalHostArgs = { dataDir: '.attest', fresh: false, playground: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--fresh') args.fresh = true;
    else if (a === '--no-playground') args.playground = false;
    else if (a === '--data' || a.startsWith('--data=')) {
      const value = a === '--data' ? argv[++i] : a.slice('--data='.length);
      if (!value || value.startsWith('--'))
        throw new UsageError('--data needs a folder, e.g. --data .attest');
      args.dataDir = value;
    } else if (a === '--as' || a.startsWith('--as=')) {
      const value = (a === '--as' ? argv[++i] : a.slice('--as='.length))?.toLowerCase();
      const person = PLAYGROUND_USERS.find(
        (u) => u.userPrincipalName.toLowerCase() === value || u.userPrincipalName.split('@')[0] === value,
      );
      if (!person) {
        throw new UsageError(
          `--as needs one of the Playground's people: ${PLAYGROUND_USERS.map((u) => `${u.userPrincipalName.split('@')[0]} (${u.role})`).join(', ')}`,
        );
      }
      args.as = person.id;
    } else if (a === '--help' || a === '-h') throw new UsageError(USAGE, 0);
    else throw new UsageError(`unknown option ${a}. ${USAGE}`);
  }
  return args;
}

/** A command-line mistake; `exitCode` 0 for --help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

/**
 * Runs the local host until SIGINT or SIGTERM. `extraFunctions` are mounted beside the app's own (the
 * tests' sample host uses it).
 */
export async function runLocalHost(argv: string[], extraFunctions: FunctionDefinition[] = []): Promise<void> {
  let host: LocalHost | undefined;
  try {
    const args = parseArgs(argv);
    const config = loadConfigFromProcess('local');
    host = await startLocalHost({
      config,
      dataDir: args.dataDir,
      fresh: args.fresh,
      playground: args.playground,
      playgroundUser: args.as,
      extraFunctions,
    });
  } catch (err) {
    if (err instanceof UsageError) {
      (err.exitCode === 0 ? console.log : console.error)(err.message);
      process.exit(err.exitCode);
    }
    if (err instanceof ConfigError || err instanceof PortInUseError) {
      console.error(err.message);
      process.exit(2);
    }
    if (err instanceof DomainError && err.code.startsWith('CATALOG.')) {
      console.error(`attest: the access catalog does not load (${err.code}):\n${err.message}`);
      process.exit(2);
    }
    console.error(`attest: could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  const running = host;
  console.log(running.banner().join('\n'));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping Attest...`);
    running.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(`stop failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) void runLocalHost(process.argv.slice(2));
