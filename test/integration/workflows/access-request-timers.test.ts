import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import type { AuditActor } from '../../../src/domain/audit/audit-event.model';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const clock = new TestClock(new Date('2026-11-22T09:00:00Z'));
let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost({ clock })), 60000);
afterAll(async () => w?.stop());

const [, priya, , , siobhan] = PLAYGROUND_USERS;
const as = (u: { id: string; userPrincipalName: string }): AuditActor => ({
  objectId: u.id,
  upn: u.userPrincipalName,
  channel: 'cli',
});
const DAY = 24 * 3600_000;

/** TimerCreated events of an instance's history in the local task hub. */
async function timersCreated(instanceId: string): Promise<number> {
  const table = w.host.tables.client(TableNames.localTaskHub('AttestHub'));
  let n = 0;
  for await (const row of table.listEntities<{ event?: string }>({
    queryOptions: { filter: `PartitionKey eq '${instanceId}'` },
  })) {
    if (row.event && JSON.parse(row.event).EventType === 10) n++;
  }
  return n;
}

test('a 10-day grant waits on chained timers of at most 6 days and is revoked on the tenth day, not before', async () => {
  const { requestId } = await w.service.submit({
    actor: as(siobhan),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 10 * DAY,
    justification: 'Quarterly churn analysis for the board pack',
  });
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');
  const granted = await w.deps.requests.get(requestId);
  expect(granted?.expiresAt).toBe(new Date(clock.now().getTime() + 10 * DAY).toISOString());
  const group = granted?.groupId as string;
  expect(await w.deps.directory.isMember(group, siobhan.id)).toBe(true);

  for (let day = 1; day <= 9; day++) {
    clock.advance(DAY);
    await new Promise((r) => setTimeout(r, 250));
  }
  await w.until(requestId, 'expiry.reminder-sent');
  expect((await w.deps.requests.get(requestId))?.status).toBe('Active');
  expect(await w.deps.directory.isMember(group, siobhan.id)).toBe(true);

  clock.advance(DAY + 1000);
  await w.settled(requestId);
  expect((await w.deps.requests.get(requestId))?.status).toBe('Revoked');
  expect(await w.deps.directory.isMember(group, siobhan.id)).toBe(false);
  // The expiry was reached through several durable timers, none longer than 6 days.
  expect(await timersCreated(requestId)).toBeGreaterThanOrEqual(4);
});
