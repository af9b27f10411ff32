/**
 * The anchored audit log, tried as an attacker who can write every TABLE row (through TableClient) but not the
 * blobs in the immutable container: each tampering is caught by verify and named. Digests are incremental
 * (previous heads + touched streams) and anchored; a blob outage loses no digest and is backfilled.
 */
import net from 'node:net';
import { BlobServiceClient } from '@azure/storage-blob';
import type { TableClient } from '@azure/data-tables';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { BlobAnchorStore } from '../../../src/adapters/blobs/blob-anchor.store';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { headEntity } from '../../../src/adapters/tables/audit-entity.mapper';
import {
  DIGEST_PARTITION,
  eventRowKey,
  HEAD_ROW,
  LATEST_DIGEST_ROW,
  streamKey,
} from '../../../src/adapters/tables/audit-row-keys';
import { azuriteConnectionString } from '../../../src/adapters/tables/table-client-factory';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { approvalDecided, requestSubmitted, type AuditContext } from '../../../src/domain/audit/audit-events';
import type { AuditEvent, AuditEventInput } from '../../../src/domain/audit/audit-event.model';
import { formatVerifyResult } from '../../../src/ports/audit-log.port';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';

let storage: TestStorage;
let n = 0;

beforeAll(async () => {
  storage = await startTestStorage('attest-anchored-');
});
afterAll(async () => {
  await storage.stop();
});

interface Log {
  store: AuditLogStore;
  anchors: BlobAnchorStore;
  table: TableClient;
  digests: TableClient;
  touched: TableClient;
  clock: TestClock;
  /** The same tables opened as an attacker would: no anchors, no touched index. */
  bare: () => AuditLogStore;
}

async function newLog(): Promise<Log> {
  n++;
  const clock = new TestClock(new Date('2026-11-29T09:00:00Z'));
  const table = storage.tables.client(`${TableNames.auditLog}A${n}`);
  const digests = storage.tables.client(`${TableNames.auditDigests}A${n}`);
  const touched = storage.tables.client(`${TableNames.auditTouched}A${n}`);
  const anchors = BlobAnchorStore.on(storage.tables.storage, `evidence-${n}`, clock);
  const store = new AuditLogStore({ table, digests, touched, anchors, clock, sha256 });
  await store.init();
  const bare = () => new AuditLogStore({ table, digests, clock, sha256 });
  return { store, anchors, table, digests, touched, clock, bare };
}

const ctx = (stream: string): AuditContext => ({
  stream,
  actor: { objectId: 'u-ada', upn: 'ada@contoso.test', channel: 'teams' },
  subject: 'app:payroll/role:reader',
  correlation: { requestId: stream },
});
const submitted = (stream: string, justification = 'month-end') =>
  requestSubmitted(ctx(stream), {
    justification,
    policy: { id: 'payroll', version: '3', hash: 'ab'.repeat(32) },
  });
const decided = (stream: string, stage: number) =>
  approvalDecided(ctx(stream), { stage, approver: `m-${stage}`, channel: 'teams', decision: 'approved' });

async function appendN(store: AuditLogStore, stream: string, count: number): Promise<AuditEvent[]> {
  const events = [await store.append(submitted(stream))];
  for (let i = 2; i <= count; i++) events.push(await store.append(decided(stream, i)));
  return events;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const MIN = 60_000;

/** Every row of a table (keys and properties). */
async function rows(table: TableClient): Promise<Record<string, unknown>[]> {
  return collect(table.listEntities<Record<string, unknown>>());
}

async function deleteRows(table: TableClient, keep: (row: Record<string, unknown>) => boolean = () => false) {
  for (const row of await rows(table)) {
    if (!keep(row)) await table.deleteEntity(row.partitionKey as string, row.rowKey as string);
  }
}

/** A log with three streams and two anchored digests, the second after more appends. */
async function anchoredLog(): Promise<Log> {
  const log = await newLog();
  await appendN(log.store, 'request/1', 5);
  await appendN(log.store, 'request/2', 3);
  log.clock.advance(15 * MIN);
  expect(await log.store.writeDigest()).toMatchObject({ seq: 1, written: true, anchored: true });
  log.clock.advance(5 * MIN);
  await appendN(log.store, 'request/3', 2);
  await log.store.append(decided('request/1', 6));
  log.clock.advance(15 * MIN);
  expect(await log.store.writeDigest()).toMatchObject({ seq: 2, written: true, anchored: true });
  return log;
}

describe('incremental, anchored digests', () => {
  test('the next digest is the previous heads plus the streams touched since, not a scan of every row', async () => {
    const log = await newLog();
    await appendN(log.store, 'request/a', 3);
    await appendN(log.store, 'request/b', 2);
    log.clock.advance(10 * MIN); // the index began at 09:00; digest 1 comes after it (and its bucket of slack)
    const d1 = await log.store.writeDigest();
    expect(d1).toMatchObject({ seq: 1, streams: 2, events: 5, written: true, anchored: true });

    // 20 minutes on: request/a moves, request/c is new. A stream slipped into the table without an append (so
    // without a marker) is not seen by the index — which shows the digest reads the index, not every row.
    log.clock.advance(20 * MIN);
    await log.store.append(decided('request/a', 4));
    await appendN(log.store, 'request/c', 1);
    const row = await log.table.getEntity<Record<string, unknown>>(streamKey('request/b'), eventRowKey(1));
    const { etag: _e, timestamp: _t, ...copy } = row;
    await log.table.createEntity({ ...copy, partitionKey: streamKey('request/x'), rowKey: eventRowKey(1) });

    const d2 = await log.store.writeDigest();
    expect(d2.heads.map((h) => [h.stream, h.seq])).toEqual([
      ['request/a', 4],
      ['request/b', 2],
      ['request/c', 1],
    ]);
    expect(d2).toMatchObject({ seq: 2, prevDigestHash: d1.hash, anchored: true });
    await log.table.deleteEntity(streamKey('request/x'), eventRowKey(1));
    expect(await log.store.verify()).toEqual({
      ok: true,
      streams: 3,
      events: 7,
      anchors: { checked: 2, newest: 2, chainEnd: 2 },
    });
    expect(formatVerifyResult(await log.store.verify())).toBe(
      'verify: ok (3 streams, 7 events; digests checked against 2 anchors, newest 2)',
    );
  });

  test('a digest older than the touched index is moved on by one scan (a log from before the index)', async () => {
    const log = await newLog();
    // A log written before this version: no markers. Its digest 1 predates the index (09:00).
    const old = log.bare();
    await appendN(old, 'request/old', 2);
    log.clock.advance(-60 * MIN);
    const d1 = await new AuditLogStore({
      table: log.table,
      digests: log.digests,
      clock: log.clock,
      sha256,
    }).writeDigest();
    expect(d1.time).toBe('2026-11-29T08:00:00.000Z');
    log.clock.advance(60 * MIN);
    await old.append(decided('request/old', 3)); // still no marker: appended by a host of the old version
    log.clock.advance(20 * MIN);
    const d2 = await log.store.writeDigest();
    expect(d2.heads.map((h) => [h.stream, h.seq])).toEqual([['request/old', 3]]);
    expect(await log.store.verify()).toMatchObject({ ok: true, streams: 1, events: 3 });
  });

  test('the interval digest is written only when a head moved; the anchor is the digest summary', async () => {
    const log = await newLog();
    expect(await log.store.digestIfChanged()).toBeUndefined(); // an empty log: nothing to digest
    await appendN(log.store, 'request/a', 2);
    const d1 = await log.store.digestIfChanged();
    expect(d1).toMatchObject({ seq: 1, written: true, anchored: true });
    log.clock.advance(15 * MIN);
    expect(await log.store.digestIfChanged()).toMatchObject({ seq: 1, written: false, hash: d1?.hash });
    await log.store.append(decided('request/a', 3));
    log.clock.advance(15 * MIN);
    expect(await log.store.digestIfChanged()).toMatchObject({ seq: 2, written: true, events: 3 });
    const anchored = await collect(log.anchors.digests());
    expect(anchored.map((a) => a.seq)).toEqual([1, 2]);
    const { written: _w, anchored: _a, ...summary } = d1 as NonNullable<typeof d1>;
    expect(anchored[0]).toEqual(summary);
  });

  test('a blob outage while anchoring loses no digest, and the next write anchors what it missed', async () => {
    const log = await newLog();
    // The same tables, anchored in a blob service that does not answer (a port nothing listens on).
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const down = new BlobAnchorStore({
      access: {
        service: BlobServiceClient.fromConnectionString(
          azuriteConnectionString(storage.azurite.tablePort, closed),
          { retryOptions: { maxTries: 1 } },
        ),
        signing: 'account-key',
      },
      container: log.anchors.container,
      clock: log.clock,
    });
    const outage = new AuditLogStore({
      table: log.table,
      digests: log.digests,
      touched: log.touched,
      anchors: down,
      clock: log.clock,
      sha256,
    });
    await appendN(outage, 'request/a', 2);
    const d1 = await outage.writeDigest();
    expect(d1).toMatchObject({ seq: 1, written: true, anchored: false });
    expect(d1.anchorProblem).toMatch(/^digest 1: /);
    await outage.append(decided('request/a', 3));
    log.clock.advance(15 * MIN);
    const d2 = await outage.digestIfChanged();
    expect(d2).toMatchObject({ seq: 2, written: true, anchored: false });
    expect(await collect(log.anchors.digests())).toEqual([]);
    // verify says the digests are not anchored (the tables alone vouch for them), and is otherwise ok.
    expect(formatVerifyResult(await log.store.verify())).toBe(
      'verify: ok (1 streams, 3 events; no anchors: digests 1-2 are not anchored outside the tables)',
    );

    // The blob service is back: the next tick, with nothing new to digest, anchors digests 1 and 2.
    log.clock.advance(15 * MIN);
    expect(await log.store.digestIfChanged()).toMatchObject({ seq: 2, written: false, anchored: true });
    expect((await collect(log.anchors.digests())).map((a) => [a.seq, a.hash])).toEqual([
      [1, d1.hash],
      [2, d2?.hash],
    ]);
    expect(await log.store.verify()).toMatchObject({ ok: true, anchors: { checked: 2, newest: 2 } });
  });
});

describe('tampering with the tables is caught against the anchors and named', () => {
  test('an edited field', async () => {
    const log = await anchoredLog();
    await log.table.updateEntity(
      { partitionKey: streamKey('request/1'), rowKey: eventRowKey(2), actorUpn: 'mallory@contoso.test' },
      'Merge',
    );
    const result = await log.store.verify();
    expect(result).toMatchObject({ ok: false, stream: 'request/1', seq: 2, problem: 'edited' });
  });

  test('a deleted event', async () => {
    const log = await anchoredLog();
    await log.table.deleteEntity(streamKey('request/2'), eventRowKey(2));
    expect(await log.store.verify()).toMatchObject({ stream: 'request/2', seq: 2, problem: 'missing' });
  });

  test('two events swapped', async () => {
    const log = await anchoredLog();
    const pk = streamKey('request/1');
    const body = async (seq: number) => {
      const {
        partitionKey: _p,
        rowKey: _r,
        etag: _e,
        timestamp: _t,
        ...rest
      } = await log.table.getEntity<Record<string, unknown>>(pk, eventRowKey(seq));
      return rest;
    };
    const [b2, b3] = [await body(2), await body(3)];
    await log.table.updateEntity({ partitionKey: pk, rowKey: eventRowKey(2), ...b3 }, 'Replace');
    await log.table.updateEntity({ partitionKey: pk, rowKey: eventRowKey(3), ...b2 }, 'Replace');
    expect(await log.store.verify()).toMatchObject({ stream: 'request/1', seq: 2, problem: 'reordered' });
  });

  test('a stream’s tail cut, with its head hint rewound to the new end', async () => {
    const log = await newLog();
    const s = 'request/long';
    await log.store.append(submitted(s));
    for (let seq = 2; seq <= 104; seq += 20) {
      const inputs: AuditEventInput[] = [];
      for (let i = seq; i < Math.min(seq + 20, 105); i++) inputs.push(decided(s, i));
      await log.store.appendMany(s, inputs);
    }
    const pk = streamKey(s);
    // The hint exists (rewritten by the transaction that passed event 100).
    expect((await log.table.getEntity<{ seq: number }>(pk, HEAD_ROW)).seq).toBeGreaterThanOrEqual(100);
    await log.store.writeDigest();
    // Cut events 99-104 and rewind the hint to event 98, so the stream looks whole on its own.
    for (let seq = 99; seq <= 104; seq++) await log.table.deleteEntity(pk, eventRowKey(seq));
    const e98 = await log.table.getEntity<{ hash: string }>(pk, eventRowKey(98));
    await log.table.upsertEntity(headEntity(pk, { stream: s, seq: 98, hash: e98.hash }), 'Replace');
    expect(await log.store.verify()).toMatchObject({ stream: s, seq: 99, problem: 'truncated' });
  });

  test('a whole stream deleted', async () => {
    const log = await anchoredLog();
    await deleteRows(log.table, (row) => row.partitionKey !== streamKey('request/2'));
    expect(await log.store.verify()).toMatchObject({ stream: 'request/2', problem: 'deleted' });
  });

  test('the newest digest deleted, the latest pointer rewound and a stream created since deleted', async () => {
    const log = await anchoredLog();
    const d1 = await log.digests.getEntity<{ seq: number; hash: string }>(DIGEST_PARTITION, '0000000001');
    await deleteRows(
      log.digests,
      (row) =>
        row.rowKey === LATEST_DIGEST_ROW ||
        !(row.rowKey === '0000000002' || (row.rowKey as string).startsWith('h-0000000002-')),
    );
    await log.digests.updateEntity(
      { partitionKey: DIGEST_PARTITION, rowKey: LATEST_DIGEST_ROW, seq: 1, hash: d1.hash },
      'Replace',
    );
    await deleteRows(log.table, (row) => row.partitionKey !== streamKey('request/3'));
    // request/1's event 6 came after digest 1 too: cut it so the tables agree with digest 1 in every way.
    await log.table.deleteEntity(streamKey('request/1'), eventRowKey(6));

    // The tables alone are consistent: that is the hole the anchors close.
    expect(await log.bare().verify()).toMatchObject({ ok: true, streams: 2, events: 8 });
    const result = await log.store.verify();
    expect(result).toMatchObject({ ok: false, stream: '(digests)', seq: 2, problem: 'rewound' });
    expect(formatVerifyResult(result)).toContain(
      `the digest chain ends at digest 1, but digest 2 is anchored (its anchor (blob ${log.anchors.container}/digests/0000000002.json)`,
    );
  });

  test('the whole log rewritten consistently, with fresh hashes and fresh digests', async () => {
    const log = await anchoredLog();
    // The attacker reads every stream, wipes both tables, and writes the log again with one justification
    // changed — through our own code, which needs nothing but the tables — and as many digests as before.
    const streams = await collect(log.bare().streams());
    const events = new Map<string, AuditEvent[]>();
    for (const s of streams) events.set(s, await collect(log.bare().read(s)));
    await deleteRows(log.table);
    await deleteRows(log.digests);
    const forger = log.bare();
    for (const [s, list] of events) {
      for (const e of list) {
        const details =
          e.seq === 1 && s === 'request/1' ? { ...e.details, justification: 'approved by CFO' } : e.details;
        await forger.append({
          stream: e.stream,
          actor: e.actor,
          action: e.action,
          subject: e.subject,
          details,
          correlation: e.correlation,
        });
      }
    }
    await forger.writeDigest();
    await forger.writeDigest();
    expect(await forger.verify()).toMatchObject({ ok: true, streams: 3, events: 11 });

    const result = await log.store.verify();
    expect(result).toMatchObject({ ok: false, stream: '(digests)', seq: 1, problem: 'digest-altered' });
    expect((result as { message: string }).message).toMatch(
      /^digest 1 in the tables has hash [0-9a-f]{64}, but its anchor \(blob evidence-\d+\/digests\/0000000001.json\) records [0-9a-f]{64}: the digest chain was rewritten\.$/,
    );
  });

  test('a tail cut after the newest anchor is the one thing no scheme can see', async () => {
    const log = await anchoredLog();
    await log.store.append(decided('request/3', 3)); // after digest 2, the newest anchor
    await log.table.deleteEntity(streamKey('request/3'), eventRowKey(3));
    expect(await log.store.verify()).toMatchObject({ ok: true });
  });
});
