import fs from 'node:fs';
import path from 'node:path';
import { createTableFactory } from '../../../src/adapters/tables/table-client-factory';
import { TableMembershipLedger } from '../../../src/adapters/tables/membership-ledger.store';
import { emptyEntry, type MembershipEntry } from '../../../src/domain/ledger/membership-ledger';
import { killableHost, simWrites } from '../../support/host-process';
import { eventually } from '../../support/storage';

const GITHUB_OWNERS = '816daa42-c86c-5791-9a5a-14fb28761b30';
/** Never during the test: the restarted host only finishes the run it was killed in. */
const NEVER = '0 0 0 1 1 *';
const h = killableHost('attest-reconcile-kill-');
const { dataDir, cli, start, kill } = h;
afterAll(() => h.cleanup());

const tenantFile = () => path.join(dataDir, 'graph-sim', 'tenant.json');
function removals(): { path: string; status: number }[] {
  return simWrites(dataDir).filter(
    (w) => w.method === 'DELETE' && w.path.includes(`/groups/${GITHUB_OWNERS}/members/`),
  );
}

test('the host SIGKILLed during a reconcile resumes it: every overdue removal done once, audited once, verify ok', async () => {
  const first = await start({ ATTEST_RECONCILE_SCHEDULE: NEVER });
  await kill();

  // While the host is down: 30 people in the GitHub owners group whose removal is long overdue.
  const state = JSON.parse(fs.readFileSync(tenantFile(), 'utf8')) as {
    tenant: { users: { id: string }[]; groups: { id: string; memberIds: string[] }[] };
  };
  const group = state.tenant.groups.find((g) => g.id === GITHUB_OWNERS);
  if (!group) throw new Error('no GitHub owners group in the demo tenant');
  const overdue = state.tenant.users
    .map((u) => u.id)
    .filter((id) => !group.memberIds.includes(id))
    .slice(0, 30);
  group.memberIds.push(...overdue);
  fs.writeFileSync(tenantFile(), JSON.stringify(state));
  const tables = createTableFactory({
    mode: 'embedded',
    // Azurite outlives the killed host (ADR 0002), on the ports it reported.
    tablePort: Number(first.ports.azuriteTable),
    blobPort: Number(first.ports.azuriteBlob),
  });
  const ledger = TableMembershipLedger.on(tables);
  await ledger.init();
  const since = new Date(Date.now() - 3600_000).toISOString();
  const rows: MembershipEntry[] = overdue.map((id, i) => ({
    ...emptyEntry(GITHUB_OWNERS, id),
    addedByAttest: true,
    owed: [{ requestId: `req-kill-${i}`, since, reason: 'end-of-grant' }],
  }));
  expect(await ledger.insertMany(rows)).toEqual([]);

  // A reconcile every 2 s, Graph slowed down so the removals take a while; killed once they are under way.
  await start({ ATTEST_RECONCILE_SCHEDULE: '*/2 * * * * *', ATTEST_GRAPH_SIM_LATENCY_MS: '400' });
  await eventually(async () => (removals().length >= 2 ? true : undefined), 30000, 'the first removals');
  await kill();
  const doneBeforeKill = removals().filter((w) => w.status === 204).length;
  expect(doneBeforeKill).toBeGreaterThan(0);
  expect(doneBeforeKill).toBeLessThan(overdue.length);

  await start({ ATTEST_RECONCILE_SCHEDULE: NEVER });
  await eventually(
    async () => ((await ledger.owedRemovals()).length === 0 ? true : undefined),
    60000,
    'every owed removal settled',
  );

  const after = JSON.parse(fs.readFileSync(tenantFile(), 'utf8')) as typeof state;
  const members = after.tenant.groups.find((g) => g.id === GITHUB_OWNERS)?.memberIds ?? [];
  expect(members.filter((id) => overdue.includes(id))).toEqual([]);
  // Never removed twice. NB. The simulator logs a write after carrying it out, so a kill can land between the
  // two: a removal done then shows up only as the replay's 404 (not a member), never as a second 204.
  const removed = removals().filter((w) => w.status === 204);
  for (const id of overdue) {
    expect(removed.filter((w) => w.path.includes(id)).length).toBeLessThanOrEqual(1);
    expect(removals().some((w) => w.path.includes(id) && (w.status === 204 || w.status === 404))).toBe(true);
  }
  const day = new Date().toISOString().slice(0, 10);
  const log = (await cli('log', `reconcile/${day}`)).stdout;
  const overdueEvents = log.split('\n').filter((l) => l.includes('revocation.overdue'));
  expect(overdueEvents).toHaveLength(overdue.length); // each audited exactly once
  for (const id of overdue) expect(overdueEvents.filter((l) => l.includes(id))).toHaveLength(1);
  expect((await cli('verify')).stdout.trim()).toMatch(/^verify: ok \(\d+ streams, \d+ events(; [^)]*)?\)$/);
}, 240000);
