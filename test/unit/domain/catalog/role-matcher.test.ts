import path from 'node:path';
import { loadCatalogFile } from '../../../../src/adapters/catalog/catalog-file.loader';
import type { Catalog, CatalogRole } from '../../../../src/domain/catalog/catalog.model';
import { matchText } from '../../../../src/domain/catalog/role-matcher';

let catalog: Catalog;
let all: CatalogRole[];
beforeAll(async () => {
  catalog = (await loadCatalogFile(path.resolve(__dirname, '../../../../catalog/demo-catalog.yaml'))).catalog;
  all = catalog.apps.flatMap((a) => [...a.roles]);
});
const refs = (text: string, roles = all) => matchText(text, catalog.apps, roles).roles.map((r) => r.ref);

test('an app and a role named together pick that role, with the length of time asked for', () => {
  const m = matchText('I need Salesforce admin for 4 hours', catalog.apps, all);
  expect(m.roles.map((r) => r.ref)).toEqual(['salesforce/admin']);
  expect(m.durationMs).toBe(4 * 3600_000);
});

test('synonyms from the catalog match like names', () => {
  expect(refs('sfdc sysadmin please')).toEqual(['salesforce/admin']);
});

test('an app alone offers its roles', () => {
  expect(refs('access to snowflake')).toEqual(['snowflake/analyst', 'snowflake/sysadmin']);
});

test('only roles the person may ask for are offered', () => {
  const eligible = all.filter((r) => r.ref !== 'salesforce/admin');
  expect(refs('Salesforce admin', eligible)).toEqual(['salesforce/user']);
});

test('text naming nothing in the catalog matches nothing, and words inside other words do not count', () => {
  expect(refs('can I have the moon')).toEqual([]);
  expect(refs('jiraffe')).toEqual([]);
});

test('lengths of time in words and short forms', () => {
  expect(matchText('github member for a day', catalog.apps, all).durationMs).toBe(86_400_000);
  expect(matchText('github member 2w', catalog.apps, all).durationMs).toBe(14 * 86_400_000);
  expect(matchText('github member', catalog.apps, all).durationMs).toBeUndefined();
});
