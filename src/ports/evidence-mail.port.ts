/**
 * The scheduled evidence e-mail's ports: the period's bundle (built, zipped and written to the immutable
 * container), the mailbox that sends it, and the record of each period's delivery, which is what keeps a retry
 * from sending twice and a failure from going unnoticed.
 */
import type { OutgoingMail, PreparedEvidence } from '../domain/evidence/evidence-mail';

export type { OutgoingMail, MailAttachment, PreparedEvidence } from '../domain/evidence/evidence-mail';

/** A period `[from, to)`, ISO times. */
export interface EvidencePeriod {
  from: string;
  to: string;
}

/** The evidence bundles the e-mail carries. */
export interface EvidenceBundles {
  /**
   * Builds the period's bundle, zips it, and writes every file and the zip to the immutable container. Called
   * once per period (the delivery record keeps what it returns); a second call may build a different bundle
   * (newer digests), never a different one under the same id.
   */
  prepare(period: EvidencePeriod): Promise<PreparedEvidence>;
  /** The zip's bytes, read back from the container (what the attachment carries). */
  zip(prepared: PreparedEvidence): Promise<Uint8Array>;
  /** A read-only link to the zip, valid for `validForMs`. */
  zipLink(prepared: PreparedEvidence, validForMs: number): Promise<string>;
}

/** Sends one e-mail from the configured mailbox (Graph sendMail). Throws when the mail was not accepted. */
export interface MailSender {
  send(mail: OutgoingMail): Promise<void>;
}

/** Where a period's evidence e-mail stands. */
export interface EvidenceDelivery {
  /** The period key (see `evidencePeriodKey`). */
  key: string;
  period: EvidencePeriod;
  /** `prepared`: the bundle exists, the mail is owed; `sent`: Graph accepted it; `failed`: every try failed, admins told. */
  state: 'prepared' | 'sent' | 'failed';
  /** What the bundle came to; absent when building it failed. */
  prepared?: PreparedEvidence;
  /** Sends Graph refused or that did not reach it. */
  failedSends: number;
  lastError?: string;
  sentAt?: string;
  /** `attached` (the zip in the mail) or `linked` (the zip's name, SHA-256 and a link). */
  carried?: 'attached' | 'linked';
  recipients?: string[];
}

/** The delivery records, one per period. */
export interface EvidenceDeliveryStore {
  get(key: string): Promise<EvidenceDelivery | undefined>;
  /** Writes the record (insert or replace). */
  put(delivery: EvidenceDelivery): Promise<void>;
  /** Every record whose mail is still owed (state `prepared` or `failed`), oldest period first. */
  owed(): Promise<EvidenceDelivery[]>;
}
