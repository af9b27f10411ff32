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
  const store = new AuditLogStore({ table, digests, clock: tickingClock(), sha256, ...options });
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

  // A second writer moves the head; this store (one attempt, stale cached head) then fails its transaction.
  const other = new AuditLogStore({ table, digests, clock: tickingClock(), sha256 });
  await other.append(decided('request/tickets', 2));
  const stale = new AuditLogStore({ table, digests, clock: tickingClock(), sha256, maxAttempts: 1 });
  await stale.append(decided('request/other', 1)); // warms nothing for request/tickets
  (stale as unknown as { heads: Map<string, unknown> }).heads.set('request/tickets', {
    stream: 'request/tickets',
    seq: 1,
    hash: event.hash,
    etag: 'W/"datetime\'2020-01-01T00%3A00%3A00.0000000Z\'"',
  });
  await expect(
    stale.append(decided('request/tickets', 3), { outbox: [{ target: 'jira', payload: { n: 3 } }] }),
  ).rejects.toMatchObject({ code: 'AUDIT.CONTENDED' });
  expect(await rowKeys(table, 'o-0000000002')).toEqual([]);
  expect(await store.verify()).toMatchObject({ ok: true, events: 3 });
});

test('details too large for one property are refused with a clear error', async () => {
  const { store } = await newLog();
  const input = { ...submitted('request/big'), details: { blob: 'x'.repeat(40000) } };
  await expect(store.append(input)).rejects.toMatchObject({ code: 'AUDIT.TOO_LARGE' });
  await expect(store.append(input)).rejects.toThrow(/at most 32768/);
});

test('appendMany writes up to 99 events and the head row in one transaction, chained', async () => {
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
    // A careful attacker also rewinds the head row; the digest still remembers seq 5.
    const head = await table.getEntity<Record<string, unknown>>('request%2F1', 'head');
    const three = await table.getEntity<Record<string, unknown>>('request%2F1', 'e-0000000003');
    await table.updateEntity(
      { partitionKey: 'request%2F1', rowKey: 'head', stream: head.stream, seq: 3, hash: three.hash },
      'Replace',
    );
    const result = await store.verify();
    expect(result).toMatchObject({ stream: 'request/1', seq: 4, problem: 'truncated' });
    expect(formatVerifyResult(result)).toMatch(/^verify: FAILED stream=request\/1 seq=4 truncated: /);
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

  test('a deleted head row is noticed although the events themselves are intact', async () => {
    const { store, table } = await newLog();
    await appendN(store, 'request/1', 2);
    await table.deleteEntity('request%2F1', 'head');
    expect(await store.verify()).toMatchObject({ stream: 'request/1', problem: 'edited' });
  });
});
