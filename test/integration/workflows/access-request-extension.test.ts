/**
 * Extensions of an active grant: asked for with service.extend or by submitting the same role again, decided
 * through the role's stages; approved moves the expiry (and the revoke with it), denied leaves both alone.
 * Time is a TestClock.
 */
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  DAY,
  HOUR,
  MINUTE,
  activeGrant,
  as,
  demo,
  letTimersRun,
  onlyEvent,
  stored,
} from '../../support/workflow-scenarios';

const clock = new TestClock(new Date('2026-11-22T09:00:00Z'));
let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost({ clock })), 60000);
afterAll(async () => w?.stop());

const alex = demo('alex.chen');
const siobhan = demo('siobhan.obrien');
const priya = demo('priya.raman'); // manager of both: the one stage of jira/project-admin

const projectAdmin = (who: typeof alex, justification: string) => ({
  actor: as(who),
  appId: 'jira',
  roleId: 'project-admin',
  durationMs: 10 * DAY,
  justification,
});

test('an approved extension moves the expiry, is recorded as requested and decided, and access is revoked only at the new expiry', async () => {
  const { requestId, request } = await activeGrant(
    w,
    projectAdmin(alex, 'Set up the platform team project'),
    [priya],
  );
  const granted = clock.now().getTime();
  const originalExpiry = new Date(granted + 10 * DAY).toISOString();
  expect(request.expiresAt).toBe(originalExpiry);
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(true);

  clock.advance(DAY);
  await letTimersRun(w);
  // An extension adds to what is left: 20 more days on top of the current expiry.
  const newExpiry = new Date(Date.parse(originalExpiry) + 20 * DAY).toISOString();
  await w.service.extend({
    actor: as(alex),
    requestId,
    durationMs: 20 * DAY,
    justification: 'The migration slipped by three weeks',
  });
  await w.until(requestId, 'extension.requested');
  await w.stageOpen(requestId, 2);
  expect((await stored(w, requestId)).pendingExtension).toMatchObject({ durationMs: 20 * DAY });
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve', comment: 'fine' });
  await w.until(requestId, 'extension.decided');
  // Let the orchestration go back to waiting (new expiry and reminder timers) before time moves on.
  await letTimersRun(w);

  expect((await onlyEvent(w, requestId, 'extension.requested')).details).toEqual({
    justification: 'The migration slipped by three weeks',
    currentExpiry: originalExpiry,
    requestedExpiry: newExpiry,
  });
  expect((await onlyEvent(w, requestId, 'extension.decided')).details).toEqual({
    approver: priya.id,
    channel: 'cli',
    decision: 'approved',
    comment: 'fine',
    newExpiry,
  });
  const extended = await stored(w, requestId);
  expect(extended).toMatchObject({ status: 'Active', expiresAt: newExpiry });
  expect(extended.pendingExtension).toBeUndefined();

  // Past the original expiry: still active, still a member.
  clock.advance(9 * DAY + HOUR);
  await letTimersRun(w);
  expect((await stored(w, requestId)).status).toBe('Active');
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(true);

  // A day before the new expiry (30 days after the grant) the holder is reminded; at the new expiry access ends.
  clock.advance(19 * DAY);
  await w.until(requestId, 'expiry.reminder-sent');
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(true);
  expect((await onlyEvent(w, requestId, 'expiry.reminder-sent')).details).toEqual({
    recipient: alex.id,
    expiresAt: newExpiry,
  });
  clock.advance(DAY);
  await w.settled(requestId);

  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'access.granted',
    'extension.requested',
    'approval.requested',
    'approval.decided',
    'extension.decided',
    'expiry.reminder-sent',
    'access.revoked',
  ]);
  const revoked = await stored(w, requestId);
  expect(revoked).toMatchObject({ status: 'Revoked', revocation: { reason: 'expired', by: 'system' } });
  expect(new Date(revoked.revokedAt as string).getTime()).toBeGreaterThanOrEqual(Date.parse(newExpiry));
  expect(await w.deps.directory.isMember(request.groupId, alex.id)).toBe(false);
});

test('submitting the same role again becomes an extension of the grant; denied, it leaves the expiry alone and access ends at the original expiry', async () => {
  const { requestId, request } = await activeGrant(
    w,
    projectAdmin(siobhan, 'Clean up the data platform board'),
    [priya],
  );
  const originalExpiry = request.expiresAt as string;
  expect(originalExpiry).toBe(new Date(clock.now().getTime() + 10 * DAY).toISOString());
  const before = (await w.deps.requests.byRequester(siobhan.id)).map((r) => r.id);

  clock.advance(DAY);
  await letTimersRun(w);
  const again = await w.service.submit({
    ...projectAdmin(siobhan, 'Still cleaning up the data platform board'),
    durationMs: 30 * DAY,
  });
  expect(again).toEqual({ requestId, extended: true, autoApproved: false });
  await w.until(requestId, 'extension.requested');
  await w.stageOpen(requestId, 2);
  expect((await w.deps.requests.byRequester(siobhan.id)).map((r) => r.id)).toEqual(before);
  expect(await w.host.durable.getStatus(requestId)).toMatchObject({ runtimeStatus: 'Running' });

  await w.service.decide({ actor: as(priya), requestId, decision: 'deny', comment: 'ask again next sprint' });
  await w.until(requestId, 'extension.decided');
  await letTimersRun(w);
  expect((await onlyEvent(w, requestId, 'extension.decided')).details).toEqual({
    approver: priya.id,
    channel: 'cli',
    decision: 'denied',
    comment: 'ask again next sprint',
  });
  const denied = await stored(w, requestId);
  expect(denied).toMatchObject({ status: 'Active', expiresAt: originalExpiry });
  expect(denied.pendingExtension).toBeUndefined();
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(true);

  clock.advance(8 * DAY + HOUR);
  await w.until(requestId, 'expiry.reminder-sent');
  clock.advance(DAY - HOUR + MINUTE);
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'access.granted',
    'extension.requested',
    'approval.requested',
    'approval.decided',
    'extension.decided',
    'expiry.reminder-sent',
    'access.revoked',
  ]);
  const revoked = await stored(w, requestId);
  expect(revoked).toMatchObject({
    status: 'Revoked',
    expiresAt: originalExpiry,
    revocation: { reason: 'expired', by: 'system' },
  });
  expect(new Date(revoked.revokedAt as string).getTime()).toBeLessThan(Date.parse(originalExpiry) + HOUR);
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(false);
});

test('an extension never shortens a grant: asking for less than is left is refused or counted on top, never approved into an earlier expiry', async () => {
  const { requestId, request } = await activeGrant(
    w,
    projectAdmin(alex, 'Run the platform boards migration'),
    [priya],
  );
  const originalExpiry = request.expiresAt as string;

  // Ten days are left; Alex asks to "extend" by two.
  const asked = await w.service
    .extend({ actor: as(alex), requestId, durationMs: 2 * DAY, justification: 'Two more days to wrap up' })
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  if (asked !== undefined) {
    // Refused up front: fine, as long as it is a coded error and the grant is untouched.
    expect(asked).toMatchObject({ code: expect.stringMatching(/^(POLICY|REQUEST)\./) });
    expect((await stored(w, requestId)).expiresAt).toBe(originalExpiry);
    return;
  }
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.until(requestId, 'extension.decided');
  await letTimersRun(w);

  const { requestedExpiry } = (await onlyEvent(w, requestId, 'extension.requested')).details;
  const { expiresAt } = await stored(w, requestId);
  expect({
    originalExpiry,
    requestedExpiry,
    expiresAt,
    shortened: Date.parse(expiresAt as string) < Date.parse(originalExpiry),
  }).toMatchObject({ shortened: false });
  expect(Date.parse(requestedExpiry as string)).toBeGreaterThan(Date.parse(originalExpiry));
});
