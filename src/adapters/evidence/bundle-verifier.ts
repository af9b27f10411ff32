/**
 * `attest verify --bundle DIR [--anchor seq:hash]`: verifies an evidence bundle (evidence-bundle.ts) with no
 * access to Attest's storage. In order: the manifest (every file listed, present, of its size and SHA-256, and
 * nothing else in the folder); digest.json (its own hash, the manifest's copy of it, and the anchor when given);
 * then one pass over events.jsonl and proofs.jsonl: each line's hash over the canonical bytes it carries, each
 * stream's chain from seq 1, each stream's head against its RFC 6962 inclusion proof and the digest's root; and
 * alongside, every derived file (the CSVs, summary.json, summary.html) recomputed from the events and compared
 * byte for byte. The first problem is reported with the file, and the line where there is one.
 *
 * Memory: one stream's events, one read buffer per file, and one bit per stream of the digest.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { digestHash, type DigestSummary } from '../../domain/audit/audit-digest.math';
import { AUDIT_ACTIONS, GENESIS_HASH, type AuditEvent } from '../../domain/audit/audit-event.model';
import { canonicalJson, fromHex, utf8 } from '../../domain/audit/canonical-json.codec';
import { leafHash, verifyInclusion } from '../../domain/audit/merkle-tree.math';
import {
  BUNDLE_CSV_FILES,
  EvidenceProjection,
  csvHeader,
  type BundleCsvKey,
} from '../../domain/evidence/evidence-bundle.projection';
import {
  BUNDLE_FILES,
  BUNDLE_FORMAT,
  EVENT_LINE_MIDDLE,
  EVENT_LINE_PREFIX,
  EVENT_TEXT_OFFSET,
  bundleIdOf,
  digestJson,
  type BundleManifest,
  type ProofRecord,
} from '../../domain/evidence/evidence-bundle.format';
import { summaryJson } from '../../domain/evidence/evidence-summary';
import { renderSummaryHtml } from '../../domain/evidence/summary-html';
import { sha256 } from '../crypto/sha256';

/** What can be wrong with a bundle. */
export type BundleProblem =
  /** A file differs from the manifest (size or SHA-256), or the manifest itself is malformed. */
  | 'manifest'
  /** A file the manifest or the format requires is not there. */
  | 'missing-file'
  /** A file in the folder that the manifest does not list. */
  | 'unexpected-file'
  /** A line or file that is not in the bundle's format. */
  | 'malformed'
  /** An event's bytes do not match its hash. */
  | 'edited'
  /** An event or a stream is missing. */
  | 'missing'
  /** Events out of order, or a prevHash that points elsewhere, or a stream given twice. */
  | 'reordered'
  /** A stream ends before the head its proof names. */
  | 'truncated'
  /** An inclusion proof that does not lead to the digest's root, or names another head. */
  | 'proof'
  /** digest.json does not match its own hash or the manifest's copy. */
  | 'digest'
  /** The bundle cannot be tied to the anchor given. */
  | 'anchor'
  /** A derived file differs from what the events give. */
  | 'recomputed';

/** The first problem found. */
export interface BundleFailure {
  ok: false;
  file: string;
  line?: number;
  stream?: string;
  seq?: number;
  problem: BundleProblem;
  message: string;
}

/** A bundle that verified. */
export interface BundleOk {
  ok: true;
  bundleId: string;
  streams: number;
  events: number;
  digest: DigestSummary;
  /** True when an `--anchor` was given and matched. */
  anchored: boolean;
}

/** The outcome of {@link verifyBundle}. */
export type BundleVerifyResult = BundleOk | BundleFailure;

/** Thrown inside the verifier to stop at the first problem; turned into a {@link BundleFailure}. */
class Stop extends Error {
  constructor(readonly failure: BundleFailure) {
    super(failure.message);
  }
}

function fail(
  file: string,
  problem: BundleProblem,
  message: string,
  at: { line?: number; stream?: string; seq?: number } = {},
): never {
  const f: BundleFailure = { ok: false, file, problem, message };
  if (at.line !== undefined) f.line = at.line;
  if (at.stream !== undefined) f.stream = at.stream;
  if (at.seq !== undefined) f.seq = at.seq;
  throw new Stop(f);
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const READ_CHUNK = 1 << 20;
const NEWLINE = 0x0a;

/** SHA-256 hex of bytes, with Node's one-shot hash where it exists (no Hash object per line). */
const hexSha256: (bytes: Uint8Array) => string =
  typeof oneShotHash === 'function'
    ? (bytes) => oneShotHash('sha256', bytes, 'hex')
    : (bytes) => createHash('sha256').update(bytes).digest('hex');

/** Lines of a file, read synchronously through one growing buffer. A line is valid until the next call. */
class LineReader {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(READ_CHUNK);
  private start = 0;
  private end = 0;
  private eof = false;
  /** 1-based number of the line last returned. */
  line = 0;

  constructor(
    readonly file: string,
    dir: string,
  ) {
    this.fd = fs.openSync(path.join(dir, file), 'r');
  }

  /** The next line without its newline, or undefined at the end. A last line without a newline is malformed. */
  next(): Buffer | undefined {
    for (;;) {
      const at = this.buf.indexOf(NEWLINE, this.start);
      if (at !== -1 && at < this.end) {
        const line = this.buf.subarray(this.start, at);
        this.start = at + 1;
        this.line++;
        return line;
      }
      if (this.eof) {
        if (this.start < this.end)
          fail(this.file, 'malformed', 'the last line has no newline (the file was cut short?)', {
            line: this.line + 1,
          });
        return undefined;
      }
      this.fill();
    }
  }

  private fill(): void {
    if (this.start > 0) {
      this.buf.copy(this.buf, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    const n = fs.readSync(this.fd, this.buf, this.end, this.buf.length - this.end, null);
    if (n === 0) this.eof = true;
    this.end += n;
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** Compares a file, as it is read, with text recomputed piece by piece; names the first line that differs. */
class FileComparer {
  private readonly fd: number;
  private buf = Buffer.alloc(0);
  private pos = 0;
  private eof = false;
  private lines = 1;

  constructor(
    readonly file: string,
    dir: string,
  ) {
    this.fd = fs.openSync(path.join(dir, file), 'r');
  }

  private ensure(n: number): void {
    while (!this.eof && this.buf.length - this.pos < n) {
      const chunk = Buffer.allocUnsafe(Math.max(READ_CHUNK, n));
      const got = fs.readSync(this.fd, chunk, 0, chunk.length, null);
      if (got === 0) this.eof = true;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk.subarray(0, got)]);
      this.pos = 0;
    }
  }

  /** The next bytes of the file must be `text`. */
  expect(text: string, what: string): void {
    const want = Buffer.from(text, 'utf8');
    this.ensure(want.length);
    const have = this.buf.subarray(this.pos, this.pos + want.length);
    if (!have.equals(want)) {
      let i = 0;
      while (i < have.length && have[i] === want[i]) i++;
      let line = this.lines;
      for (let j = 0; j < i; j++) if (want[j] === NEWLINE) line++;
      fail(
        this.file,
        'recomputed',
        have.length < want.length && i === have.length
          ? `the file ends where the events give ${what}.`
          : `the file differs from what the events give (${what}): it was edited after the bundle was made.`,
        { line },
      );
    }
    for (const b of want) if (b === NEWLINE) this.lines++;
    this.pos += want.length;
  }

  /** The file must end here. */
  end(): void {
    this.ensure(1);
    if (this.buf.length - this.pos > 0) {
      fail(this.file, 'recomputed', 'the file has content the events do not give (a row was added).', {
        line: this.lines,
      });
    }
    fs.closeSync(this.fd);
  }
}

function firstDifferentLine(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && i < lb.length && la[i] === lb[i]) i++;
  return i + 1;
}

function readJson(dir: string, file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, file), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(file, 'missing-file', `${file} is missing.`);
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return fail(file, 'malformed', `${file} is not JSON: ${(err as Error).message}.`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkManifest(value: unknown): BundleManifest {
  const file = BUNDLE_FILES.manifest;
  const bad = (why: string): never => fail(file, 'manifest', `manifest.json ${why}.`);
  if (!isObject(value)) return bad('is not an object');
  if (value.format !== BUNDLE_FORMAT) bad(`has format ${JSON.stringify(value.format)}, not ${BUNDLE_FORMAT}`);
  for (const key of ['bundleId', 'from', 'to', 'asOf'] as const) {
    if (typeof value[key] !== 'string') bad(`has no ${key}`);
  }
  for (const key of ['from', 'to', 'asOf'] as const) {
    if (!ISO.test(value[key] as string)) bad(`has ${key} ${String(value[key])}, not an ISO 8601 UTC time`);
  }
  const d = value.digest;
  if (!isObject(d) || typeof d.seq !== 'number' || typeof d.root !== 'string' || typeof d.hash !== 'string')
    bad('has no digest {seq, root, hash}');
  if (!Array.isArray(value.files)) bad('has no files list');
  const names = new Set<string>();
  for (const f of value.files as unknown[]) {
    if (
      !isObject(f) ||
      typeof f.name !== 'string' ||
      typeof f.sha256 !== 'string' ||
      typeof f.bytes !== 'number'
    )
      bad('lists a file without name, sha256 and bytes');
    const name = (f as { name: string }).name;
    if (name !== path.basename(name) || name.startsWith('.') || name === BUNDLE_FILES.manifest)
      bad(`lists ${JSON.stringify(name)}, which cannot be a file of the bundle`);
    if (names.has(name)) bad(`lists ${name} twice`);
    names.add(name);
  }
  return value as unknown as BundleManifest;
}

function checkDigest(value: unknown): DigestSummary {
  const file = BUNDLE_FILES.digest;
  if (!isObject(value)) return fail(file, 'malformed', 'digest.json is not an object.');
  const d = value as unknown as DigestSummary;
  const ok =
    Number.isSafeInteger(d.seq) &&
    d.seq > 0 &&
    typeof d.time === 'string' &&
    typeof d.root === 'string' &&
    HEX64.test(d.root) &&
    Number.isSafeInteger(d.streams) &&
    d.streams >= 0 &&
    Number.isSafeInteger(d.events) &&
    typeof d.prevDigestHash === 'string' &&
    typeof d.hash === 'string';
  if (!ok)
    fail(
      file,
      'malformed',
      'digest.json lacks a field of a digest (seq, time, root, streams, events, prevDigestHash, hash).',
    );
  return d;
}

/** Hashes every listed file and checks the folder holds nothing else. */
function checkFiles(dir: string, manifest: BundleManifest): void {
  const listed = new Map(manifest.files.map((f) => [f.name, f]));
  const required: string[] = [
    BUNDLE_FILES.events,
    BUNDLE_FILES.proofs,
    BUNDLE_FILES.digest,
    BUNDLE_FILES.summaryJson,
    BUNDLE_FILES.summaryHtml,
    ...Object.values(BUNDLE_CSV_FILES)
      .filter((f) => !f.optional)
      .map((f) => f.name),
  ];
  for (const name of required) {
    if (!listed.has(name)) fail(name, 'missing-file', `${name} is not in the manifest; every bundle has it.`);
  }
  const present = new Set(fs.readdirSync(dir));
  if (!present.has(BUNDLE_FILES.manifest))
    fail(BUNDLE_FILES.manifest, 'missing-file', 'manifest.json is missing.');
  for (const name of [...present].sort()) {
    if (name !== BUNDLE_FILES.manifest && !listed.has(name))
      fail(name, 'unexpected-file', `${name} is in the folder but not in the manifest.`);
  }
  for (const f of manifest.files) {
    if (!present.has(f.name))
      fail(f.name, 'missing-file', `${f.name} is listed in the manifest but missing.`);
    const h = createHash('sha256');
    const fd = fs.openSync(path.join(dir, f.name), 'r');
    const buf = Buffer.allocUnsafe(READ_CHUNK * 4);
    let bytes = 0;
    try {
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        h.update(buf.subarray(0, n));
        bytes += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const digest = h.digest('hex');
    if (bytes !== f.bytes || digest !== f.sha256) {
      fail(
        f.name,
        'manifest',
        `${f.name} is ${bytes} bytes with SHA-256 ${digest.slice(0, 12)}…, the manifest says ${f.bytes} bytes and ${String(f.sha256).slice(0, 12)}…: the file was changed after the bundle was made.`,
      );
    }
  }
}

function checkAnchor(d: DigestSummary, anchor: { seq: number; hash: string }): void {
  const file = BUNDLE_FILES.digest;
  if (anchor.seq === d.seq) {
    if (anchor.hash.toLowerCase() !== d.hash) {
      fail(
        file,
        'anchor',
        `the bundle's digest ${d.seq} has hash ${d.hash.slice(0, 12)}…, the anchor says ${anchor.hash.slice(0, 12)}…: this is not the digest that was anchored.`,
      );
    }
    return;
  }
  fail(
    file,
    'anchor',
    anchor.seq < d.seq
      ? `the bundle is tied to digest ${d.seq}, later than the anchor's digest ${anchor.seq}: a bundle cannot be tied to an earlier anchor. Use the anchor sent with this bundle (${d.seq}:<hash>), or check the digest chain from ${anchor.seq} with \`attest verify --anchor ${anchor.seq}:…\` against the storage.`
      : `the bundle is tied to digest ${d.seq}, earlier than the anchor's digest ${anchor.seq}: it cannot be tied to a later anchor. Use the anchor sent with this bundle (${d.seq}:<hash>).`,
  );
}

/** Checks the shape of a parsed event text far enough for the chain and the projection to rely on it. */
function asEvent(v: unknown): AuditEvent | undefined {
  if (!isObject(v)) return undefined;
  const e = v as unknown as AuditEvent;
  if (
    typeof e.stream !== 'string' ||
    typeof e.seq !== 'number' ||
    typeof e.time !== 'string' ||
    typeof e.prevHash !== 'string' ||
    typeof e.subject !== 'string' ||
    !(AUDIT_ACTIONS as readonly string[]).includes(e.action) ||
    !isObject(e.actor) ||
    typeof e.actor.objectId !== 'string' ||
    !isObject(e.details) ||
    !isObject(e.correlation)
  )
    return undefined;
  return e;
}

const PREFIX = Buffer.from(EVENT_LINE_PREFIX);
const MIDDLE = Buffer.from(EVENT_LINE_MIDDLE);

/**
 * Verifies the bundle in `dir` offline; with `anchor`, also that its digest is the anchored one. Never throws
 * for a bad bundle: the first problem comes back as a {@link BundleFailure}. (An unreadable folder throws.)
 */
export async function verifyBundle(
  dir: string,
  opts: { anchor?: { seq: number; hash: string } } = {},
): Promise<BundleVerifyResult> {
  await Promise.resolve();
  try {
    return verifyBundleSync(path.resolve(dir), opts);
  } catch (err) {
    if (err instanceof Stop) return err.failure;
    throw err;
  }
}

function verifyBundleSync(dir: string, opts: { anchor?: { seq: number; hash: string } }): BundleOk {
  if (!fs.statSync(dir).isDirectory()) fail(dir, 'missing-file', `${dir} is not a folder.`);
  const manifest = checkManifest(readJson(dir, BUNDLE_FILES.manifest));
  checkFiles(dir, manifest);
  const digest = checkDigest(readJson(dir, BUNDLE_FILES.digest));
  const digestFile = BUNDLE_FILES.digest;
  if (digestHash(digest, sha256) !== digest.hash)
    fail(digestFile, 'digest', `digest ${digest.seq} does not match its own hash: digest.json was edited.`);
  if (
    manifest.digest.seq !== digest.seq ||
    manifest.digest.root !== digest.root ||
    manifest.digest.hash !== digest.hash
  )
    fail(
      digestFile,
      'digest',
      `the manifest names digest ${manifest.digest.seq}, digest.json holds digest ${digest.seq} with another root or hash.`,
    );
  if (manifest.bundleId !== bundleIdOf(manifest.from, manifest.to, digest.seq))
    fail(
      BUNDLE_FILES.manifest,
      'manifest',
      `bundleId ${manifest.bundleId} does not match its period and digest.`,
    );
  if (opts.anchor) checkAnchor(digest, opts.anchor);
  const root = fromHex(digest.root);

  let projection: EvidenceProjection;
  try {
    projection = new EvidenceProjection({ from: manifest.from, to: manifest.to, asOf: manifest.asOf });
  } catch (err) {
    return fail(BUNDLE_FILES.manifest, 'manifest', `manifest.json: ${(err as Error).message}`);
  }
  const listed = new Set(manifest.files.map((f) => f.name));
  const comparers = {} as Record<BundleCsvKey, FileComparer | undefined>;
  const recordsSeen = {} as Record<BundleCsvKey, number>;
  for (const key of Object.keys(BUNDLE_CSV_FILES) as BundleCsvKey[]) {
    const name = BUNDLE_CSV_FILES[key].name;
    comparers[key] = listed.has(name) ? new FileComparer(name, dir) : undefined;
    recordsSeen[key] = 0;
  }

  const events = new LineReader(BUNDLE_FILES.events, dir);
  const proofs = new LineReader(BUNDLE_FILES.proofs, dir);
  const seenLeaves = new Uint8Array(Math.ceil(digest.streams / 8));
  let streams = 0;
  let total = 0;

  const finishStream = (stream: AuditEvent[], lastLine: number): void => {
    const head = stream[stream.length - 1];
    const proofText = proofs.next();
    const pf = BUNDLE_FILES.proofs;
    if (proofText === undefined)
      fail(pf, 'missing', `stream ${head.stream} (events.jsonl line ${lastLine}) has no proof.`, {
        line: proofs.line + 1,
      });
    let proof: ProofRecord;
    try {
      proof = JSON.parse(proofText.toString('utf8')) as ProofRecord;
    } catch {
      return fail(pf, 'malformed', 'the line is not JSON.', { line: proofs.line });
    }
    const at = { line: proofs.line, stream: head.stream };
    if (
      !isObject(proof) ||
      typeof proof.stream !== 'string' ||
      !Number.isSafeInteger(proof.seq) ||
      typeof proof.hash !== 'string' ||
      !Number.isSafeInteger(proof.leafIndex) ||
      !Number.isSafeInteger(proof.treeSize) ||
      !Array.isArray(proof.path) ||
      !proof.path.every((p) => typeof p === 'string' && HEX64.test(p))
    )
      fail(pf, 'malformed', 'the line is not a proof {stream, seq, hash, leafIndex, treeSize, path}.', at);
    if (proof.stream !== head.stream)
      fail(
        pf,
        'proof',
        `the proof is for stream ${proof.stream}, events.jsonl gives stream ${head.stream} here.`,
        at,
      );
    if (proof.seq > head.seq)
      fail(
        BUNDLE_FILES.events,
        'truncated',
        `stream ${head.stream} ends at event ${head.seq}, its proof names head ${proof.seq}: events were cut.`,
        { line: lastLine, stream: head.stream, seq: head.seq + 1 },
      );
    if (proof.seq !== head.seq || proof.hash !== head.hash)
      fail(
        pf,
        'proof',
        `the proof names head ${proof.seq} ${proof.hash.slice(0, 12)}…, the stream ends at ${head.seq} ${head.hash.slice(0, 12)}….`,
        at,
      );
    if (proof.treeSize !== digest.streams)
      fail(
        pf,
        'proof',
        `the proof is for a tree of ${proof.treeSize} heads, digest ${digest.seq} has ${digest.streams}.`,
        at,
      );
    const leaf = leafHash(
      utf8(canonicalJson({ stream: head.stream, seq: head.seq, hash: head.hash })),
      sha256,
    );
    const ok = verifyInclusion(
      leaf,
      { leafIndex: proof.leafIndex, treeSize: proof.treeSize, path: proof.path.map(fromHex) },
      root,
      sha256,
    );
    if (!ok)
      fail(
        pf,
        'proof',
        `the head of stream ${head.stream} does not lead to digest ${digest.seq}'s root through its proof.`,
        at,
      );
    const bit = 1 << (proof.leafIndex % 8);
    const byte = proof.leafIndex >> 3;
    if (seenLeaves[byte] & bit)
      fail(BUNDLE_FILES.events, 'reordered', `stream ${head.stream} is given twice.`, {
        line: lastLine,
        stream: head.stream,
      });
    seenLeaves[byte] |= bit;
    try {
      if (!projection.include(stream))
        fail(
          BUNDLE_FILES.events,
          'recomputed',
          `stream ${head.stream} has no event in the period and nothing overdue: it does not belong in this bundle.`,
          { line: lastLine, stream: head.stream },
        );
      const records = projection.add(stream);
      for (const key of Object.keys(records) as BundleCsvKey[]) {
        const list = records[key];
        if (list.length === 0) continue;
        const comparer = comparers[key];
        if (!comparer)
          fail(
            BUNDLE_CSV_FILES[key].name,
            'missing-file',
            `${BUNDLE_CSV_FILES[key].name} is missing: stream ${head.stream} gives rows for it.`,
          );
        if (recordsSeen[key] === 0) comparer.expect(csvHeader(key), 'the header');
        for (const r of list) comparer.expect(r, `a row of stream ${head.stream}`);
        recordsSeen[key] += list.length;
      }
    } catch (err) {
      if (err instanceof Stop) throw err;
      fail(
        BUNDLE_FILES.events,
        'malformed',
        `stream ${head.stream} cannot be read as evidence: ${(err as Error).message}`,
        { line: lastLine, stream: head.stream },
      );
    }
    streams++;
  };

  const ef = BUNDLE_FILES.events;
  let current: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  let gap: { stream: string; expected: number; after: number; line: number } | undefined;
  for (let line = events.next(); line !== undefined; line = events.next()) {
    const n = events.line;
    const len = line.length;
    if (
      len <= EVENT_TEXT_OFFSET + 1 ||
      line.compare(PREFIX, 0, PREFIX.length, 0, PREFIX.length) !== 0 ||
      line.compare(MIDDLE, 0, MIDDLE.length, PREFIX.length + 64, EVENT_TEXT_OFFSET) !== 0 ||
      line[len - 1] !== 0x7d
    )
      fail(ef, 'malformed', 'the line is not {"hash":"<64 hex>","event":<canonical event>}.', { line: n });
    const hash = line.toString('latin1', PREFIX.length, PREFIX.length + 64);
    const text = line.subarray(EVENT_TEXT_OFFSET, len - 1);
    const computed = hexSha256(text);
    let e: AuditEvent | undefined;
    try {
      e = asEvent(JSON.parse(text.toString('utf8')));
    } catch {
      e = undefined;
    }
    if (computed !== hash) {
      const what = e ? `event ${e.seq} of stream ${e.stream}` : 'the event';
      fail(ef, 'edited', `${what} does not match its hash (the line was edited).`, {
        line: n,
        stream: e?.stream,
        seq: e?.seq,
      });
    }
    if (!e) fail(ef, 'malformed', 'the event is not JSON of an audit event.', { line: n });
    e.hash = hash;
    if (gap) {
      // One line of look-ahead, as `attest verify` does: a jump then a step back is a swap, else a hole.
      const g = gap;
      if (e.stream === g.stream && e.seq < g.after)
        fail(
          ef,
          'reordered',
          `stream ${g.stream}: event ${g.after} comes before event ${e.seq} (events were swapped).`,
          { line: g.line, stream: g.stream, seq: g.after },
        );
      fail(
        ef,
        'missing',
        `stream ${g.stream} jumps from event ${g.expected - 1} to ${g.after}: event ${g.expected} is missing.`,
        { line: g.line, stream: g.stream, seq: g.expected },
      );
    }
    if (current.length > 0 && current[0].stream !== e.stream) {
      finishStream(current, n - 1);
      current = [];
      prevHash = GENESIS_HASH;
    }
    const expected = current.length + 1;
    if (e.seq !== expected) {
      if (Number.isSafeInteger(e.seq) && e.seq > expected) {
        gap = { stream: e.stream, expected, after: e.seq, line: n };
        continue;
      }
      fail(ef, 'reordered', `stream ${e.stream}: event ${e.seq} comes after event ${expected - 1}.`, {
        line: n,
        stream: e.stream,
        seq: expected,
      });
    }
    if (e.prevHash !== prevHash)
      fail(
        ef,
        'reordered',
        `event ${e.seq} of stream ${e.stream} does not point at event ${e.seq - 1} (moved, or its predecessor replaced).`,
        { line: n, stream: e.stream, seq: e.seq },
      );
    prevHash = hash;
    current.push(e);
    total++;
  }
  if (gap)
    fail(
      ef,
      'missing',
      `stream ${gap.stream} jumps from event ${gap.expected - 1} to ${gap.after}: event ${gap.expected} is missing.`,
      { line: gap.line, stream: gap.stream, seq: gap.expected },
    );
  if (current.length > 0) finishStream(current, events.line);
  events.close();
  const extra = proofs.next();
  if (extra !== undefined)
    fail(
      BUNDLE_FILES.proofs,
      'missing',
      'a proof names a stream events.jsonl does not give (its events were removed).',
      { line: proofs.line },
    );
  proofs.close();

  for (const key of Object.keys(BUNDLE_CSV_FILES) as BundleCsvKey[]) {
    const comparer = comparers[key];
    if (!comparer) continue;
    if (recordsSeen[key] === 0) {
      if (BUNDLE_CSV_FILES[key].optional)
        fail(
          comparer.file,
          'recomputed',
          `${comparer.file} is in the bundle but the events give no row for it.`,
        );
      comparer.expect(csvHeader(key), 'the header');
    }
    comparer.end();
  }

  const summary = projection.summary();
  const compareText = (file: string, expected: string) => {
    const actual = fs.readFileSync(path.join(dir, file), 'utf8');
    if (actual !== expected)
      fail(
        file,
        'recomputed',
        `${file} differs from what the events give: it was edited after the bundle was made.`,
        { line: firstDifferentLine(actual, expected) },
      );
  };
  compareText(BUNDLE_FILES.summaryJson, summaryJson(summary));
  compareText(BUNDLE_FILES.summaryHtml, renderSummaryHtml(summary, { bundleId: manifest.bundleId, digest }));
  compareText(digestFile, digestJson(digest));
  return {
    ok: true,
    bundleId: manifest.bundleId,
    streams,
    events: total,
    digest,
    anchored: opts.anchor !== undefined,
  };
}

/**
 * The line `attest verify --bundle` prints: `verify: ok bundle <id> (<n> streams, <m> events, digest <seq>
 * anchored|not anchored)` or `verify: FAILED file=<name> line=<n> [stream=<s> seq=<n>] <problem>: <message>`.
 */
export function formatBundleResult(r: BundleVerifyResult): string {
  if (r.ok) {
    const anchor = r.anchored
      ? `matches anchor ${r.digest.seq}:${r.digest.hash}`
      : `not checked against an anchor: compare ${r.digest.seq}:${r.digest.hash} with the evidence email or the immutable container`;
    return `verify: ok bundle ${r.bundleId} (${r.streams} streams, ${r.events} events; digest ${anchor})`;
  }
  const where = [`file=${r.file}`];
  if (r.line !== undefined) where.push(`line=${r.line}`);
  if (r.stream !== undefined) where.push(`stream=${r.stream}`);
  if (r.seq !== undefined) where.push(`seq=${r.seq}`);
  return `verify: FAILED ${where.join(' ')} ${r.problem}: ${r.message}`;
}
