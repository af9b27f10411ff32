/**
 * The tamper-evident audit log (docs: ../shared/ARCHITECTURE.md, "The audit log"). Append only: events are
 * chained per stream, digests fix every stream's head, and `verify` proves nothing was edited, removed,
 * moved, cut short or forged since. In Azure and locally it is backed by Table Storage
 * (src/adapters/tables/audit-log.store.ts).
 */
import type { AuditDigest } from '../domain/audit/audit-digest.math';
import type { AuditEvent, AuditEventInput, StreamHead } from '../domain/audit/audit-event.model';
import type { AuditFailure, VerifyResult } from '../domain/audit/audit-verify.result';

export type { AuditDigest } from '../domain/audit/audit-digest.math';
export type { AuditEvent, AuditEventInput, StreamHead } from '../domain/audit/audit-event.model';
export type { AuditFailure, AuditProblem, VerifyResult } from '../domain/audit/audit-verify.result';
export { DIGEST_STREAM, formatVerifyResult } from '../domain/audit/audit-verify.result';

/** A ticket-sync job owed because of an event; written atomically with the event (the outbox pattern). */
export interface OutboxItem {
  target: 'jira' | 'servicenow';
  payload: object;
}

/** An outbox row as the ticket sync reads it: what is owed, and which event owes it. */
export interface OutboxRow {
  stream: string;
  /** The row's key (`o-0000000001-01`): the cursor to pass back as `afterRowKey`. */
  rowKey: string;
  eventSeq: number;
  eventHash: string;
  target: OutboxItem['target'];
  /** The payload as it was given to `append`, parsed back from its JSON. */
  payload: unknown;
  /** The owing event's time (ISO 8601 UTC). */
  createdAt: string;
}

/** One stream's verification: sound with its event count and head, or the first problem. */
export type StreamVerifyResult = { ok: true; events: number; head?: StreamHead } | AuditFailure;

/** Options of {@link AuditLogPort.append}. */
export interface AppendOptions {
  /** Outbox rows written in the same transaction as the event: both land, or neither. */
  outbox?: OutboxItem[];
}

/** Options of {@link AuditLogPort.verify}. */
export interface VerifyOptions {
  /**
   * A digest known from outside storage (an evidence email, the immutable blob). NB. without an anchor,
   * someone able to rewrite every table row could also rewrite the digest chain consistently.
   */
  anchor?: { seq: number; hash: string };
}

/** Append, read and verify the audit log. */
export interface AuditLogPort {
  /**
   * Appends one event at the end of its stream and returns it with seq, time, prevHash and hash.
   * Concurrent appends to one stream are serialised; after repeated losses a DomainError `AUDIT.CONTENDED`.
   */
  append(input: AuditEventInput, opts?: AppendOptions): Promise<AuditEvent>;
  /** Appends several events to one stream in one transaction (all or none), chained in order. */
  appendMany(stream: string, inputs: readonly AuditEventInput[]): Promise<AuditEvent[]>;
  /** The stream's events in seq order, streamed page by page. */
  read(stream: string): AsyncIterable<AuditEvent>;
  /** The stream's last event as a head, or undefined for a stream with no events. */
  head(stream: string): Promise<StreamHead | undefined>;
  /** Every stream id that has events. */
  streams(): AsyncIterable<string>;
  /**
   * Every event of every stream in one ordered pass (stream by stream — in storage key order, which is not
   * the streams' sort order — each in seq order), streamed page by page: memory stays constant however long
   * the log. Rows that are not events (outbox, head hints) are skipped.
   */
  scanAll(): AsyncIterable<AuditEvent>;
  /**
   * Every stream appended to from about `sinceIso` until now, each once, in no particular order. Read from an
   * index of touched streams (time buckets, not event rows); it reaches one bucket before the one holding
   * `sinceIso` (clock skew between writers, appends still in flight), so it may name a few streams touched
   * a little earlier, and a stream whose append failed after its marker — never fewer than were appended.
   */
  touchedSince(sinceIso: string): AsyncIterable<string>;
  /** The stream's outbox rows in order, after the row key `afterRowKey` when given (a consumer's cursor). */
  outbox(stream: string, afterRowKey?: string): AsyncIterable<OutboxRow>;
  /** Writes the next digest over every stream's head and returns it. */
  writeDigest(): Promise<AuditDigest>;
  /** Checks every stream and every digest; names the first problem. */
  verify(opts?: VerifyOptions): Promise<VerifyResult>;
  /**
   * Checks one stream as {@link verify} does (its chain, what the digests recorded of it, the digest chain
   * itself), for the tab's audit trail. Optional: stores without it are verified whole.
   */
  verifyStream?(stream: string): Promise<StreamVerifyResult>;
}
