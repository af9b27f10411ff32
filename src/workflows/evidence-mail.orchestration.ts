/**
 * The `evidence-mail` orchestration: one instance per period (instance id {@link evidenceMailInstanceId}), started
 * by the timer. It prepares the period's bundle (activity retry policy), sends the mail (retried with backoff,
 * ATTEST_EVIDENCE_MAIL_ATTEMPTS tries), and when the last try fails records the failure and tells Attest admins.
 * Its history is durable: a host restart resumes the run where it was, and the delivery record keeps a retry
 * from sending twice.
 *
 * NB. Deterministic: the period and the tries come from the input, all I/O is in the activities.
 */
import * as df from 'durable-functions';
import { evidencePeriodKey } from '../domain/evidence/evidence-mail';
import type { DurableClientPort } from '../ports/durable-client.port';
import type { EvidenceDeliveryStore, EvidencePeriod } from '../ports/evidence-mail.port';
import type { EvidenceMailRef, EvidenceMailReportInput, EvidenceMailState } from './evidence-mail.activities';
import { ActivityNames, OrchestrationNames, evidenceMailInstanceId } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;

/** The run's input: its period and how hard to try the send. */
export interface EvidenceMailInput extends EvidenceMailRef {
  /** Tries of the send, the first included (ATTEST_EVIDENCE_MAIL_ATTEMPTS). */
  attempts: number;
  /** The pause before the second try; each later pause doubles, up to an hour. */
  firstRetryMs?: number;
}

/** What a run did. */
export interface EvidenceMailOutcome {
  key: string;
  state: 'sent' | 'failed';
  carried?: 'attached' | 'linked';
  alreadySent?: boolean;
  /** The step that failed after every try. */
  failedAt?: 'prepare' | 'send';
  /** Attest admins told of the failure. */
  notified?: number;
}

/** The pause before a send's second try when the input names none. */
export const EVIDENCE_MAIL_FIRST_RETRY_MS = 2 * 60_000;

/** The send's retries: `attempts` tries, `firstMs` then doubling, at most an hour apart. */
export function mailRetry(attempts: number, firstMs = EVIDENCE_MAIL_FIRST_RETRY_MS): df.RetryOptions {
  const options = new df.RetryOptions(firstMs, Math.max(1, attempts));
  options.backoffCoefficient = 2;
  options.maxRetryIntervalInMilliseconds = 60 * 60_000;
  return options;
}

/** The orchestrator function registered as `evidence-mail`. */
export function* evidenceMailOrchestration(context: df.OrchestrationContext): Gen<EvidenceMailOutcome> {
  const input = context.df.getInput() as EvidenceMailInput;
  const ref: EvidenceMailRef = { runId: input.runId, period: input.period };
  const key = evidencePeriodKey(input.period);
  const report = function* (
    step: 'prepare' | 'send',
    err: unknown,
    attempts: number,
  ): Gen<EvidenceMailOutcome> {
    const reportInput: EvidenceMailReportInput = {
      ...ref,
      step,
      error: String((err as Error)?.message ?? err),
      attempts,
    };
    const told = (yield context.df.callActivityWithRetry(
      ActivityNames.evidenceMailReport,
      activityRetry(),
      reportInput,
    )) as { notified: number };
    return { key, state: 'failed', failedAt: step, notified: told.notified };
  };
  let prepared: EvidenceMailState;
  try {
    prepared = (yield context.df.callActivityWithRetry(
      ActivityNames.evidenceMailPrepare,
      activityRetry(),
      ref,
    )) as EvidenceMailState;
  } catch (err) {
    return yield* report('prepare', err, activityRetry().maxNumberOfAttempts);
  }
  if (prepared.state === 'sent') return { key, state: 'sent', carried: prepared.carried, alreadySent: true };
  try {
    const sent = (yield context.df.callActivityWithRetry(
      ActivityNames.evidenceMailSend,
      mailRetry(input.attempts, input.firstRetryMs),
      ref,
    )) as EvidenceMailState;
    return { key, state: 'sent', carried: sent.carried, ...(sent.alreadySent ? { alreadySent: true } : {}) };
  } catch (err) {
    return yield* report('send', err, input.attempts);
  }
}

/** What the timer did for a period. */
export interface EvidenceMailStart {
  /** Instance ids started: this period's, and earlier periods' whose mail is still owed. */
  started: string[];
  /** This period's instance already ran or is running: nothing started for it. */
  skipped?: string;
}

/**
 * What the timer does: starts the period's run unless one exists for it (a second tick for the same period, a
 * burst after downtime), and starts again the run of every earlier period whose mail is still owed (its record
 * says `prepared` or `failed`), so a mail that failed is tried at each scheduled run until it goes.
 */
export async function startEvidenceMail(
  durable: DurableClientPort,
  deliveries: EvidenceDeliveryStore,
  run: { period: EvidencePeriod; attempts: number; firstRetryMs?: number },
): Promise<EvidenceMailStart> {
  const out: EvidenceMailStart = { started: [] };
  const start = async (period: EvidencePeriod, again: boolean): Promise<void> => {
    const instanceId = evidenceMailInstanceId(evidencePeriodKey(period));
    const current = await durable.getStatus(instanceId);
    const running = current && (current.runtimeStatus === 'Running' || current.runtimeStatus === 'Pending');
    const finished = current && !running;
    // This period's run: once (unless it crashed). An owed earlier period's: again, unless it is running now.
    if (running || (finished && !again && current.runtimeStatus === 'Completed')) {
      if (!again) out.skipped = instanceId;
      return;
    }
    const input: EvidenceMailInput = {
      runId: instanceId,
      period,
      attempts: run.attempts,
      ...(run.firstRetryMs !== undefined ? { firstRetryMs: run.firstRetryMs } : {}),
    };
    try {
      await durable.startNew(OrchestrationNames.evidenceMail, { instanceId, input });
      out.started.push(instanceId);
    } catch (err) {
      // Another host started it between the status read and the start.
      if ((err as { code?: string }).code !== 'INSTANCE.EXISTS') throw err;
      if (!again) out.skipped = instanceId;
    }
  };
  const key = evidencePeriodKey(run.period);
  for (const owed of await deliveries.owed()) {
    if (owed.key < key) await start(owed.period, true);
  }
  await start(run.period, false);
  return out;
}
