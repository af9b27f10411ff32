/**
 * The scheduled evidence e-mail, as data: what a period's bundle came to, whether its zip travels in the mail
 * or as a link, and the message itself (subject and HTML body, every value escaped). Pure: the workflow and the
 * mail adapter do the I/O.
 */

import { escapeHtml } from '../html-text';
import type { EvidenceSummary } from './evidence-summary';

/** Graph's limit for a file attached inline to sendMail (larger ones need an upload session). */
export const INLINE_ATTACHMENT_LIMIT = 3 * 1024 * 1024;

/** What the bundle of one period came to: kept in the delivery record, and what the mail says. */
export interface PreparedEvidence {
  period: { from: string; to: string };
  bundleId: string;
  /** The anchored digest the bundle's proofs tie to; absent when no digest existed yet. */
  digest?: { seq: number; root: string; hash: string };
  /** The summary's figures, in the order the body shows them (labels as a person reads them). */
  summary: { label: string; value: number }[];
  /** Files in the bundle (the manifest's entries). */
  files: number;
  /** The zipped bundle, as written to the immutable container. */
  zip: { name: string; sha256: string; bytes: number };
}

/** A file attached to a mail. */
export interface MailAttachment {
  name: string;
  contentType: string;
  /** The bytes, base64. */
  contentBytes: string;
}

/** One e-mail from the configured mailbox. */
export interface OutgoingMail {
  to: string[];
  subject: string;
  /** HTML whose every value is escaped. */
  html: string;
  attachments: MailAttachment[];
}

/** The length of `bytes` bytes once base64-encoded (4 characters per 3 bytes, padded). */
export function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/**
 * Whether a zip of `bytes` bytes goes in the mail. NB. Decided on the ENCODED size: sendMail carries the file as
 * base64 (4/3 of it) in a request Graph caps at 4 MB, so a 2.9 MB zip (3.9 MB encoded) would be refused. A zip
 * whose base64 is at most 3 MB (about 2.25 MB of zip) is attached; a larger one is linked.
 */
export function fitsInline(bytes: number): boolean {
  return base64Length(bytes) <= INLINE_ATTACHMENT_LIMIT;
}

/** The delivery record's key for a period: its end, compact (`20261123T070000Z`). */
export function evidencePeriodKey(period: { from: string; to: string }): string {
  return period.to.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** The anchor a reader passes to `attest verify --anchor`. */
export function anchorText(digest: { seq: number; hash: string }): string {
  return `${digest.seq}:${digest.hash}`;
}

/** Recipients outside the allowed domains (lower-case comparison); empty when every one may receive evidence. */
export function recipientsOutside(
  recipients: readonly string[],
  allowedDomains: readonly string[],
): string[] {
  const allowed = new Set(allowedDomains.map((d) => d.toLowerCase()));
  return recipients.filter((r) => !allowed.has((r.split('@')[1] ?? '').toLowerCase()));
}

/** How the zip travels: attached, or linked (a time-limited URL). */
export type ZipCarriage = { kind: 'attached' } | { kind: 'linked'; url: string; validUntil: string };

function when(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** The subject and HTML body of a period's evidence e-mail. */
export function evidenceMailContent(
  prepared: PreparedEvidence,
  carriage: ZipCarriage,
): { subject: string; html: string } {
  const e = escapeHtml;
  const { period, digest, zip } = prepared;
  const rows = prepared.summary
    .map((s) => `<tr><td>${e(s.label)}</td><td style="text-align:right">${e(String(s.value))}</td></tr>`)
    .join('');
  const anchor = digest ? anchorText(digest) : undefined;
  const digestPart = digest
    ? `<p>Digest root: <code>${e(digest.root)}</code><br>` +
      `Anchor: <code id="anchor">${e(anchor as string)}</code></p>` +
      `<p>Keep this anchor: it fixes the audit log as it stood. ` +
      `<code>attest verify --bundle &lt;folder&gt; --anchor ${e(anchor as string)}</code> checks the unzipped ` +
      `bundle against it offline, and <code>attest verify --anchor ${e(anchor as string)}</code> checks the live log.</p>`
    : `<p>No digest of the audit log was anchored yet when this bundle was built: the bundle's chains verify, but ` +
      `there is no anchor to check them against.</p>`;
  const zipFacts =
    `<code>${e(zip.name)}</code> (${e(size(zip.bytes))}, ${e(String(prepared.files))} files), ` +
    `SHA-256 <code id="zip-sha256">${e(zip.sha256)}</code>`;
  const zipPart =
    carriage.kind === 'attached'
      ? `<p>The bundle is attached: ${zipFacts}.</p>`
      : `<p>The bundle is too large to attach. It is kept in Attest's immutable evidence container: ${zipFacts}. ` +
        `<a id="bundle-link" href="${e(carriage.url)}">Download it</a> (the link works until ${e(when(carriage.validUntil))}; ` +
        `compare the file's SHA-256 with the one above).</p>`;
  const html =
    `<html><body>` +
    `<h1>Attest evidence, ${e(when(period.from))} to ${e(when(period.to))}</h1>` +
    `<p>Bundle <code>${e(prepared.bundleId)}</code>.</p>` +
    `<table id="summary"><tbody>${rows}</tbody></table>` +
    digestPart +
    zipPart +
    `</body></html>`;
  return {
    subject: `Attest evidence ${period.from.slice(0, 10)} to ${period.to.slice(0, 10)}`,
    html,
  };
}

/**
 * The summary figures the mail body shows, in reading order: the same numbers as the bundle's summary.json,
 * which `attest verify --bundle` recomputes from the raw events.
 */
export function evidenceSummaryRows(s: EvidenceSummary): { label: string; value: number }[] {
  return [
    { label: 'Requests submitted', value: s.requests.submitted },
    { label: 'Request lifecycles in the bundle', value: s.requests.lifecycles },
    { label: 'Approvals', value: s.approvals.approved },
    { label: 'Denials', value: s.approvals.denied },
    { label: 'Access grants', value: s.grants },
    { label: 'Revocations', value: s.revocations.total },
    ...Object.keys(s.revocations.byReason)
      .sort()
      .map((reason) => ({ label: `Revocations: ${reason}`, value: s.revocations.byReason[reason] })),
    { label: 'Overdue revocations open', value: s.overdueRevocations.open },
    { label: 'Overdue revocations carried out', value: s.overdueRevocations.carriedOut },
    { label: 'Review decisions', value: s.reviews.decisions },
    { label: 'Reviews completed', value: s.reviews.completed },
    { label: 'Reviews overdue', value: s.reviews.overdue },
    { label: 'Drift found', value: s.drift.found },
    { label: 'Refused attempts', value: s.refusedAttempts.total },
    { label: 'Events in the bundle', value: s.bundle.events },
  ];
}
