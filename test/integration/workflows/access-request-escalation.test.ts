/**
 * Stage timeouts and fallbacks: a stage nobody decides escalates once to its fallback, then expires the
 * request undecided; a stage with nobody to ask (a requester without a manager) opens at the fallback at once.
 * Time is a TestClock; the demo catalog's stage timeouts are 24h and 48h.
 */
import { ActivityNames } from '../../../src/workflows/names';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  DAY,
  HOUR,
  MINUTE,
  activityScheduled,
  as,
  demo,
  letTimersRun,
  onlyEvent,
  stored,
  storedWhen,
} from '../../support/workflow-scenarios';

const clock = new TestClock(new Date('2026-11-22T09:00:00Z'));
let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost({ clock })), 60000);
afterAll(async () => w?.stop());

const alex = demo('alex.chen');
const siobhan = demo('siobhan.obrien');
const taylor = demo('taylor.brooks'); // the contractor: no manager in the directory
const priya = demo('priya.raman'); // Alex's and Siobhan's manager
const daniel = demo('daniel.schmidt'); // fallback of snowflake/analyst
const kenji = demo('kenji.watanabe'); // fallback of aws-production/readonly
const tomasz = demo('tomasz.nowak'); // the catalog's default fallback (stageDefaults)
const rahul = demo('rahul.mehta'); // fallback of github/owner's stage 2

test('a stage nobody decides within its 48h timeout escalates once to the fallback, who approves, and access is granted', async () => {
  const { requestId } = await w.service.submit({
    actor: as(siobhan),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 7 * DAY,
    justification: 'Cohort analysis for the pricing review',
  });
  await w.stageOpen(requestId, 1);
  const { groupId } = await stored(w, requestId);
  expect(await w.deps.directory.isMember(groupId, siobhan.id)).toBe(false);

  // Not yet: the stage waits its full timeout.
  clock.advance(47 * HOUR);
  await letTimersRun(w);
  expect(await w.actions(requestId)).toEqual(['request.submitted', 'policy.evaluated', 'approval.requested']);

  clock.advance(HOUR + MINUTE);
  await w.until(requestId, 'approval.escalated');
  const escalated = await onlyEvent(w, requestId, 'approval.escalated');
  expect(escalated.actor.objectId).toBe('system');
  expect(escalated.details).toEqual({
    stage: 1,
    from: [priya.id],
    to: [daniel.id],
    reason: 'nobody decided before the stage timed out',
  });
  const stage = (await storedWhen(w, requestId, (r) => r.stages[0]?.escalated)).stages[0];
  expect(stage).toMatchObject({ number: 1, escalated: true, outcome: 'pending' });
  expect(stage.approvers.map((a) => a.id)).toEqual([priya.id, daniel.id]);

  await letTimersRun(w); // the orchestration waits on the escalated stage again
  await w.service.decide({
    actor: as(daniel),
    requestId,
    decision: 'approve',
    comment: 'covering for Priya',
  });
  await w.until(requestId, 'access.granted');
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.escalated',
    'approval.decided',
    'access.granted',
  ]);
  expect((await onlyEvent(w, requestId, 'approval.decided')).details).toMatchObject({
    stage: 1,
    approver: daniel.id,
    decision: 'approved',
  });
  await storedWhen(w, requestId, (r) => r.status === 'Active');
  expect(await w.deps.directory.isMember(groupId, siobhan.id)).toBe(true);
});

test('a stage still undecided a timeout after its escalation expires the request undecided, and nothing is granted', async () => {
  // Alex is on call, so only 12h or less would be auto-approved: 2 days goes to his manager.
  const { requestId } = await w.service.submit({
    actor: as(alex),
    appId: 'aws-production',
    roleId: 'readonly',
    durationMs: 2 * DAY,
    justification: 'Investigate the billing anomaly in prod',
  });
  await w.stageOpen(requestId, 1);
  const { groupId, submittedAt } = await stored(w, requestId);

  clock.advance(24 * HOUR + MINUTE);
  await w.until(requestId, 'approval.escalated');
  expect((await onlyEvent(w, requestId, 'approval.escalated')).details).toEqual({
    stage: 1,
    from: [priya.id],
    to: [kenji.id],
    reason: 'nobody decided before the stage timed out',
  });

  // The escalated stage gets a full timeout of its own, counted from the escalation.
  clock.advance(23 * HOUR);
  await letTimersRun(w);
  expect((await stored(w, requestId)).status).toBe('PendingApproval');

  clock.advance(HOUR + MINUTE);
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.escalated',
    'request.expired-undecided',
  ]);
  const expired = await onlyEvent(w, requestId, 'request.expired-undecided');
  expect(expired.details).toEqual({
    stage: 1,
    waitedMinutes: Math.round((clock.now().getTime() - new Date(submittedAt).getTime()) / MINUTE),
  });
  expect(expired.details.waitedMinutes).toBe(48 * 60 + 2);
  const request = await stored(w, requestId);
  expect(request.status).toBe('ExpiredUndecided');
  expect(request.grantedAt).toBeUndefined();
  expect(await w.deps.directory.isMember(groupId, alex.id)).toBe(false);

  // A decision after that changes nothing, and says so.
  await expect(w.service.decide({ actor: as(kenji), requestId, decision: 'approve' })).rejects.toMatchObject({
    code: 'REQUEST.ALREADY_DECIDED',
  });
});

test('a requester with no manager has the manager stage go to its fallback at once, never to nobody', async () => {
  expect(await w.deps.directory.managerChain(taylor.id, 1)).toEqual([]);
  const { requestId } = await w.service.submit({
    actor: as(taylor),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 14 * DAY,
    justification: 'Build the contractor hours dashboard',
  });
  await w.until(requestId, 'approval.escalated');
  await w.stageOpen(requestId, 1);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.escalated',
  ]);
  expect((await onlyEvent(w, requestId, 'approval.requested')).details).toMatchObject({
    stage: 1,
    approvers: [daniel.id],
  });
  const escalated = await onlyEvent(w, requestId, 'approval.escalated');
  expect(escalated.details).toMatchObject({ stage: 1, from: [], to: [daniel.id] });
  expect(escalated.details.reason).toMatch(/no manager/);
  const stage = (await stored(w, requestId)).stages[0];
  expect(stage.escalated).toBe(true);
  expect(stage.approvers.map((a) => a.id)).toEqual([daniel.id]);

  await w.service.decide({ actor: as(daniel), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');
  expect((await w.actions(requestId)).slice(4)).toEqual(['approval.decided', 'access.granted']);
  expect(await w.deps.directory.isMember((await stored(w, requestId)).groupId, taylor.id)).toBe(true);
});

test("a requester with no manager has both manager stages go to their fallbacks: the catalog's default, then the stage's own", async () => {
  const { requestId } = await w.service.submit({
    actor: as(taylor),
    appId: 'github',
    roleId: 'owner',
    durationMs: 4 * HOUR,
    justification: 'Move the contractor repositories into the new team',
    ticketReference: 'CHG0054321',
  });
  await w.stageOpen(requestId, 1);
  await w.until(requestId, 'approval.escalated');
  await w.service.decide({ actor: as(tomasz), requestId, decision: 'approve' });
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(rahul), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');

  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.escalated',
    'approval.decided',
    'approval.requested',
    'approval.escalated',
    'approval.decided',
    'access.granted',
  ]);
  const events = await w.events(requestId);
  const escalations = events.filter((e) => e.action === 'approval.escalated').map((e) => e.details);
  expect(escalations).toEqual([
    { stage: 1, from: [], to: [tomasz.id], reason: 'the requester has no manager' },
    { stage: 2, from: [], to: [rahul.id], reason: 'the requester has no manager 2 levels up' },
  ]);
  expect(await w.deps.directory.isMember((await stored(w, requestId)).groupId, taylor.id)).toBe(true);
});

test('a stage that opened at the fallback is not escalated again: its timeout expires the request undecided', async () => {
  const { requestId } = await w.service.submit({
    actor: as(taylor),
    appId: 'aws-production',
    roleId: 'readonly',
    durationMs: DAY,
    justification: 'Read the prod logs for the outage review',
  });
  await w.until(requestId, 'approval.escalated');
  await w.stageOpen(requestId, 1);
  expect((await onlyEvent(w, requestId, 'approval.escalated')).details).toMatchObject({
    from: [],
    to: [kenji.id],
  });

  clock.advance(24 * HOUR + MINUTE);
  await w.settled(requestId);
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.escalated',
    'request.expired-undecided',
  ]);
  const request = await stored(w, requestId);
  expect(request.status).toBe('ExpiredUndecided');
  expect(await w.deps.directory.isMember(request.groupId, taylor.id)).toBe(false);
});

test("the manager's decision made just as the stage times out is not lost while the stage is escalated", async () => {
  const { requestId } = await w.service.submit({
    actor: as(siobhan),
    appId: 'aws-production',
    roleId: 'readonly',
    durationMs: 2 * DAY,
    justification: 'Look into the failed prod deploy',
  });
  await w.stageOpen(requestId, 1);
  const sim = w.host.graphSim as NonNullable<typeof w.host.graphSim>;
  try {
    // A slow directory keeps the escalation (looking up the fallback) going while Priya's click arrives.
    sim.setFaults({ latencyMs: 1500 });
    clock.advance(24 * HOUR + MINUTE);
    await activityScheduled(w, requestId, ActivityNames.resolvePerson);
    // The service accepts it: Priya is an approver of the open stage.
    await w.service.decide({ actor: as(priya), requestId, decision: 'approve', comment: 'sorry, late' });
  } finally {
    sim.setFaults({ latencyMs: 0 });
  }
  await w.until(requestId, 'approval.escalated');
  const decided = await eventually(
    async () => ((await w.actions(requestId)).includes('access.granted') ? true : undefined),
    10000,
    'access.granted',
  ).catch(() => false);
  expect({ decided, actions: await w.actions(requestId) }).toEqual({
    decided: true,
    actions: [
      'request.submitted',
      'policy.evaluated',
      'approval.requested',
      'approval.escalated',
      'approval.decided',
      'access.granted',
    ],
  });
  expect((await onlyEvent(w, requestId, 'approval.decided')).details).toMatchObject({ approver: priya.id });
});
