/**
 * Evidence bundle figures (issue 10, "Figures"): the offline `attest verify --bundle` of a synthesised bundle of
 * BENCH_EVIDENCE_EVENTS events (default 1,000,000) — seconds, peak RSS and µs per event, beside the bare cost
 * of SHA-256 + JSON.parse per line of the same events.jsonl measured in the same process — and the bundle for a
 * quarter of BENCH_EVIDENCE_LIFECYCLES request lifecycles (default 20,000) written from Azurite.
 *
 * The 1M bundle is written by the real writer (writeEvidenceBundle) from an in-process log that chains the
 * audit bench's lifecycles on the fly (Azurite would take far too long to scan 1M rows, see audit.bench.ts);
 * nothing synthesised is kept in the repository. The verify runs in a child process of its own (this file with
 * `--verify-bundle-child DIR`), so its peak RSS is its own.
 */
import { spawn } from 'node:child_process';
import { hash as oneShotHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256 } from '../src/adapters/crypto/sha256';
import { formatBundleResult, verifyBundle } from '../src/adapters/evidence/bundle-verifier';
import { writeEvidenceBundle } from '../src/adapters/evidence/evidence-bundle';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import { TableNames } from '../src/adapters/tables/table-names';
import { buildDigest, type AuditDigest } from '../src/domain/audit/audit-digest.math';
import type { AuditEvent, StreamHead } from '../src/domain/audit/audit-event.model';
import { chainEvent } from '../src/domain/audit/hash-chain.math';
import type { AuditLogPort } from '../src/ports/audit-log.port';
import { EXPORT_FROM, EXPORT_TO, lifecycle } from './audit.bench';
import { withStorage, type BenchRow } from './bench-kit';

const EVENTS = Number(process.env.BENCH_EVIDENCE_EVENTS ?? 1_000_000);
const LIFECYCLES = Number(process.env.BENCH_EVIDENCE_LIFECYCLES ?? 20_000);

/** Lifecycle `i`'s events, chained, every one stamped with its submission time (as the audit bench does). */
function chained(i: number, limit: number): AuditEvent[] {
  const l = lifecycle(i);
  const time = l.at.toISOString();
  const out: AuditEvent[] = [];
  let prev: StreamHead | undefined;
  for (const input of l.inputs.slice(0, limit)) {
    const e = chainEvent(prev, input, time, sha256);
    out.push(e);
    prev = e;
  }
  return out;
}

/** An in-process log of `total` events as request lifecycles: what the writer needs of a log, generated twice. */
export function synthesisedLog(total: number): { log: AuditLogPort; streams: number } {
  const sizes: number[] = [];
  const names: string[] = [];
  for (let sum = 0; sum < total;) {
    const l = lifecycle(sizes.length);
    const n = Math.min(l.inputs.length, total - sum);
    sizes.push(n);
    names.push(l.stream);
    sum += n;
  }
  // Table Storage returns streams in key order: so does this log.
  const order = names
    .map((_, i) => i)
    .sort((a, b) => (names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0));
  const log = {
    async writeDigest(): Promise<AuditDigest> {
      const heads: StreamHead[] = sizes.map((n, i) => {
        const last = chained(i, n)[n - 1];
        return { stream: last.stream, seq: last.seq, hash: last.hash };
      });
      return buildDigest(undefined, heads, new Date(EXPORT_TO).toISOString(), sha256);
    },
    async *scanAll(): AsyncIterable<AuditEvent> {
      for (const i of order) yield* chained(i, sizes[i]);
    },
  };
  return { log: log as unknown as AuditLogPort, streams: sizes.length };
}

interface VerifyReport {
  seconds: number;
  maxRssMb: number;
  result: string;
  events: number;
  bareSeconds: number;
  /** CPU time (user + system) of each: steadier than wall time on a shared machine. */
  cpuSeconds: number;
  bareCpuSeconds: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** In the child: verify the bundle, then time the bare per-line work over its events.jsonl. */
async function verifyChild(dir: string): Promise<void> {
  const t0 = performance.now();
  const c0 = cpuNow();
  const result = await verifyBundle(dir);
  const cpuSeconds = cpuNow() - c0;
  const seconds = (performance.now() - t0) / 1000;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  // The floor: read every line, SHA-256 it and JSON.parse it, nothing else.
  const t1 = performance.now();
  const c1 = cpuNow();
  const fd = fs.openSync(path.join(dir, 'events.jsonl'), 'r');
  let buf = Buffer.allocUnsafe(1 << 20);
  let start = 0;
  let end = 0;
  let lines = 0;
  let sink = 0;
  for (;;) {
    let at = buf.indexOf(10, start);
    while (at !== -1 && at < end) {
      const line = buf.subarray(start, at);
      sink ^= oneShotHash('sha256', line, 'hex').charCodeAt(0);
      sink ^= (JSON.parse(line.toString('utf8')) as { hash: string }).hash.length;
      lines++;
      start = at + 1;
      at = buf.indexOf(10, start);
    }
    buf.copy(buf, 0, start, end);
    end -= start;
    start = 0;
    if (end === buf.length) {
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, end);
      buf = bigger;
    }
    const n = fs.readSync(fd, buf, end, buf.length - end, null);
    if (n === 0) break;
    end += n;
  }
  fs.closeSync(fd);
  const bareSeconds = (performance.now() - t1) / 1000;
  const bareCpuSeconds = cpuNow() - c1;
  if (sink === -1) console.error('unreachable');
  const report: VerifyReport = {
    seconds,
    maxRssMb,
    result: formatBundleResult(result),
    events: lines,
    bareSeconds,
    cpuSeconds,
    bareCpuSeconds,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function inChild(dir: string): Promise<VerifyReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--verify-bundle-child', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => (out += String(c)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as VerifyReport)
        : reject(new Error(`verify child exited ${code}`)),
    );
  });
}

async function offlineVerifyRows(): Promise<BenchRow[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-bundle-'));
  try {
    const { log, streams } = synthesisedLog(EVENTS);
    const t0 = performance.now();
    const written = await writeEvidenceBundle(
      { audit: log, clock: { now: () => new Date(EXPORT_TO) } },
      { from: new Date(EXPORT_FROM), to: new Date(EXPORT_TO), outDir: path.join(work, 'bundle') },
    );
    const tWrite = (performance.now() - t0) / 1000;
    const mb = written.files.reduce((n, f) => n + f.bytes, 0) / 1e6;
    const r = await inChild(written.dir);
    if (!r.result.startsWith('verify: ok') || r.events !== EVENTS) {
      throw new Error(`the synthesised bundle did not verify: ${r.result} (${r.events} lines)`);
    }
    const n = EVENTS.toLocaleString('en');
    const us = (r.seconds * 1e6) / EVENTS;
    const bareUs = (r.bareSeconds * 1e6) / EVENTS;
    const cpuUs = (r.cpuSeconds * 1e6) / EVENTS;
    const bareCpuUs = (r.bareCpuSeconds * 1e6) / EVENTS;
    return [
      {
        figure: `verify --bundle of ${n} events (offline): seconds`,
        value: r.seconds.toFixed(1),
        note: `goal ≤ 10 s; ${r.cpuSeconds.toFixed(1)} s CPU; ${streams.toLocaleString('en')} request streams, ${mb.toFixed(0)} MB of files (manifest hashes, chains, ${streams.toLocaleString('en')} inclusion proofs, CSVs and summary recomputed); in a child process; ${r.result.slice(0, 40)}…; writing it took ${tWrite.toFixed(1)} s`,
      },
      {
        figure: `verify --bundle of ${n} events: peak RSS (MB)`,
        value: r.maxRssMb.toFixed(0),
        note: 'goal ≤ 256 MB; process.resourceUsage().maxRSS of the verifying process',
      },
      {
        figure: `verify --bundle of ${n} events: µs per event`,
        value: us.toFixed(2),
        note: `goal within 2× the bare cost; bare SHA-256 + JSON.parse per line of the same events.jsonl, same process: ${bareUs.toFixed(2)} µs (${(us / bareUs).toFixed(2)}×); in CPU time ${cpuUs.toFixed(2)} against ${bareCpuUs.toFixed(2)} µs (${(cpuUs / bareCpuUs).toFixed(2)}×)`,
      },
    ];
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const QUARTER_FROM = '2026-01-01T00:00:00.000Z';
const QUARTER_TO = '2026-04-01T00:00:00.000Z';

async function quarterRows(): Promise<BenchRow[]> {
  return withStorage(async (tables, dataDir) => {
    const table = await tables.ensureTable(`${TableNames.auditLog}EvidenceBench`);
    const digests = await tables.ensureTable(`${TableNames.auditDigests}EvidenceBench`);
    // The audit bench's lifecycles span six months; fold them into the quarter (each stream at one time).
    const from = Date.parse(EXPORT_FROM);
    const qFrom = Date.parse(QUARTER_FROM);
    const squeeze = (Date.parse(QUARTER_TO) - qFrom - 1) / (Date.parse(EXPORT_TO) - from);
    let next = 0;
    let events = 0;
    const writer = async () => {
      let now = new Date(0);
      const store = new AuditLogStore({ table, digests, clock: { now: () => now }, sha256 });
      for (let i = next++; i < LIFECYCLES; i = next++) {
        const l = lifecycle(i);
        now = new Date(qFrom + Math.floor((l.at.getTime() - from) * squeeze));
        events += l.inputs.length;
        await store.appendMany(l.stream, l.inputs);
      }
    };
    const tGen0 = performance.now();
    await Promise.all(Array.from({ length: 4 }, writer));
    const tGen = (performance.now() - tGen0) / 1000;
    const store = new AuditLogStore({
      table,
      digests,
      clock: { now: () => new Date(QUARTER_TO) },
      sha256,
    });
    const t0 = performance.now();
    const written = await writeEvidenceBundle(
      { audit: store, clock: { now: () => new Date(QUARTER_TO) } },
      { from: new Date(QUARTER_FROM), to: new Date(QUARTER_TO), outDir: path.join(dataDir, 'quarter') },
    );
    const seconds = (performance.now() - t0) / 1000;
    if (written.summary.requests.lifecycles !== LIFECYCLES) {
      throw new Error(
        `the quarter's bundle holds ${written.summary.requests.lifecycles} lifecycles, not ${LIFECYCLES}`,
      );
    }
    const t1 = performance.now();
    const verified = await verifyBundle(written.dir);
    const tVerify = (performance.now() - t1) / 1000;
    if (!verified.ok) throw new Error(formatBundleResult(verified));
    const mb = written.files.reduce((n, f) => n + f.bytes, 0) / 1e6;
    return [
      {
        figure: `evidence bundle for a quarter of ${LIFECYCLES.toLocaleString('en')} lifecycles: seconds`,
        value: seconds.toFixed(1),
        note: `writeEvidenceBundle on Azurite: a digest over every head, one ordered scan of ${events.toLocaleString('en')} events, ${mb.toFixed(1)} MB in ${written.files.length} files (no anchor store); generating the log took ${tGen.toFixed(1)} s; verify --bundle of it: ${tVerify.toFixed(1)} s`,
      },
    ];
  });
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  return [...(await offlineVerifyRows()), ...(await quarterRows())];
}

if (require.main === module && process.argv[2] === '--verify-bundle-child') {
  verifyChild(process.argv[3]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
