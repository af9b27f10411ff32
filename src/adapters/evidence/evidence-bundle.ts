/**
 * Writes an evidence bundle (docs/evidence.md, "The evidence bundle"): for a period, the lifecycle CSV of every
 * request touched, review decisions and drift findings when there are any, refused attempts, summary.json and a
 * one-page summary.html, the raw streams behind them from seq 1 (events.jsonl), the fresh digest they are cut at
 * (digest.json), an RFC 6962 inclusion proof per stream head (proofs.jsonl), and manifest.json with the SHA-256
 * and size of every other file. `attest verify --bundle` checks all of it offline (bundle-verifier.ts).
 *
 * One ordered pass over the log, one stream in memory at a time.
 */
import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { digestSummaryOf, type AuditDigest, type DigestSummary } from '../../domain/audit/audit-digest.math';
import { GENESIS_HASH, type AuditEvent } from '../../domain/audit/audit-event.model';
import { canonicalJson, toHex, utf8 } from '../../domain/audit/canonical-json.codec';
import { eventCanonicalText } from '../../domain/audit/hash-chain.math';
import { inclusionProofs, leafHash } from '../../domain/audit/merkle-tree.math';
import { DomainError } from '../../domain/domain-error';
import {
  BUNDLE_CSV_FILES,
  EvidenceProjection,
  csvHeader,
  type BundleCsvKey,
} from '../../domain/evidence/evidence-bundle.projection';
import {
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  bundleIdOf,
  digestJson,
  eventLine,
  prettyJson,
  proofLine,
  type BundleManifest,
  type ManifestFile,
} from '../../domain/evidence/evidence-bundle.format';
import { EvidenceErrorCodes } from '../../domain/evidence/evidence.errors';
import { summaryJson, type EvidenceSummary } from '../../domain/evidence/evidence-summary';
import { renderSummaryHtml } from '../../domain/evidence/summary-html';
import type { AnchorStore } from '../../ports/anchor-store.port';
import type { AuditLogPort } from '../../ports/audit-log.port';
import type { Clock } from '../../ports/clock.port';
import { sha256 } from '../crypto/sha256';

export type { EvidenceSummary } from '../../domain/evidence/evidence-summary';
export type { DigestSummary } from '../../domain/audit/audit-digest.math';

/** What {@link writeEvidenceBundle} wrote. */
export interface EvidenceBundleResult {
  /** The folder written. */
  dir: string;
  /** `<from YYYY-MM-DD>_<to YYYY-MM-DD>_d<digest seq>`. */
  bundleId: string;
  /** Every file, manifest.json included (last). */
  files: { name: string; sha256: string; bytes: number }[];
  summary: EvidenceSummary;
  /** The anchored digest the bundle's proofs lead to. */
  digest: DigestSummary;
}

/** Inclusion proofs computed per pass over the digest's tree (bounds the paths held in memory). */
const PROOF_BATCH = 16_384;

/** Bytes buffered before a write to disk. */
const WRITE_CHUNK = 1 << 20;

/** A file written in order through a buffer, hashed and counted as it goes. */
class BundleFile {
  private parts: string[] = [];
  private pending = 0;
  private readonly hash: Hash = createHash('sha256');
  private size = 0;

  private constructor(
    readonly name: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  /** Creates the file; refuses one that exists (`wx`): a bundle never overwrites. */
  static async create(dir: string, name: string): Promise<BundleFile> {
    return new BundleFile(name, await fs.promises.open(path.join(dir, name), 'wx'));
  }

  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.pending += text.length;
    if (this.pending >= WRITE_CHUNK) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const bytes = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    this.hash.update(bytes);
    this.size += bytes.length;
    await this.handle.write(bytes);
  }

  /** Flushes, syncs and closes; returns the manifest entry. */
  async close(): Promise<ManifestFile> {
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    return { name: this.name, sha256: this.hash.digest('hex'), bytes: this.size };
  }

  /** Closes without the manifest entry (after a failure). */
  async abandon(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

async function prepareOutDir(outDir: string): Promise<string> {
  const dir = path.resolve(outDir);
  let entries: string[] | undefined;
  try {
    entries = await fs.promises.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR') {
      throw new DomainError(
        EvidenceErrorCodes.outDirNotEmpty,
        `${dir} is a file, not a folder: name a new folder.`,
      );
    }
    if (code !== 'ENOENT') throw err;
  }
  if (entries && entries.length > 0) {
    throw new DomainError(
      EvidenceErrorCodes.outDirNotEmpty,
      `${dir} already holds ${entries.length} file(s) (${entries.slice(0, 3).join(', ')}…): a bundle is written to a new or empty folder, never over another.`,
      { dir },
    );
  }
  await fs.promises.mkdir(dir, { recursive: true });
  return dir;
}

function unverified(stream: string, seq: number, why: string): never {
  throw new DomainError(
    EvidenceErrorCodes.logUnverified,
    `Stream ${stream}, event ${seq}: ${why}. No bundle was written from a log that does not verify: run attest verify.`,
    { stream, seq },
  );
}

/** The events' canonical texts after checking the chain from seq 1 up to the digest's head. */
function checkedTexts(events: readonly AuditEvent[], head: { seq: number; hash: string }): string[] {
  const texts: string[] = [];
  let prev = GENESIS_HASH;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.seq !== i + 1) unverified(e.stream, i + 1, `expected event ${i + 1}, found ${e.seq}`);
    if (e.prevHash !== prev) unverified(e.stream, e.seq, 'its prevHash does not point at the event before');
    const text = eventCanonicalText(e);
    if (toHex(sha256(utf8(text))) !== e.hash) unverified(e.stream, e.seq, 'its fields do not match its hash');
    prev = e.hash;
    texts.push(text);
  }
  if (events.length !== head.seq || prev !== head.hash) {
    unverified(
      events[0]?.stream ?? '?',
      events.length,
      `the stream does not end at the head digest recorded (event ${head.seq})`,
    );
  }
  return texts;
}

/**
 * Writes the bundle for [from, to) into `outDir` (created; an existing non-empty folder is refused with
 * `EVIDENCE.OUT_DIR_NOT_EMPTY`). Writes a fresh digest first, so every stream's head is covered, and cuts each
 * stream at the head that digest recorded. With `anchors`, the digest is anchored (idempotently) and every file
 * is also written to the immutable container. Refuses (`EVIDENCE.LOG_UNVERIFIED`) a stream whose chain breaks.
 */
export async function writeEvidenceBundle(
  deps: { audit: AuditLogPort; anchors?: AnchorStore; clock: Clock },
  opts: { from: Date; to: Date; outDir: string },
): Promise<EvidenceBundleResult> {
  if (Number.isNaN(opts.from.getTime()) || Number.isNaN(opts.to.getTime()) || opts.from >= opts.to) {
    throw new DomainError(
      EvidenceErrorCodes.badRange,
      `An evidence bundle needs from before to (got ${String(opts.from)} and ${String(opts.to)}).`,
    );
  }
  const dir = await prepareOutDir(opts.outDir);
  const digest: AuditDigest = await deps.audit.writeDigest();
  const digestSummary: DigestSummary = digestSummaryOf(digest);
  // NB. putDigest is idempotent: an audit log that anchors its own digests (as every host's does) has already
  // written this one, and this call answers `exists`. It matters only for a log opened without its anchor store.
  if (deps.anchors) await deps.anchors.putDigest(digestSummary);
  const from = opts.from.toISOString();
  const to = opts.to.toISOString();
  const asOf = deps.clock.now().toISOString();
  const bundleId = bundleIdOf(from, to, digest.seq);
  const projection = new EvidenceProjection({ from, to, asOf });

  const heads = new Map<string, { seq: number; hash: string; index: number }>();
  digest.heads.forEach((h, index) => heads.set(h.stream, { seq: h.seq, hash: h.hash, index }));
  const included: number[] = [];

  const open: BundleFile[] = [];
  const created: string[] = [];
  const create = async (name: string) => {
    const f = await BundleFile.create(dir, name);
    created.push(name);
    open.push(f);
    return f;
  };
  try {
    const events = await create(BUNDLE_FILES.events);
    const csv = {} as Record<BundleCsvKey, { file?: BundleFile; rows: number }>;
    for (const key of Object.keys(BUNDLE_CSV_FILES) as BundleCsvKey[]) csv[key] = { rows: 0 };
    const writeRecords = async (key: BundleCsvKey, records: string[]) => {
      if (records.length === 0) return;
      const target = csv[key];
      if (!target.file) {
        target.file = await create(BUNDLE_CSV_FILES[key].name);
        await target.file.write(csvHeader(key));
      }
      for (const r of records) await target.file.write(r);
      target.rows += records.length;
    };

    const finishStream = async (stream: AuditEvent[]) => {
      const head = heads.get(stream[0].stream);
      // A stream begun after the digest is not covered by it: the next bundle carries it.
      if (!head) return;
      const cut = stream.length > head.seq ? stream.slice(0, head.seq) : stream;
      const texts = checkedTexts(cut, head);
      if (!projection.include(cut)) return;
      for (let i = 0; i < cut.length; i++) await events.write(eventLine(cut[i].hash, texts[i]));
      const records = projection.add(cut);
      for (const key of Object.keys(records) as BundleCsvKey[]) await writeRecords(key, records[key]);
      included.push(head.index);
    };

    let current: AuditEvent[] = [];
    for await (const e of deps.audit.scanAll()) {
      if (current.length > 0 && current[0].stream !== e.stream) {
        await finishStream(current);
        current = [];
      }
      current.push(e);
    }
    if (current.length > 0) await finishStream(current);

    // Mandatory CSVs exist even with no rows (a header says "none", an absent file says nothing).
    for (const key of Object.keys(BUNDLE_CSV_FILES) as BundleCsvKey[]) {
      if (!BUNDLE_CSV_FILES[key].optional && !csv[key].file) {
        csv[key].file = await create(BUNDLE_CSV_FILES[key].name);
        await csv[key].file.write(csvHeader(key));
      }
    }

    const proofs = await create(BUNDLE_FILES.proofs);
    const leaves = digest.heads.map((h) =>
      leafHash(utf8(canonicalJson({ stream: h.stream, seq: h.seq, hash: h.hash })), sha256),
    );
    // NB. in batches: each batch is one pass over the tree, and only its paths are held at once.
    for (let start = 0; start < included.length; start += PROOF_BATCH) {
      const paths = inclusionProofs(leaves, included.slice(start, start + PROOF_BATCH), sha256);
      for (const p of paths) {
        const h = digest.heads[p.leafIndex];
        await proofs.write(
          proofLine({
            stream: h.stream,
            seq: h.seq,
            hash: h.hash,
            leafIndex: p.leafIndex,
            treeSize: p.treeSize,
            path: p.path.map(toHex),
          }),
        );
      }
    }

    const summary = projection.summary();
    const small: [string, string][] = [
      [BUNDLE_FILES.digest, digestJson(digestSummary)],
      [BUNDLE_FILES.summaryJson, summaryJson(summary)],
      [BUNDLE_FILES.summaryHtml, renderSummaryHtml(summary, { bundleId, digest: digestSummary })],
    ];
    for (const [name, text] of small) await (await create(name)).write(text);

    const files: ManifestFile[] = [];
    for (const f of open.splice(0)) files.push(await f.close());
    files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      bundleId,
      from,
      to,
      asOf,
      digest: { seq: digestSummary.seq, root: digestSummary.root, hash: digestSummary.hash },
      files,
    };
    const manifestFile = await create(BUNDLE_FILES.manifest);
    await manifestFile.write(prettyJson(manifest));
    files.push(await manifestFile.close());
    open.splice(0);

    if (deps.anchors) {
      for (const f of files) {
        const bytes = await fs.promises.readFile(path.join(dir, f.name));
        await deps.anchors.putBundleFile(bundleId, f.name, bytes);
      }
    }
    return { dir, bundleId, files, summary, digest: digestSummary };
  } catch (err) {
    // Leave no folder that looks like a bundle: remove what this call wrote (the folder was new or empty).
    for (const f of open) await f.abandon();
    for (const name of created) await fs.promises.rm(path.join(dir, name), { force: true });
    throw err;
  }
}
