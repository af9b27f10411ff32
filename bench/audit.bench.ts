/**
 * Audit log figures (issue: the tamper-evident audit log): append throughput, sequential and batched, what
 * the hash chain costs over plain inserts of the same rows, and how long `verify` of a large log takes and
 * how much memory it needs, on Azurite. BENCH_AUDIT_APPENDS (default 3,000) sets the append rows' N,
 * BENCH_AUDIT_EVENTS (default 200,000) the verified log's size. NB. 1,000,000 is the goal's size, but Azurite
 * re-sorts its whole table for every page of a scan, so a 1M pass takes far too long on it; measured at 200k.
 *
 * The verified log is realistic request lifecycles (about ten events each, the orchestration's sequence, built
 * with the real event builders), so `attest export` over it can be measured too: one evidence row per request.
 * The verify and the export each run in a child process (this file, started with `--verify-child` or
 * `--export-child`), so the peak RSS reported is theirs alone, not the generator's.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TableClient, TableEntity } from '@azure/data-tables';
import { sha256 } from '../src/adapters/crypto/sha256';
import { eventEntity } from '../src/adapters/tables/audit-entity.mapper';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import { streamKey } from '../src/adapters/tables/audit-row-keys';
import { createTableFactory, type TableFactory } from '../src/adapters/tables/table-client-factory';
import { TableNames } from '../src/adapters/tables/table-names';
import { eventsInStreamOrder, parseExportOptions, runExport } from '../src/cli/export.command';
import {
  accessGranted,
  accessRevoked,
  approvalDecided,
  approvalEscalated,
  approvalRequested,
  expiryReminderSent,
  extensionDecided,
  extensionRequested,
  policyEvaluated,
  requestSubmitted,
  type AuditContext,
  type PolicyRef,
} from '../src/domain/audit/audit-events';
import type {
  AuditActor,
  AuditChannel,
  AuditEvent,
  AuditEventInput,
} from '../src/domain/audit/audit-event.model';
import { chainEvent } from '../src/domain/audit/hash-chain.math';
import { formatVerifyResult } from '../src/domain/audit/audit-verify.result';
import { withStorage, type BenchRow } from './bench-kit';

const clock = { now: () => new Date() };
let tableNo = 0;

async function freshStore(
  tables: TableFactory,
): Promise<{ store: AuditLogStore; table: TableClient; digests: TableClient }> {
  tableNo++;
  const table = await tables.ensureTable(`${TableNames.auditLog}Bench${tableNo}`);
  const digests = await tables.ensureTable(`${TableNames.auditDigests}Bench${tableNo}`);
  const store = new AuditLogStore({ table, digests, clock, sha256 });
  return { store, table, digests };
}

function input(stream: string, i: number): AuditEventInput {
  return approvalDecided(
    {
      stream,
      actor: { objectId: '5f1c7a52-0000-4000-8000-00000000000a', upn: 'ada@contoso.test', channel: 'teams' },
      subject: 'app:payroll/role:reader',
      correlation: { requestId: stream, instanceId: `inst-${stream}` },
    },
    {
      stage: 1 + (i % 3),
      approver: 'm-1',
      channel: 'teams',
      decision: 'approved',
      comment: 'ok for month-end',
    },
  );
}

async function seconds(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** The figure's rows. */
export async function run(): Promise<BenchRow[]> {
  const n = Number(process.env.BENCH_AUDIT_APPENDS ?? 3000);
  const verifyN = Number(process.env.BENCH_AUDIT_EVENTS ?? 200_000);
  return withStorage(async (tables, dataDir) => {
    const rows: BenchRow[] = [];

    // Warm up the connection and Azurite's code paths so the first measured figure is not penalised.
    const warm = await freshStore(tables);
    for (let i = 0; i < 200; i++) await warm.store.append(input('warm', i));

    const fresh = await freshStore(tables);
    const tFresh = await seconds(async () => {
      for (let i = 0; i < n; i++) await fresh.store.append(input(`request/${i}`, i));
    });
    rows.push({
      figure: 'audit append: events/s, single (fresh streams)',
      value: (n / tFresh).toFixed(0),
      note: `${n} sequential appends, each to a new stream (guessed new: 1 insert)`,
    });

    const one = await freshStore(tables);
    const tOne = await seconds(async () => {
      for (let i = 0; i < n; i++) await one.store.append(input('request/one', i));
    });
    rows.push({
      figure: 'audit append: events/s, single (one stream)',
      value: (n / tOne).toFixed(0),
      note: `${n} sequential appends to one stream (head cached: 1 insert each, the hint every 100th)`,
    });

    const batched = await freshStore(tables);
    const per = 99; // + the reserved hint row = 100 rows, Table Storage's transaction limit
    const tBatch = await seconds(async () => {
      for (let i = 0; i < n; i += per) {
        const count = Math.min(per, n - i);
        await batched.store.appendMany(
          'request/batched',
          Array.from({ length: count }, (_, j) => input('request/batched', i + j)),
        );
      }
    });
    rows.push({
      figure: 'audit append: events/s, batched (99 per transaction)',
      value: (n / tBatch).toFixed(0),
      note: `${n} events, 99 events per transaction (+ the head hint where it passes a hundred)`,
    });

    // Chained appends vs plain createEntity of the same rows: the same stream, the same inputs, the same N,
    // each in a table of its own; the plain rows are precomputed (no hashing, no head lookup, no hint). Timed
    // in interleaved blocks of 100, alternating which goes first, so Azurite's drift over the run (JIT,
    // table growth) hits both alike.
    const chainedLog = await freshStore(tables);
    const plainLog = await freshStore(tables);
    const ratioStream = 'request/ratio';
    const entities: TableEntity[] = [];
    let prev: AuditEvent | undefined;
    for (let i = 0; i < n; i++) {
      prev = chainEvent(prev, input(ratioStream, i), new Date().toISOString(), sha256);
      entities.push(eventEntity(streamKey(ratioStream), prev));
    }
    let tChained = 0;
    let tPlain = 0;
    for (let i = 0, block = 0; i < n; i += 100, block++) {
      const end = Math.min(n, i + 100);
      const chained = async () => {
        tChained += await seconds(async () => {
          for (let j = i; j < end; j++) await chainedLog.store.append(input(ratioStream, j));
        });
      };
      const plain = async () => {
        tPlain += await seconds(async () => {
          for (let j = i; j < end; j++) await plainLog.table.createEntity(entities[j]);
        });
      };
      if (block % 2 === 0) {
        await chained();
        await plain();
      } else {
        await plain();
        await chained();
      }
    }
    rows.push({
      figure: 'hash-chain cost vs plain inserts (goal ≤ 1.15)',
      value: (tChained / tPlain).toFixed(2),
      note: `one stream, ${n} events each side, interleaved: chained appends ${tChained.toFixed(2)} s / plain createEntity of the same rows ${tPlain.toFixed(2)} s`,
    });
    rows.push({
      figure: 'hash-chain cost vs plain inserts, fresh streams',
      value: (tFresh / tPlain).toFixed(2),
      note: `each append to a new stream (1 insert, a new partition each): ${tFresh.toFixed(2)} s / ${tPlain.toFixed(2)} s`,
    });

    // The CPU part of the chain alone: canonical encoding, SHA-256 and the entity mapping.
    let chained: AuditEvent | undefined;
    const cpu = await seconds(async () => {
      for (let i = 0; i < n; i++) {
        chained = chainEvent(chained, input('request/cpu', i), new Date().toISOString(), sha256);
        eventEntity('request%2Fcpu', chained);
      }
    });
    rows.push({
      figure: 'audit hash chain: CPU per event',
      value: `${((cpu * 1e6) / n).toFixed(0)} µs`,
      note: 'canonical JSON + SHA-256 + row mapping, no I/O',
    });
    rows.push(...(await verifyRows(tables, dataDir, verifyN)));
    return rows;
  });
}

// ---------------------------------------------------------------------------------------------------------
// The verified (and exported) log: realistic request lifecycles, as the access-request orchestration writes
// them, built with the real event builders. Deterministic: every run writes the same log.

/** The requests of the verified log are submitted in [EXPORT_FROM, EXPORT_TO), the export's window. */
export const EXPORT_FROM = '2026-01-01';
export const EXPORT_TO = '2026-07-01';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A small seeded generator (mulberry32): the same lifecycles on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(items: readonly T[], r: number): T => items[Math.floor(r * items.length)];

/** A stable UUID-shaped id for `text` (the log's ids are Entra object ids and request UUIDs). */
function uuidOf(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

interface BenchPerson {
  id: string;
  upn: string;
  displayName: string;
}

const FIRST = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'margaret', 'linus', 'radia', 'donald'];
const LAST = [
  'lovelace',
  'hopper',
  'turing',
  'dijkstra',
  'liskov',
  'thompson',
  'hamilton',
  'perlman',
  'knuth',
];

function person(kind: string, k: number): BenchPerson {
  const first = FIRST[k % FIRST.length];
  const last = LAST[Math.floor(k / FIRST.length) % LAST.length];
  const title = (s: string) => s[0].toUpperCase() + s.slice(1);
  return {
    id: uuidOf(`${kind}:${k}`),
    upn: `${first}.${last}${k}@contoso.test`,
    displayName: `${title(first)} ${title(last)}`,
  };
}

/** 2,000 requesters, 60 approvers, and an administrator who revokes early. */
const REQUESTERS = Array.from({ length: 2000 }, (_, k) => person('user', k));
const APPROVERS = Array.from({ length: 60 }, (_, k) => person('approver', 100 + k));
const ADMIN = person('admin', 9000);

/** The catalogue's roles: app, role, the Entra group behind it, and how many approval stages it needs. */
const ROLES = (
  [
    ['payroll', ['reader', 1], ['approver', 2], ['admin', 3]],
    ['crm', ['sales-rep', 1], ['manager', 2]],
    ['erp', ['ap-clerk', 2], ['controller', 3]],
    ['hr-portal', ['viewer', 1], ['editor', 2]],
    ['data-lake', ['analyst', 2], ['engineer', 2]],
    ['billing', ['reader', 1], ['operator', 2]],
    ['github-enterprise', ['maintainer', 2], ['owner', 3]],
    ['sap-finance', ['display', 2], ['posting', 3]],
  ] as const
).flatMap(([appId, ...roles]) =>
  roles.map(([roleId, stages]) => ({ appId, roleId, groupId: uuidOf(`group:${appId}/${roleId}`), stages })),
);

/** The catalogue versions in force over the window, one a month. */
const POLICIES: PolicyRef[] = Array.from({ length: 6 }, (_, m) => ({
  id: 'contoso-catalog',
  version: `2026.${m + 1}`,
  hash: createHash('sha256')
    .update(`catalog 2026.${m + 1}`)
    .digest('hex'),
}));

const JUSTIFICATIONS = [
  'Month-end close: need to post accruals',
  'Covering for a colleague on leave this week',
  'Quarterly access review sample pull for internal audit',
  'Incident follow-up, read-only investigation',
  'Onboarding to the finance systems team',
  'Release sign-off for the spring cut',
  '-- urgent: vendor payment run blocked',
  'Migrating reports to the new data platform',
];
const COMMENTS = [undefined, 'ok for month-end', 'approved, keep it short', 'fine', 'per change board'];
const DURATIONS_MIN = [8 * 60, 24 * 60, 3 * 24 * 60, 7 * 24 * 60, 30 * 24 * 60];
const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };
const TIMED_OUT = 'nobody decided before the stage timed out';

/** One request's lifecycle: its stream, when it was submitted, and its events in order. */
export interface Lifecycle {
  stream: string;
  at: Date;
  inputs: AuditEventInput[];
}

/**
 * Request `i`'s lifecycle, in the orchestration's order: submitted → policy evaluated → per stage approval
 * requested (escalated to a fallback now and then) and decided → granted → reminder → (an extension through
 * the stages again) → revoked at expiry or early; or denied at the last stage. 7 to ~20 events, ~10 on average.
 */
export function lifecycle(i: number): Lifecycle {
  const r = random(i * 7919 + 17);
  r();
  const stream = uuidOf(`request:${i}`);
  const from = Date.parse(EXPORT_FROM);
  const at = new Date(from + Math.floor(r() * (Date.parse(EXPORT_TO) - from)));
  const requester = pick(REQUESTERS, r());
  const role = pick(ROLES, r());
  const policy = POLICIES[at.getUTCMonth()];
  const channel = pick(['teams', 'teams', 'teams', 'tab', 'cli'] as const, r());
  const durationMinutes = pick(DURATIONS_MIN, r());
  const ctx = (actor: AuditActor): AuditContext => ({
    stream,
    actor,
    subject: `app:${role.appId}/role:${role.roleId}`,
    correlation: { requestId: stream, instanceId: stream },
  });
  const actorOf = (p: BenchPerson, ch: AuditChannel): AuditActor => ({
    objectId: p.id,
    upn: p.upn,
    channel: ch,
  });
  const inputs: AuditEventInput[] = [
    requestSubmitted(ctx(actorOf(requester, channel)), {
      justification: pick(JUSTIFICATIONS, r()),
      policy,
      durationMinutes,
      appId: role.appId,
      roleId: role.roleId,
      groupId: role.groupId,
      ticketReference: `${pick(['CHG', 'INC', 'REQ'], r())}-${100000 + i}`,
      requester,
    }),
    policyEvaluated(ctx(SYSTEM), { policy, outcome: 'approval-required', stages: role.stages }),
  ];
  const denied = r() < 0.07;
  let stage = 0;
  /** Runs the role's stages; false when the last one is denied. */
  const stages = (mayDeny: boolean): boolean => {
    for (let s = 1; s <= role.stages; s++) {
      stage++;
      const asked = [pick(APPROVERS, r()), pick(APPROVERS, r())];
      inputs.push(approvalRequested(ctx(SYSTEM), { stage, approvers: asked.map((a) => a.id), quorum: 1 }));
      let approver = asked[0];
      if (r() < 0.2) {
        approver = pick(APPROVERS, r());
        inputs.push(
          approvalEscalated(ctx(SYSTEM), {
            stage,
            from: asked.map((a) => a.id),
            to: [approver.id],
            reason: TIMED_OUT,
          }),
        );
      }
      const no = mayDeny && s === role.stages;
      const approverChannel = pick(['teams', 'teams', 'tab'] as const, r());
      inputs.push(
        approvalDecided(ctx(actorOf(approver, approverChannel)), {
          stage,
          approver: approver.id,
          channel: approverChannel,
          decision: no ? 'denied' : 'approved',
          comment: no ? 'not without a change ticket' : pick(COMMENTS, r()),
        }),
      );
      if (no) return false;
    }
    return true;
  };
  if (!stages(denied)) return { stream, at, inputs };
  const grantedAt = at.getTime() + Math.floor(r() * 2 * DAY);
  let expiresAt = new Date(grantedAt + durationMinutes * MINUTE).toISOString();
  const group = { id: role.groupId };
  const already = r() < 0.05;
  inputs.push(
    accessGranted(ctx(SYSTEM), {
      group,
      graph: { status: already ? 400 : 204, alreadyMember: already },
      expiresAt,
    }),
  );
  const early = r() < 0.1;
  if (early) {
    inputs.push(
      accessRevoked(ctx(actorOf(ADMIN, 'tab')), {
        reason: 'revoked',
        by: ADMIN.id,
        group,
        graph: { status: 204, wasMember: true },
      }),
    );
    return { stream, at, inputs };
  }
  inputs.push(expiryReminderSent(ctx(SYSTEM), { recipient: requester.id, expiresAt }));
  if (r() < 0.15) {
    const requestedExpiry = new Date(Date.parse(expiresAt) + 7 * DAY).toISOString();
    inputs.push(
      extensionRequested(ctx(actorOf(requester, channel)), {
        justification: 'The close runs over by a week',
        currentExpiry: expiresAt,
        requestedExpiry,
      }),
    );
    stages(false);
    const last = inputs[inputs.length - 1];
    inputs.push(
      extensionDecided(ctx(last.actor), {
        approver: last.actor.objectId,
        channel: last.actor.channel,
        decision: 'approved',
        newExpiry: requestedExpiry,
      }),
    );
    expiresAt = requestedExpiry;
    inputs.push(expiryReminderSent(ctx(SYSTEM), { recipient: requester.id, expiresAt }));
  }
  inputs.push(
    accessRevoked(ctx(SYSTEM), {
      reason: 'expired',
      by: 'system',
      group,
      graph: { status: 204, wasMember: true },
    }),
  );
  return { stream, at, inputs };
}

/** Writers in flight while generating, so Azurite is never idle. */
const WRITERS = 4;

/**
 * Generates `total` events as request lifecycles, digests them, then verifies and exports them, each in a
 * child process of its own.
 */
async function verifyRows(tables: TableFactory, dataDir: string, total: number): Promise<BenchRow[]> {
  const log = await freshStore(tables);
  // How many lifecycles make `total` events; the last is cut short to fit (it still has its request).
  let streams = 0;
  let lastCount = 0;
  for (let sum = 0; sum < total; streams++) {
    lastCount = Math.min(lifecycle(streams).inputs.length, total - sum);
    sum += lastCount;
  }
  let next = 0;
  const tGen = await seconds(async () => {
    // Each stream's events in one appendMany transaction, stamped with the request's submission time: a
    // store per writer, each with its own clock, so the writers in flight do not stamp each other's streams.
    const writer = async () => {
      let now = new Date(0);
      const store = new AuditLogStore({
        table: log.table,
        digests: log.digests,
        clock: { now: () => now },
        sha256,
      });
      for (let i = next++; i < streams; i = next++) {
        const l = lifecycle(i);
        now = l.at;
        await store.appendMany(l.stream, i === streams - 1 ? l.inputs.slice(0, lastCount) : l.inputs);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, writer));
  });
  const tDigest = await seconds(async () => {
    await log.store.writeDigest();
  });
  const record = JSON.parse(fs.readFileSync(path.join(dataDir, 'azurite', 'azurite.json'), 'utf8')) as {
    table: { port: number; pid: number };
    blob: { port: number };
  };
  const where: StorageArgs = {
    tablePort: record.table.port,
    blobPort: record.blob.port,
    table: log.table.tableName,
    digests: log.digests.tableName,
  };
  const verified = await inChild<VerifyReport>('--verify-child', where);
  const out = path.join(dataDir, 'export.csv');
  const exported = await inChild<ExportReport>('--export-child', {
    ...where,
    from: EXPORT_FROM,
    to: EXPORT_TO,
    out,
  });
  // One row per request stream, every stream scanned; and the file holds the header and those rows.
  const lines = await countLines(out);
  if (exported.rows !== streams || exported.streams !== streams || lines !== streams + 1) {
    throw new Error(
      `the export wrote ${exported.rows} rows (${lines} CSV lines) over ${exported.streams} streams scanned; ` +
        `the log holds ${streams} request streams`,
    );
  }
  const mix = `${streams.toLocaleString('en')} request lifecycles (${(total / streams).toFixed(1)} events each on average)`;
  const n = total.toLocaleString('en');
  return [
    {
      figure: `audit log generation of ${n} events: seconds`,
      value: tGen.toFixed(1),
      note: `${mix}, requested ${EXPORT_FROM} to ${EXPORT_TO}, appendMany (one transaction per stream), ${WRITERS} in flight; then a digest over every head: ${tDigest.toFixed(1)} s`,
    },
    {
      figure: `audit verify of ${n} events: seconds`,
      value: verified.seconds.toFixed(1),
      note: `goal ≤ 60 s; one ordered pass, in a child process; result: ${verified.result}`,
    },
    {
      figure: `audit verify of ${n} events: peak RSS (MB)`,
      value: verified.maxRssMb.toFixed(0),
      note: 'goal ≤ 256 MB; process.resourceUsage().maxRSS of the verifying process',
    },
    {
      figure: `audit export of ${n} events (CSV): seconds`,
      value: exported.seconds.toFixed(1),
      note: `\`attest export --from ${EXPORT_FROM} --to ${EXPORT_TO} --format csv --out FILE\` (parseExportOptions, runExport over eventsInStreamOrder), in a child process; ${exported.rows.toLocaleString('en')} rows written (= request streams), ${(exported.bytes / 1e6).toFixed(1)} MB`,
    },
    {
      figure: `audit export of ${n} events (CSV): peak RSS (MB)`,
      value: exported.maxRssMb.toFixed(0),
      note: 'process.resourceUsage().maxRSS of the exporting process',
    },
  ];
}

/** The CRLF-ended lines of a file (the export quotes any CR or LF inside a cell, and these have none). */
async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) n++;
  }
  return n;
}

/** Where a child finds the log: the bench's Azurite and the log's tables. */
interface StorageArgs {
  tablePort: number;
  blobPort: number;
  table: string;
  digests: string;
}

interface ExportArgs extends StorageArgs {
  from: string;
  to: string;
  out: string;
}

interface VerifyReport {
  seconds: number;
  maxRssMb: number;
  result: string;
}

interface ExportReport {
  seconds: number;
  maxRssMb: number;
  rows: number;
  streams: number;
  bytes: number;
}

/** Runs this file as a child (`mode` picks what it does) and resolves to the JSON line it prints last. */
function inChild<T>(mode: '--verify-child' | '--export-child', args: StorageArgs | ExportArgs): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, mode, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the ${mode} process exited ${code}: ${out}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() as string) as T);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

function childStore(args: StorageArgs): AuditLogStore {
  const tables = createTableFactory({ mode: 'embedded', tablePort: args.tablePort, blobPort: args.blobPort });
  return new AuditLogStore({
    table: tables.client(args.table),
    digests: tables.client(args.digests),
    clock,
    sha256,
  });
}

/** The verify child: verifies the log and prints its time and peak RSS as one JSON line. */
async function verifyChild(args: StorageArgs): Promise<void> {
  const store = childStore(args);
  const t0 = performance.now();
  const result = await store.verify();
  const report: VerifyReport = {
    seconds: (performance.now() - t0) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    result: formatVerifyResult(result),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/**
 * The export child: what `attest export --from … --to … --format csv --out FILE` runs once the CLI has its
 * storage — the same option parsing and the same runExport over eventsInStreamOrder — then prints its time,
 * peak RSS and what it wrote as one JSON line. NB. no progress line: the bench's table stays readable.
 */
async function exportChild(args: ExportArgs): Promise<void> {
  const store = childStore(args);
  const options = parseExportOptions({
    '--from': args.from,
    '--to': args.to,
    '--format': 'csv',
    '--out': args.out,
  });
  const t0 = performance.now();
  const summary = await runExport(eventsInStreamOrder(store), options, {
    stdout: process.stdout,
    stderr: { isTTY: false, write: (text: string) => process.stderr.write(text) },
  });
  const report: ExportReport = {
    seconds: (performance.now() - t0) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    rows: summary.rows,
    streams: summary.streams,
    bytes: fs.statSync(args.out).size,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (
  require.main === module &&
  (process.argv[2] === '--verify-child' || process.argv[2] === '--export-child')
) {
  const args = JSON.parse(process.argv[3]) as ExportArgs;
  (process.argv[2] === '--verify-child' ? verifyChild(args) : exportChild(args)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
