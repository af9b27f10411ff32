import { InvocationContext } from '@azure/functions';
import { eventRowKey, streamKey } from '../../../src/adapters/tables/audit-row-keys';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { AUDIT_DIGEST_SCHEDULE, buildFunctionList } from '../../../src/functions/function-list';
import type { FunctionContext, TimerFunction } from '../../../src/functions/function-types';
import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { assertNcrontab, nextRun } from '../../../src/local/timers';
import { FunctionNames } from '../../../src/workflows/names';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

test('the audit digest runs daily at 02:00 UTC and fixes every stream head, so a later cut fails verify', async () => {
  expect(() => assertNcrontab(FunctionNames.auditDigest, AUDIT_DIGEST_SCHEDULE)).not.toThrow();
  expect(nextRun(AUDIT_DIGEST_SCHEDULE, new Date('2026-11-22T10:00:00Z'))?.toISOString()).toBe(
    '2026-11-23T02:00:00.000Z',
  );

  const siobhan = PLAYGROUND_USERS[4];
  const { requestId } = await w.service.submit({
    actor: { objectId: siobhan.id, upn: siobhan.userPrincipalName, channel: 'cli' },
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 3600_000,
    justification: 'Quarterly churn analysis for the board pack',
  });
  await w.stageOpen(requestId, 1);

  const timer = buildFunctionList(w.host.services.config).find(
    (f): f is TimerFunction => f.kind === 'timer' && f.name === FunctionNames.auditDigest,
  );
  expect(timer?.schedule).toBe(AUDIT_DIGEST_SCHEDULE);
  await timer?.handler({
    invocation: new InvocationContext({ functionName: FunctionNames.auditDigest }),
    services: w.host.services,
    durable: w.host.durable,
  } as FunctionContext);

  const head = await w.deps.audit.head(requestId);
  expect(head?.seq).toBe(3);
  expect(await w.deps.audit.verify()).toMatchObject({ ok: true });

  // Cut the stream's last event: the digest recorded seq 3, so verify names the truncation.
  await w.host.tables.client(TableNames.auditLog).deleteEntity(streamKey(requestId), eventRowKey(3));
  expect(await w.deps.audit.verify()).toMatchObject({ ok: false, stream: requestId, problem: 'truncated' });
});
