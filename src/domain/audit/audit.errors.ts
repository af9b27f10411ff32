/** Stable error codes of the audit log; callers map them to what a person sees (CONVENTIONS §9). */
export const AuditErrorCodes = {
  /** A value cannot be encoded canonically (NaN, undefined, a function, a Date, a lone surrogate, a cycle). */
  notCanonical: 'AUDIT.NOT_CANONICAL',
  /** An event input is malformed: empty stream, unknown action or channel, details not an object. */
  invalidEvent: 'AUDIT.INVALID_EVENT',
  /** A field or the details are too large for one Table Storage property (32K UTF-16 characters). */
  tooLarge: 'AUDIT.TOO_LARGE',
  /** A batch has too many rows or bytes for one entity-group transaction. */
  batchTooLarge: 'AUDIT.BATCH_TOO_LARGE',
  /** An input of `appendMany` names a stream other than the one the batch is for. */
  streamMismatch: 'AUDIT.STREAM_MISMATCH',
  /** Other writers kept winning the race for the next sequence number; the append was not written. */
  contended: 'AUDIT.CONTENDED',
  /** A different digest (or bundle file) already holds this place in the write-once anchor store. */
  anchorConflict: 'AUDIT.ANCHOR_CONFLICT',
  /** An object in the anchor store is not what Attest writes there (named in the message). */
  anchorMalformed: 'AUDIT.ANCHOR_MALFORMED',
  /** A bundle id, file name or link lifetime the anchor store cannot accept. */
  anchorInvalid: 'AUDIT.ANCHOR_INVALID',
} as const;
