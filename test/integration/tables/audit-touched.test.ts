import type { TableClient } from '@azure/data-tables';
import { sha256 } from '../../../src/adapters/crypto/sha256';
import { AuditLogStore } from '../../../src/adapters/tables/audit-log.store';
import { bucketOf, streamKey } from '../../../src/adapters/tables/audit-row-keys';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { approvalDecided, requestSubmitted, type AuditContext } from '../../../src/domain/audit/audit-events';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';

let storage: TestStorage;
let n = 0;

beforeAll(async () => {
  storage = await startTestStorage('attest-touched-');
});
afterAll(async () => {
  await storage.stop();
});

interface Log {
  store: AuditLogStore;
  table: TableClient;
  digests: TableClient;
  touched: TableClient;
  clock: TestClock;
}

async function newLog(start = '2026-11-29T15:46:10Z'): Promise<Log> {
  n++;
  const table = storage.tables.client(`${TableNames.auditLog}T${n}`);
  const digests = storage.tables.client(`${TableNames.auditDigests}T${n}`);
  const touched = storage.tables.client(`${TableNames.auditTouched}T${n}`);
  const clock = new TestClock(new Date(start));
  const store = new AuditLogStore({ table, digests, touched, clock, sha256 });
  await store.init();
  return { store, table, digests, touched, clock };
}

const ctx = (stream: string): AuditContext => ({
  stream,
  actor: { objectId: 'u-ada', upn: 'ada@contoso.test', channel: 'teams' },
  subject: 'app:payroll/role:reader',
  correlation: { requestId: stream },
});
const submitted = (stream: string) =>
  requestSubmitted(ctx(stream), {
    justification: 'month-end',
    policy: { id: 'payroll', version: '3', hash: 'ab'.repeat(32) },
  });
const decided = (stream: string, stage: number) =>
  approvalDecided(ctx(stream), { stage, approver: `m-${stage}`, channel: 'teams', decision: 'approved' });

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const MIN = 60_000;

test('buckets are five minutes long and named by their start in UTC', () => {
  expect(bucketOf(Date.parse('2026-11-29T15:49:59.999Z'))).toBe('t-2026-11-29T15:45Z');
  expect(bucketOf(Date.parse('2026-11-29T15:50:00.000Z'))).toBe('t-2026-11-29T15:50Z');
  expect(bucketOf(Date.parse('2026-11-29T23:59:00Z'))).toBe('t-2026-11-29T23:55Z');
});

test('an append marks its stream in the bucket of its time, once per bucket however many appends', async () => {
  const { store, touched, clock } = await newLog();
  const upserts = jest.spyOn(touched, 'upsertEntity');
  const odd = 'request/#7?x';
  await store.append(submitted(odd));
  await store.append(decided(odd, 2));
  await store.appendMany(odd, [decided(odd, 3), decided(odd, 4)]);
  expect(upserts).toHaveBeenCalledTimes(1);
  clock.advance(5 * MIN);
  await store.append(decided(odd, 5));
  expect(upserts).toHaveBeenCalledTimes(2);

  const rows = await collect(touched.listEntities());
  expect(rows.map((r) => [r.partitionKey, r.rowKey])).toEqual([
    ['t-2026-11-29T15:45Z', streamKey(odd)],
    ['t-2026-11-29T15:50Z', streamKey(odd)],
  ]);
});

test('touchedSince names each stream appended since, once, with one bucket of slack before', async () => {
  const { store, clock } = await newLog('2026-11-29T15:31:00Z');
  await store.append(submitted('request/old')); // bucket 15:30
  clock.advance(10 * MIN); // 15:41, bucket 15:40
  await store.append(submitted('request/slack'));
  clock.advance(6 * MIN); // 15:47, bucket 15:45
  await store.append(submitted('request/a'));
  await store.append(submitted('request/b'));
  clock.advance(5 * MIN); // 15:52, bucket 15:50
  await store.append(decided('request/a', 2));

  // Since 15:46: buckets 15:40 (slack) … 15:50 (now).
  expect((await collect(store.touchedSince('2026-11-29T15:46:00Z'))).sort()).toEqual([
    'request/a',
    'request/b',
    'request/slack',
  ]);
  expect(await collect(store.touchedSince('2026-11-29T15:55:00Z'))).toEqual(['request/a']);
  expect(await collect(store.touchedSince('2026-11-29T16:10:00Z'))).toEqual([]);
  await expect(collect(store.touchedSince('yesterday'))).rejects.toMatchObject({
    code: 'AUDIT.INVALID_EVENT',
  });
});

test('a marker that cannot be written fails the append, and no event lands', async () => {
  const { table, digests, clock } = await newLog();
  // A touched table that was never created: the marker's upsert answers 404.
  const missing = storage.tables.client('AuditTouchedMissing');
  const store = new AuditLogStore({ table, digests, touched: missing, clock, sha256 });
  await expect(store.append(submitted('request/unmarked'))).rejects.toMatchObject({ statusCode: 404 });
  expect(await store.head('request/unmarked')).toBeUndefined();
});

test('an append that fails after its marker leaves only the marker: a harmless false positive', async () => {
  const { store, table, digests, touched } = await newLog('2026-11-29T15:46:10Z');
  const first = await store.append(submitted('request/lost'));
  await store.append(decided('request/lost', 2));
  // Another host, ten minutes on, with a stale cached head and one attempt: its marker lands, its event does not.
  const late = new AuditLogStore({
    table,
    digests,
    touched,
    clock: new TestClock(new Date('2026-11-29T15:56:10Z')),
    sha256,
    maxAttempts: 1,
  });
  (late as unknown as { heads: Map<string, unknown> }).heads.set('request/lost', {
    stream: 'request/lost',
    seq: 1,
    hash: first.hash,
  });
  await expect(late.append(decided('request/lost', 3))).rejects.toMatchObject({ code: 'AUDIT.CONTENDED' });
  expect((await store.head('request/lost'))?.seq).toBe(2);
  expect(await collect(store.touchedSince('2026-11-29T15:56:00Z'))).toEqual(['request/lost']);
  expect(await store.verify()).toMatchObject({ ok: true, streams: 1, events: 2 });
});

test('outbox lists a stream’s rows in order after a cursor, payloads parsed', async () => {
  const { store } = await newLog();
  const s = 'request/42';
  const e1 = await store.append(submitted(s), {
    outbox: [
      { target: 'jira', payload: { summary: 'Access to payroll' } },
      { target: 'servicenow', payload: { short_description: 'Access to payroll' } },
    ],
  });
  await store.append(decided(s, 2));
  const e3 = await store.append(decided(s, 3), { outbox: [{ target: 'jira', payload: { n: 3 } }] });

  const all = await collect(store.outbox(s));
  expect(all).toEqual([
    {
      stream: s,
      rowKey: 'o-0000000001-01',
      eventSeq: 1,
      eventHash: e1.hash,
      target: 'jira',
      payload: { summary: 'Access to payroll' },
      createdAt: e1.time,
    },
    {
      stream: s,
      rowKey: 'o-0000000001-02',
      eventSeq: 1,
      eventHash: e1.hash,
      target: 'servicenow',
      payload: { short_description: 'Access to payroll' },
      createdAt: e1.time,
    },
    {
      stream: s,
      rowKey: 'o-0000000003-01',
      eventSeq: 3,
      eventHash: e3.hash,
      target: 'jira',
      payload: { n: 3 },
      createdAt: e3.time,
    },
  ]);
  expect((await collect(store.outbox(s, 'o-0000000001-02'))).map((r) => r.rowKey)).toEqual([
    'o-0000000003-01',
  ]);
  expect(await collect(store.outbox(s, 'o-0000000003-01'))).toEqual([]);
  expect(await collect(store.outbox('request/none'))).toEqual([]);
});

test('an outbox row that was tampered into something unreadable is named, not skipped', async () => {
  const { store, table } = await newLog();
  const s = 'request/bad';
  await store.append(submitted(s), { outbox: [{ target: 'jira', payload: { a: 1 } }] });
  await table.updateEntity(
    { partitionKey: streamKey(s), rowKey: 'o-0000000001-01', payload: '{not json' },
    'Merge',
  );
  await expect(collect(store.outbox(s))).rejects.toThrow(/o-0000000001-01 has a payload that is not JSON/);
});
