import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphDirectory, type GraphDirectoryOptions } from '../../../src/adapters/graph/graph-directory';
import { DirectoryError } from '../../../src/ports/directory.port';
import {
  startGraphSimulator,
  type GraphSimOptions,
  type GraphSimulator,
} from '../../../src/local/graph-sim/graph-sim';
import {
  DEMO_APPS,
  DEMO_ATTEST_ADMINS_GROUP_ID,
  DEMO_DISTRIBUTION_LIST_ID,
  DEMO_DYNAMIC_GROUP_ID,
  DEMO_MAIL_ENABLED_SECURITY_GROUP_ID,
  DEMO_ONCALL_GROUP_ID,
  DEMO_ONCALL_SECONDARY_GROUP_ID,
  DEMO_ONPREM_SYNCED_GROUP_ID,
  DEMO_ROLE_ASSIGNABLE_GROUP_ID,
  DEMO_UNIFIED_GROUP_ID,
  PLAYGROUND_USERS,
  demoGroupId,
  demoTenant,
  demoUserId,
  type SimGroup,
  type SimTenant,
  type SimUser,
} from '../../../src/local/graph-sim/demo-tenant';

const NOW = new Date('2025-06-02T09:00:00Z');
const [ALEX, PRIYA, RAHUL] = PLAYGROUND_USERS.map((u) => u.id);
const MARGARET = demoUserId('margaret.okafor');
const SIOBHAN = demoUserId('siobhan.obrien');
const CONTRACTOR = demoUserId('taylor.brooks');
const SALESFORCE_USERS = demoGroupId('sg-salesforce-users');
const AWS_READONLY = demoGroupId('sg-aws-prod-readonly');
const UNKNOWN_GROUP = '00000000-0000-4000-8000-000000000404';
const UNKNOWN_USER = '00000000-0000-4000-8000-000000000405';
const REQUEST_ID = /^[0-9a-f-]{36}$/;

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-graph-directory-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Started {
  sim: GraphSimulator;
  directory: GraphDirectory;
  dataDir: string;
  token: string;
}

/** A simulator on port 0 and a GraphDirectory over createGraphClient, the way Attest wires them. */
async function start(
  opts: Partial<GraphSimOptions> = {},
  retry: { maxRetries?: number; delaySeconds?: number } = { maxRetries: 0 },
  directoryOptions: GraphDirectoryOptions = {},
  token?: string,
): Promise<Started> {
  const dataDir = opts.dataDir ?? tempDir();
  const sim = await startGraphSimulator({ port: 0, now: () => NOW, ...opts, dataDir });
  const t = token ?? sim.issueToken();
  const client = createGraphClient({ baseUrl: sim.url, getToken: async () => t, retry });
  return { sim, directory: new GraphDirectory(client, directoryOptions), dataDir, token: t };
}

/**
 * Seeds a data dir, stops the simulator, lets `edit` change the persisted tenant.json (the simulator's own
 * state file, see tenant.store.ts), and starts the simulator again on it.
 */
async function startEdited(edit: (tenant: SimTenant) => void): Promise<Started> {
  const seeded = await start();
  await seeded.sim.close();
  const file = path.join(seeded.dataDir, 'graph-sim', 'tenant.json');
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as { tenant: SimTenant };
  edit(state.tenant);
  fs.writeFileSync(file, JSON.stringify(state));
  return start({ dataDir: seeded.dataDir }, { maxRetries: 0 }, {}, seeded.token);
}

async function directoryErrorOf(p: Promise<unknown>): Promise<DirectoryError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DirectoryError) return e;
    throw e;
  }
  throw new Error('expected the directory call to fail');
}

/** A `random` for the simulator that rolls the given dice, then 0.9 (no fault), counting every roll. */
function dice(...rolls: number[]): { random: () => number; count: () => number } {
  let n = 0;
  return {
    random: () => {
      n++;
      return rolls.shift() ?? 0.9;
    },
    count: () => n,
  };
}

const seed = demoTenant(NOW);
const seedUser = (id: string): SimUser => {
  const u = seed.users.find((x) => x.id === id);
  if (!u) throw new Error(`no seed user ${id}`);
  return u;
};

describe('GraphDirectory on the demo tenant', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.sim.close());

  test('a user is found by object id and by userPrincipalName, and nobody is undefined', async () => {
    const byId = await s.directory.getUser(ALEX);
    const byUpn = await s.directory.getUser('Alex.Chen@contoso.example');
    expect(byId).toEqual({
      id: ALEX,
      displayName: 'Alex Chen',
      userPrincipalName: 'alex.chen@contoso.example',
      mail: 'alex.chen@contoso.example',
      department: 'Engineering',
      jobTitle: 'Software Engineer',
      accountEnabled: true,
    });
    expect(byUpn).toEqual(byId);
    expect(await s.directory.getUser('nobody@contoso.example')).toBeUndefined();
    expect(await s.directory.getUser('')).toBeUndefined();
  });

  test("the manager chain of a Playground requester is their manager, then the manager's manager, then the CEO", async () => {
    const ids = async (levels: number) => (await s.directory.managerChain(ALEX, levels)).map((u) => u.id);
    expect(await ids(1)).toEqual([PRIYA]);
    expect(await ids(2)).toEqual([PRIYA, RAHUL]);
    expect(await ids(3)).toEqual([PRIYA, RAHUL, MARGARET]);
    const [manager] = await s.directory.managerChain(ALEX, 1);
    expect(manager.displayName).toBe('Priya Raman');
  });

  test('the manager chain stops at the top of the org chart when more levels are asked for', async () => {
    expect((await s.directory.managerChain(ALEX, 10)).map((u) => u.displayName)).toEqual([
      'Priya Raman',
      'Rahul Mehta',
      'Margaret Okafor',
    ]);
    expect(await s.directory.managerChain(ALEX, 0)).toEqual([]);
  });

  test('a manager chain can start from a userPrincipalName', async () => {
    expect((await s.directory.managerChain('alex.chen@contoso.example', 2)).map((u) => u.id)).toEqual([
      PRIYA,
      RAHUL,
    ]);
  });

  test('a requester with no manager (the contractor) has an empty chain', async () => {
    expect(await s.directory.managerChain(CONTRACTOR, 3)).toEqual([]);
  });

  test('the manager chain of a user who does not exist is DIRECTORY.NOT_FOUND', async () => {
    const err = await directoryErrorOf(s.directory.managerChain(UNKNOWN_USER, 2));
    expect(err.code).toBe('DIRECTORY.NOT_FOUND');
    expect(err.details).toMatchObject({ operation: 'managerChain', target: UNKNOWN_USER });
    expect(err.message).toContain(`User ${UNKNOWN_USER} does not exist`);
  });

  test('group owners are the users who own the group', async () => {
    expect((await s.directory.groupOwners(AWS_READONLY)).map((u) => u.displayName)).toEqual([
      'Kenji Watanabe',
      'Priya Raman',
    ]);
    expect((await s.directory.groupOwners(DEMO_ATTEST_ADMINS_GROUP_ID)).map((u) => u.id)).toEqual([
      demoUserId('amara.nwosu'),
    ]);
  });

  test('group members are every direct member of the group that is a user, in full', async () => {
    const members = await s.directory.groupMembers(DEMO_ONCALL_GROUP_ID);
    const direct = seed.groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID)?.memberIds ?? [];
    // The nested secondary on-call group is a member too, but not a person.
    expect(direct).toContain(DEMO_ONCALL_SECONDARY_GROUP_ID);
    expect(members.map((m) => m.id)).toEqual(direct.filter((id) => id !== DEMO_ONCALL_SECONDARY_GROUP_ID));
    expect(members.every((m) => m.userPrincipalName.endsWith('@contoso.example'))).toBe(true);
  });

  test('owners or members of an unknown group are DIRECTORY.NOT_FOUND naming the group', async () => {
    const owners = await directoryErrorOf(s.directory.groupOwners(UNKNOWN_GROUP));
    const members = await directoryErrorOf(s.directory.groupMembers(UNKNOWN_GROUP));
    for (const err of [owners, members]) {
      expect(err.code).toBe('DIRECTORY.NOT_FOUND');
      expect(err.message).toContain(`Group ${UNKNOWN_GROUP} does not exist`);
      expect(err.details.graphCode).toBe('Request_ResourceNotFound');
      expect(err.details.requestId).toMatch(REQUEST_ID);
    }
  });

  test('a UPN prefix finds the person it names', async () => {
    const found = await s.directory.findUsersByUpnPrefix('Siobhan.O');
    expect(found.map((u) => [u.displayName, u.userPrincipalName])).toEqual([
      ["Siobhan O'Brien", 'siobhan.obrien@contoso.example'],
    ]);
    expect(await s.directory.findUsersByUpnPrefix('a', 2)).toHaveLength(2);
  });

  test("a UPN prefix with ', &, # and + is sent as data and matches nobody instead of breaking the query", async () => {
    await expect(s.directory.findUsersByUpnPrefix("siobhan.o'brien&x=1#y+z")).resolves.toEqual([]);
    await expect(s.directory.findUsersByUpnPrefix("'")).resolves.toEqual([]);
  });

  test('isMember says whether the user is a direct member; an unknown group is DIRECTORY.NOT_FOUND', async () => {
    expect(await s.directory.isMember(AWS_READONLY, SIOBHAN)).toBe(true);
    expect(await s.directory.isMember(AWS_READONLY, ALEX)).toBe(false);
    expect((await directoryErrorOf(s.directory.isMember(UNKNOWN_GROUP, ALEX))).code).toBe(
      'DIRECTORY.NOT_FOUND',
    );
  });

  test('memberGroupIds picks the groups the user is in from more candidates than one checkMemberGroups takes', async () => {
    const candidates = [
      ...DEMO_APPS.flatMap((a) => a.roles.map((r) => r.groupId)),
      DEMO_ONCALL_GROUP_ID,
      DEMO_ATTEST_ADMINS_GROUP_ID,
    ];
    // Duplicates, in another case, are asked and answered once.
    const asked = [...candidates, ...candidates.slice(0, 4).map((g) => g.toUpperCase())];
    expect(asked.length).toBeGreaterThan(20);
    const expected = candidates.filter((g) =>
      seed.groups.find((x) => x.id === g)?.memberIds.includes(SIOBHAN),
    );
    expect(expected).toEqual([demoGroupId('sg-github-members'), AWS_READONLY, DEMO_ONCALL_GROUP_ID]);
    expect(await s.directory.memberGroupIds(SIOBHAN, asked)).toEqual(expected);
    expect(await s.directory.memberGroupIds(SIOBHAN, [])).toEqual([]);
  });

  test('memberGroupIds with a group that does not exist is DIRECTORY.NOT_FOUND naming it', async () => {
    const err = await directoryErrorOf(s.directory.memberGroupIds(SIOBHAN, [AWS_READONLY, UNKNOWN_GROUP]));
    expect(err.code).toBe('DIRECTORY.NOT_FOUND');
    expect(err.details).toMatchObject({ target: UNKNOWN_GROUP, graphCode: 'Request_ResourceNotFound' });
  });

  test("adding twice is added, then already-member, and the simulator's writes show exactly that", async () => {
    const first = await s.directory.addMember(SALESFORCE_USERS, ALEX);
    const second = await s.directory.addMember(SALESFORCE_USERS, ALEX);
    expect(first).toEqual({ outcome: 'added', requestId: expect.stringMatching(REQUEST_ID) });
    expect(second).toEqual({ outcome: 'already-member', requestId: expect.stringMatching(REQUEST_ID) });
    expect(first.requestId).not.toBe(second.requestId);
    expect(await s.directory.isMember(SALESFORCE_USERS, ALEX)).toBe(true);
    const writes = s.sim.writes().filter((w) => w.path === `/groups/${SALESFORCE_USERS}/members/$ref`);
    expect(writes.map((w) => [w.method, w.status])).toEqual([
      ['POST', 204],
      ['POST', 400],
    ]);
  });

  test('removing twice is removed, then not-member', async () => {
    await s.directory.addMember(SALESFORCE_USERS, PRIYA);
    expect((await s.directory.removeMember(SALESFORCE_USERS, PRIYA)).outcome).toBe('removed');
    expect((await s.directory.removeMember(SALESFORCE_USERS, PRIYA)).outcome).toBe('not-member');
    expect(await s.directory.isMember(SALESFORCE_USERS, PRIYA)).toBe(false);
    const writes = s.sim
      .writes()
      .filter((w) => w.path === `/groups/${SALESFORCE_USERS}/members/${PRIYA}/$ref`);
    expect(writes.map((w) => [w.method, w.status])).toEqual([
      ['DELETE', 204],
      ['DELETE', 404],
    ]);
  });

  test('adding to an unknown group is DIRECTORY.NOT_FOUND naming the group, with Graph code and request-id', async () => {
    const err = await directoryErrorOf(s.directory.addMember(UNKNOWN_GROUP, ALEX));
    expect(err).toBeInstanceOf(DirectoryError);
    expect(err.code).toBe('DIRECTORY.NOT_FOUND');
    expect(err.message).toContain(`Group ${UNKNOWN_GROUP} does not exist`);
    expect(err.details).toMatchObject({
      operation: 'addMember',
      status: 404,
      graphCode: 'Request_ResourceNotFound',
      target: UNKNOWN_GROUP,
      requestId: expect.stringMatching(REQUEST_ID),
    });
  });

  test('adding an unknown user is DIRECTORY.NOT_FOUND naming the user, not the group', async () => {
    const err = await directoryErrorOf(s.directory.addMember(SALESFORCE_USERS, UNKNOWN_USER));
    expect(err.code).toBe('DIRECTORY.NOT_FOUND');
    expect(err.details.target).toBe(UNKNOWN_USER);
    expect(err.message).toContain(`User ${UNKNOWN_USER} does not exist`);
  });

  test('removing from an unknown group is DIRECTORY.NOT_FOUND, not not-member', async () => {
    const err = await directoryErrorOf(s.directory.removeMember(UNKNOWN_GROUP, ALEX));
    expect(err.code).toBe('DIRECTORY.NOT_FOUND');
    expect(err.details.target).toBe(UNKNOWN_GROUP);
  });

  test('lastSignIns returns the latest sign-in of each user and null for those who never signed in, over several batches', async () => {
    const ids = [...seed.users.map((u) => u.id), UNKNOWN_USER];
    expect(ids.length).toBeGreaterThan(40);
    const result = await s.directory.lastSignIns(ids);
    expect(result.size).toBe(seed.users.length);
    expect(result.has(UNKNOWN_USER)).toBe(false);
    for (const u of seed.users) {
      const latest = [u.lastSignInDateTime, u.lastNonInteractiveSignInDateTime]
        .filter((t): t is string => t !== null)
        .map((t) => Date.parse(t));
      expect(result.get(u.id)?.getTime() ?? null).toEqual(latest.length ? Math.max(...latest) : null);
    }
    const never = [...result].filter(([, at]) => at === null).map(([id]) => seedUser(id).displayName);
    expect(never.sort()).toEqual(['Attest Notifications', 'Ines Duarte', 'Samuel Osei']);
    expect(result.get(demoUserId('liam.murphy'))?.getTime()).toBeLessThan(NOW.getTime() - 119 * 86400_000);
    expect(await s.directory.lastSignIns([])).toEqual(new Map());
  });
});

describe('GraphDirectory on an edited tenant', () => {
  const BULK_GROUP = demoGroupId('sg-bulk-test');
  const bulkId = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  const BULK = 2100;
  const QUOTED_UPN = "kim.o'neil+ops&dev#2@contoso.example";
  let s: Started;

  beforeAll(async () => {
    s = await startEdited((tenant) => {
      const user = (id: string, upn: string, displayName: string): SimUser => ({
        ...seedUser(ALEX),
        id,
        userPrincipalName: upn,
        mail: upn,
        displayName,
        managerId: null,
      });
      // Alex -> Priya -> Rahul -> Margaret -> Alex: the CEO reports to an engineer, a cycle.
      const margaret = tenant.users.find((u) => u.id === MARGARET) as SimUser;
      margaret.managerId = ALEX;
      // Rahul is disabled, yet still in the chain.
      (tenant.users.find((u) => u.id === RAHUL) as SimUser).accountEnabled = false;
      tenant.users.push(
        user(bulkId(9001), QUOTED_UPN, 'Kim ONeil (ops)'),
        user(bulkId(9002), "kim.o'neil@contoso.example", "Kim O'Neil"),
        user(bulkId(9003), "kim.o'neil ops&dev#2@contoso.example", 'Kim ONeil (space)'),
      );
      const bulk: SimGroup = {
        ...(tenant.groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID) as SimGroup),
        id: BULK_GROUP,
        displayName: 'Bulk test',
        mailNickname: 'sg-bulk-test',
        memberIds: [],
      };
      for (let n = 1; n <= BULK; n++) {
        const id = bulkId(n);
        tenant.users.push(user(id, `bulk.${n}@contoso.example`, `Bulk ${n}`));
        bulk.memberIds.push(id);
      }
      tenant.groups.push(bulk);
    });
  });
  afterAll(() => s.sim.close());

  test('a manager chain that loops back to the requester is not followed forever', async () => {
    const chain = await s.directory.managerChain(ALEX, 50);
    expect(chain.map((u) => u.id)).toEqual([PRIYA, RAHUL, MARGARET]);
    // Starting higher up, the loop passes through Alex and stops before Priya repeats.
    expect((await s.directory.managerChain(PRIYA, 50)).map((u) => u.id)).toEqual([RAHUL, MARGARET, ALEX]);
  });

  test('a disabled manager is in the chain, marked disabled, and the walk goes on past them', async () => {
    const chain = await s.directory.managerChain(ALEX, 3);
    expect(chain.map((u) => [u.displayName, u.accountEnabled])).toEqual([
      ['Priya Raman', true],
      ['Rahul Mehta', false],
      ['Margaret Okafor', true],
    ]);
  });

  test('all members of a group larger than two pages come back, in order', async () => {
    const members = await s.directory.groupMembers(BULK_GROUP);
    expect(members).toHaveLength(BULK);
    expect(members.map((m) => m.id)).toEqual(Array.from({ length: BULK }, (_, i) => bulkId(i + 1)));
    expect(members[BULK - 1].userPrincipalName).toBe(`bulk.${BULK}@contoso.example`);
  });

  test('membership on the third page of a large group is found by isMember and memberGroupIds', async () => {
    expect(await s.directory.isMember(BULK_GROUP, bulkId(BULK))).toBe(true);
    expect(await s.directory.isMember(BULK_GROUP, ALEX)).toBe(false);
    expect(await s.directory.memberGroupIds(bulkId(2050), [DEMO_ONCALL_GROUP_ID, BULK_GROUP])).toEqual([
      BULK_GROUP,
    ]);
  });

  test("a UPN prefix with ', +, & and # finds exactly the right person", async () => {
    const found = await s.directory.findUsersByUpnPrefix("kim.o'neil+ops&dev#");
    expect(found.map((u) => u.userPrincipalName)).toEqual([QUOTED_UPN]);
    const both = await s.directory.findUsersByUpnPrefix("kim.o'neil");
    expect(both).toHaveLength(3);
    expect(await s.directory.getUser(QUOTED_UPN)).toMatchObject({ id: bulkId(9001) });
  });
});

describe('GraphDirectory under throttling and outages', () => {
  test('a throttled read is retried after its Retry-After and succeeds', async () => {
    const d = dice(0.1);
    const s = await start({ faults: { throttleRate: 0.5 }, random: d.random }, { maxRetries: 3 });
    try {
      const started = Date.now();
      expect((await s.directory.getUser(ALEX))?.displayName).toBe('Alex Chen');
      expect(d.count()).toBe(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await s.sim.close();
    }
  });

  test('a throttled member add is retried, and the writes log shows the 429 then the 204', async () => {
    const d = dice(0.1);
    const s = await start(
      { faults: { throttleRate: 0.5, retryAfterSeconds: 0 }, random: d.random },
      { maxRetries: 3 },
    );
    try {
      expect((await s.directory.addMember(SALESFORCE_USERS, ALEX)).outcome).toBe('added');
      expect(s.sim.writes().map((w) => [w.method, w.status])).toEqual([
        ['POST', 429],
        ['POST', 204],
      ]);
    } finally {
      await s.sim.close();
    }
  });

  test('throttling that never stops ends in DIRECTORY.THROTTLED after the configured retries', async () => {
    const d = dice();
    const s = await start(
      { faults: { throttleRate: 1, retryAfterSeconds: 0 }, random: d.random },
      { maxRetries: 2 },
    );
    try {
      const err = await directoryErrorOf(s.directory.managerChain(ALEX, 2));
      expect(d.count()).toBe(3);
      expect(err.code).toBe('DIRECTORY.THROTTLED');
      expect(err.details).toMatchObject({
        operation: 'managerChain',
        status: 429,
        graphCode: 'TooManyRequests',
        requestId: expect.stringMatching(REQUEST_ID),
        retryAfterSeconds: 0,
      });
      expect(err.message).toMatch(/throttling/);
    } finally {
      await s.sim.close();
    }
  });

  test('a service that stays unavailable ends in DIRECTORY.UNAVAILABLE after the configured retries', async () => {
    const d = dice();
    const s = await start(
      { faults: { unavailableRate: 1, retryAfterSeconds: 0 }, random: d.random },
      { maxRetries: 1 },
    );
    try {
      const err = await directoryErrorOf(s.directory.removeMember(SALESFORCE_USERS, ALEX));
      expect(d.count()).toBe(2);
      expect(err.code).toBe('DIRECTORY.UNAVAILABLE');
      expect(err.details).toMatchObject({ status: 503, graphCode: 'serviceNotAvailable' });
      expect(s.sim.writes().map((w) => w.status)).toEqual([503, 503]);
    } finally {
      await s.sim.close();
    }
  });

  test('a request throttled inside $batch is retried on its own after its Retry-After', async () => {
    const d = dice(0.9, 0.1);
    const s = await start({ faults: { throttleRate: 0.5 }, random: d.random });
    try {
      const ids = seed.users.slice(0, 25).map((u) => u.id);
      const started = Date.now();
      const result = await s.directory.lastSignIns(ids);
      expect(result.size).toBe(25);
      expect([...result.values()].every((v) => v === null || v instanceof Date)).toBe(true);
      // Two sub-requests (`id in (…)` of 15 ids, then of 10) and one retry of the throttled one.
      expect(d.count()).toBe(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    } finally {
      await s.sim.close();
    }
  });

  test('requests inside $batch that stay throttled end in DIRECTORY.THROTTLED', async () => {
    const d = dice();
    const s = await start(
      { faults: { throttleRate: 1, retryAfterSeconds: 0 }, random: d.random },
      { maxRetries: 0 },
      { batch: { maxRetries: 2 } },
    );
    try {
      const err = await directoryErrorOf(s.directory.memberGroupIds(ALEX, [SALESFORCE_USERS, AWS_READONLY]));
      expect(d.count()).toBe(6);
      expect(err.code).toBe('DIRECTORY.THROTTLED');
      expect(err.details).toMatchObject({
        operation: 'memberGroupIds',
        status: 429,
        graphCode: 'TooManyRequests',
      });
    } finally {
      await s.sim.close();
    }
  });

  test('a directory that cannot be reached is DIRECTORY.UNAVAILABLE', async () => {
    const s = await start();
    await s.sim.close();
    const err = await directoryErrorOf(s.directory.getUser(ALEX));
    expect(err.code).toBe('DIRECTORY.UNAVAILABLE');
    expect(err.details.status).toBeUndefined();
  });

  test('a token the directory refuses is DIRECTORY.FORBIDDEN with a fix-it message', async () => {
    const s = await start({}, { maxRetries: 0 }, {}, 'not-a-token');
    try {
      const err = await directoryErrorOf(s.directory.isMember(SALESFORCE_USERS, ALEX));
      expect(err.code).toBe('DIRECTORY.FORBIDDEN');
      expect(err.details).toMatchObject({ status: 401, graphCode: 'InvalidAuthenticationToken' });
      expect(err.message).toMatch(/credential/);
    } finally {
      await s.sim.close();
    }
  });
});

describe('GraphDirectory.groupMembersDelta', () => {
  const ONCALL = seed.groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID) as SimGroup;
  const seedUserIds = new Set(seed.users.map((u) => u.id));

  test('a first round merges the pages of a large group into one entry of every member, then reports only changes', async () => {
    const s = await start({ deltaPageSize: 4 });
    try {
      const first = await s.directory.groupMembersDelta({
        groupIds: [DEMO_ONCALL_GROUP_ID, SALESFORCE_USERS],
      });
      expect(first.changes.map((c) => c.groupId)).toEqual([DEMO_ONCALL_GROUP_ID, SALESFORCE_USERS]);
      const oncall = first.changes.find((c) => c.groupId === DEMO_ONCALL_GROUP_ID);
      expect(oncall).toEqual({
        groupId: DEMO_ONCALL_GROUP_ID,
        added: ONCALL.memberIds.filter((m) => seedUserIds.has(m)),
        removed: [],
      });

      // Added then removed within the round: the last state wins. Removed then added back: added.
      const marcus = demoUserId('marcus.johnson');
      await s.directory.addMember(SALESFORCE_USERS, ALEX);
      await s.directory.addMember(SALESFORCE_USERS, PRIYA);
      await s.directory.removeMember(SALESFORCE_USERS, PRIYA);
      await s.directory.removeMember(SALESFORCE_USERS, marcus);
      const second = await s.directory.groupMembersDelta({ deltaLink: first.deltaLink });
      expect(second.changes).toEqual([{ groupId: SALESFORCE_USERS, added: [ALEX], removed: [marcus] }]);

      expect(s.sim.deleteGroup(SALESFORCE_USERS)).toBe(true);
      const third = await s.directory.groupMembersDelta({ deltaLink: second.deltaLink });
      expect(third.changes).toEqual([
        { groupId: SALESFORCE_USERS, added: [], removed: [], groupDeleted: true },
      ]);
    } finally {
      await s.sim.close();
    }
  });

  test('with one member entry per page, each round reports what changed since the last', async () => {
    const s = await start({ deltaPageSize: 1 });
    try {
      const first = await s.directory.groupMembersDelta({ groupIds: [AWS_READONLY] });
      s.sim.addGroupMember(AWS_READONLY, ALEX);
      s.sim.addGroupMember(AWS_READONLY, PRIYA);
      const mid = await s.directory.groupMembersDelta({ deltaLink: first.deltaLink });
      expect(mid.changes).toEqual([{ groupId: AWS_READONLY, added: [ALEX, PRIYA], removed: [] }]);
      s.sim.removeGroupMember(AWS_READONLY, ALEX);
      const last = await s.directory.groupMembersDelta({ deltaLink: mid.deltaLink });
      expect(last.changes).toEqual([{ groupId: AWS_READONLY, added: [], removed: [ALEX] }]);
    } finally {
      await s.sim.close();
    }
  });

  test('pages are merged per group with the last word on a member winning, and a 410 Gone is DIRECTORY.DELTA_EXPIRED', async () => {
    // Graph may list a member on one page and list it again as removed on a later page of the same round.
    const user = (id: string, removed = false) => ({
      '@odata.type': '#microsoft.graph.user',
      id,
      ...(removed ? { '@removed': { reason: 'deleted' } } : {}),
    });
    const nested = { '@odata.type': '#microsoft.graph.group', id: DEMO_ONCALL_GROUP_ID };
    const pages: Record<string, { status: number; body: unknown }> = {
      '/v1.0/groups/delta': {
        status: 200,
        body: {
          '@odata.nextLink': 'https://graph.microsoft.com/v1.0/groups/delta?$skiptoken=p2',
          value: [{ id: AWS_READONLY, 'members@delta': [user(ALEX), nested, user(PRIYA, true)] }],
        },
      },
      '/v1.0/groups/delta?$skiptoken=p2': {
        status: 200,
        body: {
          '@odata.deltaLink': 'https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=d1',
          value: [
            { id: SALESFORCE_USERS, 'members@delta': [user(SIOBHAN)] },
            { id: AWS_READONLY, 'members@delta': [user(ALEX, true), user(PRIYA)] },
          ],
        },
      },
      '/v1.0/groups/delta?$deltatoken=gone': {
        status: 410,
        body: { error: { code: 'resyncRequired', message: 'Resync required.' } },
      },
    };
    const canned: Middleware = {
      execute: async (context: Context) => {
        const url = new URL(String(context.request));
        const key = url.searchParams.has('$filter') ? url.pathname : `${url.pathname}${url.search}`;
        const page = pages[key];
        context.response = new Response(JSON.stringify(page?.body ?? {}), {
          status: page?.status ?? 404,
          headers: { 'Content-Type': 'application/json' },
        });
      },
    };
    const directory = new GraphDirectory(Client.initWithMiddleware({ middleware: canned }));
    const round = await directory.groupMembersDelta({ groupIds: [AWS_READONLY, SALESFORCE_USERS] });
    expect(round).toEqual({
      changes: [
        { groupId: AWS_READONLY, added: [PRIYA], removed: [ALEX] },
        { groupId: SALESFORCE_USERS, added: [SIOBHAN], removed: [] },
      ],
      deltaLink: 'https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=d1',
    });
    const gone = await directoryErrorOf(
      directory.groupMembersDelta({
        deltaLink: 'https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=gone',
      }),
    );
    expect(gone.code).toBe('DIRECTORY.DELTA_EXPIRED');
    expect(gone.details).toMatchObject({ status: 410, graphCode: 'resyncRequired' });
  });

  test('an expired delta link is DIRECTORY.DELTA_EXPIRED, and a fresh sweep from the group ids works again', async () => {
    const s = await start();
    try {
      const first = await s.directory.groupMembersDelta({ groupIds: [AWS_READONLY] });
      s.sim.expireDeltaTokens();
      const err = await directoryErrorOf(s.directory.groupMembersDelta({ deltaLink: first.deltaLink }));
      expect(err.code).toBe('DIRECTORY.DELTA_EXPIRED');
      expect(err.details).toMatchObject({
        operation: 'groupMembersDelta',
        status: 400,
        graphCode: 'syncStateNotFound',
      });
      expect(err.message).toMatch(/full sweep/);
      const again = await s.directory.groupMembersDelta({ groupIds: [AWS_READONLY] });
      expect(again.changes[0].added).toHaveLength(4);
    } finally {
      await s.sim.close();
    }
  });

  test('more than 50 group ids, or none, is refused before calling Graph: the caller must batch', async () => {
    const s = await start();
    try {
      const ids = Array.from(
        { length: 51 },
        (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      );
      const tooMany = await directoryErrorOf(s.directory.groupMembersDelta({ groupIds: ids }));
      expect(tooMany.message).toMatch(/at most 50/);
      const none = await directoryErrorOf(s.directory.groupMembersDelta({ groupIds: [] }));
      expect(none.code).toBe('DIRECTORY.FAILED');
      // 50 is fine (unknown groups are simply absent from the round).
      const fifty = await s.directory.groupMembersDelta({ groupIds: [...ids.slice(0, 49), AWS_READONLY] });
      expect(fifty.changes.map((c) => c.groupId)).toEqual([AWS_READONLY]);
    } finally {
      await s.sim.close();
    }
  });
});

describe('GraphDirectory.getGroup and groups Graph will not change', () => {
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.sim.close());

  test('getGroup maps each kind to DirectoryGroup, and an unknown group is undefined', async () => {
    expect(await s.directory.getGroup(DEMO_DYNAMIC_GROUP_ID)).toEqual({
      id: DEMO_DYNAMIC_GROUP_ID,
      displayName: 'Engineering (dynamic)',
      groupTypes: ['DynamicMembership'],
      securityEnabled: true,
      mailEnabled: false,
      onPremisesSyncEnabled: false,
      isAssignableToRole: false,
    });
    expect(await s.directory.getGroup(DEMO_ONPREM_SYNCED_GROUP_ID)).toMatchObject({
      onPremisesSyncEnabled: true,
    });
    expect(await s.directory.getGroup(DEMO_DISTRIBUTION_LIST_ID)).toMatchObject({
      mailEnabled: true,
      securityEnabled: false,
    });
    expect(await s.directory.getGroup(DEMO_ROLE_ASSIGNABLE_GROUP_ID)).toMatchObject({
      isAssignableToRole: true,
    });
    expect(await s.directory.getGroup(DEMO_UNIFIED_GROUP_ID)).toMatchObject({ groupTypes: ['Unified'] });
    expect(await s.directory.getGroup(AWS_READONLY)).toMatchObject({
      groupTypes: [],
      securityEnabled: true,
      mailEnabled: false,
      onPremisesSyncEnabled: false,
      isAssignableToRole: false,
    });
    expect(await s.directory.getGroup(UNKNOWN_GROUP)).toBeUndefined();
  });

  test.each([
    ['dynamic', 'DIRECTORY.FAILED', DEMO_DYNAMIC_GROUP_ID, /dynamic membership/],
    ['on-premises synced', 'DIRECTORY.FAILED', DEMO_ONPREM_SYNCED_GROUP_ID, /on-premises Active Directory/],
    [
      'mail-enabled security',
      'DIRECTORY.FAILED',
      DEMO_MAIL_ENABLED_SECURITY_GROUP_ID,
      /mail-enabled security group.*Exchange/,
    ],
    ['distribution list', 'DIRECTORY.FAILED', DEMO_DISTRIBUTION_LIST_ID, /distribution list/],
    [
      'role-assignable',
      'DIRECTORY.FORBIDDEN',
      DEMO_ROLE_ASSIGNABLE_GROUP_ID,
      /RoleManagement\.ReadWrite\.Directory/,
    ],
  ])(
    'a refused write to a %s group is %s with a message that says why',
    async (_kind, code, groupId, message) => {
      const add = await directoryErrorOf(s.directory.addMember(groupId, ALEX));
      const remove = await directoryErrorOf(s.directory.removeMember(groupId, ALEX));
      for (const err of [add, remove]) {
        expect(err.code).toBe(code);
        expect(err.message).toMatch(message);
        expect(err.details.target).toBe(groupId);
        expect(err.details.requestId).toMatch(REQUEST_ID);
      }
    },
  );
});

describe('GraphDirectory transitive membership', () => {
  const NORA = demoUserId('nora.johansson');
  let s: Started;
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => s.sim.close());

  test('Nora is on call only through the nested secondary rota: not a direct member, a transitive one', async () => {
    expect(await s.directory.isMember(DEMO_ONCALL_GROUP_ID, NORA)).toBe(false);
    expect(await s.directory.isTransitiveMember(DEMO_ONCALL_GROUP_ID, NORA)).toBe(true);
    expect(await s.directory.isTransitiveMember(DEMO_ONCALL_SECONDARY_GROUP_ID, NORA)).toBe(true);
    expect(await s.directory.isTransitiveMember(SALESFORCE_USERS, NORA)).toBe(false);
  });

  test('memberGroupIds counts nested membership and keeps the order and spelling given', async () => {
    const asked = [
      SALESFORCE_USERS,
      DEMO_ONCALL_GROUP_ID.toUpperCase(),
      AWS_READONLY,
      DEMO_ONCALL_SECONDARY_GROUP_ID,
    ];
    expect(await s.directory.memberGroupIds(NORA, asked)).toEqual([
      DEMO_ONCALL_GROUP_ID.toUpperCase(),
      DEMO_ONCALL_SECONDARY_GROUP_ID,
    ]);
  });

  test('an unknown group is DIRECTORY.NOT_FOUND naming the group; an unknown user names the user', async () => {
    const group = await directoryErrorOf(s.directory.isTransitiveMember(UNKNOWN_GROUP, NORA));
    expect(group.code).toBe('DIRECTORY.NOT_FOUND');
    expect(group.details).toMatchObject({ operation: 'isTransitiveMember', target: UNKNOWN_GROUP });
    expect(group.message).toContain(`Group ${UNKNOWN_GROUP} does not exist`);
    const user = await directoryErrorOf(s.directory.isTransitiveMember(DEMO_ONCALL_GROUP_ID, UNKNOWN_USER));
    expect(user.code).toBe('DIRECTORY.NOT_FOUND');
    expect(user.details).toMatchObject({ operation: 'isTransitiveMember', target: UNKNOWN_USER });
    expect(user.message).toContain(`User ${UNKNOWN_USER} does not exist`);
  });
});

describe('GraphDirectory under fault rules set at run time', () => {
  test('an outage is DIRECTORY.UNAVAILABLE while it lasts and over once the simulator clock passes its end', async () => {
    let clock = NOW.getTime();
    const s = await start({ now: () => new Date(clock) });
    try {
      s.sim.setFaultRules([{ path: '/**', status: 503, durationMs: 2 * 3600_000, retryAfterSeconds: 0 }]);
      const err = await directoryErrorOf(s.directory.getUser(ALEX));
      expect(err.code).toBe('DIRECTORY.UNAVAILABLE');
      expect(err.details).toMatchObject({ status: 503, graphCode: 'serviceNotAvailable' });
      clock += 2 * 3600_000;
      expect((await s.directory.getUser(ALEX))?.id).toBe(ALEX);
    } finally {
      await s.sim.close();
    }
  });

  test('checkMemberGroups throttled inside $batch is retried after Retry-After until the rule ends on the injected clock', async () => {
    let clock = NOW.getTime();
    const waits: number[] = [];
    const s = await start(
      { now: () => new Date(clock) },
      { maxRetries: 0 },
      {
        batch: {
          maxRetries: 3,
          // The adapter's wait moves the simulator's clock instead of the test's wall time.
          sleep: async (ms) => {
            waits.push(ms);
            clock += ms;
          },
        },
      },
    );
    try {
      s.sim.setFaultRules([
        {
          method: 'POST',
          path: '/users/*/checkMemberGroups',
          status: 429,
          durationMs: 5000,
          retryAfterSeconds: 3,
        },
      ]);
      expect(await s.directory.memberGroupIds(SIOBHAN, [AWS_READONLY, SALESFORCE_USERS])).toEqual([
        AWS_READONLY,
      ]);
      expect(waits).toEqual([3000, 3000]);
    } finally {
      await s.sim.close();
    }
  });

  test('should checkMemberGroups answer 404, getByIds tells a missing group from a missing user', async () => {
    const s = await start();
    try {
      s.sim.setFaultRules([{ method: 'POST', path: '/users/*/checkMemberGroups', status: 404 }]);
      const group = await directoryErrorOf(
        s.directory.memberGroupIds(SIOBHAN, [AWS_READONLY, UNKNOWN_GROUP]),
      );
      expect([group.code, group.details.target]).toEqual(['DIRECTORY.NOT_FOUND', UNKNOWN_GROUP]);
      const user = await directoryErrorOf(s.directory.memberGroupIds(SIOBHAN, [AWS_READONLY]));
      expect([user.code, user.details.target]).toEqual(['DIRECTORY.NOT_FOUND', SIOBHAN]);
      expect(user.message).toContain(`User ${SIOBHAN} does not exist`);
    } finally {
      await s.sim.close();
    }
  });

  test('a 410 Gone on a delta link is DIRECTORY.DELTA_EXPIRED', async () => {
    const s = await start();
    try {
      const first = await s.directory.groupMembersDelta({ groupIds: [AWS_READONLY] });
      s.sim.setFaultRules([{ method: 'GET', path: '/groups/delta', status: 410 }]);
      const err = await directoryErrorOf(s.directory.groupMembersDelta({ deltaLink: first.deltaLink }));
      expect(err.code).toBe('DIRECTORY.DELTA_EXPIRED');
      expect(err.details).toMatchObject({ status: 410, graphCode: 'resyncRequired' });
    } finally {
      await s.sim.close();
    }
  });
});

describe('GraphDirectory request cost, counted by the simulator', () => {
  test('memberGroupIds of 22 candidates is one HTTP request: two checkMemberGroups and one getByIds inside $batch', async () => {
    const s = await start();
    try {
      const candidates = [
        ...DEMO_APPS.flatMap((a) => a.roles.map((r) => r.groupId)),
        DEMO_ONCALL_GROUP_ID,
        DEMO_ONCALL_SECONDARY_GROUP_ID,
        DEMO_ATTEST_ADMINS_GROUP_ID,
        DEMO_UNIFIED_GROUP_ID,
        DEMO_DYNAMIC_GROUP_ID,
      ];
      expect(candidates.length).toBeGreaterThan(20);
      s.sim.resetStats();
      await s.directory.memberGroupIds(SIOBHAN, candidates);
      expect(s.sim.stats()).toMatchObject({
        requests: { total: 1, byMethod: { POST: 1 } },
        batchSubRequests: { total: 3, byMethod: { POST: 3 } },
      });
      s.sim.resetStats();
      await s.directory.isTransitiveMember(DEMO_ONCALL_GROUP_ID, SIOBHAN);
      expect(s.sim.stats()).toMatchObject({ requests: { total: 1 }, batchSubRequests: { total: 2 } });
    } finally {
      await s.sim.close();
    }
  });

  test('a delta round costs one GET per page', async () => {
    const s = await start({ deltaPageSize: 5 });
    try {
      const members = seed.groups.find((g) => g.id === DEMO_ONCALL_GROUP_ID)?.memberIds.length ?? 0;
      s.sim.resetStats();
      await s.directory.groupMembersDelta({ groupIds: [DEMO_ONCALL_GROUP_ID] });
      expect(s.sim.stats().requests).toEqual({
        total: Math.ceil(members / 5),
        byMethod: { GET: Math.ceil(members / 5) },
      });
    } finally {
      await s.sim.close();
    }
  });
});
