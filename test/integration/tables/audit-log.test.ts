import type { TableClient } from '@azure/data-tables';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { DomainError } from '../../../src/domain/domain-error';
import { approvalDecided, requestSubmitted, type AuditContext } from '../../../src/domain/audit/audit-events';
import { formatVerifyResult, type AuditEvent } from '../../../src/ports/audit-log.port';
import type { Clock } from '../../../src/ports/clock.port';
import { startTestStorage, type TestStorage } from '../../support/storage';

let storage: TestStorage;
let tables = 0;

beforeAll(async () => {
  storage = await startTestStorage('attest-audit-');
});
afterAll(async () => {
  await storage.stop();
});

/** A clock that ticks one second per reading, so event times differ and stay deterministic. */
function tickingClock(): Clock {
  let t = Date.parse('2026-03-01T09:00:00.000Z');
  return { now: () => new Date((t += 1000)) };
}

interface Log {
  store: AuditLogStore;
  table: TableClient;
  digests: TableClient;
}

/** A log on tables of its own, so each test's tampering is its own. */
async function newLog(options: { maxAttempts?: number; headCacheSize?: number } = {}): Promise<Log> {
  tables++;
  const table = storage.tables.client(`${TableNames.auditLog}${tables}`);
  const digests = storage.tables.client(`${TableNames.auditDigests}${tables}`);
  const touched = storage.tables.client(`${TableNames.auditTouched}${tables}`);
  const store = new AuditLogStore({ table, digests, touched, clock: tickingClock(), sha256, ...options });
  await store.init();
  return { store, table, digests };
}

const ctx = (stream: string): AuditContext => ({
  stream,
  actor: { objectId: 'u-ada', upn: 'ada@contoso.test', channel: 'teams' },
  subject: 'app:payroll/role:reader',
  correlation: { requestId: stream },
});
const policy = { id: 'payroll', version: '3', hash: 'ab'.repeat(32) };
const submitted = (stream: string) => requestSubmitted(ctx(stream), { justification: 'month-end', policy });
const decided = (stream: string, stage: number) =>
  approvalDecided(ctx(stream), { stage, approver: `m-${stage}`, channel: 'teams', decision: 'approved' });

async function appendN(store: AuditLogStore, stream: string, n: number): Promise<AuditEvent[]> {
  const events = [await store.append(submitted(stream))];
  for (let i = 2; i <= n; i++) events.push(await store.append(decided(stream, i)));
  return events;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function rowKeys(table: TableClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of table.listEntities()) if (e.rowKey?.startsWith(prefix)) keys.push(e.rowKey);
  return keys;
}

test('appended events chain, read back in seq order and verify ok', async () => {
  const { store } = await newLog();
  const odd = 'request/#42?\\x\u0001 ok%';
  const written = await appendN(store, odd, 4);
  await appendN(store, 'campaign/q1', 2);
  expect(written.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  expect(written[1].prevHash).toBe(written[0].hash);
  expect(await collect(store.read(odd))).toEqual(written);
  expect(await store.head(odd)).toEqual({ stream: odd, seq: 4, hash: written[3].hash });
  expect(await store.head('request/none')).toBeUndefined();
  expect((await collect(store.streams())).sort()).toEqual(['campaign/q1', odd].sort());
  const result = await store.verify();
  expect(result).toEqual({ ok: true, streams: 2, events: 6 });
  expect(formatVerifyResult(result)).toBe('verify: ok (2 streams, 6 events)');
});

test('concurrent appends to one stream all land with consecutive seqs and a valid chain', async () => {
  const { store, table, digests } = await newLog();
  // Two store instances as two Function hosts would be, each with its own head cache.
  const other = new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
  await store.append(submitted('request/race'));
  const racing = await Promise.all(
    Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).append(decided('request/race', i + 2))),
  );
  expect(racing.map((e) => e.seq).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
  const events = await collect(store.read('request/race'));
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  expect(await store.verify()).toEqual({ ok: true, streams: 1, events: 9 });
});

test('a writer that keeps losing the race gives up with AUDIT.CONTENDED and writes nothing', async () => {
  const { store } = await newLog({ maxAttempts: 1 });
  const results = await Promise.allSettled(
    Array.from({ length: 6 }, (_, i) => store.append(decided('request/busy', i + 1))),
  );
  const failed = results.filter((r) => r.status === 'rejected');
  expect(failed.length).toBeGreaterThan(0);
  for (const r of failed)
    expect(((r as PromiseRejectedResult).reason as DomainError).code).toBe('AUDIT.CONTENDED');
  const landed = results.length - failed.length;
  expect(await store.verify()).toEqual({ ok: true, streams: 1, events: landed });
});

test('outbox rows land in the same transaction as their event, and a failed append leaves none', async () => {
  const { store, table, digests } = await newLog();
  const event = await store.append(submitted('request/tickets'), {
    outbox: [
      { target: 'jira', payload: { summary: 'Access to payroll' } },
      { target: 'servicenow', payload: { short_description: 'Access to payroll' } },
    ],
  });
  const rows = await collect(table.listEntities<Record<string, unknown>>());
  const outbox = rows.filter((r) => (r.rowKey as string).startsWith('o-'));
  expect(outbox.map((r) => r.rowKey)).toEqual(['o-0000000001-01', 'o-0000000001-02']);
  expect(outbox[0]).toMatchObject({ target: 'jira', eventSeq: 1, eventHash: event.hash });
  expect(JSON.parse(outbox[1].payload as string)).toEqual({ short_description: 'Access to payroll' });

  // A second writer moves the head; this store (one attempt, stale cached head) then loses the seq.
  const other = new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
  await other.append(decided('request/tickets', 2));
  const stale = new AuditLogStore({ table, digests, clock: tickingClock(), sha256, maxAttempts: 1 });
  (stale as unknown as { heads: Map<string, unknown> }).heads.set('request/tickets', {
    stream: 'request/tickets',
    seq: 1,
    hash: event.hash,
  });
  await expect(
    stale.append(decided('request/tickets', 3), { outbox: [{ target: 'jira', payload: { n: 3 } }] }),
  ).rejects.toMatchObject({ code: 'AUDIT.CONTENDED' });
  expect(await rowKeys(table, 'o-0000000002')).toEqual([]);
  expect(await store.verify()).toMatchObject({ ok: true, events: 2 });
});

test('details too large for one property are refused with a clear error', async () => {
  const { store } = await newLog();
  const input = { ...submitted('request/big'), details: { blob: 'x'.repeat(40000) } };
  await expect(store.append(input)).rejects.toMatchObject({ code: 'AUDIT.TOO_LARGE' });
  await expect(store.append(input)).rejects.toThrow(/at most 32768/);
});

test('appendMany writes up to 99 events in one transaction (one row stays free for the head hint), chained', async () => {
  const { store } = await newLog();
  const inputs = Array.from({ length: 99 }, (_, i) =>
    i === 0 ? submitted('request/bulk') : decided('request/bulk', i),
  );
  const events = await store.appendMany('request/bulk', inputs);
  expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
  const more = await store.appendMany('request/bulk', [decided('request/bulk', 100)]);
  expect(more[0]).toMatchObject({ seq: 100, prevHash: events[98].hash });
  await expect(
    store.appendMany('request/bulk', [...inputs, decided('request/bulk', 1)]),
  ).rejects.toMatchObject({
    code: 'AUDIT.BATCH_TOO_LARGE',
  });
  await expect(store.appendMany('request/bulk', [submitted('request/elsewhere')])).rejects.toMatchObject({
    code: 'AUDIT.STREAM_MISMATCH',
  });
  expect(await store.verify()).toEqual({ ok: true, streams: 1, events: 100 });
});

test('digests are chained, cover every head, and verify against an anchor held outside storage', async () => {
  const { store } = await newLog();
  await appendN(store, 'request/a', 3);
  const d1 = await store.writeDigest();
  await appendN(store, 'request/b', 2);
  const d2 = await store.writeDigest();
  expect(d1).toMatchObject({ seq: 1, streams: 1, events: 3 });
  expect(d2).toMatchObject({ seq: 2, streams: 2, events: 5, prevDigestHash: d1.hash });
  expect(await store.verify({ anchor: { seq: 1, hash: d1.hash } })).toEqual({
    ok: true,
    streams: 2,
    events: 5,
  });
  expect(await store.verify({ anchor: { seq: 2, hash: 'f'.repeat(64) } })).toMatchObject({
    problem: 'digest-forged',
  });
});

test.each([
  ['before', 'the pointer is read'],
  ['after', 'the pointer is read'],
])(
  'a digest written while verify runs (the timer firing during `attest verify`), %s %s, is not reported as tampering',
  async (when) => {
    const { store } = await newLog();
    await appendN(store, 'request/a', 3);
    await store.writeDigest();
    await appendN(store, 'request/b', 2);
    // The digest timer fires at the moment verify reads the latest-digest pointer for the first time.
    const internals = store as unknown as { readLatestDigest: () => Promise<unknown> };
    const read = internals.readLatestDigest.bind(store);
    let fired = false;
    internals.readLatestDigest = async () => {
      internals.readLatestDigest = read;
      fired = true;
      if (when === 'before') await store.writeDigest();
      const pointer = await read();
      if (when === 'after') await store.writeDigest();
      return pointer;
    };
    expect(await store.verify()).toEqual({ ok: true, streams: 2, events: 5 });
    expect(fired).toBe(true);
  },
);

test('a digest over many streams spreads its heads over several rows and still verifies', async () => {
  const { store, digests } = await newLog();
  const stream = (i: number) => `request/${'long-id-'.repeat(8)}${i}`;
  await Promise.all(Array.from({ length: 400 }, (_, i) => store.append(submitted(stream(i)))));
  const digest = await store.writeDigest();
  expect(digest.streams).toBe(400);
  expect((await rowKeys(digests, 'h-0000000001-')).length).toBeGreaterThan(1);
  expect(await store.verify()).toEqual({ ok: true, streams: 400, events: 400 });
});

describe('tampering is caught by verify and named', () => {
  test('an edited field is named edited', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 5);
    await table.updateEntity(
      { partitionKey: 'request%2F1', rowKey: 'e-0000000003', details: '{"decision":"denied"}' },
      'Merge',
    );
    const result = await store.verify();
    expect(result).toMatchObject({ ok: false, stream: 'request/1', seq: 3, problem: 'edited' });
    expect(formatVerifyResult(result)).toMatch(/^verify: FAILED stream=request\/1 seq=3 edited: /);
  });

  test('a deleted row in the middle is named missing', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 5);
    await table.deleteEntity('request%2F1', 'e-0000000003');
    expect(await store.verify()).toMatchObject({ stream: 'request/1', seq: 3, problem: 'missing' });
  });

  test('two rows whose contents were swapped are named reordered', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 5);
    const a = await table.getEntity<Record<string, unknown>>('request%2F1', 'e-0000000002');
    const b = await table.getEntity<Record<string, unknown>>('request%2F1', 'e-0000000004');
    const contents = (row: Record<string, unknown>) => {
      const { partitionKey: _p, rowKey: _r, etag: _e, timestamp: _t, ...rest } = row;
      return rest;
    };
    await table.updateEntity(
      { partitionKey: 'request%2F1', rowKey: 'e-0000000002', ...contents(b) },
      'Replace',
    );
    await table.updateEntity(
      { partitionKey: 'request%2F1', rowKey: 'e-0000000004', ...contents(a) },
      'Replace',
    );
    expect(await store.verify()).toMatchObject({ stream: 'request/1', seq: 2, problem: 'reordered' });
  });

  test('a tail cut off after a digest recorded the head is named truncated', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 5);
    await store.writeDigest();
    await table.deleteEntity('request%2F1', 'e-0000000005');
    await table.deleteEntity('request%2F1', 'e-0000000004');
    const result = await store.verify();
    expect(result).toMatchObject({ stream: 'request/1', seq: 4, problem: 'truncated' });
    expect(formatVerifyResult(result)).toMatch(/^verify: FAILED stream=request\/1 seq=4 truncated: /);
  });

  test('a tail cut off behind its head hint is named truncated even before a digest', async () => {
    const { store, table } = await newLog();
    await store.appendMany(
      'request/1',
      Array.from({ length: 99 }, (_, i) => decided('request/1', i + 1)),
    );
    await store.append(decided('request/1', 100)); // seq 100 rewrites the hint
    await table.deleteEntity('request%2F1', 'e-0000000100');
    expect(await store.verify()).toMatchObject({ stream: 'request/1', seq: 100, problem: 'truncated' });
  });

  test('a tail cut off between digests with its hint rewound leaves a sound chain: only a digest can tell', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 3);
    await store.writeDigest();
    await store.append(decided('request/1', 4));
    await store.append(decided('request/1', 5));
    await table.deleteEntity('request%2F1', 'e-0000000005');
    await table.deleteEntity('request%2F1', 'e-0000000004');
    // The honest limit (docs/adr/0003-audit-encoding.md): the digest recorded 3 events, 3 remain.
    expect(await store.verify()).toEqual({ ok: true, streams: 1, events: 3 });
  });

  test('a whole stream deleted after a digest is named deleted', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 3);
    await appendN(store, 'request/2', 2);
    await store.writeDigest();
    for await (const row of table.listEntities({
      queryOptions: { filter: "PartitionKey eq 'request%2F2'" },
    })) {
      await table.deleteEntity(row.partitionKey as string, row.rowKey as string);
    }
    expect(await store.verify()).toMatchObject({ stream: 'request/2', problem: 'deleted' });
  });

  test('a digest whose root was edited is named digest-forged', async () => {
    const { store, digests } = await newLog();
    await appendN(store, 'request/1', 3);
    await store.writeDigest();
    await digests.updateEntity(
      { partitionKey: 'digest', rowKey: '0000000001', root: '00'.repeat(32) },
      'Merge',
    );
    const result = await store.verify();
    expect(result).toMatchObject({ stream: '(digests)', seq: 1, problem: 'digest-forged' });
    expect(formatVerifyResult(result)).toMatch(/^verify: FAILED stream=\(digests\) seq=1 digest-forged: /);
  });

  test('a digest re-chained to the wrong predecessor is named digest-forged', async () => {
    const { store, digests } = await newLog();
    await appendN(store, 'request/1', 2);
    await store.writeDigest();
    await store.append(decided('request/1', 3));
    await store.writeDigest();
    await digests.updateEntity(
      { partitionKey: 'digest', rowKey: '0000000002', prevDigestHash: '0'.repeat(64) },
      'Merge',
    );
    expect(await store.verify()).toMatchObject({ seq: 2, problem: 'digest-forged' });
  });

  test('a rewritten last event is named edited when its head hint still records the original', async () => {
    const { store, table } = await newLog();
    const events = await store.appendMany(
      'request/1',
      Array.from({ length: 99 }, (_, i) => decided('request/1', i + 1)),
    );
    const last = await store.append(decided('request/1', 100));
    // Re-chained consistently: a valid hash over the new fields, linked to event 99.
    const { chainEvent } = await import('../../../src/domain/audit/hash-chain.math');
    const { eventEntity } = await import('../../../src/adapters/tables/audit-entity.mapper');
    const forged = chainEvent(
      events[98],
      { ...decided('request/1', 7), subject: 'app:other' },
      last.time,
      sha256,
    );
    await table.updateEntity(eventEntity('request%2F1', forged), 'Replace');
    expect(await store.verify()).toMatchObject({ stream: 'request/1', seq: 100, problem: 'edited' });
  });
});

describe('the head hint is only a hint', () => {
  test('a stream without a head hint verifies, and its head is still its last event', async () => {
    const { store, table, digests } = await newLog();
    await store.appendMany(
      'request/1',
      Array.from({ length: 99 }, (_, i) => decided('request/1', i + 1)),
    );
    const hundredth = await store.append(decided('request/1', 100));
    await table.deleteEntity('request%2F1', 'head');
    expect(await store.verify()).toEqual({ ok: true, streams: 1, events: 100 });
    const fresh = new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
    expect(await fresh.head('request/1')).toEqual({ stream: 'request/1', seq: 100, hash: hundredth.hash });
    expect(await fresh.append(decided('request/1', 101))).toMatchObject({
      seq: 101,
      prevHash: hundredth.hash,
    });
  });

  test('a long stream is read forward from its hint, and a lagging, missing or lying hint costs only reading', async () => {
    const { store, table, digests } = await newLog();
    let last: AuditEvent | undefined;
    for (let i = 0; i < 11; i++) {
      const batch = await store.appendMany(
        'request/long',
        Array.from({ length: 99 }, (_, j) => decided('request/long', i * 99 + j)),
      );
      last = batch[batch.length - 1];
    }
    const expected = { stream: 'request/long', seq: 1089, hash: last?.hash };
    const reader = () => new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
    const hint = await table.getEntity<Record<string, unknown>>('request%2Flong', 'head');
    expect(hint.seq).toBe(1089);
    expect(await reader().head('request/long')).toEqual(expected);

    await table.updateEntity({ partitionKey: 'request%2Flong', rowKey: 'head', seq: 200 }, 'Merge');
    expect(await reader().head('request/long')).toEqual(expected);

    await table.updateEntity({ partitionKey: 'request%2Flong', rowKey: 'head', seq: 99999 }, 'Merge');
    expect(await reader().head('request/long')).toEqual(expected);

    await table.deleteEntity('request%2Flong', 'head');
    expect(await reader().head('request/long')).toEqual(expected);
    // The reader that had to read the whole stream left a fresh hint behind.
    expect((await table.getEntity<Record<string, unknown>>('request%2Flong', 'head')).seq).toBe(1089);
    expect(await reader().append(decided('request/long', 1090))).toMatchObject({ seq: 1090 });
  });

  test('the hint is rewritten in the transaction of every hundredth event, not on other appends', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 99);
    await expect(table.getEntity('request%2F1', 'head')).rejects.toMatchObject({ statusCode: 404 });
    const hundredth = await store.append(decided('request/1', 100));
    expect(await table.getEntity<Record<string, unknown>>('request%2F1', 'head')).toMatchObject({
      stream: 'request/1',
      seq: 100,
      hash: hundredth.hash,
    });
  });
});

describe('the single-insert append', () => {
  test('an append to a stream this writer knows is one createEntity: no read, no transaction', async () => {
    const { store, table } = await newLog();
    await store.append(submitted('request/1'));
    const calls = {
      create: jest.spyOn(table, 'createEntity'),
      transaction: jest.spyOn(table, 'submitTransaction'),
      list: jest.spyOn(table, 'listEntities'),
      get: jest.spyOn(table, 'getEntity'),
    };
    await store.append(decided('request/1', 2));
    await store.append(decided('request/1', 3));
    expect(calls.create).toHaveBeenCalledTimes(2);
    expect(calls.transaction).not.toHaveBeenCalled();
    expect(calls.list).not.toHaveBeenCalled();
    expect(calls.get).not.toHaveBeenCalled();
    Object.values(calls).forEach((spy) => spy.mockRestore());
  });

  test('a writer new to a stream guesses it is new: one insert for a new stream, 409 + one query + insert otherwise', async () => {
    const { store, table, digests } = await newLog();
    await appendN(store, 'request/1', 3);
    const other = new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
    const list = jest.spyOn(table, 'listEntities');
    const create = jest.spyOn(table, 'createEntity');
    expect(await other.append(submitted('request/new'))).toMatchObject({ seq: 1 });
    expect([list.mock.calls.length, create.mock.calls.length]).toEqual([0, 1]);
    expect(await other.append(decided('request/1', 4))).toMatchObject({ seq: 4 });
    expect([list.mock.calls.length, create.mock.calls.length]).toEqual([1, 3]);
    list.mockRestore();
    create.mockRestore();
  });

  test('writers with stale caches lose the taken seq with 409, re-read the true head and chain after it', async () => {
    const { table, digests } = await newLog();
    const hosts = Array.from(
      { length: 4 },
      () => new AuditLogStore({ table, digests, clock: tickingClock(), sha256, maxAttempts: 50 }),
    );
    await hosts[0].append(submitted('request/race'));
    // Every host appends in turn and concurrently, so each one's cached head keeps going stale.
    for (let round = 0; round < 5; round++) {
      await Promise.all(hosts.map((h, i) => h.append(decided('request/race', round * 4 + i + 2))));
    }
    const events = await collect(hosts[1].read('request/race'));
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    for (let i = 1; i < events.length; i++) expect(events[i].prevHash).toBe(events[i - 1].hash);
    expect(await hosts[2].verify()).toEqual({ ok: true, streams: 1, events: 21 });
  });
});

describe('scanAll and the one-pass verify', () => {
  test('scanAll yields every event once, stream by stream in seq order, and skips outbox rows and hints', async () => {
    const { store } = await newLog();
    await store.append(submitted('request/b'), { outbox: [{ target: 'jira', payload: { n: 1 } }] });
    await store.append(decided('request/b', 2));
    await store.appendMany(
      'request/a',
      Array.from({ length: 99 }, (_, i) => decided('request/a', i + 1)),
    );
    await store.append(decided('request/a', 100)); // and a head hint row
    await store.append(submitted('campaign/q1'));
    const events = await collect(store.scanAll());
    expect(events).toHaveLength(103);
    const streams = events.map((e) => e.stream).filter((s, i, all) => s !== all[i - 1]);
    expect(streams).toEqual(['campaign/q1', 'request/a', 'request/b']);
    for (const stream of streams) {
      const seqs = events.filter((e) => e.stream === stream).map((e) => e.seq);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    expect(events.filter((e) => e.stream === 'request/b')).toEqual(await collect(store.read('request/b')));
  });

  test('verify reads the whole log with one query, however many streams it holds', async () => {
    const { store, table } = await newLog();
    await Promise.all(Array.from({ length: 30 }, (_, i) => appendN(store, `request/${i}`, 3)));
    await store.writeDigest();
    const list = jest.spyOn(table, 'listEntities');
    expect(await store.verify()).toEqual({ ok: true, streams: 30, events: 90 });
    expect(list).toHaveBeenCalledTimes(1);
    list.mockRestore();
  });

  test('the one pass names the tampered stream among many, and a deleted stream between others', async () => {
    const { store, table } = await newLog();
    await Promise.all(Array.from({ length: 12 }, (_, i) => appendN(store, `request/${i}`, 4)));
    await store.writeDigest();
    await table.updateEntity(
      { partitionKey: 'request%2F7', rowKey: 'e-0000000002', subject: 'app:other' },
      'Merge',
    );
    expect(await store.verify()).toMatchObject({ stream: 'request/7', seq: 2, problem: 'edited' });
    await table.updateEntity(
      { partitionKey: 'request%2F7', rowKey: 'e-0000000002', subject: 'app:payroll/role:reader' },
      'Merge',
    );
    expect(await store.verify()).toMatchObject({ ok: true, streams: 12, events: 48 });
    for (let seq = 1; seq <= 4; seq++) await table.deleteEntity('request%2F5', `e-000000000${seq}`);
    expect(await store.verify()).toMatchObject({ stream: 'request/5', problem: 'deleted' });
  });
});
