/**
 * The evidence e-mail's activities: prepare a period's bundle (once: the delivery record keeps what it came to),
 * send the mail (unless the record says it was sent), and, when every try failed, record that and tell Attest
 * admins.
 *
 * NB. Exactly once in effect, within one limit. The record is read before each send and written `sent` as soon
 * as Graph accepts the mail, so a retry after a send that succeeded sends nothing. sendMail itself has no
 * idempotency key: if the host dies between Graph's 202 and the record's write, the retry sends the mail again.
 * A second copy of the same evidence is the lesser failure; a send Graph refused is never counted as sent.
 */
import { DomainError } from '../domain/domain-error';
import { publicReason } from '../domain/errors/public-message';
import {
  evidenceMailContent,
  evidencePeriodKey,
  fitsInline,
  type MailAttachment,
  type ZipCarriage,
} from '../domain/evidence/evidence-mail';
import type { EvidenceDelivery, EvidencePeriod } from '../ports/evidence-mail.port';
import { adminsToTell } from './membership-reconcile.activities';
import type { EvidenceMailDeps, WorkflowDeps } from './workflow-deps';

/** What a run passes its activities. */
export interface EvidenceMailRef {
  runId: string;
  period: EvidencePeriod;
}

/** Where a period's mail stands after an activity. */
export interface EvidenceMailState {
  key: string;
  state: EvidenceDelivery['state'];
  carried?: EvidenceDelivery['carried'];
  /** The send found the record already `sent`: nothing was sent this time. */
  alreadySent?: boolean;
}

/** The report after the last try failed. */
export interface EvidenceMailReportInput extends EvidenceMailRef {
  step: 'prepare' | 'send';
  /** What the last try failed with (the orchestration's error text; only its public reason is kept). */
  error: string;
  attempts: number;
}

function mailDeps(deps: WorkflowDeps): EvidenceMailDeps {
  if (!deps.evidenceMail) {
    throw new DomainError(
      'EVIDENCE_MAIL.NOT_CONFIGURED',
      'This host does not send evidence e-mail: set ATTEST_EVIDENCE_MAIL_TO and the anchor storage (ATTEST_STORAGE_BLOB_URL in Azure).',
    );
  }
  return deps.evidenceMail;
}

function checkPeriod(ref: EvidenceMailRef): void {
  const from = Date.parse(ref?.period?.from);
  const to = Date.parse(ref?.period?.to);
  if (!ref?.runId || !(from < to))
    throw new Error('The evidence e-mail needs a run id and a period from < to.');
}

/** Builds and records the period's bundle, or answers what the record already says. */
export async function evidenceMailPrepare(
  deps: WorkflowDeps,
  ref: EvidenceMailRef,
): Promise<EvidenceMailState> {
  checkPeriod(ref);
  const mail = mailDeps(deps);
  const key = evidencePeriodKey(ref.period);
  const existing = await mail.deliveries.get(key);
  if (existing?.prepared) return { key, state: existing.state, carried: existing.carried };
  const prepared = await mail.bundles.prepare(ref.period);
  await mail.deliveries.put({
    failedSends: 0,
    ...existing,
    key,
    period: ref.period,
    state: 'prepared',
    prepared,
  });
  return { key, state: 'prepared' };
}

/** Sends the period's mail unless its record says it went; records the outcome either way. */
export async function evidenceMailSend(deps: WorkflowDeps, ref: EvidenceMailRef): Promise<EvidenceMailState> {
  checkPeriod(ref);
  const mail = mailDeps(deps);
  const key = evidencePeriodKey(ref.period);
  const record = await mail.deliveries.get(key);
  if (!record) throw new Error(`No evidence bundle is recorded for period ${key}: prepare it first.`);
  if (record.state === 'sent') return { key, state: 'sent', carried: record.carried, alreadySent: true };
  const { prepared } = record;
  if (!prepared) throw new Error(`The evidence bundle of period ${key} was not built: prepare it first.`);
  let carriage: ZipCarriage;
  const attachments: MailAttachment[] = [];
  if (fitsInline(prepared.zip.bytes)) {
    const bytes = await mail.bundles.zip(prepared);
    attachments.push({
      name: prepared.zip.name,
      contentType: 'application/zip',
      contentBytes: Buffer.from(bytes).toString('base64'),
    });
    carriage = { kind: 'attached' };
  } else {
    const url = await mail.bundles.zipLink(prepared, mail.linkValidMs);
    carriage = {
      kind: 'linked',
      url,
      validUntil: new Date(deps.clock.now().getTime() + mail.linkValidMs).toISOString(),
    };
  }
  const content = evidenceMailContent(prepared, carriage);
  try {
    await mail.sender.send({ to: mail.recipients, ...content, attachments });
  } catch (err) {
    // Counted, then thrown: the orchestration's retry policy decides when to try again.
    await mail.deliveries
      .put({ ...record, failedSends: record.failedSends + 1, lastError: publicReason(err) })
      .catch(() => undefined);
    throw err;
  }
  const carried = carriage.kind === 'attached' ? 'attached' : 'linked';
  await mail.deliveries.put({
    ...record,
    state: 'sent',
    sentAt: deps.clock.now().toISOString(),
    carried,
    recipients: mail.recipients,
  });
  return { key, state: 'sent', carried };
}

/**
 * Every try failed: the record says so and Attest admins are told, once per period (the notification's id is
 * the period's). Throws when there is nobody to tell, so the run fails where the Functions logs show it.
 */
export async function evidenceMailReport(
  deps: WorkflowDeps,
  input: EvidenceMailReportInput,
): Promise<{ notified: number }> {
  checkPeriod(input);
  const key = evidencePeriodKey(input.period);
  const reason = publicReason(input.error);
  const record = await deps.evidenceMail?.deliveries.get(key);
  if (record?.state === 'sent') return { notified: 0 }; // a send that went after all: nothing to report
  // Recorded as owed: the next scheduled run tries this period again. Storage down is no reason not to tell.
  const recorded = await deps.evidenceMail?.deliveries
    .put({ key, period: input.period, failedSends: 0, ...record, state: 'failed', lastError: reason })
    .then(() => true)
    .catch(() => false);
  const admins = deps.adminGroupId ? await adminsToTell(deps, deps.adminGroupId) : [];
  const what =
    input.step === 'prepare'
      ? `could not be built (${input.attempts} tries)`
      : `could not be sent (${input.attempts} tries)`;
  const bundle = record?.prepared
    ? ` The bundle ${record.prepared.bundleId} is in the evidence container (${record.prepared.zip.name}, SHA-256 ${record.prepared.zip.sha256}).`
    : '';
  const text =
    `The evidence e-mail for ${input.period.from} to ${input.period.to} ${what}: ${reason}.${bundle} ` +
    `Until it is sent the recipients have not received it; ` +
    (recorded
      ? 'Attest tries it again at the next scheduled run.'
      : 'the failure could not be recorded either (storage), so restart the run once storage answers.');
  if (!admins.length) {
    throw new DomainError(
      'EVIDENCE_MAIL.NOBODY_TO_TELL',
      `${text} No Attest admin could be told (ATTEST_ADMIN_GROUP_ID unset or empty).`,
    );
  }
  await deps.notifier.notify({
    kind: 'evidence-mail-failed',
    requestId: 'evidence-mail',
    id: `evidence-mail-failed-${key}`,
    recipients: admins,
    text,
  });
  return { notified: admins.length };
}
