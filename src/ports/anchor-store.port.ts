/**
 * Where the audit log is anchored outside its tables: one write-once object per digest, and each evidence
 * bundle's files, in storage that in Azure carries a locked time-based immutability policy (infra/). An
 * attacker who can rewrite every table row cannot rewrite these, so `attest verify` checks the digest chain
 * against them (docs/adr/0009). Locally Azurite's blob service stands in (it does not enforce immutability).
 */
import type { DigestSummary } from '../domain/audit/audit-digest.math';

export type { DigestSummary } from '../domain/audit/audit-digest.math';

/** The write-once store of digest anchors and evidence bundles. */
export interface AnchorStore {
  /** Creates the container if it does not exist. */
  init(): Promise<void>;
  /**
   * Anchors one digest (its summary, without heads). Idempotent: `exists` when the same digest is already
   * anchored; a DomainError `AUDIT.ANCHOR_CONFLICT` when a different digest holds that seq.
   */
  putDigest(digest: DigestSummary): Promise<'written' | 'exists'>;
  /** Every anchored digest in seq order (a malformed object is a DomainError naming it). */
  digests(): AsyncIterable<DigestSummary>;
  /** Where digest `seq`'s anchor is, for messages (e.g. `blob attest-evidence/digests/0000000005.json`). */
  describe?(seq: number): string;
  /** The anchored digest with the highest seq, or undefined when none is. */
  latestDigest(): Promise<DigestSummary | undefined>;
  /** Writes one file of an evidence bundle, write-once (`exists` when the same bytes are already there). */
  putBundleFile(bundleId: string, name: string, bytes: Uint8Array): Promise<'written' | 'exists'>;
  /** A read-only link to a bundle file, valid for `validForMs` (a SAS in Azure and on Azurite). */
  bundleFileUrl(bundleId: string, name: string, validForMs: number): Promise<string>;
}
