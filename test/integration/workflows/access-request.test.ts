import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import type { AuditActor } from '../../../src/domain/audit/audit-event.model';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

// Siobhan is in the GitHub members group (eligible for owner); Priya is her manager, Rahul Priya's.
const [, priya, rahul, kenji, siobhan] = PLAYGROUND_USERS;
const as = (u: { id: string; userPrincipalName: string }): AuditActor => ({
  objectId: u.id,
  upn: u.userPrincipalName,
  channel: 'cli',
});
const GITHUB_OWNERS = '816daa42-c86c-5791-9a5a-14fb28761b30';

const ownerRequest = (durationMs: number) => ({
  actor: as(siobhan),
  appId: 'github',
  roleId: 'owner',
  durationMs,
  justification: 'Rotate the organisation webhook secrets after the incident',
  ticketReference: 'CHG0012345',
});

test('two-stage approval, grant, reminder, expiry and revoke write exactly this sequence, and membership follows', async () => {
  expect(await w.deps.directory.isMember(GITHUB_OWNERS, siobhan.id)).toBe(false);
  const { requestId } = await w.service.submit(ownerRequest(4000));
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve', comment: 'ok' });
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(rahul), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');
  expect(await w.deps.directory.isMember(GITHUB_OWNERS, siobhan.id)).toBe(true);
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'approval.requested',
    'approval.decided',
    'access.granted',
    'expiry.reminder-sent',
    'access.revoked',
  ]);
  expect(await w.deps.directory.isMember(GITHUB_OWNERS, siobhan.id)).toBe(false);
  const request = await w.deps.requests.get(requestId);
  expect(request).toMatchObject({ status: 'Revoked', revocation: { reason: 'expired', by: 'system' } });
  const revoked = (await w.events(requestId)).at(-1);
  expect(revoked?.details).toMatchObject({ reason: 'expired', graph: { status: 204, wasMember: true } });
  const verify = await w.deps.audit.verify();
  expect(verify.ok).toBe(true);
});

test('the requester cannot approve, a non-approver is refused and audited, and a deny at stage 2 ends the request', async () => {
  const { requestId } = await w.service.submit(ownerRequest(60_000));
  await w.stageOpen(requestId, 1);
  await expect(
    w.service.decide({ actor: as(siobhan), requestId, decision: 'approve' }),
  ).rejects.toMatchObject({
    code: 'REQUEST.SELF_APPROVAL',
  });
  await expect(w.service.decide({ actor: as(kenji), requestId, decision: 'approve' })).rejects.toMatchObject({
    code: 'REQUEST.NOT_AN_APPROVER',
  });
  expect(await w.actions(`attempts:${requestId}`)).toEqual(['attempt.refused', 'attempt.refused']);

  const decision = { actor: as(priya), requestId, decision: 'approve' as const, decisionId: 'd-1' };
  await w.service.decide(decision);
  await w.stageOpen(requestId, 2);
  // The same decision delivered again (a retried card action) is de-duplicated by its id.
  await w.service.decide(decision).catch(() => undefined);
  await w.service.decide({ actor: as(rahul), requestId, decision: 'deny', comment: 'use a scoped token' });
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'approval.requested',
    'approval.decided',
  ]);
  expect((await w.deps.requests.get(requestId))?.status).toBe('Denied');
  await expect(w.service.decide({ actor: as(rahul), requestId, decision: 'approve' })).rejects.toMatchObject({
    code: 'REQUEST.ALREADY_DECIDED',
  });
  expect(await w.deps.directory.isMember(GITHUB_OWNERS, siobhan.id)).toBe(false);
});
