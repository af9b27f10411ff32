import { DomainError } from '../../../../src/domain/domain-error';
import {
  authorizeDecision,
  recordDecision,
  type AccessRequest,
  type StageState,
  type Decision,
} from '../../../../src/domain/request/access-request';

const REQUESTER = { id: 'aaaaaaaa-0000-4000-8000-000000000001', displayName: 'Alex Chen' };
const MANAGER = { id: 'aaaaaaaa-0000-4000-8000-000000000002', displayName: 'Priya Raman' };
const OWNER_1 = { id: 'aaaaaaaa-0000-4000-8000-000000000003' };
const OWNER_2 = { id: 'aaaaaaaa-0000-4000-8000-000000000004' };

function stage(
  number: number,
  approvers: StageState['approvers'],
  quorum: StageState['quorum'] = 'any',
): StageState {
  return { number, approvers, quorum, escalated: false, decisions: [], outcome: 'pending' };
}

function request(overrides: Partial<AccessRequest> = {}): AccessRequest {
  return {
    id: 'req-1',
    requester: REQUESTER,
    appId: 'salesforce',
    roleId: 'admin',
    groupId: 'bbbbbbbb-0000-4000-8000-000000000001',
    policy: { id: 'demo', version: '3', hash: 'ab'.repeat(32) },
    durationMs: 4 * 3600_000,
    justification: 'Quarter-end close',
    submittedAt: '2026-11-22T10:00:00.000Z',
    status: 'PendingApproval',
    stages: [stage(1, [MANAGER]), stage(2, [OWNER_1, OWNER_2], 'all')],
    currentStage: 0,
    ...overrides,
  };
}

const approve = (approverId: string, decision: Decision['decision'] = 'approve'): Decision => ({
  approverId,
  decision,
  at: '2026-11-22T10:05:00.000Z',
  channel: 'teams',
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err.code;
    throw err;
  }
  throw new Error('expected a DomainError');
}

/** What the orchestration does when a stage is approved: open the next one. */
const openNext = (r: AccessRequest): AccessRequest => ({ ...r, currentStage: r.currentStage + 1 });

test('the manager approves stage 1; the request stays pending for the next stage', () => {
  const next = recordDecision(request(), approve(MANAGER.id), 1);
  expect(next.status).toBe('PendingApproval');
  expect(next.stages[0].outcome).toBe('approved');
});

test('a stage with quorum all is approved only when every approver has approved', () => {
  let r = openNext(recordDecision(request(), approve(MANAGER.id), 1));
  r = recordDecision(r, approve(OWNER_1.id), 2);
  expect(r.stages[1].outcome).toBe('pending');
  r = recordDecision(r, approve(OWNER_2.id), 2);
  expect(r.stages[1].outcome).toBe('approved');
});

test('a stage with a numeric quorum is approved at that many approvals', () => {
  const r = request({ stages: [stage(1, [MANAGER, OWNER_1, OWNER_2], 2)] });
  const once = recordDecision(r, approve(OWNER_1.id), 1);
  expect(once.stages[0].outcome).toBe('pending');
  expect(recordDecision(once, approve(OWNER_2.id), 1).stages[0].outcome).toBe('approved');
});

test('one deny denies the request', () => {
  const r = openNext(recordDecision(request(), approve(MANAGER.id), 1));
  const denied = recordDecision(r, approve(OWNER_2.id, 'deny'), 2);
  expect(denied.status).toBe('Denied');
  expect(denied.stages[1].outcome).toBe('denied');
});

test('the requester can never decide their own request, even when listed as an approver', () => {
  const r = request({ stages: [stage(1, [REQUESTER, MANAGER])] });
  expect(codeOf(() => authorizeDecision(r, REQUESTER.id.toUpperCase(), 1))).toBe('REQUEST.SELF_APPROVAL');
});

test('someone who is not an approver of the current stage is refused', () => {
  expect(codeOf(() => authorizeDecision(request(), OWNER_1.id, 1))).toBe('REQUEST.NOT_AN_APPROVER');
});

test('a decision for a stage that is over is refused', () => {
  const r = openNext(recordDecision(request(), approve(MANAGER.id), 1));
  expect(codeOf(() => authorizeDecision(r, MANAGER.id, 1))).toBe('REQUEST.STAGE_OVER');
});

test('the same approver deciding twice, or deciding a request no longer pending, changes nothing', () => {
  const r = recordDecision(
    request({ stages: [stage(1, [OWNER_1, OWNER_2], 'all')] }),
    approve(OWNER_1.id),
    1,
  );
  expect(codeOf(() => recordDecision(r, approve(OWNER_1.id), 1))).toBe('REQUEST.ALREADY_DECIDED');
  const denied = recordDecision(r, approve(OWNER_2.id, 'deny'), 1);
  expect(codeOf(() => authorizeDecision(denied, OWNER_2.id, 1))).toBe('REQUEST.ALREADY_DECIDED');
});
