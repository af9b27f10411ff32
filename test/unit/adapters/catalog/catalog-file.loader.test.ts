import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  catalogContentHash,
  loadCatalogFile,
  parseCatalog,
  type LoadCatalogOptions,
} from '../../../../src/adapters/catalog/catalog-file.loader';
import type { LocatedCatalogProblem } from '../../../../src/domain/catalog/catalog.errors';
import { DomainError } from '../../../../src/domain/domain-error';
import { demoTenant } from '../../../../src/local/graph-sim/demo-tenant';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'fixtures', 'catalog');
const tenant = demoTenant(new Date(0));
const DIRECTORY: LoadCatalogOptions = {
  knownGroups: new Set(tenant.groups.map((g) => g.id)),
  knownUsers: new Set(tenant.users.flatMap((u) => [u.id, u.userPrincipalName])),
};

async function rejection(fixture: string, options: LoadCatalogOptions = DIRECTORY): Promise<DomainError> {
  try {
    await loadCatalogFile(path.join(FIXTURES, fixture), options);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error(`expected ${fixture} to be rejected`);
}

function problemsOf(err: DomainError): LocatedCatalogProblem[] {
  return (err.details?.problems ?? []) as LocatedCatalogProblem[];
}

describe('a catalog file with one of each mistake', () => {
  const FILE = 'test/fixtures/catalog/every-mistake.yaml';
  let err: DomainError;
  let lines: string[];
  beforeAll(async () => {
    err = await rejection('every-mistake.yaml');
    lines = err.message.split('\n');
  });

  test('is rejected with one CATALOG.INVALID error listing every problem, sorted by line', () => {
    expect(err.code).toBe('CATALOG.INVALID');
    expect(lines[0]).toBe(`${FILE} is not a valid access catalog (19 problems):`);
    const numbers = problemsOf(err).map((p) => p.line);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(lines.slice(1)).toEqual(problemsOf(err).map((p) => `${p.file}:${p.line}: ${p.message}`));
  });

  test.each([
    [4, 'CATALOG.WRONG_TYPE', 'version is 1.1. Quote it'],
    [13, 'CATALOG.UNKNOWN_KEY', 'unknown key "grupId"', 'Did you mean "groupId"?'],
    [
      19,
      'CATALOG.DURATION_DEFAULT_EXCEEDS_MAX',
      'duration.default 10d exceeds duration.max 7d. Lower default or raise max.',
    ],
    [23, 'CATALOG.MALFORMED_GUID', 'groupId "not-a-guid" is not a group object id'],
    [26, 'CATALOG.UNSATISFIABLE_STAGE', 'people is an empty list'],
    [29, 'CATALOG.BAD_DURATION', 'duration.default "0h" is zero'],
    [30, 'CATALOG.BAD_DURATION', 'duration.max "forever" is not a duration'],
    [31, 'CATALOG.DUPLICATE_ROLE', 'role id "user" is defined twice (first at line 21)'],
    [38, 'CATALOG.UNKNOWN_GROUP', 'is not a group in the directory'],
    [43, 'CATALOG.UNSATISFIABLE_STAGE', 'quorum 3 is more than the 2 different people named'],
    [46, 'CATALOG.UNSATISFIABLE_STAGE', 'quorum all on group-members'],
    [
      48,
      'CATALOG.MISSING_FALLBACK',
      'approval stage 3 of role "member" of app "github": no fallback approver',
    ],
    [55, 'CATALOG.BAD_PATTERN', 'is not a valid regular expression'],
    [58, 'CATALOG.AUTO_APPROVE_EXCEEDS_MAX', 'autoApprove.maxDuration 14d exceeds duration.max 7d'],
    [60, 'CATALOG.SELF_CONFLICT', 'conflicts lists the role itself'],
    [61, 'CATALOG.UNKNOWN_CONFLICT', 'github/ownr', 'Did you mean "github/owner"?'],
    [67, 'CATALOG.UNKNOWN_APPROVERS', 'unknown approvers "manger"', 'Did you mean "manager"?'],
    [71, 'CATALOG.PERMANENT_NOT_ALLOWED', 'duration.max is permanent'],
    [72, 'CATALOG.DUPLICATE_APP', 'app id "github" is defined twice (first at line 33)'],
  ] as [number, string, ...string[]][])('reports line %i with %s', (line, code, ...texts) => {
    const p = problemsOf(err).find((x) => x.line === line && x.code === code);
    expect(p).toBeDefined();
    const text = lines.find((l) => l.startsWith(`${FILE}:${line}: `) && l.includes(texts[0]));
    expect(text).toBeDefined();
    for (const t of texts) expect(text).toContain(t);
  });
});

describe('loading a catalog file', () => {
  test('reports a YAML syntax error with its file and line, and nothing else', () => {
    // Inline rather than a fixture file: prettier --check refuses to parse a file that is not YAML.
    const text = [
      'id: bad-yaml',
      'name: Bad',
      'version: 1',
      'apps:',
      '  wiki:',
      '    roles: [reader',
      '      editor:',
      '        name: Editor',
      '',
    ].join('\n');
    let err: unknown;
    try {
      parseCatalog(text, 'catalog/bad.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    const problems = problemsOf(err as DomainError);
    expect(problems.every((p) => p.code === 'CATALOG.SYNTAX')).toBe(true);
    expect((err as DomainError).message.split('\n')[1]).toMatch(/^catalog\/bad\.yaml:[67]: YAML syntax/);
  });

  test('places a problem in a shared (aliased) stage where each role uses it', async () => {
    const err = await rejection('shared-stage.yaml', {});
    expect(problemsOf(err).map((p) => [p.line, p.code])).toEqual([
      [15, 'CATALOG.MISSING_FALLBACK'],
      [23, 'CATALOG.MISSING_FALLBACK'],
    ]);
  });

  test('returns the catalog and a stamp with id, version and the SHA-256 of the file bytes', async () => {
    const file = path.join(FIXTURES, 'minimal.yaml');
    const loaded = await loadCatalogFile(file, DIRECTORY);
    expect(loaded.stamp).toEqual({
      catalogId: 'minimal',
      version: '1',
      contentHash: catalogContentHash(fs.readFileSync(file)),
    });
    expect(loaded.stamp.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.catalog.apps[0].roles[0].groupId).toBe('8183ff42-ddf5-50c1-a556-b84764f8ea47');
  });

  test('changes the content hash when the file changes, even only in a comment', () => {
    const text = fs.readFileSync(path.join(FIXTURES, 'minimal.yaml'), 'utf8');
    const a = parseCatalog(text, 'a.yaml').stamp.contentHash;
    const b = parseCatalog(`${text}# reviewed\n`, 'b.yaml').stamp.contentHash;
    expect(a).not.toBe(b);
    expect(parseCatalog(Buffer.from(text), 'c.yaml').stamp.contentHash).toBe(a);
  });

  test('names the file as the caller asks', () => {
    expect(() => parseCatalog('id: x\n', 'catalog/prod.yaml')).toThrow(/^catalog\/prod\.yaml is not a valid/);
  });

  test('says which file it could not read', async () => {
    const missing = path.join(os.tmpdir(), 'attest-no-such-catalog.yaml');
    await expect(loadCatalogFile(missing)).rejects.toMatchObject({ code: 'CATALOG.NOT_FOUND' });
  });
});
