/**
 * The request projection in Table Storage (Azurite): documents of any size a request can reach, and rows
 * written by earlier versions read as they were.
 */
import type { TableClient } from '@azure/data-tables';
import { TableRequestStore } from '../../../src/adapters/tables/request.store';
import type { AccessRequest, Person } from '../../../src/domain/request/access-request';
import { startTestStorage, type TestStorage } from '../../support/storage';

let storage: TestStorage;
let n = 0;
beforeAll(async () => {
  storage = await startTestStorage('attest-requests-');
});
afterAll(async () => {
  await storage?.stop();
});

/** A store on a table of its own. */
async function freshStore(): Promise<{ store: TableRequestStore; table: TableClient }> {
  const table = storage.tables.client(`Requests${++n}`);
  const store = new TableRequestStore(table);
  await store.init();
  return { store, table };
}

const REQUESTER = { id: 'aaaaaaaa-0000-4000-8000-000000000001', upn: 'alex.chen@contoso.example' };
const hex = (i: number) => i.toString(16).padStart(12, '0');

/** A person as a resolved stage records them; non-ASCII names, some outside the BMP, as directories have. */
const approver = (i: number): Person => ({
  id: `cccccccc-0000-4000-8000-${hex(i)}`,
  upn: `approver.number.${i}@subsidiary.contoso.example`,
  displayName: i % 3 === 0 ? `Zoë Ångström-Łukasiewicz ${i} 🙂` : `Approver Number ${i} of the Group`,
});

function request(id: string, approvers: number): AccessRequest {
  return {
    id,
    requester: REQUESTER,
    appId: 'netsuite',
    roleId: 'controller',
    groupId: 'bbbbbbbb-0000-4000-8000-000000000001',
    policy: { id: 'contoso-demo', version: '1', hash: 'ab'.repeat(32) },
    durationMs: 4 * 3600_000,
    justification: 'Quarter-end close',
    submittedAt: '2026-11-22T10:00:00.000Z',
    status: 'PendingApproval',
    stages: [
      {
        number: 1,
        quorum: 2,
        approvers: Array.from({ length: approvers }, (_, i) => approver(i)),
        escalated: false,
        decisions: [],
        outcome: 'pending',
      },
    ],
    currentStage: 0,
  };
}

test('a request with 300 approvers is stored and read back whole, by id, by requester and by approver', async () => {
  const { store } = await freshStore();
  const big = request('11111111-0000-4000-8000-000000000001', 300);
  expect(JSON.stringify(big).length).toBeGreaterThan(40_000);
  await store.save(big);
  expect(await store.get(big.id)).toEqual(big);
  expect(await store.byRequester(REQUESTER.id)).toEqual([big]);
  expect(await store.awaitingDecisionBy(approver(299).id)).toEqual([big]);
  // Saved again smaller (as a stage moves on), nothing of the larger document is left in it.
  const small = {
    ...big,
    status: 'Denied' as const,
    stages: [{ ...big.stages[0]!, approvers: [approver(1)] }],
  };
  await store.save(small);
  expect(await store.get(big.id)).toEqual(small);
  expect(await store.awaitingDecisionBy(approver(299).id)).toEqual([]);
});

test('a part never ends between the two halves of a character outside the BMP', async () => {
  const { store, table } = await freshStore();
  const r = request('11111111-0000-4000-8000-000000000004', 300);
  // Put an emoji's high surrogate exactly on the last character of the first part (index 29,999).
  const at = JSON.stringify({ ...r, justification: '\u0000' }).indexOf('\\u0000');
  const straddling = { ...r, justification: `${'x'.repeat(29_999 - at)}🙂🙂 Quarter-end close` };
  expect(JSON.stringify(straddling).charCodeAt(29_999)).toBe(0xd83d);
  await store.save(straddling);
  const row = await table.getEntity<{ doc: string }>('by-id', r.id);
  expect(row.doc.length).toBe(29_999);
  expect(await store.get(r.id)).toEqual(straddling);
});

test('a request too large even for several properties is refused before anything is written', async () => {
  const { store } = await freshStore();
  const huge = request('11111111-0000-4000-8000-000000000002', 5000);
  await expect(store.save(huge)).rejects.toThrow(/too large to store/);
  expect(await store.get(huge.id)).toBeUndefined();
});

test('rows written in the single-property format are read as they are', async () => {
  const { store, table } = await freshStore();
  const old = request('11111111-0000-4000-8000-000000000003', 3);
  const doc = JSON.stringify(old);
  // Exactly what the store wrote before documents were split.
  await table.upsertEntity(
    { partitionKey: REQUESTER.id, rowKey: old.id, doc, status: old.status },
    'Replace',
  );
  await table.upsertEntity(
    {
      partitionKey: 'by-id',
      rowKey: old.id,
      requester: REQUESTER.id,
      doc,
      status: old.status,
      awaiting: true,
    },
    'Replace',
  );
  expect(await store.get(old.id)).toEqual(old);
  expect(await store.byRequester(REQUESTER.id)).toEqual([old]);
  expect(await store.awaitingDecisionBy(approver(2).id)).toEqual([old]);
});
