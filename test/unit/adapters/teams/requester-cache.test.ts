import { RequesterCache } from '../../../../src/adapters/teams/requester-cache';
import type { Catalog } from '../../../../src/domain/catalog/catalog.model';
import type { Directory, DirectoryUser } from '../../../../src/ports/directory.port';
import { TestClock } from '../../../support/test-clock';

const USER: DirectoryUser = {
  id: '2d56bd67-ca9e-5879-920f-5d115542cfc5',
  displayName: 'Alex Chen',
  userPrincipalName: 'alex.chen@contoso.example',
  department: 'Engineering',
  accountEnabled: true,
};
const GROUP = '90a07bb0-22a6-555f-905e-b5705afe489c';
const catalog = {
  apps: [{ id: 'a', roles: [{ groupId: GROUP, eligibility: { groupIds: [], departments: [] } }] }],
} as unknown as Catalog;

/** A directory that counts its calls and answers from `groups` (what the person is in right now). */
function countingDirectory(groups: () => string[]) {
  const calls = { getUser: 0, memberGroupIds: 0 };
  const directory = {
    getUser: async () => {
      calls.getUser++;
      return USER;
    },
    memberGroupIds: async (_id: string, candidates: string[]) => {
      calls.memberGroupIds++;
      return candidates.filter((g) => groups().includes(g));
    },
  } as unknown as Directory;
  return { directory, calls };
}

test('a warmed person is answered from memory; after 5 minutes the old facts answer while new ones load', async () => {
  let groups: string[] = [];
  const { directory, calls } = countingDirectory(() => groups);
  const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
  const cache = new RequesterCache(directory, catalog, clock);
  cache.warm(USER.id);
  expect(await cache.memberGroupIds(USER.id, [GROUP])).toEqual([]);
  expect(await cache.getUser(USER.id)).toEqual(USER);
  expect(calls).toEqual({ getUser: 1, memberGroupIds: 1 });

  groups = [GROUP];
  clock.advance(6 * 60_000);
  expect(await cache.memberGroupIds(USER.id, [GROUP])).toEqual([]); // stale, answered at once
  await new Promise((r) => setTimeout(r, 10));
  expect(await cache.memberGroupIds(USER.id, [GROUP])).toEqual([GROUP]); // refreshed in the background
  expect(calls.memberGroupIds).toBe(2);
});

test('facts older than an hour are fetched again before answering', async () => {
  let groups: string[] = [GROUP];
  const { directory, calls } = countingDirectory(() => groups);
  const clock = new TestClock(new Date('2026-01-01T00:00:00Z'));
  const cache = new RequesterCache(directory, catalog, clock);
  expect(await cache.memberGroupIds(USER.id, [GROUP])).toEqual([GROUP]);
  groups = [];
  clock.advance(61 * 60_000);
  expect(await cache.memberGroupIds(USER.id, [GROUP])).toEqual([]);
  expect(calls.memberGroupIds).toBe(2);
});

test('groups outside the catalog are asked of the directory, not answered from memory', async () => {
  const { directory, calls } = countingDirectory(() => ['11111111-1111-4111-8111-111111111111']);
  const cache = new RequesterCache(directory, catalog, new TestClock(new Date()));
  expect(await cache.memberGroupIds(USER.id, ['11111111-1111-4111-8111-111111111111'])).toEqual([
    '11111111-1111-4111-8111-111111111111',
  ]);
  expect(calls.memberGroupIds).toBe(1);
});
