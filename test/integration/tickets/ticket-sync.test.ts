/**
 * Ticket sync against Azurite (the audit log, its touched-streams index, the TicketSync table) and a ticket
 * system with faults in front of it. Time is a TestClock: the drain's waits move it.
 */
import type { TicketSync, TicketSyncSettings } from '../../../src/adapters/tickets/ticket-sync';
import { runTicketsCommand } from '../../../src/cli/tickets.command';
import type { AuditEventInput } from '../../../src/domain/audit/audit-event.model';
import {
  reviewApplied,
  reviewCompleted,
  reviewDecided,
  reviewStarted,
  reviewStream,
} from '../../../src/domain/audit/audit-events';
import { appendReviewEvent } from '../../../src/workflows/review-ticket-outbox';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { FaultyTicketSystem, MemoryTicketSystem } from '../../support/ticket-faults';
import {
  drainUntilQuiet as drainLoop,
  eventsOf,
  LIFECYCLE,
  MIN,
  step as writeStep,
  syncWorld,
  type SyncWorld,
} from '../../support/ticket-sync-world';

jest.setTimeout(300_000);

let storage: TestStorage;

beforeAll(async () => {
  storage = await startTestStorage('attest-ticket-sync-');
});
afterAll(async () => {
  await storage.stop();
});

interface World extends Omit<SyncWorld, 'sync'> {
  inner: MemoryTicketSystem;
  system: FaultyTicketSystem;
  sync(settings?: Partial<TicketSyncSettings>, holder?: string): TicketSync;
}

async function world(
  kind: 'jira' | 'servicenow',
  opts: { searchLagMs?: number; allowedProjects?: string[] } = {},
): Promise<World> {
  const w = await syncWorld(storage);
  const inner = new MemoryTicketSystem(kind, w.clock, opts.searchLagMs ?? 0, opts.allowedProjects);
  const system = new FaultyTicketSystem(inner);
  return { ...w, inner, system, sync: (settings, holder) => w.sync(system, settings, holder) };
}

const step = (w: World, requestId: string, i: number, extra: Record<string, string> = {}) =>
  writeStep(w, w.inner.kind, requestId, i, extra);
const drainUntilQuiet = (w: World, sync: TicketSync) => drainLoop(w, sync);

/** Every request's events are on exactly one ticket, each once, in order; finished lifecycles are resolved. */
async function expectMirrored(w: World, requestIds: string[], resolved = true): Promise<void> {
  const byRequest = new Map<string, string[]>();
  for (const t of w.inner.tickets.values()) {
    const list = byRequest.get(t.draft.correlationId) ?? [];
    list.push(t.key);
    byRequest.set(t.draft.correlationId, list);
  }
  expect(w.inner.tickets.size).toBe(requestIds.length);
  for (const id of requestIds) {
    const keys = byRequest.get(id);
    expect(keys).toHaveLength(1);
    const ticket = w.inner.tickets.get((keys as string[])[0]);
    const events = await eventsOf(w, id);
    expect(ticket?.comments.map((c) => c.eventHash)).toEqual(events.map((e) => e.hash));
    if (resolved) expect(ticket?.resolved).toContain('access.revoked');
  }
}

describe.each(['jira', 'servicenow'] as const)('%s', (kind) => {
  test('down for an hour while 100 lifecycles are written: afterwards every event is on its ticket once, in order, no duplicates', async () => {
    const w = await world(kind, { searchLagMs: kind === 'jira' ? 3_000 : 0 });
    const sync = w.sync();
    const ids = Array.from({ length: 100 }, (_, i) => `r-${String(i).padStart(3, '0')}`);
    w.system.down = true;
    // Six steps over the hour; the timer ticks every minute meanwhile and finds the system down.
    for (let s = 0; s < LIFECYCLE.length; s++) {
      await Promise.all(ids.map((id) => step(w, id, s)));
      for (let m = 0; m < 10; m++) {
        w.clock.advance(MIN);
        await sync.drain();
      }
    }
    expect(w.inner.tickets.size).toBe(0);
    expect(await w.store.parked()).toEqual([]); // an outage backs off; it does not park rows
    expect(w.lines.some((l) => l.includes('unavailable'))).toBe(true);
    w.system.down = false;
    await drainUntilQuiet(w, sync);
    await expectMirrored(w, ids);
    // Each ticket's link is in the audit log, in the ticket's own stream.
    const linked = await eventsOf(w, 'tickets:r-000');
    expect(linked.map((e) => e.action)).toEqual(['ticket.linked']);
    expect(linked[0].details).toMatchObject({ system: kind, how: 'created' });
  });

  test('a crash between creating a ticket and recording its key leaves no duplicate after the restart', async () => {
    // Jira's search lags: the restarted drain searches, finds nothing yet, waits and searches again.
    const w = await world(kind, { searchLagMs: kind === 'jira' ? 90_000 : 0 });
    for (let s = 0; s < 3; s++) await step(w, 'r-crash', s);
    w.system.crashAfterCreate = true;
    const first = await w.sync({ searchLagMs: 120_000 }, 'host-1').drain();
    expect(first.outcome).toBe('stopped');
    expect(w.inner.tickets.size).toBe(1);
    // The restarted host (another instance) after the backoff.
    w.clock.advance(MIN);
    const restarted = w.sync({ searchLagMs: 120_000 }, 'host-2');
    await drainUntilQuiet(w, restarted);
    expect(w.inner.tickets.size).toBe(1);
    expect(w.system.calls.create).toBe(1);
    expect(w.system.calls.find).toBe(kind === 'jira' ? 2 : 1);
    const ticket = [...w.inner.tickets.values()][0];
    expect(ticket.comments.map((c) => c.eventHash)).toEqual(
      (await eventsOf(w, 'r-crash')).map((e) => e.hash),
    );
    const linked = await eventsOf(w, 'tickets:r-crash');
    expect(linked.map((e) => e.details.how)).toEqual(['found']);
  });
});

test('a drain killed after creating a ticket: the next holder waits out the lease, then finds the ticket', async () => {
  const w = await world('servicenow');
  await step(w, 'r-kill', 0);
  // The killed host holds the lease and left its `creating` mark; its ticket exists, its key was never stored.
  const killed = await w.store.acquireLease('host-killed', 5 * MIN);
  expect(killed).toBeDefined();
  await w.store.saveTicket({ correlationId: 'r-kill', creating: true, owned: true, resolved: false });
  await w.inner.create({ correlationId: 'r-kill', summary: 's', description: 'd', fields: {} });
  const next = w.sync({}, 'host-2');
  expect((await next.drain()).outcome).toBe('busy');
  w.clock.advance(5 * MIN);
  await drainUntilQuiet(w, next);
  expect(w.inner.tickets.size).toBe(1);
  expect([...w.inner.tickets.values()][0].comments).toHaveLength(1);
});

test('429 with Retry-After 0 or missing is waited out inside the drain; a long one ends the drain until then', async () => {
  const w = await world('jira');
  for (let s = 0; s < 3; s++) await step(w, 'r-429', s);
  w.system.throttles = [0, undefined, 0, undefined];
  const sync = w.sync();
  const r = await sync.drain();
  expect(r).toMatchObject({ outcome: 'done', rows: 3, comments: 3, created: 1 });
  expect(w.lines.filter((l) => l.includes('throttled'))).toHaveLength(4);
  expect(w.lines.some((l) => l.includes('Retry-After missing'))).toBe(true);
  expect(w.lines.some((l) => l.includes('jira-per-issue-on-write'))).toBe(true);

  await step(w, 'r-429', 3);
  w.system.throttles = [10 * MIN];
  const stopped = await sync.drain();
  expect(stopped.outcome).toBe('stopped');
  w.clock.advance(MIN);
  expect((await sync.drain()).outcome).toBe('waiting');
  w.clock.advance(10 * MIN);
  await drainUntilQuiet(w, sync);
  await expectMirrored(w, ['r-429'], false);
});

test('a rejected row is parked: it holds the rows behind it on its ticket, not other tickets; admins are told; release carries them', async () => {
  const w = await world('jira');
  for (const id of ['r-a', 'r-b']) for (let s = 0; s < LIFECYCLE.length; s++) await step(w, id, s);
  w.system.reject = (op, arg) =>
    op === 'comment' &&
    (arg as { stream: string; action: string }).stream === 'r-a' &&
    (arg as { action: string }).action === 'approval.requested';
  const sync = w.sync();
  await drainUntilQuiet(w, sync);
  const a = [...w.inner.tickets.values()].find((t) => t.draft.correlationId === 'r-a');
  expect(a?.comments.map((c) => c.action)).toEqual(['request.submitted', 'policy.evaluated']);
  expect(a?.resolved).toBeUndefined();
  await expectMirrored(
    {
      ...w,
      inner: {
        ...w.inner,
        tickets: new Map([...w.inner.tickets].filter(([, t]) => t.draft.correlationId === 'r-b')),
      },
    } as World,
    ['r-b'],
  );
  const parked = await w.store.parked();
  expect(parked).toHaveLength(1);
  expect(parked[0]).toMatchObject({
    stream: 'r-a',
    correlationId: 'r-a',
    code: 'TICKETS.REJECTED',
    attempts: 1,
  });
  const told = await w.notifier.forRequest('r-a');
  expect(told.map((t) => [t.kind, t.recipients])).toEqual([['ticket-row-parked', ['admin-1']]]);
  expect(told[0].text).toContain(`attest tickets release r-a ${parked[0].rowKey}`);
  expect((await eventsOf(w, 'tickets:r-a')).map((e) => e.action)).toEqual([
    'ticket.linked',
    'ticket.row-parked',
  ]);

  // More events for the held ticket wait too.
  const out: string[] = [];
  const err: string[] = [];
  expect(
    await runTicketsCommand(
      { action: 'list' },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(0);
  expect(out.join('\n')).toContain(`r-a ${parked[0].rowKey}  r-a  approval.requested`);
  expect(out.join('\n')).toContain('TICKETS.REJECTED: jira answered 400');

  w.system.reject = undefined;
  expect(
    await runTicketsCommand(
      { action: 'release', stream: 'r-a', rowKey: parked[0].rowKey, as: 'grace@contoso.test' },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(0);
  const released = (await eventsOf(w, 'tickets:r-a')).at(-1);
  expect(released).toMatchObject({
    action: 'ticket.row-released',
    actor: { upn: 'grace@contoso.test', channel: 'cli' },
  });
  // A second decision on the same row is refused until the drain applies the first.
  expect(
    await runTicketsCommand(
      { action: 'skip', stream: 'r-a', rowKey: parked[0].rowKey, as: 'grace@contoso.test', reason: 'x' },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(1);
  expect(err.at(-1)).toContain('already released by grace@contoso.test');
  w.clock.advance(MIN);
  await drainUntilQuiet(w, sync);
  await expectMirrored(w, ['r-a', 'r-b']);
  expect(await w.store.parked()).toEqual([]);
});

test('a skipped row never reaches its ticket, the rows behind it do, and the skip is audited with its reason', async () => {
  const w = await world('servicenow');
  for (let s = 0; s < 4; s++) await step(w, 'r-s', s);
  w.system.reject = (op, arg) =>
    op === 'comment' && (arg as { action: string }).action === 'policy.evaluated';
  const sync = w.sync();
  await drainUntilQuiet(w, sync);
  const [row] = await w.store.parked();
  const err: string[] = [];
  const out: string[] = [];
  expect(
    await runTicketsCommand(
      { action: 'skip', stream: 'r-s', rowKey: row.rowKey, as: 'grace@contoso.test' },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(2);
  expect(err.at(-1)).toContain('--reason');
  expect(
    await runTicketsCommand(
      {
        action: 'skip',
        stream: 'r-s',
        rowKey: row.rowKey,
        as: 'grace@contoso.test',
        reason: 'the work note field is locked on this item',
      },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(0);
  await step(w, 'r-s', 4);
  w.clock.advance(MIN);
  await drainUntilQuiet(w, sync);
  const ticket = [...w.inner.tickets.values()][0];
  expect(ticket.comments.map((c) => c.action)).toEqual([
    'request.submitted',
    'approval.requested',
    'approval.decided',
    'access.granted',
  ]);
  const skipped = (await eventsOf(w, 'tickets:r-s')).find((e) => e.action === 'ticket.row-skipped');
  expect(skipped?.details).toMatchObject({
    reason: 'the work note field is locked on this item',
    row: { rowKey: row.rowKey },
  });
  expect(
    await runTicketsCommand(
      { action: 'release', stream: 'r-s', rowKey: row.rowKey, as: 'grace@contoso.test' },
      w,
      (l) => out.push(l),
      (l) => err.push(l),
    ),
  ).toBe(1);
  expect(err.at(-1)).toContain('No parked row');
});

test('a row that keeps failing is parked after the configured attempts, backing off between them', async () => {
  const w = await world('jira');
  await step(w, 'r-flaky', 0);
  w.system.reject = undefined;
  w.system.down = true;
  const sync = w.sync({ maxAttempts: 3 });
  for (let tick = 0; tick < 10 && !(await w.store.parked()).length; tick++) {
    await sync.drain();
    w.clock.advance(MIN);
  }
  const parked = await w.store.parked();
  expect(parked).toMatchObject([{ stream: 'r-flaky', attempts: 3, code: 'TICKETS.UNAVAILABLE' }]);
  // 3 attempts: at 0, after 1 min and after 2 more (the backoff doubles).
  expect(w.system.calls.create + w.system.calls.find).toBe(3);
});

test('only one drain at a time: a second instance skips while the first holds the lease', async () => {
  const w = await world('jira');
  await step(w, 'r-one', 0);
  const lease = await w.store.acquireLease('host-1', 5 * MIN);
  expect(lease).toBeDefined();
  expect(await w.sync({}, 'host-2').drain()).toMatchObject({ outcome: 'busy' });
  await w.store.releaseLease(lease!);
  expect(await w.sync({}, 'host-2').drain()).toMatchObject({ outcome: 'done', rows: 1 });
});

test("a requester's ticket reference is commented on in an allowed project, and a new ticket made otherwise", async () => {
  const w = await world('jira', { allowedProjects: ['SEC'] });
  w.inner.addForeign('SEC-77');
  await step(w, 'r-ref', 0, { ticketReference: 'SEC-77' });
  await step(w, 'r-ref', 1);
  await step(w, 'r-other', 0, { ticketReference: 'HR-5' });
  await drainUntilQuiet(w, w.sync());
  expect(w.inner.tickets.get('SEC-77')?.comments.map((c) => c.action)).toEqual([
    'request.submitted',
    'policy.evaluated',
  ]);
  const created = [...w.inner.tickets.values()].filter((t) => t.draft.correlationId !== '');
  expect(created.map((t) => t.draft.correlationId)).toEqual(['r-other']);
  expect((await eventsOf(w, 'tickets:r-ref'))[0].details).toMatchObject({ key: 'SEC-77', how: 'reference' });
});

test('a campaign has one ticket with each of its events, resolved when it completes; a revocation is commented on the request ticket only when there is one', async () => {
  const w = await world('jira');
  for (let s = 0; s < 5; s++) await step(w, 'r-rev', s);
  const ctx = {
    stream: reviewStream('q1'),
    actor: { objectId: 'u-mgr', upn: 'mgr@contoso.test', channel: 'tab' as const },
    subject: 'campaign:q1',
  };
  const append = (input: AuditEventInput) => appendReviewEvent({ audit: w.log, ticketTarget: 'jira' }, input);
  await append(
    reviewStarted(ctx, {
      definitionId: 'quarterly',
      name: 'Quarterly payroll review',
      count: 2,
      hash: 'cd'.repeat(32),
      groups: 1,
      stages: 1,
      deadlines: ['2026-12-06T00:00:00Z'],
      notRemovable: 0,
      signInUnavailable: false,
    }),
  );
  await append(
    reviewDecided(ctx, {
      stage: 1,
      source: 'reviewer',
      items: [{ itemId: 'g-1:u-ada', decision: 'revoke', final: true }],
    }),
  );
  await append(
    reviewApplied(ctx, {
      itemId: 'g-1:u-ada',
      group: { id: 'g-1' },
      userId: 'u-ada',
      decision: { stage: 1, by: 'u-mgr', source: 'reviewer', at: '2026-11-30T00:00:00Z' },
      outcome: 'applied',
      endedRequestIds: ['r-rev', 'r-no-ticket'],
    }),
  );
  await append(
    reviewCompleted(ctx, { items: 2, kept: 1, revoked: 1, applied: 1, failed: 0, cannotApply: 0 }),
  );
  await drainUntilQuiet(w, w.sync());

  const byId = new Map([...w.inner.tickets.values()].map((t) => [t.draft.correlationId, t]));
  expect([...byId.keys()].sort()).toEqual(['campaign:q1', 'r-rev']);
  const campaign = byId.get('campaign:q1');
  expect(campaign?.draft.summary).toBe('Access review Quarterly payroll review (q1)');
  expect(campaign?.comments.map((c) => c.action)).toEqual([
    'review.started',
    'review.decided',
    'review.applied',
    'review.completed',
  ]);
  expect(campaign?.resolved).toContain('review.completed');
  const request = byId.get('r-rev');
  expect(request?.comments.map((c) => c.action)).toContain('review.applied');
  expect(request?.comments).toHaveLength(6);
  expect(request?.resolved).toBeUndefined(); // the request's own stream ends it, not the review
  expect((await eventsOf(w, 'tickets:campaign:q1')).map((e) => e.action)).toEqual(['ticket.linked']);
});

test('a stream with an unreadable outbox row stays open and is named in the log; other streams are carried', async () => {
  const w = await world('servicenow');
  await step(w, 'r-bad', 0);
  await step(w, 'r-good', 0);
  // A row no writer of Attest produces: its payload is not JSON.
  await w.auditTable.createEntity({
    partitionKey: 'r-bad',
    rowKey: 'o-0000000002-01',
    target: 'servicenow',
    payload: '{not json',
    eventSeq: 2,
    eventHash: 'ef'.repeat(32),
    createdAt: w.clock.now().toISOString(),
  });
  const sync = w.sync();
  const first = await sync.drain();
  expect(first).toMatchObject({ outcome: 'done', failedStreams: 1 });
  expect(w.lines.some((l) => l.includes('stream r-bad could not be synced and stays open'))).toBe(true);
  const good = [...w.inner.tickets.values()].find((t) => t.draft.correlationId === 'r-good');
  expect(good?.comments).toHaveLength(1);
  // Long after the touched index has moved on, the open stream is still tried.
  w.clock.advance(60 * MIN);
  expect(await sync.drain()).toMatchObject({ failedStreams: 1 });
});
