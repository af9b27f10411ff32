import type { Catalog } from '../../../../src/domain/catalog/catalog.model';
import type { CampaignDefinition, ReviewStage } from '../../../../src/domain/review/review.model';
import {
  checkDefinition,
  defaultDecisionFor,
  describeRecommendation,
  guardHolds,
  needsJustification,
  recommend,
  reminderTimes,
  resolveReviewers,
  reviewIndexIds,
  reviewItemId,
  scopeGroups,
  snapshotLine,
  stageDeadlines,
} from '../../../../src/domain/review/review.rules';

const DAY = 86_400_000;
const stage = (reviewers: ReviewStage['reviewers'], fallback = 'fallback-id'): ReviewStage => ({
  number: 1,
  reviewers,
  fallback,
});
const facts = {
  memberId: 'member',
  ownerIds: [] as string[],
  peopleIds: [] as string[],
  fallbackId: 'fallback-id',
};

describe('reviewer resolution', () => {
  test('a member is reviewed by their manager', () => {
    expect(resolveReviewers(stage({ kind: 'manager' }), { ...facts, managerId: 'Boss' })).toEqual(['boss']);
  });
  test('a member with no manager (a guest) goes to the fallback', () => {
    expect(resolveReviewers(stage({ kind: 'manager' }), facts)).toEqual(['fallback-id']);
  });
  test('nobody reviews their own membership: an owner who is the member leaves the other owners, or the fallback', () => {
    const s = stage({ kind: 'group-owners' });
    expect(resolveReviewers(s, { ...facts, ownerIds: ['member', 'owner-2'] })).toEqual(['owner-2']);
    expect(resolveReviewers(s, { ...facts, ownerIds: ['MEMBER'] })).toEqual(['fallback-id']);
  });
  test('named people are de-duplicated and the member is left out', () => {
    const s = stage({ kind: 'people', people: ['a', 'b'] });
    expect(resolveReviewers(s, { ...facts, peopleIds: ['a', 'A', 'member'] })).toEqual(['a']);
  });
  test('a self stage is reviewed by the member themself', () => {
    expect(resolveReviewers(stage({ kind: 'self' }), facts)).toEqual(['member']);
  });
  test('a self-stage keep needs a justification; a revoke does not', () => {
    expect(needsJustification(stage({ kind: 'self' }), 'keep', '')).toBe(true);
    expect(needsJustification(stage({ kind: 'self' }), 'keep', 'on call this quarter')).toBe(false);
    expect(needsJustification(stage({ kind: 'self' }), 'revoke')).toBe(false);
    expect(needsJustification(stage({ kind: 'manager' }), 'keep')).toBe(false);
  });
});

describe('recommendations', () => {
  const now = '2026-11-29T00:00:00.000Z';
  const base = { accountEnabled: true, signInUnavailable: false, addedOutside: false, now, inactiveDays: 90 };
  test('a recent sign-in recommends nothing', () => {
    const r = recommend({ ...base, lastSignIn: new Date(Date.parse(now) - 5 * DAY).toISOString() });
    expect(r).toEqual({ value: 'none', reasons: [] });
  });
  test('no sign-in for N days or never recommends revoke, with the reason', () => {
    const r = recommend({ ...base, lastSignIn: new Date(Date.parse(now) - 120 * DAY).toISOString() });
    expect(r.value).toBe('revoke');
    expect(describeRecommendation(r)).toBe('no sign-in for 120 days');
    expect(describeRecommendation(recommend({ ...base, lastSignIn: null }))).toBe('never signed in');
  });
  test('sign-in data unavailable is said, never guessed', () => {
    const r = recommend({ ...base, signInUnavailable: true });
    expect(r).toEqual({ value: 'none', reasons: [], signInUnavailable: true });
    expect(describeRecommendation(r)).toBe('sign-in data unavailable');
  });
  test('disabled, outside Attest and not eligible each recommend revoke', () => {
    const r = recommend({
      ...base,
      lastSignIn: now,
      accountEnabled: false,
      addedOutside: true,
      notEligibleFor: 'crm/admin',
    });
    expect(r.reasons.map((x) => x.kind)).toEqual(['account-disabled', 'outside-attest', 'not-eligible']);
    expect(describeRecommendation(r)).toBe(
      'account disabled; added outside Attest; no longer eligible for crm/admin',
    );
  });
});

describe('the default decision and the guard', () => {
  const revoke = { value: 'revoke' as const, reasons: [] };
  const none = { value: 'none' as const, reasons: [] };
  test('take-the-recommendation with no recommendation keeps', () => {
    expect(defaultDecisionFor('recommendation', none)).toBe('keep');
    expect(defaultDecisionFor('recommendation', revoke)).toBe('revoke');
    expect(defaultDecisionFor('keep', revoke)).toBe('keep');
    expect(defaultDecisionFor('revoke', none)).toBe('revoke');
  });
  test('the guard holds above the share, not at it, and never for nothing', () => {
    expect(guardHolds(21, 100, 0.2)).toBe(true);
    expect(guardHolds(20, 100, 0.2)).toBe(false);
    expect(guardHolds(0, 0, 0.2)).toBe(false);
    expect(guardHolds(1, 1, 1)).toBe(false);
  });
});

describe('stages, scope and snapshot listing', () => {
  const def = {
    durationMs: 14 * DAY,
    stages: [stage({ kind: 'manager' }), { ...stage({ kind: 'self' }), number: 2 }],
  };
  test('the duration is split equally over the stages', () => {
    expect(stageDeadlines('2026-01-01T00:00:00.000Z', def)).toEqual([
      '2026-01-08T00:00:00.000Z',
      '2026-01-15T00:00:00.000Z',
    ]);
  });
  test('reminders fall before the deadline and after the stage opened, earliest first', () => {
    expect(
      reminderTimes('2026-01-01T00:00:00.000Z', '2026-01-08T00:00:00.000Z', [DAY, 3 * DAY, 10 * DAY]),
    ).toEqual(['2026-01-05T00:00:00.000Z', '2026-01-07T00:00:00.000Z']);
  });
  const catalog = {
    apps: [
      {
        id: 'crm',
        roles: [
          { ref: 'crm/user', groupId: 'G-2' },
          { ref: 'crm/admin', groupId: 'g-1' },
        ],
      },
    ],
  } as unknown as Catalog;
  test('a scope resolves apps and roles to their groups plus explicit ones, sorted and each once', () => {
    expect(
      scopeGroups(catalog, { appIds: ['crm'], roleRefs: ['crm/admin'], groupIds: ['g-3', 'g-1'] }),
    ).toEqual([
      { groupId: 'g-1', roleRef: 'crm/admin' },
      { groupId: 'g-2', roleRef: 'crm/user' },
      { groupId: 'g-3', roleRef: undefined },
    ]);
    expect(() => scopeGroups(catalog, { appIds: ['nope'], roleRefs: [], groupIds: [] })).toThrow(
      /app 'nope'/,
    );
  });
  test('the snapshot line names the membership and what was known, never the decisions', () => {
    const line = snapshotLine({
      itemId: reviewItemId('G', 'U'),
      accountEnabled: true,
      lastSignIn: undefined,
      recommendation: { value: 'none', reasons: [] },
    });
    expect(line).toBe('g:u\tenabled\tunavailable\tnone\tremovable');
  });
  test('the index lists reviewers, who delegated at this stage and who decided', () => {
    expect(
      reviewIndexIds({
        stage: 2,
        reviewerIds: ['r2'],
        delegations: [
          { stage: 1, from: 'old', to: 'r1', at: '' },
          { stage: 2, from: 'd2', to: 'r2', at: '' },
        ],
        decisions: [
          { stage: 1, decision: 'keep', by: 'r1', at: '', source: 'reviewer' },
          { stage: 1, decision: 'keep', by: 'system', at: '', source: 'default' },
        ],
      }),
    ).toEqual(['d2', 'r1', 'r2']);
  });
  test('a definition that cannot run says why', () => {
    const ok: CampaignDefinition = {
      id: 'q1',
      name: 'Q1',
      scope: { appIds: [], roleRefs: [], groupIds: ['g'] },
      stages: [stage({ kind: 'manager' })],
      schedule: { kind: 'on-demand' },
      durationMs: DAY,
      remindersBeforeMs: [],
      defaultDecision: 'keep',
      signOff: 'boss@contoso.example',
      inactiveDays: 90,
      massRemovalShare: 0.2,
    };
    expect(() => checkDefinition(ok)).not.toThrow();
    expect(() => checkDefinition({ ...ok, stages: [] })).toThrow(/at least one stage/);
    expect(() => checkDefinition({ ...ok, massRemovalShare: 0 })).toThrow(/massRemovalShare/);
  });
});
