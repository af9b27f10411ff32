import { graphPathTemplate } from '../../../../src/adapters/graph/graph-client';
import { containerOfUrl, tableOfUrl } from '../../../../src/adapters/telemetry/storage-spans';
import { workIdsOfInput } from '../../../../src/adapters/telemetry/work-context';
import { workIdsOfUrl } from '../../../../src/functions/instrument';

const ROOT = 'https://graph.microsoft.com/v1.0';

test('Graph span names template out object ids, UPNs and query strings, and keep the path words', () => {
  const id = '816daa42-c86c-5791-9a5a-14fb28761b30';
  expect(graphPathTemplate(`${ROOT}/groups/${id}/members/$ref`, ROOT)).toBe('/groups/{id}/members/$ref');
  expect(graphPathTemplate(`${ROOT}/users/alex@contoso.com?$select=id,signInActivity`, ROOT)).toBe(
    '/users/{id}',
  );
  expect(graphPathTemplate(`${ROOT}/groups/microsoft.graph.delta()?$deltatoken=abc`, ROOT)).toBe(
    '/groups/microsoft.graph.delta()',
  );
  expect(graphPathTemplate(`${ROOT}/$batch`, ROOT)).toBe('/$batch');
  expect(
    graphPathTemplate('http://127.0.0.1:5780/v1.0/users/u-1/manager', 'http://127.0.0.1:5780/v1.0'),
  ).toBe('/users/{id}/manager');
});

test('storage span names keep the table or container and drop keys and blob names', () => {
  expect(
    tableOfUrl("http://127.0.0.1:10002/devstoreaccount1/AccessRequests(PartitionKey='a',RowKey='b')"),
  ).toBe('AccessRequests');
  expect(tableOfUrl('https://acct.table.core.windows.net/AuditLog()?$filter=x')).toBe('AuditLog');
  expect(tableOfUrl('https://acct.table.core.windows.net/$batch')).toBe('$batch');
  expect(containerOfUrl('https://acct.blob.core.windows.net/attest-evidence/bundles/x.csv')).toBe(
    'attest-evidence',
  );
  expect(containerOfUrl('http://127.0.0.1:10000/devstoreaccount1/attest-evidence/digest-1')).toBe(
    'attest-evidence',
  );
});

test('the work an activity input or a tab route names, and nothing from inputs that are not ids', () => {
  expect(workIdsOfInput({ requestId: 'r-1', groupId: 'g' })).toEqual({ requestId: 'r-1' });
  expect(workIdsOfInput({ request: { id: 'r-2' }, event: {} })).toEqual({ requestId: 'r-2' });
  expect(workIdsOfInput({ campaignId: 'c-1', limit: 5 })).toEqual({ campaignId: 'c-1' });
  expect(workIdsOfInput('a-user-id')).toEqual({});
  expect(workIdsOfInput({ requestId: 'x'.repeat(500) })).toEqual({});
  expect(workIdsOfInput({ requestId: 'bad\nid' })).toEqual({});
  expect(workIdsOfUrl('http://h/api/tabapi/v1/campaigns/c%2F9/decisions')).toEqual({
    campaignId: 'c/9',
    requestId: undefined,
  });
  expect(workIdsOfUrl('http://h/api/tabapi/v1/items?campaignId=c-3')).toEqual({
    campaignId: 'c-3',
    requestId: undefined,
  });
  expect(workIdsOfUrl('http://h/api/messages')).toEqual({ campaignId: undefined, requestId: undefined });
});
