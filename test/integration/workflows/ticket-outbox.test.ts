import { outboxRowKey, streamKey } from '../../../src/adapters/tables/audit-row-keys';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

test('with ticket sync configured, every lifecycle event owes one outbox row written with it', async () => {
  // As composition.ts sets it when ATTEST_TICKETS_MODE=jira.
  w.deps.ticketTarget = 'jira';
  const siobhan = PLAYGROUND_USERS[4];
  const { requestId } = await w.service.submit({
    actor: { objectId: siobhan.id, upn: siobhan.userPrincipalName, channel: 'cli' },
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 3600_000,
    justification: 'Quarterly churn analysis for the board pack',
  });
  await w.stageOpen(requestId, 1);
  const table = w.host.tables.client(TableNames.auditLog);
  const events = await w.events(requestId);
  expect(events.map((e) => e.action)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
  ]);
  for (const e of events) {
    const row = await table.getEntity<{ target: string; payload: string; eventHash: string }>(
      streamKey(requestId),
      outboxRowKey(e.seq, 1),
    );
    expect(row.target).toBe('jira');
    expect(row.eventHash).toBe(e.hash);
    expect(JSON.parse(row.payload)).toMatchObject({ requestId, action: e.action });
  }
});
