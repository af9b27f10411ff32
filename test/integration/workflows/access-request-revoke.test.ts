/**
 * Early revoke: the holder of the access or an Attest admin ends a grant before it expires; anyone else is
 * refused, and the refusal is audited in the request's `attempts:<id>` stream.
 */
import { DEMO_ATTEST_ADMINS_GROUP_ID } from '../../../src/local/graph-sim/demo-tenant';
import { attemptsStream } from '../../../src/workflows/access-request.service';
import { eventually } from '../../support/storage';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  DAY,
  HOUR,
  activeGrant,
  as,
  demo,
  onlyEvent,
  stored,
  storedWhen,
} from '../../support/workflow-scenarios';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

const alex = demo('alex.chen');
const siobhan = demo('siobhan.obrien');
const priya = demo('priya.raman'); // manager of both, the approver of their grants
const ravi = demo('ravi.patel'); // an Attest admin

const GRANTED = [
  'request.submitted',
  'policy.evaluated',
  'approval.requested',
  'approval.decided',
  'access.granted',
];

test('the holder revokes their own access early: membership is gone and access.revoked says revoked, by them', async () => {
  const { requestId, request } = await activeGrant(
    w,
    {
      actor: as(alex),
      appId: 'jira',
      roleId: 'project-admin',
      durationMs: 30 * DAY,
      justification: 'Reorganise the platform boards',
    },
    [priya],
  );
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(true);

  await w.service.revoke({ actor: as(alex), requestId });
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([...GRANTED, 'access.revoked']);
  const revoked = await onlyEvent(w, requestId, 'access.revoked');
  expect(revoked.actor).toMatchObject({ objectId: alex.id, channel: 'cli' });
  expect(revoked.details).toMatchObject({
    reason: 'revoked',
    by: alex.id,
    group: { id: request.groupId },
    graph: { status: 204, wasMember: true },
  });
  expect(await stored(w, requestId)).toMatchObject({
    status: 'Revoked',
    revocation: { reason: 'revoked', by: alex.id },
  });
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(false);

  // A second revoke finds nothing to end, and says so.
  await expect(w.service.revoke({ actor: as(alex), requestId })).rejects.toMatchObject({
    code: 'REQUEST.NOT_ACTIVE',
  });
  expect(await w.actions(attemptsStream(requestId))).toEqual(['attempt.refused']);
});

test("an Attest admin revokes someone else's access early, and access.revoked names the admin", async () => {
  expect(w.deps.adminGroupId).toBe(DEMO_ATTEST_ADMINS_GROUP_ID);
  expect(await w.deps.directory.isMember(DEMO_ATTEST_ADMINS_GROUP_ID, ravi.id)).toBe(true);
  // Alex is on call: 8 hours of AWS ReadOnly is auto-approved.
  const { requestId } = await w.service.submit({
    actor: as(alex),
    appId: 'aws-production',
    roleId: 'readonly',
    durationMs: 8 * HOUR,
    justification: 'Check the prod alarms after the deploy',
  });
  await w.until(requestId, 'access.granted');
  const { groupId } = await stored(w, requestId);
  expect(await w.deps.directory.isMember(groupId, alex.id)).toBe(true);
  expect((await onlyEvent(w, requestId, 'policy.evaluated')).details).toMatchObject({
    outcome: 'auto-approved',
  });

  await w.service.revoke({ actor: as(ravi), requestId });
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'access.granted',
    'access.revoked',
  ]);
  const revoked = await onlyEvent(w, requestId, 'access.revoked');
  expect(revoked.actor).toMatchObject({ objectId: ravi.id });
  expect(revoked.details).toMatchObject({ reason: 'revoked', by: ravi.id, graph: { wasMember: true } });
  expect(await stored(w, requestId)).toMatchObject({
    status: 'Revoked',
    revocation: { reason: 'revoked', by: ravi.id },
  });
  expect(await w.deps.directory.isMember(groupId, alex.id)).toBe(false);
});

test('a revoke by someone who neither holds the access nor is an Attest admin is refused with REQUEST.NOT_ALLOWED, audited, and changes nothing', async () => {
  const { requestId, request } = await activeGrant(
    w,
    {
      actor: as(siobhan),
      appId: 'jira',
      roleId: 'project-admin',
      durationMs: 30 * DAY,
      justification: 'Tidy the data platform boards',
    },
    [priya],
  );
  expect(await w.deps.directory.isMember(DEMO_ATTEST_ADMINS_GROUP_ID, priya.id)).toBe(false);

  // Not even the manager who approved it.
  const refused = w.service.revoke({ actor: as(priya), requestId });
  await expect(refused).rejects.toMatchObject({ code: 'REQUEST.NOT_ALLOWED' });
  await expect(refused).rejects.toThrow(/holder of the access or an Attest admin/);
  await expect(w.service.revoke({ actor: as(alex), requestId })).rejects.toMatchObject({
    code: 'REQUEST.NOT_ALLOWED',
  });

  const attempts = await w.events(attemptsStream(requestId));
  expect(attempts.map((e) => e.action)).toEqual(['attempt.refused', 'attempt.refused']);
  expect(attempts.map((e) => e.actor.objectId)).toEqual([priya.id, alex.id]);
  expect(attempts[0].details).toMatchObject({ code: 'REQUEST.NOT_ALLOWED' });
  expect(attempts[0].correlation).toMatchObject({ requestId });

  expect(await w.actions(requestId)).toEqual(GRANTED);
  expect((await stored(w, requestId)).status).toBe('Active');
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(true);

  // The holder still can.
  await w.service.revoke({ actor: as(siobhan), requestId });
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([...GRANTED, 'access.revoked']);
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(false);
});

test("an admin's revoke accepted while an extension waits for approval is not lost: access ends, at the latest once the extension is decided", async () => {
  const { requestId, request } = await activeGrant(
    w,
    {
      actor: as(alex),
      appId: 'jira',
      roleId: 'project-admin',
      durationMs: 30 * DAY,
      justification: 'Run the platform boards migration',
    },
    [priya],
  );
  await w.service.extend({
    actor: as(alex),
    requestId,
    durationMs: 30 * DAY,
    justification: 'The migration needs another month',
  });
  await w.stageOpen(requestId, 2);

  // Accepted (the grant is active): it should end the access now, not wait for the extension.
  await w.service.revoke({ actor: as(ravi), requestId });
  const revokedAtOnce = await eventually(
    async () => ((await w.actions(requestId)).includes('access.revoked') ? true : undefined),
    5000,
    'access.revoked',
  ).catch(() => false);
  if (!revokedAtOnce) {
    // At the very least, once Priya decides the extension the revoke must still happen.
    await w.service.decide({ actor: as(priya), requestId, decision: 'approve' }).catch(() => undefined);
    await w.until(requestId, 'extension.decided').catch(() => undefined);
    await eventually(
      async () => ((await w.actions(requestId)).includes('access.revoked') ? true : undefined),
      5000,
    ).catch(() => undefined);
  }
  // The stored state is saved right after its event: give it the moment it trails the stream by.
  const { status } = await storedWhen(w, requestId, (r) => r.status === 'Revoked').catch(() =>
    stored(w, requestId),
  );
  expect({ revokedAtOnce, status, actions: await w.actions(requestId) }).toEqual({
    revokedAtOnce: true,
    status: 'Revoked',
    actions: [...GRANTED, 'extension.requested', 'approval.requested', 'access.revoked'],
  });
  expect((await onlyEvent(w, requestId, 'access.revoked')).details).toMatchObject({
    reason: 'revoked',
    by: ravi.id,
  });
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(false);
});
