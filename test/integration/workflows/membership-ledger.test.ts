/**
 * The membership ledger through whole requests: a grant's end removes only what Attest added and no other
 * grant holds; governed removal removes whatever holds it; overlapping grants share one membership; and a
 * grant that starts while another ends keeps its membership, with the interleaving forced.
 */
import type { Catalog, CatalogApp, CatalogRole } from '../../../src/domain/catalog/catalog.model';
import { AccessRequestService } from '../../../src/workflows/access-request.service';
import type { Directory } from '../../../src/ports/directory.port';
import {
  endGrantMembership,
  governedRemove,
  grantMembership,
} from '../../../src/workflows/membership.operations';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  HOUR,
  MINUTE,
  activeGrant,
  as,
  demo,
  letTimersRun,
  onlyEvent,
  storedWhen,
} from '../../support/workflow-scenarios';

const ANALYSTS = '90a07bb0-22a6-555f-905e-b5705afe489c'; // sg-snowflake-analysts
const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost({ clock })), 60000);
afterAll(async () => w?.stop());

/**
 * The service under the next catalog version, in which Snowflake's `analyst` role is renamed `data-analyst`
 * on the same group: grants made under the old name run on, so two grants can hold one membership.
 */
function serviceAfterRename(): AccessRequestService {
  const catalog = JSON.parse(JSON.stringify(w.deps.catalog.catalog)) as Catalog;
  const snowflake = catalog.apps.find((a) => a.id === 'snowflake') as CatalogApp;
  const analyst = snowflake.roles.find((r) => r.id === 'analyst') as CatalogRole;
  (snowflake.roles as CatalogRole[]).push({ ...analyst, id: 'data-analyst', name: 'Data Analyst' });
  return new AccessRequestService({ ...w.deps, catalog: { ...w.deps.catalog, catalog } }, w.host.durable);
}

const priya = demo('priya.raman');
const siobhan = demo('siobhan.obrien'); // Engineering, reports to Priya
const alex = demo('alex.chen'); // Engineering, reports to Priya

/** Moves the test clock in steps, letting timers and the episodes they start run after each. */
async function advance(ms: number, step = 10 * MINUTE): Promise<void> {
  for (let left = ms; left > 0; left -= step) {
    clock.advance(Math.min(step, left));
    await letTimersRun(w);
  }
}

/** The simulator's member writes on a group for one user, as `METHOD status`. */
function memberWrites(groupId: string, userId: string, since: number): string[] {
  return (w.host.graphSim?.writes() ?? [])
    .slice(since)
    .filter((x) => x.path.toLowerCase().includes(`/groups/${groupId}/members`))
    .filter((x) => x.method === 'POST' || x.path.toLowerCase().includes(userId))
    .map((x) => `${x.method} ${x.status}`);
}

test("a standing member's one-hour grant ends and the standing membership stays, audited with the reason; governed removal then removes it", async () => {
  await w.deps.directory.addMember(ANALYSTS, siobhan.id); // in the group before Attest, as an admin put them
  const { requestId } = await activeGrant(
    w,
    {
      actor: as(siobhan),
      appId: 'snowflake',
      roleId: 'analyst',
      durationMs: HOUR,
      justification: 'Check the churn model numbers',
    },
    [priya],
  );
  expect((await onlyEvent(w, requestId, 'access.granted')).details).toMatchObject({
    graph: { alreadyMember: true },
  });

  await advance(HOUR + MINUTE);
  await w.settled(requestId);
  const revoked = await onlyEvent(w, requestId, 'access.revoked');
  expect(revoked.details).toMatchObject({
    reason: 'expired',
    membership: 'kept',
    keptBecause: "member before Attest's grant",
  });
  expect(revoked.details).not.toHaveProperty('graph');
  expect(await storedWhen(w, requestId, (r) => r.status === 'Revoked')).toMatchObject({
    revocation: { reason: 'expired' },
  });
  expect(await w.deps.directory.isMember(ANALYSTS, siobhan.id)).toBe(true);

  const removed = await governedRemove(w.deps, { groupId: ANALYSTS, userId: siobhan.id, reason: 'review' });
  expect(removed).toMatchObject({ ok: true, membership: 'removed', wasMember: true });
  expect(await w.deps.directory.isMember(ANALYSTS, siobhan.id)).toBe(false);
  const { entry } = await w.deps.ledger.get(ANALYSTS, siobhan.id);
  expect(entry).toMatchObject({ claims: [], owed: [], addedByAttest: false });
});

test('two overlapping grants on one group (a role renamed while its grants run): access stays when the first ends and goes with the second; one add, one remove', async () => {
  const before = w.host.graphSim?.writes().length ?? 0;
  const first = await activeGrant(
    w,
    {
      actor: as(alex),
      appId: 'snowflake',
      roleId: 'analyst',
      durationMs: HOUR,
      justification: 'Month-end numbers',
    },
    [priya],
  );
  const second = await activeGrant(
    { ...w, service: serviceAfterRename() },
    {
      actor: as(alex),
      appId: 'snowflake',
      roleId: 'data-analyst',
      durationMs: 3 * HOUR,
      justification: 'On call for the data platform',
    },
    [priya],
  );
  expect((await onlyEvent(w, second.requestId, 'access.granted')).details).toMatchObject({
    graph: { alreadyMember: true },
  });

  await advance(HOUR + MINUTE);
  await w.settled(first.requestId);
  expect((await onlyEvent(w, first.requestId, 'access.revoked')).details).toMatchObject({
    membership: 'kept',
    keptBecause: `still held by request ${second.requestId}`,
  });
  expect(await w.deps.directory.isMember(ANALYSTS, alex.id)).toBe(true);

  await advance(2 * HOUR);
  await w.settled(second.requestId);
  expect((await onlyEvent(w, second.requestId, 'access.revoked')).details).toMatchObject({
    membership: 'removed',
    graph: { status: 204, wasMember: true },
  });
  expect(await w.deps.directory.isMember(ANALYSTS, alex.id)).toBe(false);
  // One add that changed the group and one that Graph answered "already a member" (a counted no-op), one remove.
  expect(memberWrites(ANALYSTS, alex.id, before)).toEqual(['POST 204', 'POST 400', 'DELETE 204']);
});

test('a grant that starts while another on the same membership is being removed keeps its membership (interleaving forced)', async () => {
  const user = demo('jack.wilson').id;
  // The real directory over HTTP, with the first remove held until the test lets it through.
  let called!: () => void;
  let releaseRemove!: () => void;
  const removeCalled = new Promise<void>((r) => (called = r));
  const gate = new Promise<void>((r) => (releaseRemove = r));
  const real = w.deps.directory;
  const held: Directory = Object.create(real);
  held.removeMember = async (groupId, userId) => {
    called();
    await gate;
    return real.removeMember(groupId, userId);
  };
  const heldDeps = { ...w.deps, directory: held };

  expect(
    await grantMembership(heldDeps, { groupId: ANALYSTS, userId: user, requestId: 'req-a' }),
  ).toMatchObject({
    ok: true,
    alreadyMember: false,
  });
  const ending = endGrantMembership(heldDeps, { groupId: ANALYSTS, userId: user, requestId: 'req-a' });
  await removeCalled; // A's removal is decided and its Graph call is in flight
  expect(
    await grantMembership(heldDeps, { groupId: ANALYSTS, userId: user, requestId: 'req-b' }),
  ).toMatchObject({
    ok: true,
    alreadyMember: true, // A has not removed yet
  });
  releaseRemove();
  expect(await ending).toMatchObject({ ok: true, readded: true, membership: 'kept' });

  expect(await w.deps.directory.isMember(ANALYSTS, user)).toBe(true);
  const { entry } = await w.deps.ledger.get(ANALYSTS, user);
  expect(entry.claims).toEqual([expect.objectContaining({ kind: 'grant', requestId: 'req-b' })]);
  expect(entry.addedByAttest).toBe(true);

  // B's end now removes it: Attest added it back, and nothing else holds it.
  expect(
    await endGrantMembership(w.deps, { groupId: ANALYSTS, userId: user, requestId: 'req-b' }),
  ).toMatchObject({
    ok: true,
    membership: 'removed',
  });
  expect(await w.deps.directory.isMember(ANALYSTS, user)).toBe(false);
});

test('ending a grant twice (a retried activity) removes once and then changes nothing', async () => {
  const user = demo('zoe.martin').id;
  await grantMembership(w.deps, { groupId: ANALYSTS, userId: user, requestId: 'req-c' });
  const once = await endGrantMembership(w.deps, { groupId: ANALYSTS, userId: user, requestId: 'req-c' });
  const twice = await endGrantMembership(w.deps, { groupId: ANALYSTS, userId: user, requestId: 'req-c' });
  expect(once).toMatchObject({ ok: true, membership: 'removed' });
  expect(twice).toMatchObject({ ok: true, membership: 'not-member' });
  expect(await w.deps.directory.isMember(ANALYSTS, user)).toBe(false);
});
