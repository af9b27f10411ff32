/**
 * `attest evidence-mail [--at <date>]`: starts the evidence e-mail of the period that ended last at `--at`
 * (default now) on ATTEST_EVIDENCE_MAIL_SCHEDULE, as the timer does, and tries again every earlier period whose
 * mail is still owed. A period whose mail went is not sent again. With `npm start` serving the data folder, the
 * serving host sends it; otherwise this process does, and waits for it. Exit codes: 0 sent (or handed to the
 * serving host), 1 not sent (the admins were told, or it is still being retried), 2 usage or configuration error.
 */
import type { Command } from 'commander';
import { valueOption, type CliContext } from './cli-program';
import { ConfigError, loadConfigFromProcess, schedulePeriodAt, type AttestConfig } from '../config/config';
import { evidencePeriodKey } from '../domain/evidence/evidence-mail';
import { PortInUseError } from '../local/port-check';
import type { EvidenceMailOutcome } from '../workflows/evidence-mail.orchestration';
import { startEvidenceMail } from '../workflows/evidence-mail.orchestration';
import { evidenceMailInstanceId } from '../workflows/names';
import { ExportArgumentError, parseDateBound } from './export.command';
import { openWorkflowSession } from './workflow-session';

/** The usage lines this command adds to `attest --help`. */
export const EVIDENCE_MAIL_USAGE = [
  '  evidence-mail [--at <date>]',
  '                    send the evidence e-mail of the period that ended last at <date> (default now) on',
  '                    ATTEST_EVIDENCE_MAIL_SCHEDULE, and any earlier one still owed; a sent one is never sent again',
];

/** `attest evidence-mail`'s options as given. */
export interface EvidenceMailCommandOptions {
  at?: string;
  /** The data folder (`--data`, default `.attest`). */
  data?: string;
}

type Line = (line: string) => void;

/** Runs `attest evidence-mail`; resolves to the exit code. `config` is for tests (default: this process's). */
export async function runEvidenceMail(
  opts: EvidenceMailCommandOptions,
  out: Line,
  err: Line,
  config?: AttestConfig,
): Promise<number> {
  let at: Date;
  let cfg: AttestConfig;
  try {
    at = opts.at === undefined ? new Date() : new Date(parseDateBound('--at', opts.at));
    cfg = config ?? loadConfigFromProcess('local');
  } catch (e) {
    if (e instanceof ExportArgumentError || e instanceof ConfigError) {
      err(`attest evidence-mail: ${e.message}\n${EVIDENCE_MAIL_USAGE.join('\n')}`);
      return 2;
    }
    throw e;
  }
  if (!cfg.evidenceMail.recipients.length) {
    err(
      'attest evidence-mail: no evidence e-mail is configured: set ATTEST_EVIDENCE_MAIL_TO to its recipients.',
    );
    return 2;
  }
  const period = schedulePeriodAt(cfg.evidenceMail.schedule, at);
  let session;
  try {
    session = await openWorkflowSession(cfg, opts.data ?? '.attest');
  } catch (e) {
    if (e instanceof PortInUseError || e instanceof ConfigError) {
      err(`attest evidence-mail: ${e.message}`);
      return 2;
    }
    throw e;
  }
  try {
    const mail = session.deps.evidenceMail;
    if (!mail) {
      err('attest evidence-mail: this host does not send evidence e-mail (see ATTEST_EVIDENCE_MAIL_TO).');
      return 2;
    }
    const started = await startEvidenceMail(session.durable, mail.deliveries, {
      period,
      attempts: cfg.evidenceMail.attempts,
    });
    const id = evidenceMailInstanceId(evidencePeriodKey(period));
    out(`period ${period.from} to ${period.to} (${id})`);
    for (const s of started.started) out(`started ${s}`);
    if (session.mode === 'client') {
      out(`the host serving this data folder sends it; mail to ${mail.recipients.join(', ')}`);
      return 0;
    }
    await session.settle();
    const status = await session.durable.getStatus(id);
    const outcome = status?.output as EvidenceMailOutcome | undefined;
    if (status?.runtimeStatus === 'Completed' && outcome?.state === 'sent') {
      out(
        `${outcome.alreadySent || started.skipped === id ? 'already sent' : 'sent'}: the bundle ${outcome.carried ?? 'attached'}, to ${mail.recipients.join(', ')}`,
      );
      return 0;
    }
    const record = await mail.deliveries.get(evidencePeriodKey(period));
    err(
      status?.runtimeStatus === 'Completed'
        ? `not sent: ${record?.lastError ?? 'see the delivery record'}; Attest admins were told, and the next run tries again`
        : `not sent yet (${status?.runtimeStatus ?? 'not started'}${record?.lastError ? `: ${record.lastError}` : ''}); the run retries when a host serves this data folder`,
    );
    return 1;
  } finally {
    await session.close();
  }
}

/** `attest evidence-mail [--at <date>]`. */
export function registerEvidenceMailCommand(program: Command, cli: CliContext): void {
  program
    .command('evidence-mail')
    .description(
      'send the evidence e-mail of the period that ended last at --at (default now) on ' +
        'ATTEST_EVIDENCE_MAIL_SCHEDULE, and any earlier one still owed; a sent one is never sent again',
    )
    .addOption(valueOption('--at <date>', 'the instant whose last period is mailed', { once: true }))
    .action(
      cli.action<{ at?: string }>(({ options, dataDir, out, err }) =>
        runEvidenceMail({ at: options.at, data: dataDir }, out, err),
      ),
    );
}
