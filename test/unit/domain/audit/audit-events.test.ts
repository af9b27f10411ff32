import { sha256 } from '../../../../src/adapters/crypto/sha256';
import { AUDIT_ACTIONS } from '../../../../src/domain/audit/audit-event.model';
import * as vocabulary from '../../../../src/domain/audit/audit-events';
import { formatVerifyResult } from '../../../../src/domain/audit/audit-verify.result';
import { chainEvent } from '../../../../src/domain/audit/hash-chain.math';

const ctx: vocabulary.AuditContext = {
  stream: 'request/7',
  actor: { objectId: 'u-1', channel: 'system' },
  subject: 'app:crm/role:admin',
};
const group = { id: 'g-1', name: 'CRM admins' };

const built = [
  vocabulary.requestSubmitted(ctx, { justification: 'j', policy: { id: 'p', version: '1', hash: 'h' } }),
  vocabulary.policyEvaluated(ctx, {
    policy: { id: 'p', version: '1', hash: 'h' },
    outcome: 'approval-required',
    stages: 2,
  }),
  vocabulary.approvalRequested(ctx, { stage: 1, approvers: ['m-1'] }),
  vocabulary.approvalDecided(ctx, { stage: 1, approver: 'm-1', channel: 'teams', decision: 'approved' }),
  vocabulary.approvalEscalated(ctx, { stage: 1, from: ['m-1'], to: ['m-2'], reason: 'no decision in 48 h' }),
  vocabulary.requestExpiredUndecided(ctx, { stage: 2, waitedMinutes: 4320 }),
  vocabulary.accessGranted(ctx, {
    group,
    graph: { status: 204, alreadyMember: false },
    expiresAt: '2026-01-02T00:00:00Z',
  }),
  vocabulary.extensionRequested(ctx, {
    justification: 'j',
    currentExpiry: '2026-01-02T00:00:00Z',
    requestedExpiry: '2026-01-03T00:00:00Z',
  }),
  vocabulary.extensionDecided(ctx, { approver: 'm-1', channel: 'tab', decision: 'denied' }),
  vocabulary.expiryReminderSent(ctx, { recipient: 'u-1', expiresAt: '2026-01-02T00:00:00Z' }),
  vocabulary.accessRevoked(ctx, {
    reason: 'review',
    by: 'r-1',
    group,
    graph: { status: 204, wasMember: true },
  }),
  vocabulary.attemptRefused(ctx, {
    code: 'REQUEST.SELF_APPROVAL',
    reason: 'requesters never approve their own',
  }),
  vocabulary.accessRevokeFailed(ctx, {
    reason: 'expired',
    group,
    attempt: 3,
    code: 'DIRECTORY.UNAVAILABLE',
    error: 'Graph answered 503',
    nextAttemptAt: '2026-01-02T00:04:00Z',
  }),
  vocabulary.accessGrantFailed(ctx, {
    group,
    attempt: 1,
    code: 'DIRECTORY.FAILED',
    error: 'dynamic group',
    permanent: true,
  }),
  vocabulary.membershipBaselined(ctx, { group, members: 12, withAttestClaims: 1 }),
  vocabulary.membershipDrift(ctx, { group, userId: 'u-2' }),
  vocabulary.membershipRemovedOutside(ctx, { group, userId: 'u-3', requestIds: ['r-1'] }),
  vocabulary.revocationOverdue(ctx, {
    group,
    userId: 'u-4',
    requestIds: ['r-2'],
    owedSince: '2026-01-01T00:00:00Z',
    graph: { status: 204, wasMember: true },
  }),
  vocabulary.memberOffboarded(ctx, {
    group,
    userId: 'u-5',
    because: 'disabled',
    requestIds: ['r-3'],
    outcome: 'removed',
    removedAt: '2026-01-01T00:00:00Z',
    graph: { status: 204, wasMember: true },
  }),
  vocabulary.reviewStarted(ctx, {
    definitionId: 'q-review',
    name: 'Quarterly',
    count: 3,
    hash: 'ab'.repeat(32),
    groups: 1,
    stages: 2,
    deadlines: ['2026-01-08T00:00:00Z', '2026-01-15T00:00:00Z'],
    notRemovable: 0,
    signInUnavailable: false,
  }),
  vocabulary.reviewDecided(ctx, {
    stage: 1,
    source: 'reviewer',
    items: [{ itemId: 'g-1:u-2', decision: 'keep', final: false }],
  }),
  vocabulary.reviewDelegated(ctx, { stage: 1, from: 'm-1', to: 'm-2', itemIds: ['g-1:u-2'] }),
  vocabulary.reviewApplied(ctx, {
    itemId: 'g-1:u-2',
    group,
    userId: 'u-2',
    decision: { stage: 2, by: 'm-2', source: 'reviewer', at: '2026-01-09T00:00:00Z' },
    outcome: 'applied',
    endedRequestIds: [],
  }),
  vocabulary.reviewReminderSent(ctx, { kind: 'review-reminder', stage: 1, recipients: ['m-1'] }),
  vocabulary.reviewGuardHeld(ctx, { action: 'default', stage: 2, wouldRemove: 5, scopeSize: 10, share: 0.2 }),
  vocabulary.reviewGuardConfirmed(ctx, { action: 'default', wouldRemove: 5 }),
  vocabulary.reviewCompleted(ctx, { items: 3, kept: 2, revoked: 1, applied: 1, failed: 0, cannotApply: 0 }),
  vocabulary.reviewSignedOff(ctx, { hash: 'ab'.repeat(32) }),
  vocabulary.ticketLinked(ctx, { system: 'jira', key: 'SEC-1', url: 'https://jira/SEC-1', how: 'created' }),
  vocabulary.ticketRowParked(ctx, {
    row: { stream: 'request/7', rowKey: 'o-0000000001-01', eventSeq: 1, eventHash: 'ab'.repeat(32) },
    system: 'jira',
    code: 'TICKETS.REJECTED',
    error: 'Jira answered 400',
    attempts: 1,
  }),
  vocabulary.ticketRowReleased(ctx, {
    row: { stream: 'request/7', rowKey: 'o-0000000001-01', eventSeq: 1, eventHash: 'ab'.repeat(32) },
  }),
  vocabulary.ticketRowSkipped(ctx, {
    row: { stream: 'request/7', rowKey: 'o-0000000001-01', eventSeq: 1, eventHash: 'ab'.repeat(32) },
    reason: 'the ticket was deleted in Jira',
  }),
  vocabulary.teamsAppInstalled(ctx, {
    catalogAppId: 'app-1',
    already: false,
    chatId: '19:u-1_app@unq.gbl.spaces',
    purpose: { kind: 'approval-requested', about: 'r-1' },
  }),
  vocabulary.teamsAppInstallRefused(ctx, {
    catalogAppId: 'app-1',
    status: 403,
    code: 'Forbidden',
    error: 'blocked by policy',
    remedy: 'allow the app',
    purpose: { kind: 'review-assigned', about: 'review:q1' },
  }),
];

test('every action of the vocabulary has exactly one builder', () => {
  expect(built.map((e) => e.action).sort()).toEqual([...AUDIT_ACTIONS].sort());
});

test('every built event can be chained: optional fields left out are absent, not undefined', () => {
  let prev;
  for (const input of built) prev = chainEvent(prev, input, '2026-01-01T00:00:00Z', sha256);
  expect(prev?.seq).toBe(built.length);
  const decided = built[8];
  expect(Object.keys(decided.details).sort()).toEqual(['approver', 'channel', 'decision']);
  expect(decided.correlation).toEqual({});
  expect(decided.actor).toEqual({ objectId: 'u-1', channel: 'system' });
});

test('the verify line reads ok with counts, or FAILED with stream, seq and the problem', () => {
  expect(formatVerifyResult({ ok: true, streams: 3, events: 41 })).toBe('verify: ok (3 streams, 41 events)');
  expect(
    formatVerifyResult({ ok: false, stream: 'request/42', seq: 3, problem: 'edited', message: 'x changed.' }),
  ).toBe('verify: FAILED stream=request/42 seq=3 edited: x changed.');
});

test('a submitted request records what was asked for, for whom and under which ticket when told', () => {
  const full = vocabulary.requestSubmitted(ctx, {
    justification: 'Quarter close',
    policy: { id: 'p', version: '1', hash: 'h' },
    durationMinutes: 240,
    appId: 'crm',
    roleId: 'admin',
    groupId: 'g-1',
    ticketReference: 'SEC-42',
    requester: { id: 'u-1', upn: 'alex@contoso.example', displayName: 'Alex Chen' },
  });
  expect(full.details).toEqual({
    justification: 'Quarter close',
    policy: { id: 'p', version: '1', hash: 'h' },
    durationMinutes: 240,
    appId: 'crm',
    roleId: 'admin',
    groupId: 'g-1',
    ticketReference: 'SEC-42',
    requester: { id: 'u-1', upn: 'alex@contoso.example', displayName: 'Alex Chen' },
  });
  expect(chainEvent(undefined, full, '2026-01-01T00:00:00Z', sha256).seq).toBe(1);
});

test('a submitted request without the optional fields has the same details as before they existed', () => {
  const minimal = vocabulary.requestSubmitted(ctx, {
    justification: 'j',
    policy: { id: 'p', version: '1', hash: 'h' },
    requester: { id: 'u-1' },
  });
  expect(minimal.details).toEqual({
    justification: 'j',
    policy: { id: 'p', version: '1', hash: 'h' },
    requester: { id: 'u-1' },
  });
  expect(Object.keys(built[0].details).sort()).toEqual(['justification', 'policy']);
});

test('ticket sync records in its own stream per Attest id, and a skip always says why', () => {
  expect(vocabulary.ticketStream('r-1')).toBe('tickets:r-1');
  expect(vocabulary.ticketStream('campaign:q1')).toBe('tickets:campaign:q1');
  const skipped = built.find((e) => e.action === 'ticket.row-skipped');
  expect(skipped?.details).toMatchObject({ reason: 'the ticket was deleted in Jira' });
  const released = built.find((e) => e.action === 'ticket.row-released');
  expect(Object.keys(released?.details ?? {})).toEqual(['row']);
});

test('Teams installations are recorded per person, and a refusal says what an admin can do', () => {
  expect(vocabulary.teamsStream('U-1')).toBe('teams:u-1');
  const refused = built.find((e) => e.action === 'teams.app-install-refused');
  expect(refused?.details).toMatchObject({
    status: 403,
    remedy: 'allow the app',
    purpose: { about: 'review:q1' },
  });
});
