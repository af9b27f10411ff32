/** Stable codes of the evidence export's DomainErrors (CONVENTIONS §9). */
export const EvidenceErrorCodes = {
  /** The events did not come one stream at a time in seq order. */
  outOfOrder: 'EVIDENCE.OUT_OF_ORDER',
  /** A `from`/`to` bound is not an instant, or `from` is not before `to`. */
  badRange: 'EVIDENCE.BAD_RANGE',
  /** The output folder of an evidence bundle exists and is not empty. */
  outDirNotEmpty: 'EVIDENCE.OUT_DIR_NOT_EMPTY',
  /** The log behind an export or bundle does not verify (an edited, missing or moved event): nothing was written. */
  logUnverified: 'EVIDENCE.LOG_UNVERIFIED',
} as const;
