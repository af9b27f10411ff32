/**
 * `attest verify` proves the audit log is intact; `attest log <stream>` prints a stream's events in order.
 * Both, and `attest export`, read the log of the data folder's storage through {@link withAuditLog}.
 */
import type { Command } from 'commander';
import { sha256 } from '../adapters/crypto/sha256';
import { systemClock } from '../adapters/system-clock';
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { TableNames } from '../adapters/tables/table-names';
import { loadConfigFromProcess } from '../config/config';
import { formatVerifyResult } from '../ports/audit-log.port';
import type { CliContext } from './cli-program';
import { openCliStorage } from './cli-storage';
import { formatEvent } from './event-format';

/** Runs `fn` on the audit log of `dataDir`'s storage (as configured), and lets go of the storage after. */
export async function withAuditLog<T>(dataDir: string, fn: (log: AuditLogStore) => Promise<T>): Promise<T> {
  const storage = await openCliStorage(loadConfigFromProcess('local'), dataDir);
  try {
    const log = new AuditLogStore({
      table: storage.tables.client(TableNames.auditLog),
      digests: storage.tables.client(TableNames.auditDigests),
      clock: systemClock,
      sha256,
    });
    await log.init();
    return await fn(log);
  } finally {
    await storage.close();
  }
}

/** `attest verify`. */
export function registerVerifyCommand(program: Command, cli: CliContext): void {
  program
    .command('verify')
    .description('recompute every audit chain and digest; exit 1 and name the first problem if any')
    .action(
      cli.action(({ dataDir, out }) =>
        withAuditLog(dataDir, async (log) => {
          const result = await log.verify();
          out(formatVerifyResult(result));
          return result.ok ? 0 : 1;
        }),
      ),
    );
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
