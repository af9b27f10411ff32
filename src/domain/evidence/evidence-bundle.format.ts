/**
 * The evidence bundle's file layout and line formats (docs/evidence.md, "The evidence bundle"), shared by the
 * writer and the offline verifier so the two cannot drift apart.
 */
import { digestSummaryOf, type DigestSummary } from '../audit/audit-digest.math';

/** The manifest's `format`: bumped when a file's meaning changes. */
export const BUNDLE_FORMAT = 'attest-evidence-bundle/1';

/** The files every bundle has (the optional CSVs are in BUNDLE_CSV_FILES). */
export const BUNDLE_FILES = {
  events: 'events.jsonl',
  proofs: 'proofs.jsonl',
  digest: 'digest.json',
  summaryJson: 'summary.json',
  summaryHtml: 'summary.html',
  manifest: 'manifest.json',
} as const;

/**
 * An events.jsonl line starts with these bytes, then the 64 hex digits of the event's hash, then
 * {@link EVENT_LINE_MIDDLE}, then the event's canonical JSON (the exact bytes its hash covers), then `}`.
 * NB. the verifier hashes that slice of the line as read: no re-encoding, and a match proves the text canonical.
 */
export const EVENT_LINE_PREFIX = '{"hash":"';
/** See {@link EVENT_LINE_PREFIX}. */
export const EVENT_LINE_MIDDLE = '","event":';
/** Where the canonical event text starts in a line (prefix + 64 hex + middle). */
export const EVENT_TEXT_OFFSET = EVENT_LINE_PREFIX.length + 64 + EVENT_LINE_MIDDLE.length;

/** One events.jsonl line (with its newline): `{"hash":"<hex>","event":<canonical event>}`. */
export function eventLine(hash: string, canonicalText: string): string {
  return `${EVENT_LINE_PREFIX}${hash}${EVENT_LINE_MIDDLE}${canonicalText}}\n`;
}

/** One proofs.jsonl line: a stream head, its leaf position in the digest's tree and its RFC 6962 audit path. */
export interface ProofRecord {
  stream: string;
  seq: number;
  hash: string;
  leafIndex: number;
  treeSize: number;
  /** Hex sibling hashes, bottom-up. */
  path: string[];
}

/** A proofs.jsonl line (with its newline). */
export function proofLine(p: ProofRecord): string {
  return `${JSON.stringify({
    stream: p.stream,
    seq: p.seq,
    hash: p.hash,
    leafIndex: p.leafIndex,
    treeSize: p.treeSize,
    path: p.path,
  })}\n`;
}

/** One file the manifest lists. */
export interface ManifestFile {
  name: string;
  sha256: string;
  bytes: number;
}

/** manifest.json. */
export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  bundleId: string;
  from: string;
  to: string;
  asOf: string;
  digest: { seq: number; root: string; hash: string };
  files: ManifestFile[];
}

/** The text of manifest.json, digest.json: two-space indented JSON and a final newline. */
export function prettyJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** digest.json's content: the summary fields in a fixed order. */
export function digestJson(d: DigestSummary): string {
  return prettyJson(digestSummaryOf(d));
}

/** `<from YYYY-MM-DD>_<to YYYY-MM-DD>_d<digest seq>`. */
export function bundleIdOf(from: string, to: string, digestSeq: number): string {
  return `${from.slice(0, 10)}_${to.slice(0, 10)}_d${digestSeq}`;
}
