/**
 * The anchor store on Blob Storage (docs/adr/0009): one block blob per digest, `digests/<seq, 10 digits>.json`
 * holding the digest's summary as canonical JSON, and `bundles/<bundleId>/<name>` for evidence bundle files.
 * Every blob is created with `If-None-Match: *`, so nothing here ever overwrites; in Azure the container also
 * has a locked time-based immutability policy (infra/), so not even an account key holder can. Azurite does not
 * enforce immutability: locally the write-once rule is this code's alone.
 */
import {
  BlobSASPermissions,
  RestError,
  SASProtocol,
  type BlobServiceClient,
  type ContainerClient,
} from '@azure/storage-blob';
import { AuditErrorCodes } from '../../domain/audit/audit.errors';
import { digestSummaryOf } from '../../domain/audit/audit-digest.math';
import { canonicalJson, utf8 } from '../../domain/audit/canonical-json.codec';
import { DomainError } from '../../domain/domain-error';
import type { AnchorStore, DigestSummary } from '../../ports/anchor-store.port';
import type { Clock } from '../../ports/clock.port';
import type { StorageConfig } from '../../config/config';
import { createBlobAccess, type BlobAccess, type BlobSigning } from './blob-client-factory';

/** Blob name prefix of digest anchors. */
export const DIGEST_PREFIX = 'digests/';
/** Blob name prefix of evidence bundles. */
export const BUNDLE_PREFIX = 'bundles/';

/** The blob name of digest `seq`'s anchor. */
export const digestBlobName = (seq: number): string =>
  `${DIGEST_PREFIX}${String(seq).padStart(10, '0')}.json`;

/** The longest link lifetime: a user delegation key lives at most 7 days. */
export const MAX_LINK_MS = 7 * 24 * 3600_000;
/** Links start this much before now, so a reader whose clock runs behind can use them at once. */
const LINK_SKEW_MS = 5 * 60_000;

/** Bundle ids and file path segments: letters, digits, dot, dash, underscore; no `.` or `..` segment. */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;

/** What the store needs. */
export interface BlobAnchorStoreOptions {
  access: BlobAccess;
  /** Container name (ATTEST_EVIDENCE_CONTAINER). */
  container: string;
  clock: Clock;
}

/** The canonical bytes of a digest's anchor: exactly the summary's fields, canonical JSON. */
export function digestAnchorBytes(d: DigestSummary): Uint8Array {
  return utf8(canonicalJson(digestSummaryOf(d)));
}

function isStatus(err: unknown, ...codes: number[]): boolean {
  return err instanceof RestError && codes.includes(err.statusCode ?? 0);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isHex64 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** Parses an anchor blob; a DomainError `AUDIT.ANCHOR_MALFORMED` names the blob when it is not one. */
export function parseDigestAnchor(name: string, bytes: Uint8Array): DigestSummary {
  const bad = (why: string) =>
    new DomainError(AuditErrorCodes.anchorMalformed, `Anchor blob ${name} is malformed: ${why}.`, { name });
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  const v = value as Record<string, unknown>;
  if (!isCount(v.seq) || v.seq < 1) throw bad('seq is not a positive integer');
  if (digestBlobName(v.seq) !== name) throw bad(`it holds digest ${v.seq}`);
  if (typeof v.time !== 'string' || !Number.isFinite(Date.parse(v.time))) throw bad('time is not a time');
  if (!isHex64(v.root)) throw bad('root is not a SHA-256 in hex');
  if (!isCount(v.streams) || !isCount(v.events)) throw bad('streams or events is not a count');
  if (!isHex64(v.prevDigestHash) || !isHex64(v.hash))
    throw bad('prevDigestHash or hash is not a SHA-256 in hex');
  const summary = digestSummaryOf(v as DigestSummary);
  if (!sameBytes(digestAnchorBytes(summary), bytes))
    throw bad('it is not in canonical form or has extra fields');
  return summary;
}

/** {@link AnchorStore} on one blob container. */
export class BlobAnchorStore implements AnchorStore {
  private readonly service: BlobServiceClient;
  private readonly signing: BlobSigning;
  private readonly containerClient: ContainerClient;
  private readonly clock: Clock;
  /** The container's creation, once per store (reset on failure: storage may still be starting). */
  private ensured: Promise<void> | undefined;

  constructor(options: BlobAnchorStoreOptions) {
    this.service = options.access.service;
    this.signing = options.access.signing;
    this.containerClient = this.service.getContainerClient(options.container);
    this.clock = options.clock;
  }

  /** The store on the account `storage` names (the same as the tables'), in `container`. */
  static on(storage: StorageConfig, container: string, clock: Clock): BlobAnchorStore {
    return new BlobAnchorStore({ access: createBlobAccess(storage), container, clock });
  }

  /** The container's name. */
  get container(): string {
    return this.containerClient.containerName;
  }

  /**
   * {@inheritDoc AnchorStore.init}. NB. writes call it themselves, so a host whose blob service is down at
   * start still serves requests; only anchoring waits (and is backfilled later).
   */
  async init(): Promise<void> {
    this.ensured ??= this.containerClient.createIfNotExists().then(
      () => undefined,
      (err: unknown) => {
        this.ensured = undefined;
        throw err;
      },
    );
    return this.ensured;
  }

  /** {@inheritDoc AnchorStore.putDigest} */
  async putDigest(digest: DigestSummary): Promise<'written' | 'exists'> {
    if (!isCount(digest.seq) || digest.seq < 1) {
      throw new DomainError(AuditErrorCodes.anchorInvalid, `A digest's seq must be a positive integer.`);
    }
    const name = digestBlobName(digest.seq);
    return this.putOnce(name, digestAnchorBytes(digest), 'application/json', () => {
      return `Digest ${digest.seq} is already anchored (${name}) with other content than hash ${digest.hash}: the digest chain in the tables was rewritten, or two writers built different digests ${digest.seq}.`;
    });
  }

  /** {@inheritDoc AnchorStore.digests} */
  async *digests(): AsyncIterable<DigestSummary> {
    for await (const name of this.digestNames()) yield await this.readDigest(name);
  }

  /** {@inheritDoc AnchorStore.describe} */
  describe(seq: number): string {
    return `blob ${this.container}/${digestBlobName(seq)}`;
  }

  /** {@inheritDoc AnchorStore.latestDigest} */
  async latestDigest(): Promise<DigestSummary | undefined> {
    // Names sort in seq order (10 digits), so the last listed is the newest; only names are listed.
    let last: string | undefined;
    for await (const name of this.digestNames()) last = name;
    return last === undefined ? undefined : this.readDigest(last);
  }

  /** Digest blob names in seq order; a container not created yet holds none. */
  private async *digestNames(): AsyncIterable<string> {
    try {
      for await (const blob of this.containerClient.listBlobsFlat({ prefix: DIGEST_PREFIX })) yield blob.name;
    } catch (err) {
      if (err instanceof RestError && err.code === 'ContainerNotFound') return;
      throw err;
    }
  }

  /** {@inheritDoc AnchorStore.putBundleFile} */
  async putBundleFile(bundleId: string, name: string, bytes: Uint8Array): Promise<'written' | 'exists'> {
    const blobName = bundleBlobName(bundleId, name);
    return this.putOnce(
      blobName,
      bytes,
      'application/octet-stream',
      () => `Bundle file ${blobName} already exists with other content; a bundle is written once.`,
    );
  }

  /** A bundle file's bytes as the container holds them (the evidence e-mail attaches the zip read back). */
  async readBundleFile(bundleId: string, name: string): Promise<Uint8Array> {
    const buffer = await this.containerClient
      .getBlobClient(bundleBlobName(bundleId, name))
      .downloadToBuffer();
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** {@inheritDoc AnchorStore.bundleFileUrl} */
  async bundleFileUrl(bundleId: string, name: string, validForMs: number): Promise<string> {
    if (!Number.isFinite(validForMs) || validForMs <= 0 || validForMs > MAX_LINK_MS) {
      throw new DomainError(
        AuditErrorCodes.anchorInvalid,
        `A bundle link is valid for more than 0 ms and at most 7 days (${MAX_LINK_MS} ms), not ${validForMs}.`,
      );
    }
    const blob = this.containerClient.getBlobClient(bundleBlobName(bundleId, name));
    const now = this.clock.now().getTime();
    const options = {
      permissions: BlobSASPermissions.parse('r'),
      startsOn: new Date(now - LINK_SKEW_MS),
      expiresOn: new Date(now + validForMs),
      protocol: blob.url.startsWith('https:') ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
    };
    if (this.signing === 'account-key') return blob.generateSasUrl(options);
    if (this.signing === 'user-delegation') {
      const key = await this.service.getUserDelegationKey(options.startsOn, options.expiresOn);
      return blob.generateUserDelegationSasUrl(options, key);
    }
    throw new DomainError(
      AuditErrorCodes.anchorInvalid,
      'Cannot sign a link to a bundle file: the storage connection string holds a SAS, not an account key. ' +
        "Use the account's connection string with its key, or ATTEST_STORAGE_MODE=managed-identity.",
    );
  }

  private async readDigest(name: string): Promise<DigestSummary> {
    const bytes = await this.containerClient.getBlobClient(name).downloadToBuffer();
    return parseDigestAnchor(name, bytes);
  }

  /**
   * Creates the blob only if none exists; when one does, the same bytes are `exists` and other bytes a
   * DomainError `AUDIT.ANCHOR_CONFLICT`.
   */
  private async putOnce(
    name: string,
    bytes: Uint8Array,
    contentType: string,
    conflict: () => string,
  ): Promise<'written' | 'exists'> {
    await this.init();
    const blob = this.containerClient.getBlockBlobClient(name);
    try {
      await blob.upload(bytes, bytes.byteLength, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: contentType },
      });
      return 'written';
    } catch (err) {
      // 409 BlobAlreadyExists; 412 when the service evaluates If-None-Match against an existing blob.
      if (!isStatus(err, 409, 412)) throw err;
    }
    const existing = await blob.downloadToBuffer();
    if (sameBytes(existing, bytes)) return 'exists';
    throw new DomainError(AuditErrorCodes.anchorConflict, conflict(), { name });
  }
}

/** The blob name of a bundle file; ids and names that could escape `bundles/<id>/` are refused. */
export function bundleBlobName(bundleId: string, name: string): string {
  const segments = typeof name === 'string' ? name.split('/') : [];
  if (typeof bundleId !== 'string' || !SEGMENT.test(bundleId) || bundleId.includes('..')) {
    throw new DomainError(
      AuditErrorCodes.anchorInvalid,
      `Bundle id '${String(bundleId)}' must be letters, digits, '.', '-' or '_' (e.g. 2026-11-23_2026-11-29).`,
    );
  }
  if (segments.length === 0 || segments.some((s) => !SEGMENT.test(s) || s === '..' || /^\.+$/.test(s))) {
    throw new DomainError(
      AuditErrorCodes.anchorInvalid,
      `Bundle file name '${String(name)}' must be '/'-separated parts of letters, digits, '.', '-' or '_' (e.g. streams/request-42.jsonl).`,
    );
  }
  return `${BUNDLE_PREFIX}${bundleId}/${name}`;
}
