#!/usr/bin/env node
/**
 * `attest` — the command line, on commander (cli-program.ts): `verify`, `digest` and `log`
 * (audit-log.commands.ts), `export` (export.command.ts), `evidence` (evidence.command.ts), `evidence-mail`,
 * `tickets list|release|skip` (tickets.command.ts), `request`, `decide`, `status`, `demo` (request.commands.ts), `catalog check`
 * (catalog.command.ts). Every command takes `--data DIR` (the embedded storage's data folder, default
 * `.attest`) and `--help`. Exit codes: 0 ok, 1 verification, export or a command failed, 2 usage or
 * configuration error.
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { PortInUseError } from '../local/port-check';
import { registerDigestCommand, registerLogCommand, registerVerifyCommand } from './audit-log.commands';
import { registerCatalogCommand } from './catalog.command';
import {
  CliUsageError,
  cliContext,
  commandNamedBy,
  CommandUsageError,
  createProgram,
  usageMessage,
  wireCommands,
  type CommandRegistration,
} from './cli-program';
import { formatEvent } from './event-format';
import { registerEvidenceMailCommand } from './evidence-mail.command';
import { registerEvidenceCommand } from './evidence.command';
import { registerExportCommand } from './export.command';
import { registerRequestCommands } from './request.commands';
import { registerTicketsCommand } from './tickets.command';

/** The commands, in the order `attest --help` lists them. Adding one is one line here. */
const COMMANDS: readonly CommandRegistration[] = [
  registerVerifyCommand,
  registerDigestCommand,
  registerLogCommand,
  registerExportCommand,
  registerEvidenceCommand,
  registerEvidenceMailCommand,
  registerRequestCommands,
  registerCatalogCommand,
  registerTicketsCommand,
];

export { formatEvent };

/** Runs the CLI on argv (without node and the script); resolves to the exit code. `out`/`err` default to the console. */
export async function runCli(
  argv: string[],
  out: (line: string) => void = (l) => console.log(l),
  err: (line: string) => void = (l) => console.error(l),
): Promise<number> {
  let exitCode = 0;
  const program = createProgram();
  const cli = cliContext(out, err, (code) => (exitCode = code));
  for (const register of COMMANDS) register(program, cli);
  let helpAsError = false;
  wireCommands(program, out, () => (helpAsError = true));
  const usage = (message: string, cmd = commandNamedBy(program, argv)) => {
    err(`attest: ${message}`);
    err(cmd.helpInformation().replace(/\n$/, ''));
    return 2;
  };
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and `attest help <command>` end the parse (NB. the latter's exitCode is process.exitCode's).
      if (e.exitCode === 0 || (e.code === 'commander.help' && !helpAsError)) return 0;
      const cmd = commandNamedBy(program, argv);
      return usage(usageMessage(e, cmd, program), cmd);
    }
    if (e instanceof CommandUsageError) return usage(e.message, e.command);
    if (e instanceof CliUsageError) return usage(e.message);
    if (e instanceof ConfigError || e instanceof PortInUseError) {
      err(`attest: ${e.message}`);
      return 2;
    }
    if (e instanceof DomainError) {
      err(`attest: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
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
