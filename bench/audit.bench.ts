/**
 * Audit log figures (issue: the tamper-evident audit log): append throughput, sequential and batched, what
 * the hash chain costs over plain inserts of the same rows, and how long `verify` of a large log takes and
 * how much memory it needs, on Azurite. BENCH_AUDIT_APPENDS (default 3,000) sets the append rows' N,
 * BENCH_AUDIT_EVENTS (default 200,000) the verified log's size. NB. 1,000,000 is the goal's size, but Azurite
 * re-sorts its whole table for every page of a scan, so a 1M pass takes far too long on it; measured at 200k.
 *
 * The verify runs in a child process (this file, started with `--verify-child`), so the peak RSS reported
 * is the verifier's alone, not the generator's.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { TableClient, TableEntity } from '@azure/data-tables';
import { sha256 } from '../src/adapters/crypto/sha256';
import { eventEntity } from '../src/adapters/tables/audit-entity.mapper';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import { streamKey } from '../src/adapters/tables/audit-row-keys';
import { createTableFactory, type TableFactory } from '../src/adapters/tables/table-client-factory';
import { TableNames } from '../src/adapters/tables/table-names';
import { approvalDecided } from '../src/domain/audit/audit-events';
import type { AuditEvent, AuditEventInput } from '../src/domain/audit/audit-event.model';
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

/** Request streams of this many events make up the verified log (a request sees about ten). */
const EVENTS_PER_STREAM = 10;

/** Generates `total` events, digests them, and verifies them in a child process. */
async function verifyRows(tables: TableFactory, dataDir: string, total: number): Promise<BenchRow[]> {
  const log = await freshStore(tables);
  const streams = Math.ceil(total / EVENTS_PER_STREAM);
  const name = (i: number) => `request/${String(i).padStart(7, '0')}`;
  let next = 0;
  const tGen = await seconds(async () => {
    // Each stream's events in one appendMany transaction; a few in flight so Azurite is never idle.
    const writer = async () => {
      for (let i = next++; i < streams; i = next++) {
        const count = Math.min(EVENTS_PER_STREAM, total - i * EVENTS_PER_STREAM);
        await log.store.appendMany(
          name(i),
          Array.from({ length: count }, (_, j) => input(name(i), j)),
        );
      }
    };
    await Promise.all(Array.from({ length: 4 }, writer));
  });
  const tDigest = await seconds(async () => {
    await log.store.writeDigest();
  });
  const record = JSON.parse(fs.readFileSync(path.join(dataDir, 'azurite', 'azurite.json'), 'utf8')) as {
    table: { port: number; pid: number };
    blob: { port: number };
  };
  const child = await verifyInChild({
    tablePort: record.table.port,
    blobPort: record.blob.port,
    table: log.table.tableName,
    digests: log.digests.tableName,
  });
  const mix = `${streams.toLocaleString('en')} request streams × ${EVENTS_PER_STREAM} events`;
  return [
    {
      figure: `audit log generation of ${total.toLocaleString('en')} events: seconds`,
      value: tGen.toFixed(1),
      note: `${mix}, appendMany (one transaction per stream), 4 in flight; then a digest over every head: ${tDigest.toFixed(1)} s`,
    },
    {
      figure: `audit verify of ${total.toLocaleString('en')} events: seconds`,
      value: child.seconds.toFixed(1),
      note: `goal ≤ 60 s; one ordered pass, in a child process; result: ${child.result}`,
    },
    {
      figure: `audit verify of ${total.toLocaleString('en')} events: peak RSS (MB)`,
      value: child.maxRssMb.toFixed(0),
      note: 'goal ≤ 256 MB; process.resourceUsage().maxRSS of the verifying process',
    },
  ];
}

interface ChildArgs {
  tablePort: number;
  blobPort: number;
  table: string;
  digests: string;
}

interface ChildReport {
  seconds: number;
  maxRssMb: number;
  result: string;
}

function verifyInChild(args: ChildArgs): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--verify-child', JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`the verify child exited ${code}: ${out}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildReport);
      } catch (err) {
        reject(err as Error);
      }
    });
  });
}

/** The child: verifies the log and prints its time and peak RSS as one JSON line. */
async function verifyChild(args: ChildArgs): Promise<void> {
  const tables = createTableFactory({ mode: 'embedded', tablePort: args.tablePort, blobPort: args.blobPort });
  const store = new AuditLogStore({
    table: tables.client(args.table),
    digests: tables.client(args.digests),
    clock,
    sha256,
  });
  const t0 = performance.now();
  const result = await store.verify();
  const report: ChildReport = {
    seconds: (performance.now() - t0) / 1000,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    result: formatVerifyResult(result),
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (require.main === module && process.argv[2] === '--verify-child') {
  verifyChild(JSON.parse(process.argv[3]) as ChildArgs).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
