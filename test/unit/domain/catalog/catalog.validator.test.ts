import { CATALOG_PROBLEM, type CatalogProblem } from '../../../../src/domain/catalog/catalog.errors';
import type { Catalog } from '../../../../src/domain/catalog/catalog.model';
import { validateCatalog, type CatalogDirectory } from '../../../../src/domain/catalog/catalog.validator';
import { closest } from '../../../../src/domain/catalog/did-you-mean.helper';
import { GROUP_A, GROUP_B, GROUP_C, ONCALL, rawCatalog } from '../../../fixtures/catalog/raw-catalog.fixture';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function valid(raw: unknown, directory?: CatalogDirectory): Catalog {
  const r = validateCatalog(raw, directory);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.catalog;
}

function problems(raw: unknown, directory?: CatalogDirectory): CatalogProblem[] {
  const r = validateCatalog(raw, directory);
  if (r.ok) throw new Error('expected the catalog to be rejected');
  return [...r.problems];
}

function only(raw: unknown, directory?: CatalogDirectory): CatalogProblem {
  const p = problems(raw, directory);
  expect(p).toHaveLength(1);
  return p[0];
}

const CLERK = ['apps', 'finance', 'roles', 'clerk'];
const CONTROLLER = ['apps', 'finance', 'roles', 'controller'];

describe('a valid catalog', () => {
  test('resolves durations, stage defaults, quorum and version', () => {
    const c = valid(rawCatalog());
    expect(c.version).toBe('3');
    const [clerk, controller] = c.apps[0].roles;
    expect(clerk.duration).toEqual({ defaultMs: 30 * DAY, maxMs: 90 * DAY, permanentAllowed: false });
    expect(clerk.approval.stages).toEqual([
      {
        number: 1,
        approvers: { kind: 'manager', levels: 1 },
        quorum: 'any',
        timeoutMs: 48 * HOUR,
        fallback: 'cio@contoso.example',
      },
    ]);
    expect(controller.approval.stages[1]).toMatchObject({
      approvers: { kind: 'people', people: ['a@contoso.example', 'b@contoso.example'] },
      quorum: 2,
      timeoutMs: 48 * HOUR,
    });
    expect(controller.autoApprove).toEqual({ requesterInGroup: ONCALL, maxDurationMs: 4 * HOUR });
    expect(clerk.ticketReference).toEqual({ required: false });
  });

  test('records each conflict on both roles, whichever side lists it', () => {
    const [clerk, controller] = valid(rawCatalog()).apps[0].roles;
    expect(clerk.conflicts).toEqual(['finance/controller']);
    expect(controller.conflicts).toEqual(['finance/clerk']);
  });

  test('lower-cases group ids so they compare with what Graph returns', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.groupId = GROUP_A.toUpperCase();
    expect(valid(raw).apps[0].roles[0].groupId).toBe(GROUP_A);
  });

  test('turns manager-of-manager and group-owners into their approver sources', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.approval.stages = [
      { approvers: 'manager-of-manager' },
      { approvers: { manager: { levels: 3 } } },
      { approvers: 'group-owners', quorum: 'all' },
      { approvers: { 'group-members': GROUP_C }, quorum: 1 },
    ];
    expect(valid(raw).apps[0].roles[0].approval.stages.map((s) => s.approvers)).toEqual([
      { kind: 'manager', levels: 2 },
      { kind: 'manager', levels: 3 },
      { kind: 'group-owners', groupId: GROUP_A },
      { kind: 'group-members', groupId: GROUP_C },
    ]);
  });

  test('allows permanent access only with duration.permanent: true', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.duration = { default: '90d', max: 'permanent', permanent: true };
    expect(valid(raw).apps[0].roles[0].duration).toEqual({
      defaultMs: 90 * DAY,
      maxMs: 'permanent',
      permanentAllowed: true,
    });
  });

  test('asks the directory about every group and user it names', () => {
    const groups: string[] = [];
    const users: string[] = [];
    valid(rawCatalog(), {
      knownGroup: (id) => (groups.push(id), true),
      knownUser: (id) => (users.push(id), true),
    });
    expect(new Set(groups)).toEqual(new Set([GROUP_A, GROUP_B, GROUP_C, ONCALL]));
    expect(new Set(users)).toEqual(
      new Set(['cio@contoso.example', 'a@contoso.example', 'b@contoso.example']),
    );
  });
});

describe('an invalid catalog', () => {
  test('is rejected with every problem, not just the first', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.duration.default = '100d';
    raw.apps.finance.roles.controller.groupId = 'nope';
    raw.colour = 'blue';
    expect(problems(raw).map((p) => p.code)).toEqual([
      CATALOG_PROBLEM.UNKNOWN_KEY,
      CATALOG_PROBLEM.DURATION_DEFAULT_EXCEEDS_MAX,
      CATALOG_PROBLEM.MALFORMED_GUID,
    ]);
  });

  test('takes synonyms as a list of words, and reports one that is not text where it is', () => {
    const raw = rawCatalog();
    (raw.apps.finance as Record<string, unknown>).synonyms = ['ERP', 'NetSuite'];
    (raw.apps.finance.roles.clerk as Record<string, unknown>).synonyms = ['ap clerk'];
    const c = valid(raw);
    expect(c.apps[0].synonyms).toEqual(['ERP', 'NetSuite']);
    expect(c.apps[0].roles[0].synonyms).toEqual(['ap clerk']);
    (raw.apps.finance.roles.clerk as Record<string, unknown>).synonyms = ['ap clerk', 42];
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.WRONG_TYPE);
    expect(p.path).toEqual([...CLERK, 'synonyms', 1]);
  });

  test('names an unknown key and suggests the near miss', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.justification = { required: true, minLenght: 10 };
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.UNKNOWN_KEY);
    expect(p.path).toEqual([...CLERK, 'justification', 'minLenght']);
    expect(p.message).toContain('Did you mean "minLength"?');
  });

  test('does not also call a misspelt required key missing', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.grupId = raw.apps.finance.roles.clerk.groupId;
    delete raw.apps.finance.roles.clerk.groupId;
    expect(only(raw).code).toBe(CATALOG_PROBLEM.UNKNOWN_KEY);
  });

  test('says the words of the example message for default longer than max', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.duration = { default: '10d', max: '7d' };
    expect(only(raw).message).toBe(
      'role "clerk" of app "finance": duration.default 10d exceeds duration.max 7d. Lower default or raise max.',
    );
  });

  test.each([
    [{ default: '0h', max: '7d' }, 'default', /is zero/],
    [{ default: '-4h', max: '7d' }, 'default', /is negative/],
    [{ default: 8, max: '7d' }, 'default', /a number without a unit/],
    [{ default: '8h', max: 'a week' }, 'max', /is not a duration/],
  ])('rejects an impossible duration %j', (duration, key, message) => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.duration = duration;
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.BAD_DURATION);
    expect(p.path).toEqual([...CLERK, 'duration', key]);
    expect(p.message).toMatch(message);
  });

  test('rejects permanent where the role does not allow it', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.duration = { default: '8h', max: 'permanent' };
    expect(only(raw).code).toBe(CATALOG_PROBLEM.PERMANENT_NOT_ALLOWED);
  });

  test('rejects a group the directory does not know, and a malformed one', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.eligibility.groups = ['sg-finance'];
    const found = problems(raw, { knownGroup: (id) => id !== GROUP_A });
    expect(found.map((p) => [p.code, p.path])).toEqual([
      [CATALOG_PROBLEM.UNKNOWN_GROUP, [...CLERK, 'groupId']],
      [CATALOG_PROBLEM.MALFORMED_GUID, [...CONTROLLER, 'eligibility', 'groups', 0]],
    ]);
  });

  test('rejects a user the directory does not know', () => {
    const p = only(rawCatalog(), { knownUser: (u) => u !== 'b@contoso.example' });
    expect(p.code).toBe(CATALOG_PROBLEM.UNKNOWN_USER);
    expect(p.path).toEqual([...CONTROLLER, 'approval', 'stages', 1, 'approvers', 'people', 1]);
  });

  test('rejects two roles backed by the same group', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.groupId = GROUP_A;
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.SHARED_GROUP);
    expect(p.message).toContain('finance/clerk');
  });

  const STAGE = [...CLERK, 'approval', 'stages', 0];
  test.each([
    ['an empty people list', { approvers: { people: [] } }, [...STAGE, 'approvers', 'people']],
    [
      'a quorum above the people named',
      { approvers: { people: ['a@x.example'] }, quorum: 2 },
      [...STAGE, 'quorum'],
    ],
    [
      'one person named twice towards a quorum of two',
      { approvers: { people: ['a@x.example', 'A@x.example'] }, quorum: 2 },
      [...STAGE, 'quorum'],
    ],
    [
      'quorum all on an unbounded group',
      { approvers: { 'group-members': GROUP_C }, quorum: 'all' },
      [...STAGE, 'quorum'],
    ],
    ['a quorum of two on a manager', { approvers: 'manager', quorum: 2 }, [...STAGE, 'quorum']],
  ])('rejects a stage nobody can satisfy: %s', (_, stage, path) => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.approval.stages = [stage];
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.UNSATISFIABLE_STAGE);
    expect(p.path).toEqual(path);
  });

  test('rejects a stage without a fallback when the catalog sets no default', () => {
    const raw = rawCatalog();
    delete raw.stageDefaults.fallback;
    const found = problems(raw);
    expect(found.map((p) => p.code)).toEqual([
      CATALOG_PROBLEM.MISSING_FALLBACK,
      CATALOG_PROBLEM.MISSING_FALLBACK,
      CATALOG_PROBLEM.MISSING_FALLBACK,
    ]);
    expect(found[0].message).toMatch(
      /^approval stage 1 of role "clerk" of app "finance": no fallback approver/,
    );
  });

  test('rejects a role with no approval stages', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.approval.stages = [];
    expect(only(raw).code).toBe(CATALOG_PROBLEM.NO_STAGES);
  });

  test('suggests the approver kind meant by a misspelling', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.approval.stages = [{ approvers: 'group-owner' }];
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.UNKNOWN_APPROVERS);
    expect(p.message).toContain('Did you mean "group-owners"?');
  });

  test('rejects conflicts with an unknown role and with the role itself', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.clerk.conflicts = ['finance/clerk', 'finance/controler', 'controller'];
    const found = problems(raw);
    expect(found.map((p) => p.code)).toEqual([
      CATALOG_PROBLEM.SELF_CONFLICT,
      CATALOG_PROBLEM.UNKNOWN_CONFLICT,
      CATALOG_PROBLEM.UNKNOWN_CONFLICT,
    ]);
    expect(found[1].message).toContain('Did you mean "finance/controller"?');
    expect(found[2].message).toContain('appId/roleId');
  });

  test('rejects a ticket pattern that is not a regular expression', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.ticketReference.pattern = 'CHG[0-9{7}';
    const found = problems(raw);
    expect(found[0].code).toBe(CATALOG_PROBLEM.BAD_PATTERN);
  });

  test('rejects a ticket example the pattern does not accept', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.ticketReference.example = 'INC0012345';
    expect(only(raw).code).toBe(CATALOG_PROBLEM.EXAMPLE_DOES_NOT_MATCH);
  });

  test('rejects autoApprove.maxDuration beyond duration.max', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.autoApprove.maxDuration = '14d';
    const p = only(raw);
    expect(p.code).toBe(CATALOG_PROBLEM.AUTO_APPROVE_EXCEEDS_MAX);
    expect(p.message).toContain('autoApprove.maxDuration 14d exceeds duration.max 7d');
  });

  test('rejects an autoApprove with no conditions', () => {
    const raw = rawCatalog();
    raw.apps.finance.roles.controller.autoApprove = {};
    expect(only(raw).code).toBe(CATALOG_PROBLEM.EMPTY_AUTO_APPROVE);
  });

  test('rejects ids that are not lower-case slugs', () => {
    const raw = rawCatalog();
    raw.apps.Finance = raw.apps.finance;
    delete raw.apps.finance;
    raw.apps.Finance.roles.clerk.conflicts = [];
    expect(only(raw).code).toBe(CATALOG_PROBLEM.INVALID_ID);
  });

  test('asks for a quoted version when YAML would read it as a decimal', () => {
    const raw = rawCatalog();
    raw.version = 1.1;
    expect(only(raw).message).toContain('Quote it');
  });

  test('says how to start when the document is empty', () => {
    expect(only(null).code).toBe(CATALOG_PROBLEM.MISSING_KEY);
  });
});

describe('did you mean', () => {
  test('counts a swapped pair of letters as one edit', () => {
    expect(closest('minLenght', ['minLength', 'required'])).toBe('minLength');
  });

  test('suggests nothing for a word that is not close to any key', () => {
    expect(closest('colour', ['name', 'version', 'apps'])).toBeUndefined();
  });
});

describe('the reviews section', () => {
  const review = (over: Record<string, unknown> = {}) => ({
    id: 'finance-review',
    name: 'Finance access',
    scope: { apps: ['finance'] },
    stages: [{ reviewers: 'manager', fallback: 'cio@contoso.example' }],
    duration: '14d',
    signOff: 'cfo@contoso.example',
    ...over,
  });
  const withReviews = (...reviews: unknown[]) => ({ ...rawCatalog(), reviews });

  test('resolves a definition with the defaults where it is silent', () => {
    expect(valid(withReviews(review())).reviews).toEqual([
      {
        id: 'finance-review',
        name: 'Finance access',
        scope: { appIds: ['finance'], roleRefs: [], groupIds: [] },
        stages: [{ number: 1, reviewers: { kind: 'manager' }, fallback: 'cio@contoso.example' }],
        schedule: { kind: 'on-demand' },
        durationMs: 14 * DAY,
        remindersBeforeMs: [],
        defaultDecision: 'keep',
        signOff: 'cfo@contoso.example',
        inactiveDays: 90,
        massRemovalShare: 0.2,
      },
    ]);
  });

  test('reads every reviewer form, a self stage anywhere, reminders longest first, and a cron schedule', () => {
    const [r] =
      valid(
        withReviews(
          review({
            scope: { roles: ['finance/clerk'], groups: [GROUP_C.toUpperCase()] },
            stages: [
              { name: 'Owners', reviewers: 'group-owners', fallback: 'cio@contoso.example' },
              { reviewers: 'self', fallback: 'cio@contoso.example' },
              {
                reviewers: { people: ['a@contoso.example', 'A@contoso.example'] },
                fallback: 'cio@contoso.example',
              },
            ],
            schedule: { cron: '0 0 6 1 1,4,7,10 *' },
            duration: '21d',
            reminders: ['1d', '3d'],
            default: 'recommendation',
            inactiveDays: 60,
            massRemovalShare: 0.5,
          }),
        ),
        { scheduleProblem: () => undefined },
      ).reviews ?? [];
    expect(r.scope).toEqual({ appIds: [], roleRefs: ['finance/clerk'], groupIds: [GROUP_C] });
    expect(r.stages.map((s) => s.reviewers)).toEqual([
      { kind: 'group-owners' },
      { kind: 'self' },
      { kind: 'people', people: ['a@contoso.example'] },
    ]);
    expect(r.stages[0].name).toBe('Owners');
    expect(r.schedule).toEqual({ kind: 'cron', expression: '0 0 6 1 1,4,7,10 *' });
    expect(r.remindersBeforeMs).toEqual([3 * DAY, 1 * DAY]);
    expect([r.defaultDecision, r.inactiveDays, r.massRemovalShare]).toEqual(['recommendation', 60, 0.5]);
  });

  test('leaves reviews out of a catalog that has none', () => {
    expect(valid(rawCatalog()).reviews).toBeUndefined();
    expect(valid(withReviews()).reviews).toBeUndefined();
  });

  test('asks the directory about the sign-off, fallbacks, named reviewers and scope groups', () => {
    const users: string[] = [];
    const groups: string[] = [];
    valid(
      withReviews(
        review({
          scope: { groups: [ONCALL] },
          stages: [{ reviewers: { people: ['r@contoso.example'] }, fallback: 'f@contoso.example' }],
        }),
      ),
      { knownUser: (u) => (users.push(u), true), knownGroup: (g) => (groups.push(g), true) },
    );
    expect(users).toEqual(
      expect.arrayContaining(['r@contoso.example', 'f@contoso.example', 'cfo@contoso.example']),
    );
    expect(groups).toContain(ONCALL);
  });

  test('passes a cron expression to the schedule check it is given, and reports its verdict', () => {
    const p = only(withReviews(review({ schedule: { cron: '0 0 6 31 2 *' } })), {
      scheduleProblem: (e) => (e === '0 0 6 31 2 *' ? 'never fires' : undefined),
    });
    expect(p.code).toBe(CATALOG_PROBLEM.BAD_SCHEDULE);
    expect(p.path).toEqual(['reviews', 0, 'schedule', 'cron']);
    expect(p.message).toMatch(
      /^access review "finance-review": schedule\.cron '0 0 6 31 2 \*' never fires\./,
    );
  });

  test('refuses a reviews section that is not a list', () => {
    const p = only({ ...rawCatalog(), reviews: { 'finance-review': review() } });
    expect(p.code).toBe(CATALOG_PROBLEM.WRONG_TYPE);
    expect(p.path).toEqual(['reviews']);
  });

  test('refuses reviewers that name two kinds or nobody', () => {
    const p = only(
      withReviews(review({ stages: [{ reviewers: { people: [] }, fallback: 'cio@contoso.example' }] })),
    );
    expect(p.code).toBe(CATALOG_PROBLEM.UNKNOWN_REVIEWERS);
    expect(p.message).toContain('people names nobody');
  });
});
