/**
 * The `attest` program on commander: the global `--data DIR`, the help layout, and the translation of
 * commander's parse errors into the CLI's own (`attest: <what is wrong>` and the command's help, exit 2).
 * A command module adds itself with one function, `registerXCommand(program, cli)`, that declares the command
 * and wraps its body in {@link CliContext.action}; src/cli/main.ts lists those functions.
 */
import { Command, CommanderError, Help, Option } from 'commander';

/** A mistake on the command line (or in what it names); runCli prints it with the command's help and exits 2. */
export class CliUsageError extends Error {}

/** The data folder when `--data` is not given, as for `npm start`. */
export const DEFAULT_DATA_DIR = '.attest';

/** What a command's body gets. */
export interface CommandRun<O> {
  /** The command's own options as parsed (a value option not given is undefined). */
  options: O;
  /** Its positional arguments, in order. */
  args: string[];
  /** `--data DIR`, or {@link DEFAULT_DATA_DIR}. */
  dataDir: string;
  /** Whether `--data` was given (the demo makes a fresh folder when not). */
  dataDirGiven: boolean;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** What a registration gets besides the program: the line writers and the way to wrap a command's body. */
export interface CliContext {
  out: (line: string) => void;
  err: (line: string) => void;
  /**
   * The commander action for a command's body: the body's resolved number is runCli's exit code (0 ok, 1 a
   * failed check, 2 usage or configuration); a {@link CliUsageError} it throws is printed with this command's
   * help.
   */
  action<O = Record<string, string | undefined>>(
    body: (run: CommandRun<O>) => Promise<number>,
  ): (...commanderArgs: unknown[]) => Promise<void>;
}

/** Registers one command (or a group such as `catalog`) on the program. */
export type CommandRegistration = (program: Command, cli: CliContext) => void;

/** A usage error raised while a given command ran; runCli prints that command's help. */
export class CommandUsageError extends CliUsageError {
  constructor(
    message: string,
    readonly command: Command,
  ) {
    super(message);
  }
}

/**
 * A value option (`--from <date>`) that refuses a missing value the way the CLI always has: a value starting
 * with `--` is the next option, so the value was left out; with `once`, the option given twice is refused
 * rather than the last one silently winning.
 */
export function valueOption(flags: string, description: string, opts: { once?: boolean } = {}): Option {
  const option = new Option(flags, description);
  const name = option.long ?? option.flags;
  return option.argParser((value: string, previous: unknown) => {
    if (value === '' || value.startsWith('--')) throw new CliUsageError(`${name} needs a value`);
    if (opts.once && previous !== undefined) throw new CliUsageError(`${name} given twice`);
    return value;
  });
}

/** The command's path under the program, e.g. `catalog check`. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command of the tree under (and including) `root`. */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/**
 * The help layout: a group's subcommands are listed under the program by their full path (`catalog check`),
 * each with its usage; a term too long for the column gets a line of its own, its description under it.
 */
const HELP_LAYOUT: Partial<Help> = {
  showGlobalOptions: true,
  visibleCommands(cmd: Command): Command[] {
    const listed = Help.prototype.visibleCommands.call(this, cmd);
    if (cmd.parent) return listed;
    // A group's own `help` command is left out: the program's lists once.
    const inGroup = (group: Command) =>
      Help.prototype.visibleCommands.call(this, group).filter((c) => group.commands.includes(c));
    return listed.flatMap((c) => (c.commands.length ? inGroup(c) : [c]));
  },
  subcommandTerm(cmd: Command): string {
    const path = cmd.parent?.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
    // NB. commander's default usage says [options] for --help alone: not worth a place in the list.
    const usage = cmd.usage() === '[options]' && cmd.options.length === 0 ? '' : cmd.usage();
    return usage ? `${path} ${usage}` : path;
  },
  padWidth(cmd: Command, helper: Help): number {
    return Math.min(Help.prototype.padWidth.call(helper, cmd, helper), 22);
  },
  formatItem(term: string, termWidth: number, description: string, helper: Help): string {
    if (!description || helper.displayWidth(term) <= termWidth)
      return Help.prototype.formatItem.call(helper, term, termWidth, description, helper);
    return `  ${term}\n${Help.prototype.formatItem.call(helper, '', termWidth, description, helper)}`;
  },
};

/** The program, before any command is registered. */
export function createProgram(): Command {
  return new Command('attest')
    .usage('<command> [--data DIR]')
    .description(
      'The Attest command line. Exit codes: 0 ok, 1 a check or command failed, 2 a usage or configuration error.',
    )
    .addOption(
      valueOption(
        '--data <dir>',
        `the data folder of the embedded storage, as for npm start (default ${DEFAULT_DATA_DIR})`,
      ),
    )
    .configureHelp(HELP_LAYOUT)
    .addHelpText('after', '\nRun `attest <command> --help` for what a command takes.');
}

/** Builds the {@link CliContext} whose actions record their exit code through `setExitCode`. */
export function cliContext(
  out: (line: string) => void,
  err: (line: string) => void,
  setExitCode: (code: number) => void,
): CliContext {
  return {
    out,
    err,
    action<O>(body: (run: CommandRun<O>) => Promise<number>) {
      return async (...commanderArgs: unknown[]) => {
        const cmd = commanderArgs[commanderArgs.length - 1] as Command;
        const data = cmd.optsWithGlobals<{ data?: string }>().data;
        try {
          setExitCode(
            await body({
              options: cmd.opts() as O,
              args: cmd.args,
              dataDir: data ?? DEFAULT_DATA_DIR,
              dataDirGiven: data !== undefined,
              out,
              err,
            }),
          );
        } catch (e) {
          if (e instanceof CliUsageError && !(e instanceof CommandUsageError))
            throw new CommandUsageError(e.message, cmd);
          throw e;
        }
      };
    },
  };
}

/**
 * Prepares every command of the tree for runCli: commander's parse errors are thrown (never process.exit) and
 * its help goes to `out`. Run after every registration, so a command added with `addCommand` is covered too.
 * `onHelpAsError` is told when commander shows help as an error (a command with subcommands given none).
 */
export function wireCommands(program: Command, out: (line: string) => void, onHelpAsError: () => void): void {
  for (const cmd of allCommands(program)) {
    cmd.exitOverride((e) => {
      throw e;
    });
    cmd.configureOutput({
      writeOut: (text) => out(text.replace(/\n$/, '')),
      // NB. commander writes to writeErr only the help it shows as an error: its exit code follows
      // process.exitCode, so this is how runCli tells it from `attest help <command>`. The help and commander's
      // own error text are dropped: runCli prints every error in the CLI's words with the command's help.
      writeErr: () => onHelpAsError(),
      outputError: () => undefined,
    });
  }
}

/**
 * The command that `argv` names (the deepest one whose path its words spell), whose help follows an error.
 * NB. commander's errors do not say which command raised them; an option value that spells a command name
 * can only make this pick another command's help, never change the error.
 */
export function commandNamedBy(program: Command, argv: string[]): Command {
  let cmd = program;
  for (const word of argv) {
    if (word === '--') break;
    const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (sub) cmd = sub;
  }
  return cmd;
}

/** Commands other than `cmd` that take the long option `flag`. */
function commandsTaking(program: Command, flag: string, cmd: Command): string[] {
  return allCommands(program)
    .filter((c) => c !== cmd && c.parent && c.options.some((o) => o.long === flag))
    .map(commandPath);
}

/**
 * Commander's parse error as the CLI says it. NB. commander's messages are matched only to pick out the
 * option or command they name; one that does not match is shown as commander wrote it, minus `error: `.
 */
export function usageMessage(e: CommanderError, cmd: Command, program: Command): string {
  const plain = e.message.replace(/^error: /, '');
  const named = /'([^']*)'/.exec(plain)?.[1];
  const suggestion = /\(Did you mean (.*)\?\)/.exec(plain)?.[1];
  const hint = suggestion ? ` (did you mean ${suggestion}?)` : '';
  const where = commandPath(cmd) || 'attest';
  switch (e.code) {
    case 'commander.unknownCommand':
      return named ? `unknown command ${named}${hint}` : plain;
    case 'commander.unknownOption': {
      if (!named) return plain;
      // Raised before the command's name: the option is the command's, in the wrong place.
      if (cmd.options.some((o) => o.long === named))
        return `${named} goes after the command: attest ${where} ${named} …`;
      const owners = commandsTaking(program, named, cmd);
      if (owners.length) return `${named} is an option of ${owners.join(', ')}, not of ${where}`;
      return `unknown option ${named}${hint}`;
    }
    case 'commander.optionMissingArgument': {
      const flag = named && /--?[\w-]+(?=[^,]*$)/.exec(named)?.[0];
      return flag ? `${flag} needs a value` : plain;
    }
    case 'commander.missingArgument':
      return named ? `${where} needs <${named}>` : plain;
    case 'commander.excessArguments': {
      const extra = cmd.args.slice(cmd.registeredArguments.length).join(' ');
      return cmd.registeredArguments.length === 0
        ? `${where} takes options only, not ${extra}`
        : `unexpected ${extra} after ${where} ${cmd.registeredArguments.map((a) => `<${a.name()}>`).join(' ')}`;
    }
    case 'commander.help':
      // Help shown as an error: a command that has subcommands was given none.
      return cmd.parent
        ? `${where} needs a subcommand: ${cmd.commands.map((c) => c.name()).join(', ')}`
        : 'no command given';
    default:
      return plain;
  }
}
