import type { TableNotifier } from '../../../src/adapters/tables/notification.store';
import { membershipNote } from '../../../src/cli/request.commands';
import {
  claimGrant,
  emptyEntry,
  endGrant,
  recordAdd,
  type MembershipEntry,
} from '../../../src/domain/ledger/membership-ledger';
import { catalogRoleGroups } from '../../../src/domain/ledger/reconcile-batches';
import {
  DEMO_ATTEST_ADMINS_GROUP_ID,
  DEMO_ONPREM_SYNCED_GROUP_ID,
} from '../../../src/local/graph-sim/demo-tenant';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { AuditEvent } from '../../../src/ports/audit-log.port';
import {
  reconcileGroups,
  reconcileOverdue,
  reconcileStream,
} from '../../../src/workflows/membership-reconcile.activities';
import { removeOwedInDirectory } from '../../../src/workflows/overdue-removal';
import { type ReconcileRunSummary } from '../../../src/workflows/membership-reconcile.orchestration';
import { MEMBERSHIP_RECONCILE_INSTANCE } from '../../../src/workflows/names';
import { activeGrant, as, demo, HOUR, MINUTE } from '../../support/workflow-scenarios';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

let w: WorkflowHost;
let sim: GraphSimulator;
let groups: string[];

const INTERVAL = 15 * MINUTE;

/** Time is a TestClock: the reconcile timer (default schedule, every 15 minutes) fires as the test moves it. */
const clock = new TestClock(new Date('2026-11-23T09:01:00Z'));

beforeAll(async () => {
  w = await startWorkflowHost({ clock });
  sim = w.host.graphSim as GraphSimulator;
  groups = catalogRoleGroups(w.deps.catalog.catalog);
}, 60000);
afterAll(async () => {
  await w?.stop();
});

/** Moves the clock past the next 15-minute tick and waits for the run the timer starts; returns its report. */
async function reconcile(): Promise<ReconcileRunSummary> {
  const before = clock.now().getTime();
  clock.advance(INTERVAL);
  const status = await eventually(
    async () => {
      const s = await w.host.durable.getStatus(MEMBERSHIP_RECONCILE_INSTANCE);
      const done = s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus);
      return done && new Date(s.createdTime).getTime() > before ? s : undefined;
    },
    30000,
    'the reconcile run the timer starts',
  );
  expect(status.runtimeStatus).toBe('Completed');
  return status.output as ReconcileRunSummary;
}

const today = () => reconcileStream(w.deps.clock.now().toISOString());
const reconcileEvents = async (action: string): Promise<AuditEvent[]> =>
  (await w.events(today())).filter((e) => e.action === action);
const membersOf = async (groupId: string) => (await w.deps.directory.groupMembers(groupId)).map((u) => u.id);
/** Writes the simulator logged (Attest's, and the test's own seeding). */
const writeCount = () => sim.writes().length;

/** What Attest's grant writes to the ledger: its claim, then the add. */
async function grantInLedger(groupId: string, userId: string, requestId: string, at: string): Promise<void> {
  const { entry, etag } = await w.deps.ledger.get(groupId, userId);
  const claimed = recordAdd(claimGrant(entry, { requestId, at }), requestId, 'added', at);
  expect(await w.deps.ledger.put(claimed, etag)).toBe(true);
}

/** An ended grant whose removal is owed since `since`. */
async function owedInLedger(
  groupId: string,
  userId: string,
  requestId: string,
  since: string,
): Promise<MembershipEntry> {
  await grantInLedger(groupId, userId, requestId, since);
  const { entry, etag } = await w.deps.ledger.get(groupId, userId);
  const ended = endGrant(entry, requestId, since).entry;
  expect(ended.owed).toHaveLength(1);
  expect(await w.deps.ledger.put(ended, etag)).toBe(true);
  return ended;
}

describe('membership reconcile', () => {
  test('the first sweep records every catalog group as a baseline, one audit event per group, and no drift', async () => {
    const [first] = groups;
    const before = await membersOf(first);
    expect(before.length).toBeGreaterThan(0);
    const writes = writeCount();

    const run = await reconcile();

    expect(run).toMatchObject({
      batches: 1,
      failedBatches: 0,
      fullSweeps: 1,
      baselinedGroups: groups.length,
      drift: 0,
    });
    const baselines = await reconcileEvents('membership.baselined');
    expect(baselines).toHaveLength(groups.length);
    expect(baselines.find((e) => e.subject === `group:${first}`)?.details).toMatchObject({
      members: before.length,
      withAttestClaims: 0,
    });
    expect(await w.deps.reconcile.findings()).toEqual([]);
    const rows = await w.deps.ledger.byGroup(first);
    expect(rows.map((r) => r.userId).sort()).toEqual([...before].sort());
    expect(rows[0].claims).toEqual([expect.objectContaining({ kind: 'outside', source: 'baseline' })]);
    expect(writeCount()).toBe(writes);
  });

  test('a run with nothing changed is a delta round and finds nothing', async () => {
    const run = await reconcile();
    expect(run).toMatchObject({ fullSweeps: 0, baselinedGroups: 0, drift: 0, removedOutside: 0 });
    expect(await reconcileEvents('membership.baselined')).toHaveLength(groups.length);
  });

  test('a member added outside Attest is a drift finding, audited, and neither adopted nor removed', async () => {
    const group = groups[1];
    const outsider = demo('kenji.watanabe').id;
    expect(await membersOf(group)).not.toContain(outsider);
    expect(sim.addGroupMember(group, outsider)).toBe(true);
    const writes = writeCount();

    const run = await reconcile();

    expect(run.drift).toBe(1);
    expect(await w.deps.reconcile.findings({ groupId: group })).toEqual([
      expect.objectContaining({ userId: outsider, kind: 'added-outside' }),
    ]);
    const drift = await reconcileEvents('membership.drift');
    expect(drift.map((e) => e.details)).toEqual([{ group: { id: group }, userId: outsider }]);
    expect(await membersOf(group)).toContain(outsider);
    expect((await w.deps.ledger.get(group, outsider)).etag).toBeUndefined();
    expect(writeCount()).toBe(writes);
  });

  test('a granted membership removed outside Attest is recorded, audited, and the request says so', async () => {
    const requester = demo('alex.chen');
    const { requestId, request } = await activeGrant(
      w,
      {
        actor: as(requester),
        appId: 'jira',
        roleId: 'project-admin',
        durationMs: 8 * HOUR,
        justification: 'Set up the platform team project',
      },
      [demo('priya.raman')],
    );
    // The grant recorded its claim in the ledger.
    expect((await w.deps.ledger.get(request.groupId, requester.id)).entry.claims).toContainEqual(
      expect.objectContaining({ kind: 'grant', requestId }),
    );
    await reconcile();
    expect(await membershipNote(w.deps, request)).toBeUndefined();

    expect(sim.removeGroupMember(request.groupId, requester.id)).toBe(true);
    const writes = writeCount();
    const run = await reconcile();

    expect(run.removedOutside).toBe(1);
    const gone = await reconcileEvents('membership.removed-outside');
    expect(gone).toHaveLength(1);
    expect(gone[0].details).toMatchObject({ userId: requester.id, requestIds: [requestId] });
    expect(gone[0].correlation.requestId).toBe(requestId);
    const { entry } = await w.deps.ledger.get(request.groupId, requester.id);
    expect(entry.goneAt).toEqual(expect.any(String));
    expect(await w.deps.reconcile.findings({ userId: requester.id })).toEqual([
      expect.objectContaining({ kind: 'removed-outside', requestIds: [requestId] }),
    ]);
    expect(await membershipNote(w.deps, request)).toBe(
      `membership removed outside Attest at ${entry.goneAt}`,
    );
    // Attest did not add them back.
    expect(await membersOf(request.groupId)).not.toContain(requester.id);
    expect(writeCount()).toBe(writes);
    // Said once: the next run finds it in order.
    expect((await reconcile()).removedOutside).toBe(0);
  });

  test('an ended grant still present is removed again and audited as an overdue revocation', async () => {
    const group = groups[2];
    const holder = demo('noah.williams').id;
    sim.addGroupMember(group, holder);
    const since = new Date(w.deps.clock.now().getTime() - HOUR).toISOString();
    await owedInLedger(group, holder, 'req-overdue-1', since);
    // A removal owed for less than one interval when the run starts is the request's own retry: left alone.
    const young = demo('priya.raman').id;
    sim.addGroupMember(group, young);
    const recently = new Date(w.deps.clock.now().getTime() + INTERVAL / 3).toISOString();
    await owedInLedger(group, young, 'req-young', recently);

    const run = await reconcile();

    expect(run.overdueRemoved).toBe(1);
    expect(await membersOf(group)).not.toContain(holder);
    expect(await membersOf(group)).toContain(young);
    const overdue = await reconcileEvents('revocation.overdue');
    expect(overdue.map((e) => e.details)).toEqual([
      {
        group: { id: group },
        userId: holder,
        requestIds: ['req-overdue-1'],
        owedSince: since,
        graph: { status: 204, wasMember: true },
      },
    ]);
    const { entry } = await w.deps.ledger.get(group, holder);
    expect(entry.owed).toEqual([]);
    // The member left the group through Attest: not drift, not removed-outside.
    expect(run.drift).toBe(0);
    expect(run.removedOutside).toBe(0);
  });

  test('a refused delta link means a full sweep, which still finds what changed', async () => {
    const group = groups[3];
    const outsider = demo('rahul.mehta').id;
    sim.expireDeltaTokens();
    sim.addGroupMember(group, outsider);

    const run = await reconcile();

    expect(run.fullSweeps).toBe(1);
    expect(run.baselinedGroups).toBe(0);
    expect(await w.deps.reconcile.findings({ groupId: group })).toEqual([
      expect.objectContaining({ userId: outsider, kind: 'added-outside' }),
    ]);
    expect((await reconcile()).fullSweeps).toBe(0);
  });

  test('admins get one digest a day of the revocations overdue, however many runs see them', async () => {
    // A new day: earlier tests' overdue removals were in the day before's digest (sent before each run's retry).
    const day = (t: Date) => t.toISOString().slice(0, 10);
    const yesterday = day(clock.now());
    while (day(clock.now()) === yesterday) clock.advance(HOUR);
    // Graph refuses membership writes to a group synced from on-premises: its removal keeps failing.
    const stuck = demo('ravi.patel').id;
    const since = new Date(w.deps.clock.now().getTime() - 2 * HOUR).toISOString();
    await w.deps.ledger.put(
      {
        ...emptyEntry(DEMO_ONPREM_SYNCED_GROUP_ID, stuck),
        owed: [{ requestId: 'req-stuck', since, reason: 'end-of-grant' }],
      },
      undefined,
    );

    const first = await reconcile();
    const second = await reconcile();

    expect(first.overdueFailed).toBe(1);
    expect(first.digest).toEqual({ overdue: 1, notified: true });
    expect(second.digest).toEqual({ overdue: 1, notified: true });
    const sent = (await (w.deps.notifier as TableNotifier).forRequest('reconcile')).filter((n) =>
      n.id.endsWith(day(clock.now())),
    );
    expect(sent).toHaveLength(1);
    expect(sent[0].kind).toBe('revocations-overdue');
    expect(sent[0].text).toContain(`user ${stuck} in group ${DEMO_ONPREM_SYNCED_GROUP_ID}`);
    expect(sent[0].recipients.sort()).toEqual((await membersOf(DEMO_ATTEST_ADMINS_GROUP_ID)).sort());
  });

  test('a batch run twice (a replay after a kill) writes each finding once', async () => {
    const group = groups[4];
    const outsider = demo('kenji.watanabe').id;
    sim.addGroupMember(group, outsider);
    const run = { runId: 'replayed-run', at: w.deps.clock.now().toISOString() };
    // The first attempt reports the drift, then "dies" before its delta link is saved: run it again.
    const batch = groups.slice(0, 50);
    const linkKey = await import('../../../src/domain/ledger/reconcile-batches').then((m) =>
      m.batchKey(batch),
    );
    const link = await w.deps.reconcile.deltaLink(linkKey);
    await reconcileGroups(w.deps, { ...run, groupIds: batch });
    await w.deps.reconcile.saveDeltaLink(linkKey, link);
    const again = await reconcileGroups(w.deps, { ...run, groupIds: batch });
    expect(again.drift).toBe(1);
    const drift = (await reconcileEvents('membership.drift')).filter(
      (e) => e.correlation.instanceId === 'replayed-run',
    );
    expect(drift).toHaveLength(1);
  });

  test('an overdue removal interrupted after the directory call is audited and settled when replayed', async () => {
    const group = groups[5];
    const holder = demo('zoe.martin').id;
    sim.addGroupMember(group, holder);
    const since = new Date(w.deps.clock.now().getTime() - HOUR).toISOString();
    await owedInLedger(group, holder, 'req-interrupted', since);
    // The first attempt removed the member, then the host died before the audit and the ledger write.
    expect(await removeOwedInDirectory(w.deps, group, holder)).toMatchObject({ outcome: 'removed' });
    const run = { runId: 'interrupted-run', at: w.deps.clock.now().toISOString() };
    const olderThan = new Date(Date.parse(run.at) - INTERVAL).toISOString();

    const replayed = await reconcileOverdue(w.deps, { ...run, olderThan, limit: 100, skip: 0 });
    const again = await reconcileOverdue(w.deps, { ...run, olderThan, limit: 100, skip: 0 });

    expect(replayed.alreadyGone).toBe(1);
    expect(again.alreadyGone).toBe(0);
    const events = (await reconcileEvents('revocation.overdue')).filter(
      (e) => e.correlation.instanceId === 'interrupted-run',
    );
    expect(events.map((e) => e.details)).toEqual([
      expect.objectContaining({
        userId: holder,
        requestIds: ['req-interrupted'],
        graph: { status: 404, wasMember: false },
      }),
    ]);
    expect((await w.deps.ledger.get(group, holder)).entry.owed).toEqual([]);
  });

  test('a baseline member removed outside Attest and added back later is drift the second time', async () => {
    const group = groups[6];
    const [member] = await membersOf(group);
    expect((await w.deps.ledger.get(group, member)).entry.claims).toEqual([
      expect.objectContaining({ kind: 'outside', source: 'baseline' }),
    ]);
    sim.removeGroupMember(group, member);
    const gone = await reconcile();
    expect(gone).toMatchObject({ drift: 0, removedOutside: 0 });
    expect((await w.deps.ledger.get(group, member)).entry.claims).toEqual([]);

    sim.addGroupMember(group, member);
    expect((await reconcile()).drift).toBe(1);
    expect(await w.deps.reconcile.findings({ groupId: group, userId: member })).toEqual([
      expect.objectContaining({ kind: 'added-outside' }),
    ]);
  });
});
