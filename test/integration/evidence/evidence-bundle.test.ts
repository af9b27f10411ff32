import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { BlobAnchorStore } from '../../../src/adapters/blobs/blob-anchor.store';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { LIFECYCLE_CSV_OPTIONS } from '../../../src/adapters/evidence/lifecycle-csv';
import {
  writeEvidenceBundle,
  type EvidenceBundleResult,
} from '../../../src/adapters/evidence/evidence-bundle';
import { verifyBundle, type BundleFailure } from '../../../src/adapters/evidence/bundle-verifier';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { runEvidence, runVerifyBundle } from '../../../src/cli/evidence.command';
import type { AuditEventInput } from '../../../src/domain/audit/audit-event.model';
import * as audit from '../../../src/domain/audit/audit-events';
import { toCsvCells } from '../../../src/domain/evidence/lifecycle-row.model';
import { lifecycleRowOf } from '../../../src/domain/evidence/lifecycle-rows.projection';
import type { AnchorStore, DigestSummary } from '../../../src/ports/anchor-store.port';
import type { AuditLogPort } from '../../../src/ports/audit-log.port';
import { startTestStorage, type TestStorage } from '../../support/storage';

const ALEX = { objectId: 'u-alex', upn: 'alex@contoso.example', channel: 'teams' as const };
const PRIYA = { objectId: 'u-priya', upn: 'priya@contoso.example', channel: 'teams' as const };
const OMAR = { objectId: 'u-omar', upn: 'omar@contoso.example', channel: 'tab' as const };
const SYSTEM = { objectId: 'system', channel: 'system' as const };
const POLICY = { id: 'crm-admin', version: '3', hash: 'ab'.repeat(32) };
const GROUP = { id: 'g-crm', name: 'CRM admins' };

const FROM = new Date('2026-11-01T00:00:00.000Z');
const TO = new Date('2026-11-08T00:00:00.000Z');
const AS_OF = '2026-11-09T07:00:00.000Z';

let storage: TestStorage;
let store: AuditLogStore;
let clockTime = '2026-10-01T00:00:00.000Z';
const clock = { now: () => new Date(clockTime) };
let work: string;
let bundle: EvidenceBundleResult;

function ctx(stream: string, actor: audit.AuditContext['actor'], subject = 'app:crm/role:admin') {
  return { stream, actor, subject, correlation: { requestId: stream } };
}

async function at(time: string, input: AuditEventInput) {
  clockTime = time;
  return store.append(input);
}

async function submitted(stream: string, time: string, justification = 'Quarter close') {
  await at(
    time,
    audit.requestSubmitted(ctx(stream, ALEX), {
      justification,
      policy: POLICY,
      appId: 'crm',
      roleId: 'admin',
      groupId: GROUP.id,
      requester: { id: ALEX.objectId, upn: ALEX.upn },
    }),
  );
}

async function granted(stream: string, time: string, expiresAt: string) {
  await at(
    time,
    audit.accessGranted(ctx(stream, SYSTEM), {
      group: GROUP,
      graph: { status: 204, alreadyMember: false },
      expiresAt,
    }),
  );
}

async function approved(stream: string, time: string) {
  await at(
    time,
    audit.approvalDecided(ctx(stream, PRIYA), {
      stage: 1,
      approver: PRIYA.objectId,
      channel: 'teams',
      decision: 'approved',
    }),
  );
}

async function seed(): Promise<void> {
  // In the period: approved, granted, revoked when it expired.
  await submitted('req-a', '2026-11-02T09:00:00.000Z', '=HYPERLINK("http://x","y")');
  await approved('req-a', '2026-11-02T09:05:00.000Z');
  await granted('req-a', '2026-11-02T09:05:01.000Z', '2026-11-03T09:05:01.000Z');
  await at(
    '2026-11-03T09:05:02.000Z',
    audit.accessRevoked(ctx('req-a', SYSTEM), { reason: 'expired', by: 'system', group: GROUP }),
  );
  // Granted before the period, expired before the bundle, never revoked: an overdue revocation.
  await submitted('req-b', '2026-10-20T09:00:00.000Z');
  await granted('req-b', '2026-10-20T09:01:00.000Z', '2026-11-05T00:00:00.000Z');
  // In the period: nobody could approve it.
  await submitted('req-c', '2026-11-04T10:00:00.000Z');
  await at(
    '2026-11-04T10:00:01.000Z',
    audit.attemptRefused(ctx('req-c', SYSTEM), {
      code: 'REQUEST.NO_APPROVER',
      reason: 'no approver resolved',
    }),
  );
  // In the period: approved, but provisioning failed for good.
  await submitted('req-d', '2026-11-05T10:00:00.000Z');
  await approved('req-d', '2026-11-05T10:01:00.000Z');
  await at(
    '2026-11-05T10:01:05.000Z',
    audit.accessGrantFailed(ctx('req-d', SYSTEM), {
      group: GROUP,
      attempt: 1,
      code: 'GRAPH.FORBIDDEN',
      error: 'Insufficient privileges',
      permanent: true,
    }),
  );
  await at(
    '2026-11-05T10:01:06.000Z',
    audit.attemptRefused(ctx('req-d', SYSTEM), {
      code: 'REQUEST.PROVISIONING_FAILED',
      reason: 'Insufficient privileges',
    }),
  );
  // Entirely before the period and closed: not in the bundle.
  await submitted('req-e', '2026-10-02T09:00:00.000Z');
  await granted('req-e', '2026-10-02T09:01:00.000Z', '2026-10-03T09:01:00.000Z');
  await at(
    '2026-10-03T09:01:01.000Z',
    audit.accessRevoked(ctx('req-e', SYSTEM), { reason: 'expired', by: 'system', group: GROUP }),
  );
  // A review campaign in the period.
  const review = audit.reviewStream('q4');
  await at(
    '2026-11-02T08:00:00.000Z',
    audit.reviewStarted(ctx(review, SYSTEM, 'campaign:q4'), {
      definitionId: 'quarterly',
      name: 'Q4',
      count: 2,
      hash: 'cd'.repeat(32),
      groups: 1,
      stages: 1,
      deadlines: ['2026-11-06T00:00:00.000Z'],
      notRemovable: 0,
      signInUnavailable: false,
    }),
  );
  await at(
    '2026-11-03T08:00:00.000Z',
    audit.reviewDecided(ctx(review, OMAR, 'campaign:q4'), {
      stage: 1,
      source: 'reviewer',
      items: [
        { itemId: 'i-1', decision: 'keep', final: true },
        { itemId: 'i-2', decision: 'revoke', reason: '+no longer in team, "left"', final: true },
      ],
    }),
  );
  await at(
    '2026-11-06T00:00:01.000Z',
    audit.reviewCompleted(ctx(review, SYSTEM, 'campaign:q4'), {
      items: 2,
      kept: 1,
      revoked: 1,
      applied: 1,
      failed: 0,
      cannotApply: 0,
    }),
  );
  // A review overdue: its stage closed before the bundle and it never completed (started before the period).
  await at(
    '2026-10-10T08:00:00.000Z',
    audit.reviewStarted(ctx(audit.reviewStream('old'), SYSTEM, 'campaign:old'), {
      definitionId: 'quarterly',
      name: 'Q3',
      count: 0,
      hash: 'ef'.repeat(32),
      groups: 0,
      stages: 1,
      deadlines: ['2026-10-20T00:00:00.000Z'],
      notRemovable: 0,
      signInUnavailable: false,
    }),
  );
  // Drift found by a reconcile run in the period.
  await at(
    '2026-11-06T03:00:00.000Z',
    audit.membershipDrift(ctx('reconcile-2026-11-06', SYSTEM, `group:${GROUP.id}`), {
      group: GROUP,
      userId: 'u-mallory',
    }),
  );
  // A refused self-approval, with a formula in its reason.
  await at(
    '2026-11-04T11:00:00.000Z',
    audit.attemptRefused(ctx('attempts-req-c', ALEX, 'request:req-c'), {
      code: 'REQUEST.SELF_APPROVAL',
      reason: '@SUM(1,2) you cannot approve your own request',
    }),
  );
}

beforeAll(async () => {
  storage = await startTestStorage('attest-evidence-');
  store = new AuditLogStore({
    table: storage.tables.client(TableNames.auditLog),
    digests: storage.tables.client(TableNames.auditDigests),
    clock,
    sha256,
  });
  await store.init();
  await seed();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bundles-'));
  clockTime = AS_OF;
  bundle = await writeEvidenceBundle(
    { audit: store, clock },
    { from: FROM, to: TO, outDir: path.join(work, 'b') },
  );
});

afterAll(async () => {
  await storage?.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

const read = (dir: string, name: string) => fs.readFileSync(path.join(dir, name), 'utf8');

test('the bundle holds the period: lifecycles, reviews, drift, refused attempts, summary, events, proofs, manifest', async () => {
  expect(bundle.bundleId).toBe(`2026-11-01_2026-11-08_d${bundle.digest.seq}`);
  expect(bundle.files.map((f) => f.name)).toEqual([
    'digest.json',
    'drift-findings.csv',
    'events.jsonl',
    'lifecycles.csv',
    'proofs.jsonl',
    'refused-attempts.csv',
    'review-decisions.csv',
    'summary.html',
    'summary.json',
    'manifest.json',
  ]);
  for (const f of bundle.files) {
    const bytes = fs.readFileSync(path.join(bundle.dir, f.name));
    expect({
      name: f.name,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
    }).toEqual(f);
  }
  const manifest = JSON.parse(read(bundle.dir, 'manifest.json'));
  expect(manifest).toMatchObject({
    format: 'attest-evidence-bundle/1',
    bundleId: bundle.bundleId,
    from: FROM.toISOString(),
    to: TO.toISOString(),
    asOf: AS_OF,
    digest: { seq: bundle.digest.seq, root: bundle.digest.root, hash: bundle.digest.hash },
  });
  expect(manifest.files).toEqual(bundle.files.slice(0, -1));

  // req-e (closed before the period) is left out; req-b is in though untouched: its revocation is overdue.
  const csv = read(bundle.dir, 'lifecycles.csv');
  const lines = csv.split('\r\n');
  expect(lines[0]).toBe(
    'stream,requester_upn,requester_id,requested_at,app,role,group,policy_id,policy_version,policy_hash,justification,ticket_reference,approvals,outcome,granted_at,granted_how,expires_at,revoked_at,revocation_reason,revoked_by,head_seq,head_hash',
  );
  const outcomes = Object.fromEntries(
    lines
      .slice(1, -1)
      .map((l) => [l.split(',')[0], l.match(/,(revoked|granted|no-approver|failed|pending),/)?.[1]]),
  );
  expect(outcomes).toEqual({
    'req-a': 'revoked',
    'req-b': 'granted',
    'req-c': 'no-approver',
    'req-d': 'failed',
  });
  expect(csv).toContain(`"'=HYPERLINK(""http://x"",""y"")"`);

  // The same bytes csv-stringify writes for `attest export` of those rows.
  const streams = new Map<string, import('../../../src/domain/audit/audit-event.model').AuditEvent[]>();
  for await (const e of store.scanAll()) streams.set(e.stream, [...(streams.get(e.stream) ?? []), e]);
  const rows = lines.slice(1, -1).map((l) => toCsvCells(lifecycleRowOf(streams.get(l.split(',')[0])!)!));
  let expected = '';
  for await (const chunk of Readable.from(rows).pipe(stringify(LIFECYCLE_CSV_OPTIONS)))
    expected += String(chunk);
  expect(csv).toBe(expected);

  expect(read(bundle.dir, 'review-decisions.csv').split('\r\n')[2]).toMatch(
    /^review-q4,2,2026-11-03T08:00:00.000Z,1,reviewer,u-omar,omar@contoso.example,i-2,revoke,"'\+no longer in team, ""left""",true,[0-9a-f]{64}$/,
  );
  expect(read(bundle.dir, 'drift-findings.csv')).toMatch(
    /\r\nreconcile-2026-11-06,1,2026-11-06T03:00:00.000Z,drift,g-crm,u-mallory,,,/,
  );
  const refused = read(bundle.dir, 'refused-attempts.csv');
  expect(refused).toContain(',REQUEST.SELF_APPROVAL,"\'@SUM(1,2) you cannot approve your own request",');
  expect(refused).toContain(',REQUEST.NO_APPROVER,');
  expect(refused).toContain(',REQUEST.PROVISIONING_FAILED,');

  expect(bundle.summary).toEqual(JSON.parse(read(bundle.dir, 'summary.json')));
  expect(bundle.summary).toMatchObject({
    period: { from: FROM.toISOString(), to: TO.toISOString() },
    asOf: AS_OF,
    requests: {
      submitted: 3,
      lifecycles: 4,
      byOutcome: { revoked: 1, granted: 1, 'no-approver': 1, failed: 1, pending: 0 },
    },
    approvals: { approved: 2, denied: 0 },
    grants: 1,
    revocations: { total: 1, byReason: { expired: 1, revoked: 0, review: 0, offboarded: 0 } },
    overdueRevocations: { open: 1, carriedOut: 0 },
    reviews: { started: 1, decisions: 2, kept: 1, revoked: 1, completed: 1, overdue: 1 },
    drift: { found: 1, removedOutside: 0 },
    refusedAttempts: {
      total: 3,
      byCode: { 'REQUEST.NO_APPROVER': 1, 'REQUEST.PROVISIONING_FAILED': 1, 'REQUEST.SELF_APPROVAL': 1 },
    },
  });
  // Every stream but req-e (8 of 9); events from seq 1.
  expect(bundle.summary.bundle.streams).toBe(8);
  const events = read(bundle.dir, 'events.jsonl').trimEnd().split('\n');
  expect(events).toHaveLength(bundle.summary.bundle.events);
  expect(JSON.parse(events[0])).toMatchObject({ event: { seq: 1, prevHash: '0'.repeat(64) } });
  expect(events.some((l) => l.includes('"req-e"'))).toBe(false);
  expect(read(bundle.dir, 'proofs.jsonl').trimEnd().split('\n')).toHaveLength(8);

  const html = read(bundle.dir, 'summary.html');
  expect(html).toContain('<svg');
  expect(html).not.toMatch(/<script|<link|<img|<iframe|src=|url\(/i);
  expect(html.match(/https?:\/\/[^"\s]*/g)).toEqual([
    'http://www.w3.org/2000/svg',
    'http://www.w3.org/2000/svg',
    'http://www.w3.org/2000/svg',
    'http://www.w3.org/2000/svg',
    'http://www.w3.org/2000/svg',
  ]);
  expect(html).toContain(
    'aria-label="Revocations in the period, by reason: expired: 1, revoked: 0, review: 0, offboarded: 0"',
  );
});

test('the bundle verifies offline, and against its own anchor', async () => {
  const result = await verifyBundle(bundle.dir);
  expect(result).toEqual({
    ok: true,
    bundleId: bundle.bundleId,
    streams: 8,
    events: bundle.summary.bundle.events,
    digest: bundle.digest,
    anchored: false,
  });
  const lines: string[] = [];
  const code = await runVerifyBundle(
    { dir: bundle.dir, anchor: `${bundle.digest.seq}:${bundle.digest.hash}` },
    (l) => lines.push(l),
    (l) => lines.push(l),
  );
  expect(code).toBe(0);
  expect(lines).toEqual([
    `verify: ok bundle ${bundle.bundleId} (8 streams, ${bundle.summary.bundle.events} events; digest matches anchor ${bundle.digest.seq}:${bundle.digest.hash})`,
  ]);
});

test('a folder that is not empty is refused, and nothing in it is touched', async () => {
  const dir = path.join(work, 'busy');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  await expect(
    writeEvidenceBundle({ audit: store, clock }, { from: FROM, to: TO, outDir: dir }),
  ).rejects.toMatchObject({
    code: 'EVIDENCE.OUT_DIR_NOT_EMPTY',
  });
  expect(fs.readdirSync(dir)).toEqual(['notes.txt']);
  const err: string[] = [];
  const code = await runEvidence(
    { from: '2026-11-01', to: '2026-11-08', out: dir },
    () => undefined,
    (l) => err.push(l),
    {
      audit: store,
      clock,
    },
  );
  expect(code).toBe(2);
  expect(err[0]).toContain('exists and is not an empty folder');
  expect(
    await runEvidence(
      { from: '2026-11-08', to: '2026-11-01', out: path.join(work, 'x') },
      () => undefined,
      (l) => err.push(l),
      { audit: store, clock },
    ),
  ).toBe(2);
  expect(err.at(-1)).toContain('must be before --to');
});

test('events appended after the bundle digest are cut off; every file goes to the anchor store too', async () => {
  // The log gains an event right after the digest is written: the bundle stops at the digest's head.
  const racing: AuditLogPort = Object.create(store) as AuditLogPort;
  racing.writeDigest = async () => {
    const d = await store.writeDigest();
    await at(
      '2026-11-09T07:00:01.000Z',
      audit.accessRevoked(ctx('req-b', SYSTEM), { reason: 'revoked', by: 'u-admin', group: GROUP }),
    );
    clockTime = AS_OF;
    return d;
  };
  const written: Record<string, Buffer> = {};
  const anchored: DigestSummary[] = [];
  const anchors: AnchorStore = {
    init: async () => undefined,
    putDigest: async (d) => {
      anchored.push(d);
      return 'written';
    },
    digests: async function* () {},
    describe: (seq) => `fake anchor ${seq}`,
    latestDigest: async () => anchored.at(-1),
    putBundleFile: async (id, name, bytes) => {
      written[`${id}/${name}`] = Buffer.from(bytes);
      return 'written';
    },
    bundleFileUrl: async () => 'http://unused',
  };
  const out: string[] = [];
  const code = await runEvidence(
    { from: '2026-11-01', to: '2026-11-08', out: path.join(work, 'cut') },
    (l) => out.push(l),
    (l) => out.push(l),
    { audit: racing, anchors, clock },
  );
  expect(code).toBe(0);
  const dir = path.join(work, 'cut');
  const manifest = JSON.parse(read(dir, 'manifest.json'));
  expect(anchored).toEqual([
    expect.objectContaining({ seq: manifest.digest.seq, hash: manifest.digest.hash }),
  ]);
  expect(Object.keys(written).sort()).toEqual(
    fs
      .readdirSync(dir)
      .sort()
      .map((n) => `${manifest.bundleId}/${n}`),
  );
  for (const [key, bytes] of Object.entries(written))
    expect(bytes.equals(fs.readFileSync(path.join(dir, key.split('/')[1])))).toBe(true);
  // req-b still reads granted (its revocation came after the digest), and the bundle verifies.
  expect(read(dir, 'lifecycles.csv')).toMatch(/\r\nreq-b,[^\r]*,granted,/);
  expect(await verifyBundle(dir)).toMatchObject({ ok: true });
  expect(out.at(-1)).toBe(
    `evidence: check it with: attest verify --bundle ${path.relative(process.cwd(), dir)} --anchor ${manifest.digest.seq}:${manifest.digest.hash}`,
  );
});

test('with the blob anchor store, the digest is anchored and every file lands in the container, byte for byte', async () => {
  // NB. the store's clock signs the links: the real time, or a link signed "in November" has expired.
  const anchors = BlobAnchorStore.on(storage.tables.storage, 'evidence-bundle-test', {
    now: () => new Date(),
  });
  await anchors.init();
  // As every host opens it: the log anchors its own digests in the same store.
  const anchoredLog = AuditLogStore.on(storage.tables, clock, anchors);
  const result = await writeEvidenceBundle(
    { audit: anchoredLog, anchors, clock },
    { from: FROM, to: TO, outDir: path.join(work, 'anchored') },
  );
  expect(await anchors.latestDigest()).toEqual(result.digest);
  for (const f of result.files) {
    const got = await fetch(await anchors.bundleFileUrl(result.bundleId, f.name, 60_000));
    expect(got.status).toBe(200);
    expect(Buffer.from(await got.arrayBuffer()).equals(fs.readFileSync(path.join(result.dir, f.name)))).toBe(
      true,
    );
  }
  expect(
    await verifyBundle(result.dir, { anchor: { seq: result.digest.seq, hash: result.digest.hash } }),
  ).toMatchObject({
    ok: true,
    anchored: true,
  });
});

/** A copy of the bundle to tamper with. */
function copyBundle(name: string): string {
  const dir = path.join(work, name);
  fs.cpSync(bundle.dir, dir, { recursive: true });
  return dir;
}

/** Rewrites the manifest entry of `file` to match the file as it is now (an attacker's second step). */
function reManifest(dir: string, file: string): void {
  const manifest = JSON.parse(read(dir, 'manifest.json'));
  const bytes = fs.readFileSync(path.join(dir, file));
  const entry = manifest.files.find((f: { name: string }) => f.name === file);
  entry.sha256 = createHash('sha256').update(bytes).digest('hex');
  entry.bytes = bytes.length;
  fs.writeFileSync(path.join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/** Changes one character of `file` at the first match of `pattern` (group 1) to `to`; returns the line number. */
function editByte(dir: string, file: string, pattern: RegExp, to: (c: string) => string): number {
  const text = read(dir, file);
  const m = pattern.exec(text);
  if (!m || m.index === undefined) throw new Error(`${pattern} not in ${file}`);
  const at = m.index + m[0].indexOf(m[1]);
  fs.writeFileSync(path.join(dir, file), text.slice(0, at) + to(text[at]) + text.slice(at + 1));
  return text.slice(0, at).split('\n').length;
}

const digit = (c: string) => String((Number(c) + 1) % 10);
const hex = (c: string) => (c === 'a' ? 'b' : 'a');

const EDITS: [string, RegExp, (c: string) => string, Partial<BundleFailure>, Partial<BundleFailure>][] = [
  // file, where, how, expected without the manifest updated, expected with it
  [
    'events.jsonl',
    /"subject":"app:crm\/role:(a)dmin"/,
    () => 'A',
    { problem: 'manifest' },
    { problem: 'edited' },
  ],
  ['proofs.jsonl', /"path":\["([0-9a-f])/, hex, { problem: 'manifest' }, { problem: 'proof', line: 1 }],
  ['digest.json', /"root": "([0-9a-f])/, hex, { problem: 'manifest' }, { problem: 'digest' }],
  [
    'lifecycles.csv',
    /req-a,alex@contoso\.example,u-alex,2026-11-0(2)/,
    digit,
    { problem: 'manifest' },
    { problem: 'recomputed', line: 2 },
  ],
  [
    'review-decisions.csv',
    /,i-2,(r)evoke,/,
    () => 'R',
    { problem: 'manifest' },
    { problem: 'recomputed', line: 3 },
  ],
  [
    'drift-findings.csv',
    /u-mallor(y)/,
    () => 'i',
    { problem: 'manifest' },
    { problem: 'recomputed', line: 2 },
  ],
  [
    'refused-attempts.csv',
    /REQUEST\.SELF_APPROVA(L)/,
    () => 'l',
    { problem: 'manifest' },
    { problem: 'recomputed' },
  ],
  ['summary.json', /"grants": (1)/, digit, { problem: 'manifest' }, { problem: 'recomputed' }],
  [
    'summary.html',
    /requests submitted<\/th><td>(3)/,
    digit,
    { problem: 'manifest' },
    { problem: 'recomputed' },
  ],
];

test.each(EDITS)(
  'one byte of %s edited: caught with and without its manifest entry updated',
  async (file, where, how, plain, reManifested) => {
    const a = copyBundle(`edit-a-${file}`);
    editByte(a, file, where, how);
    expect(await verifyBundle(a)).toMatchObject({ ok: false, file, ...plain });
    const b = copyBundle(`edit-b-${file}`);
    const line = editByte(b, file, where, how);
    reManifest(b, file);
    const result = await verifyBundle(b);
    expect(result).toMatchObject({ ok: false, file, ...reManifested });
    // Where the file has lines, the failure names the one edited.
    if (file.endsWith('.jsonl') || file.endsWith('.csv')) expect(result).toMatchObject({ line });
  },
);

test('manifest.json edited: a changed period or as-of time no longer adds up', async () => {
  const dir = copyBundle('edit-manifest');
  editByte(dir, 'manifest.json', /"asOf": "2026-11-0(9)/, () => '8');
  // The as-of time changes what is overdue: the recomputed summary disagrees with summary.json.
  expect(await verifyBundle(dir)).toMatchObject({ ok: false, file: 'summary.json', problem: 'recomputed' });
  const dir2 = copyBundle('edit-manifest-2');
  editByte(dir2, 'manifest.json', /"bundleId": "2026-11-0(1)/, digit);
  expect(await verifyBundle(dir2)).toMatchObject({ ok: false, file: 'manifest.json', problem: 'manifest' });
  const dir3 = copyBundle('extra-file');
  fs.writeFileSync(path.join(dir3, 'notes.txt'), 'x');
  expect(await verifyBundle(dir3)).toMatchObject({
    ok: false,
    file: 'notes.txt',
    problem: 'unexpected-file',
  });
  const dir4 = copyBundle('missing-file');
  fs.rmSync(path.join(dir4, 'proofs.jsonl'));
  expect(await verifyBundle(dir4)).toMatchObject({
    ok: false,
    file: 'proofs.jsonl',
    problem: 'missing-file',
  });
});

function eventLines(dir: string): string[] {
  return read(dir, 'events.jsonl').split('\n').slice(0, -1);
}

function writeEvents(dir: string, lines: string[]): void {
  fs.writeFileSync(path.join(dir, 'events.jsonl'), lines.map((l) => `${l}\n`).join(''));
  reManifest(dir, 'events.jsonl');
}

test('a stream cut short is caught even with the manifest updated', async () => {
  const dir = copyBundle('cut');
  const lines = eventLines(dir);
  const lastOfA = lines.map((l) => JSON.parse(l).event.stream).lastIndexOf('req-a');
  writeEvents(
    dir,
    lines.filter((_, i) => i !== lastOfA),
  );
  expect(await verifyBundle(dir)).toMatchObject({
    ok: false,
    file: 'events.jsonl',
    problem: 'truncated',
    stream: 'req-a',
    seq: 4,
    line: lastOfA,
  });
});

test('two events swapped, a stream removed, an event re-hashed: each caught and named', async () => {
  const lines = eventLines(bundle.dir);
  const firstOfA = lines.findIndex((l) => JSON.parse(l).event.stream === 'req-a');
  const swapped = [...lines];
  [swapped[firstOfA + 1], swapped[firstOfA + 2]] = [swapped[firstOfA + 2], swapped[firstOfA + 1]];
  const dir = copyBundle('swap');
  writeEvents(dir, swapped);
  expect(await verifyBundle(dir)).toMatchObject({
    ok: false,
    file: 'events.jsonl',
    problem: 'reordered',
    line: firstOfA + 2,
    stream: 'req-a',
  });

  const dir2 = copyBundle('removed-stream');
  writeEvents(
    dir2,
    lines.filter((l) => JSON.parse(l).event.stream !== 'req-a'),
  );
  expect(await verifyBundle(dir2)).toMatchObject({ ok: false, file: 'proofs.jsonl', problem: 'proof' });

  // An attacker edits an event and writes its new hash: the next event's prevHash no longer points at it.
  const dir3 = copyBundle('rehash');
  const parsed = JSON.parse(lines[firstOfA]);
  parsed.event.details.justification = 'Benign';
  const canonical = (await import('../../../src/domain/audit/hash-chain.math')).eventCanonicalText(
    parsed.event,
  );
  const newHash = createHash('sha256').update(canonical).digest('hex');
  const rehashed = [...lines];
  rehashed[firstOfA] = `{"hash":"${newHash}","event":${canonical}}`;
  writeEvents(dir3, rehashed);
  expect(await verifyBundle(dir3)).toMatchObject({
    ok: false,
    file: 'events.jsonl',
    problem: 'reordered',
    line: firstOfA + 2,
    seq: 2,
  });
});

test('an altered proof or digest, and a wrong or later anchor, fail and say why', async () => {
  const dir = copyBundle('proof-index');
  const proofs = read(dir, 'proofs.jsonl').split('\n');
  const p = JSON.parse(proofs[0]);
  p.leafIndex = (p.leafIndex + 1) % p.treeSize;
  proofs[0] = JSON.stringify(p);
  fs.writeFileSync(path.join(dir, 'proofs.jsonl'), proofs.join('\n'));
  reManifest(dir, 'proofs.jsonl');
  expect(await verifyBundle(dir)).toMatchObject({
    ok: false,
    file: 'proofs.jsonl',
    problem: 'proof',
    line: 1,
  });

  // A digest rewritten consistently (fresh hash) and the manifest with it: the proofs no longer reach its root.
  const dir2 = copyBundle('digest-forged');
  const { digestHash } = await import('../../../src/domain/audit/audit-digest.math');
  const d = JSON.parse(read(dir2, 'digest.json'));
  d.root = 'a'.repeat(64);
  d.hash = digestHash(d, sha256);
  fs.writeFileSync(path.join(dir2, 'digest.json'), `${JSON.stringify(d, null, 2)}\n`);
  const m = JSON.parse(read(dir2, 'manifest.json'));
  m.digest = { seq: d.seq, root: d.root, hash: d.hash };
  fs.writeFileSync(path.join(dir2, 'manifest.json'), `${JSON.stringify(m, null, 2)}\n`);
  reManifest(dir2, 'digest.json');
  expect(await verifyBundle(dir2)).toMatchObject({ ok: false, file: 'proofs.jsonl', problem: 'proof' });
  // ... and against the anchor from the email it is not the digest that was anchored.
  const anchored = await verifyBundle(dir2, { anchor: { seq: bundle.digest.seq, hash: bundle.digest.hash } });
  expect(anchored).toMatchObject({ ok: false, file: 'digest.json', problem: 'anchor' });

  const wrong = await verifyBundle(bundle.dir, { anchor: { seq: bundle.digest.seq, hash: 'f'.repeat(64) } });
  expect(wrong).toMatchObject({ ok: false, problem: 'anchor' });
  const earlier = await verifyBundle(bundle.dir, {
    anchor: { seq: bundle.digest.seq - 1 || 1, hash: 'f'.repeat(64) },
  });
  expect(earlier).toMatchObject({ ok: false, problem: 'anchor' });
  const lines: string[] = [];
  expect(
    await runVerifyBundle(
      { dir: bundle.dir, anchor: `${bundle.digest.seq + 5}:${'f'.repeat(64)}` },
      (l) => lines.push(l),
      (l) => lines.push(l),
    ),
  ).toBe(1);
  expect(lines[0]).toContain(
    `the bundle is tied to digest ${bundle.digest.seq}, earlier than the anchor's digest ${bundle.digest.seq + 5}`,
  );
  expect(
    await runVerifyBundle(
      { dir: bundle.dir, anchor: '12:xyz' },
      () => undefined,
      (l) => lines.push(l),
    ),
  ).toBe(2);
  expect(lines.at(-1)).toContain('--anchor must be <seq>:<hash>');
});

test('a copied bundle verifies with the storage stopped', async () => {
  const dir = copyBundle('offline');
  await storage.stop();
  storage = undefined as unknown as TestStorage;
  const lines: string[] = [];
  expect(
    await runVerifyBundle(
      { dir, anchor: `${bundle.digest.seq}:${bundle.digest.hash}` },
      (l) => lines.push(l),
      (l) => lines.push(l),
    ),
  ).toBe(0);
  expect(lines[0]).toMatch(/^verify: ok bundle /);
});
