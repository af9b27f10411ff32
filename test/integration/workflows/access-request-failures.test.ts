/**
 * Failure paths of a request, on the test clock with the Graph simulator failing on cue: a revocation that
 * fails for hours is retried until it succeeds and the request reads Revoking meanwhile; a grant that keeps
 * failing fails the request within its bound; a stage whose approvers cannot be looked up waits for the
 * directory; and escalation never waits for someone who cannot decide.
 */
import type { Catalog } from '../../../src/domain/catalog/catalog.model';
import type { TableNotifier } from '../../../src/adapters/tables/notification.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { DEMO_ATTEST_ADMINS_GROUP_ID, DEMO_DYNAMIC_GROUP_ID } from '../../../src/local/graph-sim/demo-tenant';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import { AccessRequestService } from '../../../src/workflows/access-request.service';
import type { DurableClientPort } from '../../../src/ports/durable-client.port';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import {
  DAY,
  HOUR,
  MINUTE,
  activeGrant,
  as,
  demo,
  eventsOf,
  letTimersRun,
  onlyEvent,
  stored,
  storedWhen,
} from '../../support/workflow-scenarios';

const clock = new TestClock(new Date('2026-11-24T09:00:00Z'));
let w: WorkflowHost;
let sim: GraphSimulator;
/** When set, the next orchestration start (or event) first turns Graph off: a failure that begins mid-request. */
let outageOnNextStart = false;

const outage = (on: boolean) => sim.setFaults({ unavailableRate: on ? 1 : 0, retryAfterSeconds: 0 });

beforeAll(async () => {
  w = await startWorkflowHost({
    clock,
    durable: (client: DurableClientPort) =>
      Object.assign(Object.create(client) as DurableClientPort, {
        startNew: async (...args: Parameters<DurableClientPort['startNew']>) => {
          if (outageOnNextStart) outage(true);
          outageOnNextStart = false;
          return client.startNew(...args);
        },
        raiseEvent: async (...args: Parameters<DurableClientPort['raiseEvent']>) => {
          if (outageOnNextStart) outage(true);
          outageOnNextStart = false;
          return client.raiseEvent(...args);
        },
      }),
  });
  sim = w.host.graphSim as GraphSimulator;
}, 60000);
afterAll(async () => w?.stop());
afterEach(() => {
  outage(false);
  sim.clearFaultRules();
});

const priya = demo('priya.raman');

async function advance(ms: number, step = 10 * MINUTE, each?: () => Promise<void>): Promise<void> {
  for (let left = ms; left > 0; left -= step) {
    clock.advance(Math.min(step, left));
    await letTimersRun(w);
    await each?.();
  }
}

/** The executions of an instance in the local task hub (history rows are keyed `h-<execution>-<seq>`). */
async function executions(instanceId: string): Promise<Set<string>> {
  const table = w.host.tables.client(TableNames.localTaskHub(w.host.services.config.taskHub));
  const seen = new Set<string>();
  for await (const row of table.listEntities({
    queryOptions: { filter: `PartitionKey eq '${instanceId}'` },
  })) {
    const m = /^h-([^-]+)-/.exec(row.rowKey as string);
    if (m) seen.add(m[1]);
  }
  return seen;
}

/** No stack frame, file path or Durable wrapper in text people read. */
function expectPlain(text: unknown): void {
  expect(typeof text).toBe('string');
  expect(text).not.toMatch(/\n|\s+at\s|\/dist\/|\/src\/|Activity function/);
}

test('Graph down for two hours across the expiry: the request reads Revoking, never Active; the host serves; admins get the digest; the member goes when Graph is back', async () => {
  const siobhan = demo('siobhan.obrien');
  const { requestId, request } = await activeGrant(
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
  await advance(15 * MINUTE); // a reconcile run while Graph answers: it learns who the admins are
  // From now (the host is up, the grant made): 503 to every request for two hours of test-clock time.
  sim.setFaultRules([{ status: 503, durationMs: 2 * HOUR, retryAfterSeconds: 0 }]);
  const expiresAt = new Date(request.expiresAt as string).getTime();
  const outageEnds = clock.now().getTime() + 2 * HOUR;
  const seen: string[] = [];
  // Through the outage (the last step stops short of its end): never Active after the expiry, and the host serves.
  await advance(2 * HOUR - MINUTE, 10 * MINUTE, async () => {
    if (clock.now().getTime() <= expiresAt) return;
    seen.push((await stored(w, requestId)).status);
    expect((await fetch(`${w.host.url}/healthz`)).status).toBe(200);
  });
  expect(clock.now().getTime()).toBeLessThan(outageEnds);
  expect(new Set(seen)).toEqual(new Set(['Revoking']));
  const revoking = await storedWhen(w, requestId, (r) => (r.revoking?.attempts ?? 0) >= 3);
  expect(revoking.revoking).toMatchObject({ lastError: expect.stringMatching(/unavailable|503/i) });
  expect(await w.deps.ledger.owedRemovals()).toEqual(
    expect.arrayContaining([expect.objectContaining({ groupId: request.groupId, userId: siobhan.id })]),
  );
  expect(sim.faultRules()).toEqual([expect.objectContaining({ status: 503 })]);

  await advance(2 * HOUR); // the outage ends by itself; the next attempt is at most an hour after that
  await w.settled(requestId);
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(false);
  const actions = await w.actions(requestId);
  const failed = await eventsOf(w, requestId, 'access.revoke-failed');
  expect(failed.length).toBeGreaterThanOrEqual(3);
  // The backoff grows: each audited attempt waits longer than the one before, never more than an hour.
  const waits = failed.map((e) => Date.parse(e.details.nextAttemptAt as string) - Date.parse(e.time));
  for (let i = 1; i < waits.length; i++) expect(waits[i]).toBeGreaterThan(waits[i - 1]);
  expect(Math.max(...waits)).toBeLessThanOrEqual(HOUR);
  for (const e of failed) expectPlain(e.details.error);
  // (The holder was reminded half an hour before the end, as for every one-hour grant.)
  expect(
    actions.slice(actions.indexOf('access.granted')).filter((a) => a !== 'expiry.reminder-sent'),
  ).toEqual(['access.granted', ...failed.map(() => 'access.revoke-failed'), 'access.revoked']);
  // Whoever comes first once Graph is back removes the member: the request's own retry ('removed'), or the
  // membership reconcile (every 15 minutes), which audits an overdue revocation and leaves 'not-member' here.
  const revoked = (await onlyEvent(w, requestId, 'access.revoked')).details;
  expect(revoked).toMatchObject({ reason: 'expired', attempts: expect.any(Number) });
  if (revoked.membership !== 'removed') {
    expect(revoked.membership).toBe('not-member');
    const overdue = [];
    for await (const stream of w.deps.audit.streams()) {
      if (!stream.startsWith('reconcile/')) continue;
      for await (const e of w.deps.audit.read(stream))
        if (e.action === 'revocation.overdue' && e.correlation.requestId === requestId) overdue.push(e);
    }
    expect(overdue).toEqual([
      expect.objectContaining({ details: expect.objectContaining({ userId: siobhan.id }) }),
    ]);
  }
  expect((await storedWhen(w, requestId, (r) => r.status === 'Revoked')).revoking).toBeUndefined();
  expect(await w.deps.ledger.owedRemovals()).toEqual([]);
  // The admins were told, once, in the day's digest of overdue revocations, sent during the outage.
  const digests = (await (w.deps.notifier as TableNotifier).forRequest('reconcile')).filter(
    (n) => n.kind === 'revocations-overdue',
  );
  expect(digests).toHaveLength(1);
  expect(digests[0].text).toContain(`user ${siobhan.id} in group ${request.groupId}`);
  expect(digests[0].recipients.sort()).toEqual(
    (await w.deps.directory.groupMembers(DEMO_ATTEST_ADMINS_GROUP_ID)).map((u) => u.id).sort(),
  );
  expect((await w.deps.audit.verify()).ok).toBe(true);
}, 120000);

test('a removal failing for ten hours is retried past a continue-as-new (the history stays bounded) and the count of attempts carries over', async () => {
  const siobhan = demo('siobhan.obrien'); // her first grant (the test before) is over
  const { requestId, request } = await activeGrant(
    w,
    {
      actor: as(siobhan),
      appId: 'snowflake',
      roleId: 'analyst',
      durationMs: HOUR,
      justification: 'Data pipeline check',
    },
    [priya],
  );
  sim.setFaultRules([{ method: 'DELETE', status: 503, durationMs: 10 * HOUR, retryAfterSeconds: 0 }]);
  await advance(11 * HOUR, 30 * MINUTE);
  await w.settled(requestId);
  const revoked = (await onlyEvent(w, requestId, 'access.revoked')).details;
  // 1, 2, 4, 8, 16, 32 minutes, then hourly: more than twelve attempts in ten hours, so at least one continue-as-new.
  expect(revoked.attempts).toBeGreaterThan(12);
  expect((await w.host.durable.getStatus(requestId))?.runtimeStatus).toBe('Completed');
  expect((await executions(requestId)).size).toBeGreaterThan(1); // a later execution finished it
  const failed = await eventsOf(w, requestId, 'access.revoke-failed');
  // One event per step of the backoff (six doublings, then the hourly cap once a day), not one per attempt.
  expect(failed.map((e) => e.details.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  expect(await w.deps.directory.isMember(request.groupId, siobhan.id)).toBe(false);
  expect((await w.deps.audit.verify()).ok).toBe(true);
}, 120000);

test('a grant that keeps failing is retried until its bound (the requested duration, under 24 h), then the request fails with a plain reason and the ledger holds nothing', async () => {
  const noah = demo('noah.williams');
  outageOnNextStart = false;
  const { requestId } = await w.service.submit({
    actor: as(noah),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 2 * HOUR,
    justification: 'Pull the incident numbers',
  });
  await w.stageOpen(requestId, 1);
  outageOnNextStart = true; // Graph goes down as the decision arrives
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.until(requestId, 'access.grant-failed');
  expect((await stored(w, requestId)).status).toBe('Approved');
  await advance(3 * HOUR);
  await w.settled(requestId);
  const request = await storedWhen(w, requestId, (r) => r.status === 'Failed');
  expect(request.failure).toMatchObject({ code: 'REQUEST.PROVISIONING_FAILED' });
  expectPlain(request.failure?.reason);
  const failures = await eventsOf(w, requestId, 'access.grant-failed');
  expect(failures.length).toBeGreaterThan(1);
  expect(failures[failures.length - 1].details).not.toHaveProperty('nextAttemptAt');
  // No attempt was scheduled past the bound: two hours after the first.
  const first = Date.parse(failures[0].time);
  for (const f of failures.slice(0, -1))
    expect(Date.parse(f.details.nextAttemptAt as string)).toBeLessThanOrEqual(first + 2 * HOUR);
  const refused = await onlyEvent(w, requestId, 'attempt.refused');
  expectPlain(refused.details.reason);
  const { entry } = await w.deps.ledger.get(request.groupId, noah.id);
  expect(entry.claims).toEqual([]);
  outage(false);
  expect(await w.deps.directory.isMember(request.groupId, noah.id)).toBe(false);
}, 120000);

test('a grant to a group Graph cannot change fails at once, saying why, with nothing retried', async () => {
  // The next catalog version points the role at a dynamic group (the catalog check would refuse it; this is
  // what happens when the group was made dynamic after the check).
  const catalog = JSON.parse(JSON.stringify(w.deps.catalog.catalog)) as Catalog;
  const analyst = catalog.apps.find((a) => a.id === 'snowflake')?.roles.find((r) => r.id === 'analyst') as {
    groupId: string;
  };
  analyst.groupId = DEMO_DYNAMIC_GROUP_ID;
  const service = new AccessRequestService(
    { ...w.deps, catalog: { ...w.deps.catalog, catalog } },
    w.host.durable,
  );
  const alex = demo('alex.chen');
  const { requestId } = await service.submit({
    actor: as(alex),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: DAY,
    justification: 'Pull the sales funnel numbers',
  });
  await w.stageOpen(requestId, 1);
  await service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.settled(requestId);
  const request = await storedWhen(w, requestId, (r) => r.status === 'Failed');
  expect(request.failure?.reason).toMatch(/dynamic/i);
  expectPlain(request.failure?.reason);
  const failed = await onlyEvent(w, requestId, 'access.grant-failed');
  expect(failed.details).toMatchObject({ attempt: 1, permanent: true });
  expect(failed.details).not.toHaveProperty('nextAttemptAt');
});

test('a stage whose approvers cannot be looked up waits for the directory instead of failing the request for good', async () => {
  const mateo = demo('mateo.garcia');
  outageOnNextStart = true;
  const { requestId } = await w.service.submit({
    actor: as(mateo),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: DAY,
    justification: 'Look at the funnel numbers',
  });
  await advance(20 * MINUTE);
  expect(await eventsOf(w, requestId, 'attempt.refused')).toEqual([]);
  expect((await stored(w, requestId)).status).toBe('PendingApproval');
  outage(false);
  await advance(HOUR);
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');
});

test('a stage whose directory stays down past the stage timeout fails as DIRECTORY_UNAVAILABLE, not as "no approver"', async () => {
  const yuki = demo('yuki.tanaka');
  outageOnNextStart = true;
  const { requestId } = await w.service.submit({
    actor: as(yuki),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: DAY,
    justification: 'Look at the pipeline lag',
  });
  await advance(49 * HOUR, HOUR);
  await w.settled(requestId);
  const request = await storedWhen(w, requestId, (r) => r.status === 'Failed');
  expect(request.failure?.code).toBe('REQUEST.DIRECTORY_UNAVAILABLE');
  expect((await onlyEvent(w, requestId, 'attempt.refused')).details).toMatchObject({
    code: 'REQUEST.DIRECTORY_UNAVAILABLE',
  });
}, 120000);

test('a stage that times out is not escalated to a fallback who is the requester: the request ends NoApprover, saying why', async () => {
  const daniel = demo('daniel.schmidt'); // the analyst role's fallback; his manager Rahul never decides
  const { requestId } = await w.service.submit({
    actor: as(daniel),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: DAY,
    justification: 'Review the data team dashboards',
  });
  await w.stageOpen(requestId, 1);
  await advance(49 * HOUR, HOUR);
  await w.settled(requestId);
  const request = await storedWhen(w, requestId, (r) => r.status === 'NoApprover');
  expect(request.failure?.reason).toMatch(
    /fallback Daniel Schmidt cannot decide it \(they are the requester\)/,
  );
  expect(await eventsOf(w, requestId, 'approval.escalated')).toEqual([]);
}, 120000);

test('quorum all: when one owner never decides, the fallback stands in for them (here: the fallback had already approved), and the request is granted', async () => {
  const fatima = demo('fatima.zahra'); // a Snowflake analyst, so eligible for SysAdmin; Daniel's report
  const daniel = demo('daniel.schmidt');
  const kenji = demo('kenji.watanabe'); // SysAdmin owner and the stage's fallback
  const { requestId } = await w.service.submit({
    actor: as(fatima),
    appId: 'snowflake',
    roleId: 'sysadmin',
    durationMs: HOUR,
    justification: 'Rotate the warehouse service credentials',
    ticketReference: 'CHG0012345',
  });
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(daniel), requestId, decision: 'approve' });
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(kenji), requestId, decision: 'approve' });
  await advance(25 * HOUR, HOUR); // Daniel, the other owner, never decides stage 2
  await w.until(requestId, 'access.granted');
  const escalated = await onlyEvent(w, requestId, 'approval.escalated');
  expect(escalated.details).toMatchObject({ stage: 2, to: [kenji.id] });
  expect(escalated.details.reason).toMatch(/had already approved/);
}, 120000);

test('an extension whose stage cannot be opened ends without leaving the extension pending, so a later extension is accepted', async () => {
  const liam = demo('liam.murphy');
  const { requestId } = await activeGrant(
    w,
    {
      actor: as(liam),
      appId: 'snowflake',
      roleId: 'analyst',
      durationMs: 30 * DAY,
      justification: 'Quarterly reporting work',
    },
    [demo('daniel.schmidt')],
  );
  outageOnNextStart = true; // Graph goes down as the extension arrives, for longer than the stage's timeout
  await w.service.extend({
    actor: as(liam),
    requestId,
    durationMs: 7 * DAY,
    justification: 'Quarter runs late',
  });
  await w.until(requestId, 'extension.requested');
  await advance(49 * HOUR, HOUR);
  await w.until(requestId, 'attempt.refused');
  const after = await storedWhen(w, requestId, (r) => r.pendingExtension === undefined);
  expect(after.status).toBe('Active');
  outage(false);
  await w.service.extend({
    actor: as(liam),
    requestId,
    durationMs: 7 * DAY,
    justification: 'Quarter runs late',
  });
  await storedWhen(w, requestId, (r) => r.pendingExtension !== undefined);
}, 120000);
