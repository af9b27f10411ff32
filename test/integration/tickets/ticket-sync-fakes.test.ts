/**
 * The issue's acceptance for ticket sync, end to end over HTTP: the Jira adapter (jira.js) against the local
 * Jira fake (search that lags), the ServiceNow adapter against the ServiceNow fake, the audit log and TicketSync
 * table on Azurite, and one TestClock for the drain, the fakes and the audit log.
 */
import { JiraTicketSystem } from '../../../src/adapters/tickets/jira-ticket-system';
import { ServiceNowTicketSystem } from '../../../src/adapters/tickets/servicenow-ticket-system';
import { hashesIn } from '../../../src/adapters/tickets/ticket-text';
import { startJiraFake, type JiraFake } from '../../../src/local/ticket-fakes/jira-fake';
import { startServiceNowFake, type ServiceNowFake } from '../../../src/local/ticket-fakes/servicenow-fake';
import type { TicketSystem } from '../../../src/ports/ticket-system.port';
import { startTestStorage, type TestStorage } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { FaultyTicketSystem } from '../../support/ticket-faults';
import {
  drainUntilQuiet,
  eventsOf,
  LIFECYCLE,
  MIN,
  step,
  syncWorld,
  type SyncWorld,
} from '../../support/ticket-sync-world';

jest.setTimeout(600_000);

let storage: TestStorage;
beforeAll(async () => {
  storage = await startTestStorage('attest-ticket-fakes-');
});
afterAll(async () => {
  await storage.stop();
});

/** One ticket as either fake holds it: its Attest id, the event hashes of its comments in order, resolved or not. */
interface Mirrored {
  correlationId: string;
  hashes: string[];
  resolved: boolean;
}

interface Rig {
  kind: 'jira' | 'servicenow';
  w: SyncWorld;
  fake: JiraFake | ServiceNowFake;
  system: TicketSystem;
  tickets(): Mirrored[];
  close(): Promise<void>;
}

const EMAIL = 'attest@acme.example';
const TOKEN = 'api-token-0123456789';

async function rig(kind: 'jira' | 'servicenow', searchLagMs = 3_000): Promise<Rig> {
  const clock = new TestClock(new Date('2026-11-29T09:00:00Z'));
  const w = await syncWorld(storage, clock);
  const log = (l: string) => w.lines.push(l);
  if (kind === 'jira') {
    const fake = await startJiraFake({
      now: () => clock.now(),
      searchLagMs,
      basic: [[EMAIL, TOKEN]],
      projects: ['SEC'],
    });
    const system = new JiraTicketSystem({
      config: {
        baseUrl: fake.url,
        auth: { kind: 'token', email: EMAIL, apiToken: TOKEN },
        projectKey: 'SEC',
        issueType: 'Task',
        fields: {},
        resolveTransition: 'Done',
        allowedProjects: ['SEC'],
      },
      log,
      now: () => clock.now(),
    });
    return {
      kind,
      w,
      fake,
      system,
      tickets: () =>
        fake.issues().map((i) => ({
          correlationId: (i.fields.labels.find((l) => l.startsWith('attest-')) ?? '').replace(/^attest-/, ''),
          hashes: i.comments.flatMap((c) => hashesIn(c.text)),
          resolved: i.fields.status.statusCategory.key === 'done',
        })),
      close: () => fake.close(),
    };
  }
  const fake = await startServiceNowFake({ now: () => clock.now(), basic: [['attest.integration', TOKEN]] });
  const system = new ServiceNowTicketSystem({
    config: {
      instanceUrl: fake.url,
      table: 'sc_req_item',
      auth: { kind: 'basic', username: 'attest.integration', password: TOKEN },
      closedState: '3',
      fields: {},
    },
    log,
    now: () => clock.now(),
  });
  return {
    kind,
    w,
    fake,
    system,
    tickets: () =>
      fake.records('sc_req_item').map((r) => ({
        correlationId: r.correlation_id,
        hashes: fake.workNotes(r.sys_id).flatMap((t) => hashesIn(t)),
        resolved: r.state === '3',
      })),
    close: () => fake.close(),
  };
}

/** Each request has exactly one ticket holding each of its events once, in order; ended lifecycles resolved. */
async function expectMirrored(r: Rig, ids: string[]): Promise<void> {
  const tickets = r.tickets();
  expect(tickets).toHaveLength(ids.length);
  const byId = new Map(tickets.map((t) => [t.correlationId, t]));
  expect(byId.size).toBe(ids.length);
  for (const id of ids) {
    const events = await eventsOf(r.w, id);
    expect(byId.get(id)).toEqual({ correlationId: id, hashes: events.map((e) => e.hash), resolved: true });
  }
}

describe.each(['jira', 'servicenow'] as const)('%s fake', (kind) => {
  test('down for a simulated hour while 500 lifecycles are written: afterwards every event sits on its ticket exactly once, in order, no duplicate tickets', async () => {
    const r = await rig(kind);
    try {
      const sync = r.w.sync(r.system);
      const ids = Array.from({ length: 500 }, (_, i) => `r-${String(i).padStart(3, '0')}`);
      // Jira's connection refused; ServiceNow's 503 answers.
      await r.fake.setDown(kind === 'jira' ? 'refused' : '503');
      for (let s = 0; s < LIFECYCLE.length; s++) {
        await Promise.all(ids.map((id) => step(r.w, kind, id, s)));
        for (let m = 0; m < 10; m++) {
          r.w.clock.advance(MIN);
          await sync.drain();
        }
      }
      expect(r.tickets()).toEqual([]);
      expect(await r.w.store.parked()).toEqual([]);
      await r.fake.setDown(false);
      await drainUntilQuiet(r.w, sync);
      await expectMirrored(r, ids);
    } finally {
      await r.close();
    }
  });

  test('a crash between creating a ticket and recording its key: no duplicate after the restart', async () => {
    // Jira's search lags 90 s: the restarted drain's first search misses, it waits 120 s and finds the ticket.
    const r = await rig(kind, 90_000);
    try {
      for (let s = 0; s < LIFECYCLE.length; s++) await step(r.w, kind, 'r-crash', s);
      const crashing = new FaultyTicketSystem(r.system);
      crashing.crashAfterCreate = true;
      expect((await r.w.sync(crashing, { searchLagMs: 120_000 }, 'host-1').drain()).outcome).toBe('stopped');
      expect(r.tickets()).toHaveLength(1);
      r.w.clock.advance(MIN);
      const restarted = new FaultyTicketSystem(r.system);
      await drainUntilQuiet(r.w, r.w.sync(restarted, { searchLagMs: 120_000 }, 'host-2'));
      expect(restarted.calls.create).toBe(0);
      expect(restarted.calls.find).toBe(kind === 'jira' ? 2 : 1);
      await expectMirrored(r, ['r-crash']);
      expect((await eventsOf(r.w, 'tickets:r-crash')).map((e) => e.details.how)).toEqual(['found']);
    } finally {
      await r.close();
    }
  });

  test('429 with Retry-After 0 and without Retry-After is honoured; every event still lands once', async () => {
    const r = await rig(kind);
    try {
      for (let s = 0; s < LIFECYCLE.length; s++) await step(r.w, kind, 'r-429', s);
      r.fake.addFaults([
        { status: 429, retryAfter: 0, count: 2, rateLimitReason: 'jira-per-issue-on-write' },
        { status: 429, count: 2 },
      ]);
      const report = await r.w.sync(r.system).drain();
      expect(report).toMatchObject({ outcome: 'done', rows: LIFECYCLE.length, created: 1, resolved: 1 });
      expect(r.w.lines.filter((l) => l.startsWith('ticket sync:') && l.includes('throttled'))).toHaveLength(
        4,
      );
      expect(r.w.lines.some((l) => l.includes('Retry-After missing'))).toBe(true);
      await expectMirrored(r, ['r-429']);
    } finally {
      await r.close();
    }
  });
});
