import { PassThrough } from 'node:stream';
import { eventsInStreamOrder, runExport } from '../../../src/cli/export.command';
import { demoGroupId } from '../../../src/local/graph-sim/demo-tenant';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import { outcomeOf } from '../../../src/domain/request/request-lifecycle';
import type { AuditEvent } from '../../../src/ports/audit-log.port';
import {
  reconcileOverdue,
  reconcileOverdueDigest,
} from '../../../src/workflows/membership-reconcile.activities';
import type { TableNotifier } from '../../../src/adapters/tables/notification.store';
import { OFFBOARDING_INSTANCE } from '../../../src/workflows/names';
import {
  offboardingStream,
  offboardUser,
  USERS_DELTA_KEY,
} from '../../../src/workflows/offboarding.activities';
import type { OffboardingRunSummary } from '../../../src/workflows/offboarding.orchestration';
import {
  activeGrant,
  as,
  demo,
  DAY,
  letTimersRun,
  MINUTE,
  onlyEvent,
  storedWhen,
  type DemoPerson,
} from '../../support/workflow-scenarios';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

let w: WorkflowHost;
let sim: GraphSimulator;
/** Requests ended by offboarding, for the evidence export at the end: request id → when the member was removed. */
const ended = new Map<string, string>();

const INTERVAL = 15 * MINUTE;
const GITHUB_MEMBERS = demoGroupId('sg-github-members');
const SALESFORCE_USERS = demoGroupId('sg-salesforce-users');
const JIRA_PROJECT_ADMINS = demoGroupId('sg-jira-project-admins');
const SNOWFLAKE_ANALYSTS = demoGroupId('sg-snowflake-analysts');

/** Time is a TestClock: the offboarding timer (default schedule, every 15 minutes) fires as the test moves it. */
const clock = new TestClock(new Date('2026-11-23T09:01:00Z'));

beforeAll(async () => {
  // The membership reconcile is left to its own tests: here it runs once a year, so only offboarding acts.
  w = await startWorkflowHost({
    clock,
    env: { ATTEST_RECONCILE_SCHEDULE: '0 0 0 1 1 *', ATTEST_OFFBOARDING_SCHEDULE: '0 */15 * * * *' },
  });
  sim = w.host.graphSim as GraphSimulator;
}, 60000);
afterAll(async () => {
  await w?.stop();
});

/** Moves the clock past the next 15-minute tick and waits for the sweep the timer starts; returns its report. */
async function sweep(): Promise<OffboardingRunSummary> {
  const before = clock.now().getTime();
  clock.advance(INTERVAL);
  const status = await eventually(
    async () => {
      const s = await w.host.durable.getStatus(OFFBOARDING_INSTANCE);
      const done = s && ['Completed', 'Failed', 'Terminated'].includes(s.runtimeStatus);
      return done && new Date(s.createdTime).getTime() > before ? s : undefined;
    },
    30000,
    'the offboarding sweep the timer starts',
  );
  expect(status.runtimeStatus).toBe('Completed');
  return status.output as OffboardingRunSummary;
}

const isMember = (groupId: string, userId: string) => w.deps.directory.isMember(groupId, userId);
const offboarded = async (userId: string): Promise<AuditEvent[]> =>
  (await w.events(offboardingStream(userId))).filter((e) => e.action === 'member.offboarded');

/** A jira project-admin grant for `person`, approved by their manager. */
async function jiraGrant(person: DemoPerson, manager: DemoPerson): Promise<string> {
  const { requestId } = await activeGrant(
    w,
    {
      actor: as(person),
      appId: 'jira',
      roleId: 'project-admin',
      durationMs: 7 * DAY,
      justification: 'Set up the platform team project',
    },
    [manager],
  );
  return requestId;
}

/** Waits until the request ends revoked with reason offboarded; returns its access.revoked event. */
async function revokedOffboarded(requestId: string): Promise<AuditEvent> {
  const request = await storedWhen(w, requestId, (r) => r.status === 'Revoked');
  expect(outcomeOf(request)).toBe('revoked-offboarded');
  expect(request.revokedAt).toBeDefined();
  return onlyEvent(w, requestId, 'access.revoked');
}

/** DELETE writes Attest made for (group, user): one per removal. */
const removals = (groupId: string, userId: string) =>
  sim.writes().filter((x) => x.method === 'DELETE' && x.path === `/groups/${groupId}/members/${userId}/$ref`)
    .length;

describe('offboarding sweep', () => {
  test('the first run is a full sweep: it takes the link and offboards a user already disabled who still holds a catalog group', async () => {
    const hannah = demo('hannah.lee'); // disabled in the demo tenant, still in Salesforce users
    expect(await isMember(SALESFORCE_USERS, hannah.id)).toBe(true);

    const run = await sweep();

    expect(run).toMatchObject({ mode: 'full', fullBecause: 'first-round', leavers: 1, removed: 1, owed: 0 });
    expect(run.usersSeen).toBeGreaterThan(40);
    expect(await isMember(SALESFORCE_USERS, hannah.id)).toBe(false);
    const [event] = await offboarded(hannah.id);
    expect(event.details).toMatchObject({
      group: { id: SALESFORCE_USERS },
      because: 'disabled',
      outcome: 'removed',
      removedAt: clock.now().toISOString(),
      graph: { status: 204, wasMember: true },
      requestIds: [],
    });
    expect(event.actor).toEqual({ objectId: 'system', channel: 'system' });
    expect(await w.deps.reconcile.deltaLink(USERS_DELTA_KEY)).toMatch(/users\/delta\?\$deltatoken=/);
  });

  test('a quiet round is a delta round that finds nobody', async () => {
    const run = await sweep();
    expect(run).toMatchObject({ mode: 'delta', usersSeen: 0, leavers: 0, removed: 0 });
  });

  test('a user disabled in Entra loses an Attest grant and a standing catalog-group membership, and the request ends revoked-offboarded', async () => {
    const alex = demo('alex.chen');
    const requestId = await jiraGrant(alex, demo('priya.raman'));
    expect(sim.addGroupMember(GITHUB_MEMBERS, alex.id)).toBe(true); // added outside Attest
    expect(sim.setAccountEnabled(alex.id, false)).toBe(true);

    const run = await sweep();

    expect(run).toMatchObject({ mode: 'delta', leavers: 1, removed: 2, owed: 0, requestsEnded: 1 });
    expect(await isMember(JIRA_PROJECT_ADMINS, alex.id)).toBe(false);
    expect(await isMember(GITHUB_MEMBERS, alex.id)).toBe(false);
    const revoked = await revokedOffboarded(requestId);
    expect(revoked.details).toMatchObject({ reason: 'offboarded', by: 'system', membership: 'not-member' });
    // The grant's membership was removed once, by offboarding; the request found it gone.
    expect(removals(JIRA_PROJECT_ADMINS, alex.id)).toBe(1);
    const events = await offboarded(alex.id);
    expect(events.map((e) => e.details.group)).toEqual(
      [{ id: GITHUB_MEMBERS }, { id: JIRA_PROJECT_ADMINS }].sort((a, b) => a.id.localeCompare(b.id)),
    );
    const jira = events.find((e) => (e.details.group as { id: string }).id === JIRA_PROJECT_ADMINS);
    expect(jira?.details).toMatchObject({
      because: 'disabled',
      outcome: 'removed',
      requestIds: [requestId],
      removedAt: expect.any(String),
    });
    expect(Date.parse(jira?.details.removedAt as string)).toBeLessThanOrEqual(Date.parse(revoked.time));
    ended.set(requestId, jira?.details.removedAt as string);
    // Nothing is owed, nothing claimed.
    expect((await w.deps.ledger.get(JIRA_PROJECT_ADMINS, alex.id)).entry).toMatchObject({
      claims: [],
      owed: [],
    });
    expect((await w.deps.audit.verify()).ok).toBe(true);
  });

  test('a deleted user: their grant ends revoked-offboarded and the ledger is settled (Entra already removed the member)', async () => {
    const noah = demo('noah.williams');
    const requestId = await jiraGrant(noah, demo('priya.raman'));
    expect(sim.deleteUser(noah.id)).toBe(true);

    const run = await sweep();

    expect(run).toMatchObject({ mode: 'delta', leavers: 1, notMember: 1, owed: 0, requestsEnded: 1 });
    const revoked = await revokedOffboarded(requestId);
    expect(revoked.details).toMatchObject({ reason: 'offboarded', membership: 'not-member' });
    const [event] = await offboarded(noah.id);
    expect(event.details).toMatchObject({
      group: { id: JIRA_PROJECT_ADMINS },
      because: 'deleted',
      outcome: 'not-member',
      requestIds: [requestId],
      graph: { status: 404, wasMember: false },
    });
    expect((await w.deps.ledger.get(JIRA_PROJECT_ADMINS, noah.id)).entry).toMatchObject({
      claims: [],
      owed: [],
    });
  });

  test('a refused delta link falls back to a full sweep that still finds a disabled leaver and a deleted one', async () => {
    const mateo = demo('mateo.garcia'); // a standing member of GitHub members
    const siobhan = demo('siobhan.obrien');
    const requestId = await jiraGrant(siobhan, demo('priya.raman'));
    sim.expireDeltaTokens();
    sim.setAccountEnabled(mateo.id, false);
    sim.deleteUser(siobhan.id);

    const run = await sweep();

    expect(run).toMatchObject({ mode: 'full', fullBecause: 'delta-expired', leavers: 2 });
    expect(await isMember(GITHUB_MEMBERS, mateo.id)).toBe(false);
    expect((await offboarded(mateo.id)).map((e) => e.details.outcome)).toEqual(['removed']);
    await revokedOffboarded(requestId);
    expect((await offboarded(siobhan.id)).map((e) => e.details.because)).toEqual(['deleted']);
    // The fresh link works: the next round is a delta round again.
    expect(await sweep()).toMatchObject({ mode: 'delta', leavers: 0 });
  });

  test('Graph failing for the users delta: the round reports it, keeps the link, and the next tick finds the leaver', async () => {
    const yuki = demo('yuki.tanaka');
    const link = await w.deps.reconcile.deltaLink(USERS_DELTA_KEY);
    sim.setFaultRules([{ method: 'GET', path: '/users/delta', status: 503, retryAfterSeconds: 0 }]);
    sim.setAccountEnabled(yuki.id, false);

    const failed = await sweep();

    expect(failed.unavailable).toMatch(/unavailable/i);
    expect(failed.leavers).toBe(0);
    expect(await isMember(GITHUB_MEMBERS, yuki.id)).toBe(true);
    expect(await w.deps.reconcile.deltaLink(USERS_DELTA_KEY)).toBe(link);

    sim.clearFaultRules();
    const run = await sweep();

    expect(run).toMatchObject({ mode: 'delta', leavers: 1, owed: 0 });
    expect(run.removed).toBeGreaterThan(0);
    expect(await isMember(GITHUB_MEMBERS, yuki.id)).toBe(false);
  });

  test('a removal Graph refuses stays owed: the request reads Revoking and retries, the reconcile carries out the standing one', async () => {
    const fatima = demo('fatima.zahra'); // a standing member of GitHub members and Snowflake analysts
    const requestId = await jiraGrant(fatima, demo('daniel.schmidt'));
    sim.setFaultRules([{ method: 'DELETE', status: 503, retryAfterSeconds: 0 }]);
    sim.setAccountEnabled(fatima.id, false);

    const run = await sweep();

    expect(run).toMatchObject({ leavers: 1, removed: 0, owed: 3, requestsEnded: 1 });
    const events = await offboarded(fatima.id);
    expect(events.map((e) => e.details.outcome)).toEqual(['removal-owed', 'removal-owed', 'removal-owed']);
    expect(events[0].details.error).toMatchObject({ code: 'DIRECTORY.UNAVAILABLE' });
    expect((await w.deps.ledger.get(GITHUB_MEMBERS, fatima.id)).entry.owed).toEqual([
      expect.objectContaining({ requestId: 'governed:offboarded', reason: 'offboarded' }),
    ]);
    await storedWhen(w, requestId, (r) => r.status === 'Revoking');
    // The Attest admins hear of the owed removals in the reconcile's daily digest of overdue revocations.
    const digestAt = clock.now().toISOString();
    expect(
      await reconcileOverdueDigest(w.deps, {
        runId: `reconcile-${digestAt}`,
        at: digestAt,
        olderThan: digestAt,
      }),
    ).toMatchObject({ notified: true });
    const [digest] = await (w.deps.notifier as TableNotifier).forRequest('reconcile');
    expect(digest.kind).toBe('revocations-overdue');
    expect(digest.text).toContain(`user ${fatima.id} in group ${GITHUB_MEMBERS}`);

    sim.clearFaultRules();
    // The reconcile's overdue path (what its timer runs) carries out the owed removals.
    const at = clock.now().toISOString();
    const overdue = await reconcileOverdue(w.deps, {
      runId: `reconcile-${at}`,
      at,
      olderThan: at,
      limit: 100,
      skip: 0,
    });
    expect(overdue.failed).toBe(0);
    for (const g of [GITHUB_MEMBERS, SNOWFLAKE_ANALYSTS, JIRA_PROJECT_ADMINS])
      expect(await isMember(g, fatima.id)).toBe(false);
    // The request's own retry timer fires and finds the removal done.
    for (let i = 0; i < 8; i++) {
      clock.advance(10 * MINUTE);
      await letTimersRun(w);
      if ((await w.deps.requests.get(requestId))?.status === 'Revoked') break;
    }
    const revoked = await revokedOffboarded(requestId);
    expect((await w.deps.ledger.get(GITHUB_MEMBERS, fatima.id)).entry.owed).toEqual([]);
    // The removal came later than the offboarding round: the request's end says when it was carried out.
    ended.set(requestId, revoked.time);
  }, 90000);

  test('a leaver whose request still waits for approval: if it is approved anyway, nothing is added and the request fails saying why', async () => {
    const liam = demo('liam.murphy');
    const daniel = demo('daniel.schmidt');
    const { requestId } = await w.service.submit({
      actor: as(liam),
      appId: 'jira',
      roleId: 'project-admin',
      durationMs: 7 * DAY,
      justification: 'Set up the analytics project',
    });
    await w.stageOpen(requestId, 1);
    sim.setAccountEnabled(liam.id, false);

    const run = await sweep();

    expect(run).toMatchObject({ leavers: 1, requestsEnded: 1 });
    const adds = () =>
      sim
        .writes()
        .filter((x) => x.method === 'POST' && x.path === `/groups/${JIRA_PROJECT_ADMINS}/members/$ref`)
        .length;
    const addsBefore = adds();
    await w.service.decide({ actor: as(daniel), requestId, decision: 'approve' });
    const failed = await storedWhen(w, requestId, (r) => r.status === 'Failed');
    expect(outcomeOf(failed)).toBe('failed');
    const event = await onlyEvent(w, requestId, 'access.grant-failed');
    expect(JSON.stringify(event.details)).toMatch(/disabled in Entra \(offboarded\)/);
    // Never added, not even for the moment before the Revoke would have taken it away.
    expect(adds()).toBe(addsBefore);
    expect(await isMember(JIRA_PROJECT_ADMINS, liam.id)).toBe(false);
  });

  test('the evidence export shows each request ended revoked, reason offboarded, with the time', async () => {
    const stdout = new PassThrough();
    let data = '';
    stdout.on('data', (d: Buffer) => (data += d.toString('utf8')));
    await runExport(
      eventsInStreamOrder(w.deps.audit),
      { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', format: 'jsonl' },
      { stdout, stderr: { write: () => true } },
    );
    const rows = data
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ended.size).toBe(2);
    for (const [requestId, removedAt] of ended) {
      const row = rows.find((r) => r.stream === requestId);
      expect(row).toMatchObject({
        outcome: 'revoked',
        revocation_reason: 'offboarded',
        revoked_by: 'system',
      });
      // Revoked once the membership was gone: at the removal, or just after it (the request closing itself).
      expect(Date.parse(row?.revoked_at as string)).toBeGreaterThanOrEqual(Date.parse(removedAt));
      expect(Date.parse(row?.revoked_at as string) - Date.parse(removedAt)).toBeLessThan(MINUTE);
    }
  });

  test('offboarding one leaver run twice (an activity retried, a host killed) removes and audits each membership once', async () => {
    const ahmed = demo('ahmed.khan'); // a standing member of ServiceNow ITIL
    const itil = demoGroupId('sg-servicenow-itil');
    sim.setAccountEnabled(ahmed.id, false);
    const input = { runId: 'offboarding-replayed', at: clock.now().toISOString(), userId: ahmed.id };

    const first = await offboardUser(w.deps, w.host.durable, { ...input, because: 'disabled' });
    const again = await offboardUser(w.deps, w.host.durable, { ...input, because: 'disabled' });

    expect(first).toMatchObject({ removed: 1, owed: 0 });
    expect(again).toMatchObject({ removed: 0, notMember: 0, owed: 0 });
    expect(await isMember(itil, ahmed.id)).toBe(false);
    expect(removals(itil, ahmed.id)).toBe(1);
    expect(await offboarded(ahmed.id)).toHaveLength(1);
  });
});
