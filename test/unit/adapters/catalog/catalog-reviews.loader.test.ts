import path from 'node:path';
import { loadCatalogFile, parseCatalog } from '../../../../src/adapters/catalog/catalog-file.loader';
import type { LocatedCatalogProblem } from '../../../../src/domain/catalog/catalog.errors';
import { DomainError } from '../../../../src/domain/domain-error';
import { demoTenant } from '../../../../src/local/graph-sim/demo-tenant';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'catalog');
const FILE = 'test/fixtures/catalog/review-mistakes.yaml';
const tenant = demoTenant(new Date(0));

async function rejection(): Promise<DomainError> {
  try {
    await loadCatalogFile(path.join(FIXTURES, 'review-mistakes.yaml'), {
      knownGroups: new Set(tenant.groups.map((g) => g.id)),
      knownUsers: new Set(tenant.users.flatMap((u) => [u.id, u.userPrincipalName])),
    });
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected review-mistakes.yaml to be rejected');
}

describe('a catalog file with one of each mistake in its reviews', () => {
  let err: DomainError;
  let lines: string[];
  let problems: LocatedCatalogProblem[];
  beforeAll(async () => {
    err = await rejection();
    lines = err.message.split('\n');
    problems = (err.details?.problems ?? []) as LocatedCatalogProblem[];
  });

  test('is rejected with every problem, each on its own file:line', () => {
    expect(err.code).toBe('CATALOG.INVALID');
    expect(lines[0]).toBe(`${FILE} is not a valid access catalog (${problems.length} problems):`);
    expect(problems.map((p) => [p.line, p.code])).toEqual([
      [25, 'CATALOG.BAD_REVIEW_SCOPE'],
      [26, 'CATALOG.BAD_REVIEW_SCOPE'],
      [27, 'CATALOG.MALFORMED_GUID'],
      [29, 'CATALOG.UNKNOWN_REVIEWERS'],
      [31, 'CATALOG.MISSING_FALLBACK'],
      [32, 'CATALOG.BAD_SCHEDULE'],
      [34, 'CATALOG.BAD_REMINDER'],
      [35, 'CATALOG.WRONG_TYPE'],
      [36, 'CATALOG.MALFORMED_USER'],
      [37, 'CATALOG.OUT_OF_RANGE'],
      [38, 'CATALOG.DUPLICATE_REVIEW'],
      [40, 'CATALOG.BAD_REVIEW_SCOPE'],
      [41, 'CATALOG.NO_STAGES'],
      [42, 'CATALOG.BAD_SCHEDULE'],
      [43, 'CATALOG.BAD_DURATION'],
      [45, 'CATALOG.MISSING_KEY'],
      [45, 'CATALOG.MISSING_KEY'],
      [48, 'CATALOG.UNKNOWN_GROUP'],
      [52, 'CATALOG.WRONG_TYPE'],
    ]);
  });

  test.each([
    [25, 'access review "quarterly": scope names app "salesfroce"', 'Did you mean "salesforce"?'],
    [26, 'scope names role salesforce/admn', 'Did you mean "salesforce/admin"?'],
    [27, 'scope.groups entry "not-a-guid" is not a group object id'],
    [29, 'stage 1 of access review "quarterly": unknown reviewers "managr"', 'Did you mean "manager"?'],
    [31, 'stage 2 of access review "quarterly": no fallback reviewer', 'Add fallback: <UPN>'],
    [32, "schedule.cron '0 6 1 */3 *' has 5 fields", "Add the seconds first, e.g. '0 0 6 1 */3 *'."],
    [34, 'reminder 7d before the deadline is not shorter than the stage (7d', 'e.g. [3d, 1d]'],
    [35, 'default "remove" is not keep, revoke or recommendation'],
    [36, 'signOff "nobody" is neither a user object id nor a UPN'],
    [37, 'massRemovalShare 1.5 is not a share above 0 and at most 1', 'e.g. 0.2 for 20%'],
    [38, 'access review 2: review id "quarterly" is also the id of access review 1'],
    [40, 'scope is empty'],
    [41, 'stages is empty'],
    [42, 'schedule "weekly" is not one Attest knows', 'quarterly'],
    [43, 'duration cannot be permanent'],
    [45, 'access review "self-first": duration is missing', 'e.g. 14d'],
    [45, 'access review "self-first": signOff is missing'],
    [48, 'is not a group in the directory'],
    [52, 'inactiveDays is 0'],
  ] as [number, ...string[]][])('says on line %i what is wrong and how to fix it', (line, ...texts) => {
    const text = lines.filter((l) => l.startsWith(`${FILE}:${line}: `) && l.includes(texts[0]));
    expect(text).toHaveLength(1);
    for (const t of texts) expect(text[0]).toContain(t);
  });
});

describe('a cron schedule', () => {
  const catalog = (cron: string) =>
    [
      'id: c',
      'name: C',
      'version: 1',
      'apps:',
      '  wiki:',
      '    name: Wiki',
      '    roles:',
      '      reader:',
      '        name: Reader',
      '        groupId: 8183ff42-ddf5-50c1-a556-b84764f8ea47',
      '        approval: { stages: [{ approvers: manager, timeout: 1d, fallback: a@contoso.example }] }',
      '        duration: { default: 1d, max: 7d }',
      'reviews:',
      '  - id: r',
      '    name: R',
      '    scope: { apps: [wiki] }',
      '    stages: [{ reviewers: manager, fallback: a@contoso.example }]',
      `    schedule: { cron: '${cron}' }`,
      '    duration: 7d',
      '    signOff: a@contoso.example',
      '',
    ].join('\n');

  test('is read as NCRONTAB by the same check as the schedule settings', () => {
    const { catalog: c } = parseCatalog(catalog('0 0 6 1 1,4,7,10 *'), 'c.yaml');
    expect(c.reviews?.[0].schedule).toEqual({ kind: 'cron', expression: '0 0 6 1 1,4,7,10 *' });
  });

  test('that croner refuses is reported on its line', () => {
    expect(() => parseCatalog(catalog('0 0 25 * * *'), 'c.yaml')).toThrow(
      /^c\.yaml:18: access review "r": schedule\.cron '0 0 25 \* \* \*' is not a schedule/m,
    );
  });
});
