/**
 * `attest tickets list | release <stream> <rowKey> | skip <stream> <rowKey> --reason "…"`: the parked outbox
 * rows of ticket sync, and an admin's decision on one. A release tries the row again (the rows held behind it
 * follow); a skip never carries it (the event stays in the audit log) and needs a reason. Both are audited in
 * the ticket's stream (`tickets:<id>`) and applied by the next drain. The lead wires the parsing (commander);
 * this module takes parsed options.
 */
import type { Command } from 'commander';
import { valueOption, type CliContext, type CommandRun } from './cli-program';
import { systemClock } from '../adapters/system-clock';
import { TableNames } from '../adapters/tables/table-names';
import { decideParkedRow } from '../adapters/tickets/ticket-sync';
import { TicketSyncStore } from '../adapters/tickets/ticket-sync.store';
import { loadConfigFromProcess, type AttestConfig } from '../config/config';
import type { AuditActor } from '../domain/audit/audit-event.model';
import { DomainError } from '../domain/domain-error';
import type { AuditLogPort } from '../ports/audit-log.port';
import type { Clock } from '../ports/clock.port';
import { openAuditLog, openCliStorage } from './cli-storage';

/** Parsed options of `attest tickets`. */
export interface TicketsCommandOptions {
  action: string;
  stream?: string;
  rowKey?: string;
  reason?: string;
  /** Who decides (UPN or object id), recorded as the actor of the audit event. */
  as?: string;
}

/** What the command works on. */
export interface TicketsCommandDeps {
  store: TicketSyncStore;
  log: Pick<AuditLogPort, 'append'>;
  clock: Clock;
}

type Line = (line: string) => void;

const ROW_KEY = /^o-\d{10}-\d{2}$/;

/** Runs `attest tickets …`; resolves to the exit code (0 ok, 1 refused, 2 usage). */
export async function runTicketsCommand(
  opts: TicketsCommandOptions,
  deps: TicketsCommandDeps,
  out: Line,
  err: Line,
): Promise<number> {
  if (opts.action === 'list') return list(deps, out);
  if (opts.action !== 'release' && opts.action !== 'skip') {
    err(`tickets: unknown action '${opts.action}'; use list, release or skip.`);
    return 2;
  }
  if (!opts.stream || !opts.rowKey) {
    err(`tickets ${opts.action} needs <stream> <rowKey>, as \`attest tickets list\` shows them.`);
    return 2;
  }
  if (!ROW_KEY.test(opts.rowKey)) {
    err(`tickets: '${opts.rowKey}' is not an outbox row key (they look like o-0000000003-01).`);
    return 2;
  }
  const as = opts.as?.trim();
  if (!as) {
    err(
      `tickets ${opts.action} needs --as <your UPN>: the decision is recorded in the audit log with its author.`,
    );
    return 2;
  }
  const reason = opts.reason?.trim();
  if (opts.action === 'skip' && !reason) {
    err(
      'tickets skip needs --reason "…": a skipped update never reaches the ticket, and the audit log says why.',
    );
    return 2;
  }
  const actor: AuditActor = { objectId: as, upn: as, channel: 'cli' };
  try {
    const row = await decideParkedRow(deps, {
      stream: opts.stream,
      rowKey: opts.rowKey,
      kind: opts.action,
      actor,
      ...(reason ? { reason } : {}),
    });
    out(
      `${opts.action === 'skip' ? 'skipped' : 'released'} ${row.stream} ${row.rowKey} (${row.action} on ${row.correlationId}); ` +
        'the next ticket-sync drain (within a minute) applies it.',
    );
    return 0;
  } catch (e) {
    if (e instanceof DomainError && e.code.startsWith('TICKETS.')) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}

async function list(deps: TicketsCommandDeps, out: Line): Promise<number> {
  const rows = await deps.store.parked();
  if (!rows.length) {
    out('tickets: no parked rows.');
    return 0;
  }
  out(`tickets: ${rows.length} parked row${rows.length === 1 ? '' : 's'}`);
  for (const r of rows) {
    const decided = r.decision
      ? ` — ${r.decision.kind === 'skip' ? 'skipped' : 'released'} by ${r.decision.by}, waiting for the next drain`
      : '';
    out(
      `${r.stream} ${r.rowKey}  ${r.correlationId}  ${r.action} (event #${r.eventSeq})  parked ${r.parkedAt} after ${r.attempts} attempt(s)${decided}`,
    );
    out(`    ${r.code}: ${r.error}`);
  }
  return 0;
}

/** Opens the storage the command works on (see cli-storage.ts); `close` lets go of it. */
export async function openTicketsCommandDeps(
  config: AttestConfig,
  dataDir: string,
): Promise<TicketsCommandDeps & { close(): Promise<void> }> {
  const storage = await openCliStorage(config, dataDir);
  const store = new TicketSyncStore(storage.tables.client(TableNames.ticketSync), systemClock);
  const [log] = await Promise.all([openAuditLog(storage), store.init()]);
  return { store, log, clock: systemClock, close: () => storage.close() };
}

/** `attest tickets list | release | skip`. */
export function registerTicketsCommand(program: Command, cli: CliContext): void {
  const tickets = program
    .command('tickets')
    .description('ticket updates the ticket sync parked: list them, release or skip one (audited)');
  const run =
    (action: 'list' | 'release' | 'skip') =>
    async ({ options, args, dataDir, out, err }: CommandRun<{ as?: string; reason?: string }>) => {
      const deps = await openTicketsCommandDeps(loadConfigFromProcess('local'), dataDir);
      try {
        return await runTicketsCommand(
          { action, stream: args[0], rowKey: args[1], as: options.as, reason: options.reason },
          deps,
          out,
          err,
        );
      } finally {
        await deps.close();
      }
    };
  tickets
    .command('list')
    .description('the parked ticket updates, with why and how often they failed')
    .action(cli.action(run('list')));
  for (const action of ['release', 'skip'] as const) {
    tickets
      .command(action)
      .description(
        action === 'release'
          ? 'try a parked update again (after fixing its cause); the updates behind it follow'
          : 'never carry a parked update to its ticket (the event stays in the log)',
      )
      .argument('<stream>', 'the audit stream of the parked row')
      .argument('<rowKey>', 'the outbox row, e.g. o-0000000003-01')
      .addOption(valueOption('--as <upn>', 'who decides (recorded in the audit log)', { once: true }))
      .addOption(
        valueOption('--reason <text>', action === 'skip' ? 'why (required)' : 'why (optional)', {
          once: true,
        }),
      )
      .action(cli.action(run(action)));
  }
}
