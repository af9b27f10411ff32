/**
 * Keys of the audit tables. Table Storage forbids / \ # ? and control characters in PartitionKey and
 * RowKey, and stream ids are free text (`request/42`), so streams are escaped reversibly.
 *
 *   AuditLog      PartitionKey = escaped stream
 *                 RowKey `e-0000000001`     one event (insert only; the 409 on a taken seq serialises writers)
 *                 RowKey `head`             a hint: some recent seq and hash of the stream, rewritten every
 *                                           {@link HINT_EVERY} events; never trusted, only a place to start
 *                                           reading forward from (the head is the last `e-` row)
 *                 RowKey `o-0000000001-01`  an outbox row owed by event 1 (ticket sync consumes it)
 *
 *   Within a partition rows sort `e-…` < `head` < `o-…`, and the service returns a partition's rows in RowKey
 *   order, so a stream's events come in seq order and its last `e-` row is its head.
 *   AuditDigests  PartitionKey `digest`
 *                 RowKey `0000000001`       one digest's summary (insert only)
 *                 RowKey `h-0000000001-<nonce>-0001`  a chunk of that digest's heads
 *                 RowKey `latest`           the newest digest's seq and hash (ETag condition)
 *   AuditTouched  PartitionKey `t-2026-11-29T15:45Z`  a {@link TOUCH_BUCKET_MINUTES}-minute bucket (its start, UTC)
 *                 RowKey = escaped stream    "this stream was appended to in this bucket" (upsert, no fields that
 *                                            matter): the index the digest reads instead of every event row
 */
import { DomainError } from '../../domain/domain-error';
import { AuditErrorCodes } from '../../domain/audit/audit.errors';

/** Longest escaped stream accepted; Table Storage allows 1 KiB keys, and ids are meant to be short. */
const MAX_KEY_CHARS = 400;

// NB. '%' is escaped too, so that decoding is unambiguous.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[%/\\#?\u0000-\u001f\u007f-\u009f]/g;

/** The PartitionKey of a stream. Throws `AUDIT.INVALID_EVENT` / `AUDIT.TOO_LARGE` for unusable ids. */
export function streamKey(stream: string): string {
  if (typeof stream !== 'string' || stream === '') {
    throw new DomainError(AuditErrorCodes.invalidEvent, 'An audit stream id must be a non-empty string.');
  }
  const key = stream.replace(
    FORBIDDEN,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
  if (key.length > MAX_KEY_CHARS) {
    throw new DomainError(
      AuditErrorCodes.tooLarge,
      `Audit stream id '${stream.slice(0, 60)}…' is too long (${key.length} characters escaped, max ${MAX_KEY_CHARS}).`,
    );
  }
  return key;
}

/** The stream a PartitionKey stands for. */
export function streamOfKey(key: string): string {
  return key.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Ten digits: 9,999,999,999 events per stream is more than any request will see. */
export const pad10 = (n: number): string => String(n).padStart(10, '0');

/** RowKey of event `seq`. */
export const eventRowKey = (seq: number): string => `e-${pad10(seq)}`;

/** The range of event row keys, for filters. */
export const EVENT_ROWS = { from: 'e-', to: 'e.' } as const;

/** The seq an event RowKey names, or undefined for another kind of row. */
export function seqOfEventRowKey(rowKey: string): number | undefined {
  const m = /^e-(\d{10})$/.exec(rowKey);
  return m ? Number(m[1]) : undefined;
}

/** RowKey of a stream's head hint row. */
export const HEAD_ROW = 'head';

/** The head hint is rewritten when an append reaches a multiple of this seq (≈1 % extra writes). */
export const HINT_EVERY = 100;

/** RowKey of outbox item `n` (1-based) owed by event `seq`. */
export const outboxRowKey = (seq: number, n: number): string =>
  `o-${pad10(seq)}-${String(n).padStart(2, '0')}`;

/** PartitionKey of every digest row. */
export const DIGEST_PARTITION = 'digest';

/** RowKey of the pointer to the newest digest. */
export const LATEST_DIGEST_ROW = 'latest';

/** RowKey of digest `seq`'s summary; digits sort before letters, so summaries list apart from other rows. */
export const digestRowKey = (seq: number): string => pad10(seq);

/** The range of digest summary row keys, for filters. */
export const DIGEST_ROWS = { from: '0', to: ':' } as const;

/** RowKey prefix of the head chunks written for digest `seq` by the writer that drew `nonce`. */
export const digestHeadsPrefix = (seq: number, nonce: string): string => `h-${pad10(seq)}-${nonce}-`;

/** Length of one touched-streams bucket. */
export const TOUCH_BUCKET_MINUTES = 5;
const BUCKET_MS = TOUCH_BUCKET_MINUTES * 60_000;

/** The start (epoch ms) of the bucket holding `ms`. */
export const bucketStart = (ms: number): number => Math.floor(ms / BUCKET_MS) * BUCKET_MS;

/** The PartitionKey of the touched-streams bucket starting at `startMs` (`t-2026-11-29T15:45Z`). */
export function touchBucketKey(startMs: number): string {
  return `t-${new Date(bucketStart(startMs)).toISOString().slice(0, 16)}Z`;
}

/** The PartitionKey of the bucket holding the instant `ms`. */
export const bucketOf = (ms: number): string => touchBucketKey(bucketStart(ms));

/** The bucket before (or `n` before) the one holding `ms`. */
export const bucketBefore = (ms: number, n = 1): string => touchBucketKey(bucketStart(ms) - n * BUCKET_MS);

/** The range of outbox row keys, for filters. */
export const OUTBOX_ROWS = { from: 'o-', to: 'o.' } as const;
