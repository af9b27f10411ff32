import { TableMembershipLedger } from '../../../src/adapters/tables/membership-ledger.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { DomainError } from '../../../src/domain/domain-error';
import {
  claimGrant,
  emptyEntry,
  endGrant,
  recordAdd,
  type MembershipEntry,
} from '../../../src/domain/ledger/membership-ledger';
import { startTestStorage, type TestStorage } from '../../support/storage';

let storage: TestStorage;
let n = 0;

beforeAll(async () => {
  storage = await startTestStorage('attest-ledger-');
});
afterAll(async () => {
  await storage.stop();
});

/** A ledger on tables of its own, so tests do not see each other's rows. */
async function newLedger(): Promise<TableMembershipLedger> {
  n++;
  const ledger = new TableMembershipLedger({
    ledger: storage.tables.client(`${TableNames.membershipLedger}${n}`),
    state: storage.tables.client(`${TableNames.reconcileState}${n}`),
    findings: storage.tables.client(`${TableNames.driftFindings}${n}`),
  });
  await ledger.init();
  return ledger;
}

const at = '2026-03-01T09:00:00.000Z';

function granted(groupId: string, userId: string, requestId: string): MembershipEntry {
  const claimed = claimGrant(emptyEntry(groupId, userId), {
    requestId,
    expiresAt: '2026-03-02T09:00:00.000Z',
    at,
  });
  return recordAdd(claimed, requestId, 'added', at);
}

describe('TableMembershipLedger', () => {
  test('an entry Attest never touched reads as empty, without a version', async () => {
    const ledger = await newLedger();
    const { entry, etag } = await ledger.get('g-1', 'u-1');
    expect(etag).toBeUndefined();
    expect(entry).toEqual(emptyEntry('g-1', 'u-1'));
  });

  test('a row round-trips every field of the entry', async () => {
    const ledger = await newLedger();
    const entry: MembershipEntry = {
      ...endGrant(granted('g-1', 'u-1', 'r-1'), 'r-1', '2026-03-02T09:00:00.000Z').entry,
      claims: [{ kind: 'outside', source: 'baseline', since: at }],
      seenAt: at,
      goneAt: '2026-03-03T09:00:00.000Z',
    };
    expect(await ledger.put(entry, undefined)).toBe(true);
    const read = await ledger.get('g-1', 'u-1');
    expect(read.entry).toEqual(entry);
    expect(read.etag).toEqual(expect.any(String));
  });

  test('a second insert of the same (group, user) writes nothing and says so', async () => {
    const ledger = await newLedger();
    expect(await ledger.put(granted('g-1', 'u-1', 'r-1'), undefined)).toBe(true);
    expect(await ledger.put(granted('g-1', 'u-1', 'r-2'), undefined)).toBe(false);
    expect((await ledger.get('g-1', 'u-1')).entry.claims).toEqual([
      expect.objectContaining({ requestId: 'r-1' }),
    ]);
  });

  test('a write against a stale version writes nothing and says so; the fresh version wins', async () => {
    const ledger = await newLedger();
    await ledger.put(granted('g-1', 'u-1', 'r-1'), undefined);
    const a = await ledger.get('g-1', 'u-1');
    const b = await ledger.get('g-1', 'u-1');
    const withR2 = claimGrant(a.entry, { requestId: 'r-2', at });
    expect(await ledger.put(withR2, a.etag)).toBe(true);
    const ended = endGrant(b.entry, 'r-1', at).entry;
    expect(await ledger.put(ended, b.etag)).toBe(false);
    const now = await ledger.get('g-1', 'u-1');
    expect(now.entry.claims.map((c) => (c.kind === 'grant' ? c.requestId : c.kind))).toEqual(['r-1', 'r-2']);
    expect(await ledger.put(endGrant(now.entry, 'r-1', at).entry, now.etag)).toBe(true);
  });

  test('ids compare case-insensitively and odd characters are escaped', async () => {
    const ledger = await newLedger();
    await ledger.put(granted('G-ABC', "o'brien/#?", 'r-1'), undefined);
    expect((await ledger.get('g-abc', "O'BRIEN/#?")).etag).toBeDefined();
    expect(await ledger.byUser("o'brien/#?")).toHaveLength(1);
  });

  test('an entry with thousands of claims is split over several properties and read back whole', async () => {
    const ledger = await newLedger();
    let entry = emptyEntry('g-big', 'u-1');
    for (let i = 0; i < 1500; i++) entry = claimGrant(entry, { requestId: `request-${i}`, at });
    expect(JSON.stringify(entry).length).toBeGreaterThan(60000);
    expect(await ledger.put(entry, undefined)).toBe(true);
    expect((await ledger.get('g-big', 'u-1')).entry).toEqual(entry);
  });

  test('an entry too large for one row is refused with a code, not truncated', async () => {
    const ledger = await newLedger();
    let entry = emptyEntry('g-huge', 'u-1');
    for (let i = 0; i < 6000; i++) entry = claimGrant(entry, { requestId: `request-${i}`, at });
    await expect(ledger.put(entry, undefined)).rejects.toEqual(
      expect.objectContaining<Partial<DomainError>>({ code: 'LEDGER.TOO_LARGE' }),
    );
  });

  test('byGroup, byUser and owedRemovals (oldest first) answer from the rows', async () => {
    const ledger = await newLedger();
    await ledger.put(granted('g-1', 'u-1', 'r-1'), undefined);
    await ledger.put(granted('g-1', 'u-2', 'r-2'), undefined);
    await ledger.put(granted('g-2', 'u-1', 'r-3'), undefined);
    const late = endGrant(granted('g-3', 'u-3', 'r-4'), 'r-4', '2026-03-05T00:00:00.000Z').entry;
    const early = endGrant(granted('g-4', 'u-3', 'r-5'), 'r-5', '2026-03-04T00:00:00.000Z').entry;
    await ledger.put(late, undefined);
    await ledger.put(early, undefined);
    expect((await ledger.byGroup('g-1')).map((e) => e.userId).sort()).toEqual(['u-1', 'u-2']);
    expect((await ledger.byUser('u-1')).map((e) => e.groupId).sort()).toEqual(['g-1', 'g-2']);
    expect((await ledger.owedRemovals()).map((e) => e.groupId)).toEqual(['g-4', 'g-3']);
    // Once the removal is done the row leaves the owed query.
    const { entry, etag } = await ledger.get('g-4', 'u-3');
    await ledger.put({ ...entry, owed: [] }, etag);
    expect((await ledger.owedRemovals()).map((e) => e.groupId)).toEqual(['g-3']);
  });

  test('insertMany writes new rows in batches and hands back the ones already stored', async () => {
    const ledger = await newLedger();
    await ledger.put(granted('g-1', 'u-7', 'r-1'), undefined);
    const entries = Array.from({ length: 250 }, (_, i) => emptyEntry('g-1', `u-${i}`));
    const taken = await ledger.insertMany(entries);
    expect(taken.map((e) => e.userId)).toEqual(['u-7']);
    expect(await ledger.byGroup('g-1')).toHaveLength(250);
    expect((await ledger.get('g-1', 'u-7')).entry.claims).toHaveLength(1);
  });

  test('reconcile state: baseline kept once, delta links saved and cleared, findings once a day', async () => {
    const store = await newLedger();
    expect(await store.groupState('g-1')).toBeUndefined();
    await store.markBaselined('g-1', at);
    await store.markBaselined('g-1', '2026-03-09T00:00:00.000Z');
    expect(await store.groupState('g-1')).toEqual({ baselinedAt: at });

    expect(await store.deltaLink('batch-a')).toBeUndefined();
    await store.saveDeltaLink('batch-a', 'https://graph/delta?$deltatoken=1');
    await store.saveDeltaLink('batch-a', 'https://graph/delta?$deltatoken=2');
    expect(await store.deltaLink('batch-a')).toBe('https://graph/delta?$deltatoken=2');
    await store.saveDeltaLink('batch-a', undefined);
    expect(await store.deltaLink('batch-a')).toBeUndefined();

    const drift = { groupId: 'g-1', userId: 'u-1', kind: 'added-outside' as const, foundAt: at };
    await store.addFinding(drift);
    await store.addFinding({ ...drift, foundAt: '2026-03-01T09:15:00.000Z' });
    await store.addFinding({ ...drift, foundAt: '2026-03-02T09:15:00.000Z' });
    await store.addFinding({
      groupId: 'g-2',
      userId: 'u-1',
      kind: 'removed-outside',
      foundAt: at,
      requestIds: ['r-9'],
    });
    expect(await store.findings({ groupId: 'g-1' })).toHaveLength(2);
    expect(await store.findings({ userId: 'u-1' })).toHaveLength(3);
    expect(await store.findings({ groupId: 'g-2', userId: 'u-1' })).toEqual([
      expect.objectContaining({ kind: 'removed-outside', requestIds: ['r-9'] }),
    ]);
  });
});
