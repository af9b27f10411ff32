import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createGraphClient } from '../../src/adapters/graph/graph-client';
import { GraphDirectory } from '../../src/adapters/graph/graph-directory';
import { startGraphSimulator, type GraphSimulator } from '../../src/local/graph-sim/graph-sim';
import { demoGroupId, demoTenant, demoUserId } from '../../src/local/graph-sim/demo-tenant';
import { DirectoryError } from '../../src/ports/directory.port';

interface DeltaUser {
  id: string;
  '@removed'?: { reason: string };
  [key: string]: unknown;
}
interface DeltaPage {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  '@odata.deltaLink'?: string;
  value: DeltaUser[];
}

const ALEX = demoUserId('alex.chen');
const PRIYA = demoUserId('priya.raman');
const USERS = demoTenant(new Date()).users.length;

const tempDirs: string[] = [];
let sims: GraphSimulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

async function start(deltaPageSize = 200): Promise<{ sim: GraphSimulator; token: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-users-delta-'));
  tempDirs.push(dataDir);
  const sim = await startGraphSimulator({ port: 0, dataDir, deltaPageSize });
  sims.push(sim);
  return { sim, token: sim.issueToken() };
}

async function rawGet(
  sim: GraphSimulator,
  token: string,
  pathOrUrl: string,
): Promise<{ status: number; body: unknown }> {
  const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${sim.url}${pathOrUrl}`;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** Every page of a users delta round from `first`, and the deltaLink it ends with. */
async function round(
  sim: GraphSimulator,
  token: string,
  first: string,
): Promise<{ pages: DeltaPage[]; users: DeltaUser[]; deltaLink: string }> {
  const pages: DeltaPage[] = [];
  let next: string | undefined = first;
  while (next) {
    const res = await rawGet(sim, token, next);
    expect(res.status).toBe(200);
    const page = res.body as DeltaPage;
    pages.push(page);
    if (page['@odata.deltaLink']) {
      return { pages, users: pages.flatMap((p) => p.value), deltaLink: page['@odata.deltaLink'] };
    }
    next = page['@odata.nextLink'];
  }
  throw new Error('delta round ended without a deltaLink');
}

const admin = (sim: GraphSimulator, p: string, method: string) =>
  fetch(`http://127.0.0.1:${sim.port}/_sim/${p}`, { method });

describe('Graph simulator users/delta', () => {
  test('a first round lists every user in the $select projection, over $skiptoken pages, and ends with a $deltatoken link', async () => {
    const { sim, token } = await start(10);
    const { pages, users, deltaLink } = await round(
      sim,
      token,
      '/users/delta?$select=id,displayName,accountEnabled',
    );
    expect(pages.length).toBe(Math.ceil(USERS / 10));
    expect(users).toHaveLength(USERS);
    expect(new Set(users.map((u) => u.id)).size).toBe(USERS);
    expect(Object.keys(users[0]).sort()).toEqual(['accountEnabled', 'displayName', 'id']);
    expect(pages[0]['@odata.nextLink']).toMatch(/\/users\/delta\?\$skiptoken=/);
    expect(pages[0]['@odata.context']).toMatch(/\$metadata#users\(id,displayName,accountEnabled\)$/);
    expect(pages[0]['@odata.deltaLink']).toBeUndefined();
    expect(deltaLink).toMatch(/\/users\/delta\?\$deltatoken=/);
  });

  test('a later round returns only changed users: a disabled one with its properties, a deleted one as @removed "changed"', async () => {
    const { sim, token } = await start();
    const first = await round(sim, token, '/users/delta?$select=id,accountEnabled');
    const quiet = await round(sim, token, first.deltaLink);
    expect(quiet.users).toEqual([]);

    expect(sim.setAccountEnabled(ALEX, false)).toBe(true);
    expect(sim.setAccountEnabled(ALEX, false)).toBe(false);
    const group = demoGroupId('sg-salesforce-users');
    sim.addGroupMember(group, PRIYA);
    expect(sim.deleteUser(PRIYA)).toBe(true);

    const later = await round(sim, token, quiet.deltaLink);
    expect(later.users).toEqual(
      expect.arrayContaining([
        { id: ALEX, accountEnabled: false },
        { id: PRIYA, '@removed': { reason: 'changed' } },
      ]),
    );
    expect(later.users).toHaveLength(2);
    // The $select of the first round is kept, as Graph keeps the query in its links.
    expect(later.pages[0]['@odata.context']).toMatch(/users\(id,accountEnabled\)$/);
    // The deleted user is gone from the tenant and from every group, as in Entra.
    expect((await rawGet(sim, token, `/users/${PRIYA}`)).status).toBe(404);
    const members = (await rawGet(sim, token, `/groups/${group}/members`)).body as { value: DeltaUser[] };
    expect(members.value.map((m) => m.id)).not.toContain(PRIYA);

    // Enabled again: reported again, with the property as it is now.
    sim.setAccountEnabled(ALEX, true);
    const again = await round(sim, token, later.deltaLink);
    expect(again.users).toEqual([{ id: ALEX, accountEnabled: true }]);
  });

  test('an expired delta link, or a groups/delta token, is 400 syncStateNotFound', async () => {
    const { sim, token } = await start();
    const first = await round(sim, token, '/users/delta');
    const groups = await rawGet(
      sim,
      token,
      `/groups/delta?$filter=id eq '${demoGroupId('sg-salesforce-users')}'`,
    );
    const groupLink = (groups.body as DeltaPage)['@odata.deltaLink'] as string;
    const foreign = await rawGet(
      sim,
      token,
      `/users/delta?$deltatoken=${new URL(groupLink).searchParams.get('$deltatoken')}`,
    );
    expect(foreign.status).toBe(400);
    expect((foreign.body as { error: { code: string } }).error.code).toBe('syncStateNotFound');

    expect((await admin(sim, 'delta/expire', 'POST')).status).toBe(204);
    const expired = await rawGet(sim, token, first.deltaLink);
    expect(expired.status).toBe(400);
    expect((expired.body as { error: { code: string } }).error.code).toBe('syncStateNotFound');
  });

  test('the loopback admin endpoint disables, enables and deletes users', async () => {
    const { sim, token } = await start();
    const first = await round(sim, token, '/users/delta?$select=id,accountEnabled');
    const disabled = await admin(sim, `users/${ALEX}/disable`, 'POST');
    expect(disabled.status).toBe(200);
    expect(await disabled.json()).toEqual({ id: ALEX, accountEnabled: false, changed: true });
    expect((await admin(sim, `users/${PRIYA}`, 'DELETE')).status).toBe(204);
    expect((await admin(sim, `users/${PRIYA}`, 'DELETE')).status).toBe(404);
    expect((await admin(sim, `users/00000000-0000-0000-0000-000000000000/disable`, 'POST')).status).toBe(404);
    const later = await round(sim, token, first.deltaLink);
    expect(later.users).toHaveLength(2);
    expect((await admin(sim, `users/${ALEX}/enable`, 'POST')).status).toBe(200);
    expect((await rawGet(sim, token, `/users/${ALEX}`)).body).toMatchObject({ accountEnabled: true });
  });
});

describe('GraphDirectory.usersDelta', () => {
  test('reads every page of a round, reports disabled and deleted users, and turns a refused link into DIRECTORY.DELTA_EXPIRED', async () => {
    const { sim, token } = await start(7);
    const directory = new GraphDirectory(
      createGraphClient({ baseUrl: sim.url, getToken: async () => token, retry: { maxRetries: 0 } }),
    );
    const first = await directory.usersDelta({ initial: true });
    expect(first.changes).toHaveLength(USERS);
    expect(first.changes.every((c) => typeof c.accountEnabled === 'boolean' && !c.deleted)).toBe(true);

    sim.setAccountEnabled(ALEX, false);
    sim.deleteUser(PRIYA);
    const second = await directory.usersDelta({ deltaLink: first.deltaLink });
    expect(second.changes).toEqual(
      expect.arrayContaining([
        { userId: ALEX, accountEnabled: false },
        { userId: PRIYA, deleted: true },
      ]),
    );
    expect(second.changes).toHaveLength(2);

    sim.expireDeltaTokens();
    const refused = await directory.usersDelta({ deltaLink: second.deltaLink }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DirectoryError);
    expect((refused as DirectoryError).code).toBe('DIRECTORY.DELTA_EXPIRED');
  });
});
