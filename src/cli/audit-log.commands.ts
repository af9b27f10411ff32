/**
 * `attest verify` proves the audit log is intact (or an evidence bundle, offline), `attest digest` writes and
 * anchors a digest now, `attest log <stream>` prints a stream's events in order. They, and `attest export`, read
 * the log of the data folder's storage through {@link withAuditLog} or the command modules.
 */
import type { Command } from 'commander';
import { valueOption, type CliContext } from './cli-program';
import { withAuditLog } from './cli-storage';
import { runDigest } from './digest.command';
import { runVerifyBundle } from './evidence.command';
import { runVerify } from './verify.command';
import { formatEvent } from './event-format';

/** `attest verify [--anchor <seq>:<hash>]` against the storage, or `attest verify --bundle DIR` offline. */
export function registerVerifyCommand(program: Command, cli: CliContext): void {
  program
    .command('verify')
    .description(
      'recompute every audit chain and digest and check the digests against their anchors outside the tables ' +
        '(and --anchor, a value from an evidence e-mail); with --bundle, verify an evidence bundle offline. ' +
        'Exit 1 and name the first problem if any',
    )
    .addOption(
      valueOption('--anchor <seq:hash>', 'a digest held outside storage, as `attest digest` prints it', {
        once: true,
      }),
    )
    .addOption(valueOption('--bundle <dir>', 'an evidence bundle folder (no storage needed)', { once: true }))
    .action(
      cli.action<{ anchor?: string; bundle?: string }>(({ options, dataDir, out, err }) =>
        options.bundle !== undefined
          ? runVerifyBundle({ dir: options.bundle, anchor: options.anchor }, out, err)
          : runVerify({ dataDir, anchor: options.anchor }, out, err),
      ),
    );
}

/** `attest digest`. */
export function registerDigestCommand(program: Command, cli: CliContext): void {
  program
    .command('digest')
    .description(
      'write an audit digest now and anchor it outside the tables; prints its sequence, root, hash and the ' +
        'anchor <seq>:<hash> (`attest verify --anchor` checks against it)',
    )
    .action(cli.action(({ dataDir, out, err }) => runDigest({ dataDir }, out, err)));
}

/** `attest log <stream>`. */
export function registerLogCommand(program: Command, cli: CliContext): void {
  program
    .command('log')
    .usage('<stream>')
    .description('print one stream (a request id, a campaign id) in order')
    .argument('<stream>', 'the stream id: a request id, a campaign id')
    .action(
      cli.action(({ args: [stream], dataDir, out, err }) =>
        withAuditLog(dataDir, async (log) => {
          let n = 0;
          for await (const event of log.read(stream)) {
            out(formatEvent(event));
            n++;
          }
          if (n > 0) return 0;
          err(
            `attest: no events in stream ${stream} (check the id; \`attest verify\` counts the streams there are)`,
          );
          return 1;
        }),
      ),
    );
}
