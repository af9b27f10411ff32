/**
 * Audit log figures (issue: the tamper-evident audit log): append throughput, sequential and batched, and
 * what the hash chain costs over plain inserts of the same rows, on Azurite.
 */
import type { TableClient, TableEntity } from '@azure/data-tables';
import { sha256 } from '../src/adapters/crypto/sha256';
import { eventEntity } from '../src/adapters/tables/audit-entity.mapper';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import { streamKey } from '../src/adapters/tables/audit-row-keys';
import type { TableFactory } from '../src/adapters/tables/table-client-factory';
import { TableNames } from '../src/adapters/tables/table-names';
import { approvalDecided } from '../src/domain/audit/audit-events';
import type { AuditEvent, AuditEventInput } from '../src/domain/audit/audit-event.model';
import { chainEvent } from '../src/domain/audit/hash-chain.math';
import { withStorage, type BenchRow } from './bench-kit';

const clock = { now: () => new Date() };
let tableNo = 0;

async function freshStore(tables: TableFactory): Promise<{ store: AuditLogStore; table: TableClient }> {
  tableNo++;
  const table = await tables.ensureTable(`${TableNames.auditLog}Bench${tableNo}`);
  const digests = await tables.ensureTable(`${TableNames.auditDigests}Bench${tableNo}`);
  const store = new AuditLogStore({ table, digests, clock, sha256 });
  return { store, table };
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
  const n = Number(process.env.BENCH_AUDIT_EVENTS ?? 3000);
  return withStorage(async (tables) => {
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
      note: `${n} sequential appends, each to a new stream (head read + 1 transaction)`,
    });

    const one = await freshStore(tables);
    const tOne = await seconds(async () => {
      for (let i = 0; i < n; i++) await one.store.append(input('request/one', i));
    });
    rows.push({
      figure: 'audit append: events/s, single (one stream)',
      value: (n / tOne).toFixed(0),
      note: `${n} sequential appends to one stream (head cached: 1 transaction each)`,
    });

    const batched = await freshStore(tables);
    const per = 99; // + the head row = 100 rows, Table Storage's transaction limit
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
      figure: 'audit append: events/s, batched (100 per transaction)',
      value: (n / tBatch).toFixed(0),
      note: `${n} events, 99 events + the head row per transaction`,
    });

    // Chained appends vs plain createEntity of the same rows (precomputed: no hashing, no head row), timed
    // in alternating blocks of 100 so Azurite's drift over the run (JIT, table growth) hits both alike.
    const chainedLog = await freshStore(tables);
    const plainLog = await freshStore(tables);
    const entities: TableEntity[] = [];
    let prev: AuditEvent | undefined;
    for (let i = 0; i < n; i++) {
      prev = chainEvent(prev, input('request/plain', i), new Date().toISOString(), sha256);
      entities.push(eventEntity(streamKey('request/plain'), prev));
    }
    let tChained = 0;
    let tPlain = 0;
    for (let i = 0; i < n; i += 100) {
      const end = Math.min(n, i + 100);
      tChained += await seconds(async () => {
        for (let j = i; j < end; j++) await chainedLog.store.append(input('request/chained', j));
      });
      tPlain += await seconds(async () => {
        for (let j = i; j < end; j++) await plainLog.table.createEntity(entities[j]);
      });
    }
    rows.push({
      figure: 'hash-chain cost vs plain inserts (goal ≤ 1.15)',
      value: (tChained / tPlain).toFixed(2),
      note: `one stream, ${n} events: chained appends ${tChained.toFixed(2)} s / plain createEntity ${tPlain.toFixed(2)} s`,
    });
    rows.push({
      figure: 'hash-chain cost vs plain inserts, fresh streams',
      value: (tFresh / tPlain).toFixed(2),
      note: `each append to a new stream (adds a head read): ${tFresh.toFixed(2)} s / ${tPlain.toFixed(2)} s`,
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
    return rows;
  });
}
