/**
 * Decisions that come too late or twice: a decision on a stage that is over is refused and audited (by the
 * service, and by the orchestration when one reaches it anyway); the same decision delivered twice to the
 * orchestration has one effect.
 */
import type { DecisionEvent } from '../../../src/workflows/access-request.types';
import { attemptsStream } from '../../../src/workflows/access-request.service';
import { EventNames } from '../../../src/workflows/names';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import { HOUR, as, demo, eventsOf, onlyEvent, storedWhen } from '../../support/workflow-scenarios';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

// github/owner: stage 1 the requester's manager, stage 2 the manager's manager.
const priya = demo('priya.raman'); // manager of Siobhan and Mateo
const rahul = demo('rahul.mehta'); // Priya's manager
const siobhan = demo('siobhan.obrien');
const mateo = demo('mateo.garcia');

const ownerRequest = (who: typeof siobhan) => ({
  actor: as(who),
  appId: 'github',
  roleId: 'owner',
  durationMs: 4 * HOUR,
  justification: 'Rotate the organisation webhook secrets after the incident',
  ticketReference: 'CHG0012345',
});

test('a decision on a stage that is over is refused (not an approver of the open stage, or the stage is over) and audited, and changes nothing', async () => {
  const { requestId } = await w.service.submit(ownerRequest(siobhan));
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.stageOpen(requestId, 2);

  // Priya decides again: on the open stage she is nobody; on her own stage, it is over.
  await expect(w.service.decide({ actor: as(priya), requestId, decision: 'deny' })).rejects.toMatchObject({
    code: 'REQUEST.NOT_AN_APPROVER',
  });
  await expect(
    w.service.decide({ actor: as(priya), requestId, decision: 'deny', stage: 1 }),
  ).rejects.toMatchObject({ code: 'REQUEST.STAGE_OVER', message: expect.stringMatching(/stage 2/) });
  const attempts = await w.events(attemptsStream(requestId));
  expect(attempts.map((e) => e.action)).toEqual(['attempt.refused', 'attempt.refused']);
  expect(attempts.map((e) => e.details.code)).toEqual(['REQUEST.NOT_AN_APPROVER', 'REQUEST.STAGE_OVER']);
  expect(attempts.every((e) => e.actor.objectId === priya.id)).toBe(true);

  // A stale card action that reaches the orchestration anyway is refused there too, in the request's stream.
  const stale: DecisionEvent = {
    decisionId: 'stale-stage-1',
    actor: as(priya),
    stage: 1,
    decision: 'deny',
  };
  await w.host.durable.raiseEvent(requestId, EventNames.decision, stale, { eventId: 'stale-stage-1' });
  await w.until(requestId, 'attempt.refused');
  expect((await onlyEvent(w, requestId, 'attempt.refused')).details).toMatchObject({
    code: 'REQUEST.STAGE_OVER',
  });
  expect((await onlyEvent(w, requestId, 'attempt.refused')).actor.objectId).toBe(priya.id);

  await w.service.decide({ actor: as(rahul), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'approval.requested',
    'attempt.refused',
    'approval.decided',
    'access.granted',
  ]);
  const decided = await eventsOf(w, requestId, 'approval.decided');
  expect(decided.map((e) => [e.details.stage, e.details.approver, e.details.decision])).toEqual([
    [1, priya.id, 'approved'],
    [2, rahul.id, 'approved'],
  ]);
  const request = await storedWhen(w, requestId, (r) => r.status === 'Active');
  expect(request.stages.map((s) => s.decisions.length)).toEqual([1, 1]);
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(true);
});

test('the same decision delivered twice to the orchestration (two event ids, one decision id) has one effect', async () => {
  const { requestId } = await w.service.submit(ownerRequest(mateo));
  await w.stageOpen(requestId, 1);
  const decision: DecisionEvent = {
    decisionId: `${requestId}-priya-1`,
    actor: as(priya),
    stage: 1,
    decision: 'approve',
    comment: 'ok',
  };
  const first = await w.host.durable.raiseEvent(requestId, EventNames.decision, decision, {
    eventId: 'delivery-1',
  });
  const second = await w.host.durable.raiseEvent(requestId, EventNames.decision, decision, {
    eventId: 'delivery-2',
  });
  // Both reach the orchestration: the host de-duplicates by event id only.
  expect([first, second]).toEqual([
    { delivered: true, duplicate: false },
    { delivered: true, duplicate: false },
  ]);
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(rahul), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');

  // Without de-duplication the second delivery would have been refused on stage 2 (an attempt.refused).
  expect(await w.actions(requestId)).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    'approval.decided',
    'approval.requested',
    'approval.decided',
    'access.granted',
  ]);
  const decided = await eventsOf(w, requestId, 'approval.decided');
  expect(decided.filter((e) => e.details.stage === 1)).toHaveLength(1);
  expect(decided[0].details).toEqual({
    stage: 1,
    approver: priya.id,
    channel: 'cli',
    decision: 'approved',
    comment: 'ok',
  });
  const request = await storedWhen(w, requestId, (r) => r.status === 'Active');
  expect(request.stages[0].decisions).toHaveLength(1);
  expect(await w.actions(attemptsStream(requestId))).toEqual([]);
  expect(await w.deps.directory.isMember(request.groupId, mateo.id)).toBe(true);
});
