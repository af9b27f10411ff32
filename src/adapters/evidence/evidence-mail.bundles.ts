/**
 * The evidence e-mail's bundles: a period's bundle written to a scratch folder (and by the bundle writer to the
 * immutable container), zipped into `<bundleId>.zip` (one folder `<bundleId>/` inside), the zip written to the
 * container beside the bundle's files, the scratch folder removed. The mail attaches the zip read back from the
 * container, or links it there.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import type { PreparedEvidence } from '../../domain/evidence/evidence-mail';
import type { AnchorStore } from '../../ports/anchor-store.port';
import type { EvidenceBundles, EvidencePeriod } from '../../ports/evidence-mail.port';
import { toHex } from '../../domain/audit/canonical-json.codec';
import { DomainError } from '../../domain/domain-error';
import { sha256 } from '../crypto/sha256';

/** What a bundle writer returns (the shape of `writeEvidenceBundle`'s result the mail needs). */
export interface WrittenBundle<S> {
  dir: string;
  bundleId: string;
  files: { name: string; sha256: string; bytes: number }[];
  summary: S;
  digest: { seq: number; root: string; hash: string; time?: string };
}

/** The anchor store, with a way to read a bundle file back (the attachment is what the container holds). */
export interface BundleFileStore extends AnchorStore {
  readBundleFile(bundleId: string, name: string): Promise<Uint8Array>;
}

/** What {@link ZippedEvidenceBundles} is built from. */
export interface ZippedEvidenceBundlesDeps<S> {
  anchors: BundleFileStore;
  /** Writes the bundle of [from, to) into `outDir` (a new folder), and its files to the container. */
  write: (opts: { from: Date; to: Date; outDir: string }) => Promise<WrittenBundle<S>>;
  /** The summary's figures as the mail shows them. */
  rows: (summary: S) => { label: string; value: number }[];
  /** Where scratch folders go (default the OS temp folder). */
  scratch?: string;
}

/** A zip's entries carry this time (DOS time starts in 1980): the same bundle always zips to the same bytes. */
const ZIP_TIME = new Date('2000-01-01T00:00:00Z');

/** Zips a bundle folder's files (flat names or `a/b` paths) under `<bundleId>/`, deterministically. */
export async function zipBundle(
  dir: string,
  bundleId: string,
  names: readonly string[],
): Promise<Uint8Array> {
  const entries: Zippable = {};
  for (const name of [...names].sort()) {
    entries[`${bundleId}/${name}`] = [
      new Uint8Array(await fs.promises.readFile(path.join(dir, name))),
      { mtime: ZIP_TIME },
    ];
  }
  return zipSync(entries, { level: 9 });
}

/** {@link EvidenceBundles} on the bundle writer and the anchor store. */
export class ZippedEvidenceBundles<S> implements EvidenceBundles {
  constructor(private readonly deps: ZippedEvidenceBundlesDeps<S>) {}

  async prepare(period: EvidencePeriod): Promise<PreparedEvidence> {
    const scratch = await fs.promises.mkdtemp(
      path.join(this.deps.scratch ?? os.tmpdir(), 'attest-evidence-'),
    );
    try {
      const written = await this.deps.write({
        from: new Date(period.from),
        to: new Date(period.to),
        outDir: path.join(scratch, 'bundle'),
      });
      const zip = await zipBundle(
        written.dir,
        written.bundleId,
        written.files.map((f) => f.name),
      );
      const name = `${written.bundleId}.zip`;
      await this.deps.anchors.putBundleFile(written.bundleId, name, zip);
      return {
        period,
        bundleId: written.bundleId,
        digest: { seq: written.digest.seq, root: written.digest.root, hash: written.digest.hash },
        summary: this.deps.rows(written.summary),
        files: written.files.length,
        zip: { name, sha256: toHex(sha256(zip)), bytes: zip.byteLength },
      };
    } finally {
      await fs.promises.rm(scratch, { recursive: true, force: true });
    }
  }

  /** The zip as the container holds it; refused when its SHA-256 is not the one recorded (and mailed). */
  async zip(prepared: PreparedEvidence): Promise<Uint8Array> {
    const bytes = await this.deps.anchors.readBundleFile(prepared.bundleId, prepared.zip.name);
    const actual = toHex(sha256(bytes));
    if (actual !== prepared.zip.sha256) {
      throw new DomainError(
        'EVIDENCE_MAIL.ZIP_CHANGED',
        `The evidence zip ${prepared.bundleId}/${prepared.zip.name} in the container has SHA-256 ${actual}, not the ${prepared.zip.sha256} recorded when it was built: it is not sent.`,
      );
    }
    return bytes;
  }

  zipLink(prepared: PreparedEvidence, validForMs: number): Promise<string> {
    return this.deps.anchors.bundleFileUrl(prepared.bundleId, prepared.zip.name, validForMs);
  }
}
