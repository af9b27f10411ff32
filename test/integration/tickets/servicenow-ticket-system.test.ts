/**
 * The ServiceNow adapter (Table API over fetch) against the local ServiceNow fake: records found by
 * correlation_id, work notes carrying the event hash read back from sys_journal_field, resolve by state, basic
 * and OAuth client-credentials auth, and failures mapped to the ticket port's codes with what ServiceNow said.
 */
import { DomainError } from '../../../src/domain/domain-error';
import { ServiceNowTicketSystem } from '../../../src/adapters/tickets/servicenow-ticket-system';
import { TicketErrorCodes, type TicketComment } from '../../../src/ports/ticket-system.port';
import type { ServiceNowTicketsConfig } from '../../../src/config/config';
import { startServiceNowFake, type ServiceNowFake } from '../../../src/local/ticket-fakes/servicenow-fake';
import { TestClock } from '../../support/test-clock';

let clock: TestClock;
let fake: ServiceNowFake;
let logs: string[];

function sn(
  over: Partial<Omit<ServiceNowTicketsConfig, 'mode'>> = {},
  notePageSize?: number,
): ServiceNowTicketSystem {
  return new ServiceNowTicketSystem({
    config: {
      instanceUrl: fake.url,
      table: 'sc_req_item',
      auth: { kind: 'basic', username: 'attest.integration', password: 'pw-1' },
      closedState: '3',
      fields: { requester: 'u_requester' },
      ...over,
    },
    log: (l) => logs.push(l),
    now: () => clock.now(),
    ...(notePageSize ? { notePageSize } : {}),
  });
}

function event(seq: number): TicketComment {
  return {
    eventHash: `${'cd'.repeat(31)}${String(seq).padStart(2, '0')}`,
    stream: 'request:r-1',
    seq,
    action: 'access.granted',
    actor: 'system',
    time: '2026-11-29T10:00:00.000Z',
    text: `Granted (event ${seq})`,
  };
}

async function failure(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

const draft = {
  correlationId: 'r-1',
  summary: 'Access to GitHub',
  description: 'why',
  fields: { requester: 'alex' },
};

beforeEach(async () => {
  clock = new TestClock(new Date('2026-11-29T10:00:00Z'));
  logs = [];
  fake = await startServiceNowFake({
    now: () => clock.now(),
    basic: [['attest.integration', 'pw-1']],
    oauthClients: [['attest-client', 'attest-secret']],
  });
});

afterEach(async () => {
  await fake.close();
});

describe('the ServiceNow adapter', () => {
  test('creates a record with correlation_id and mapped columns, found at once', async () => {
    const s = sn();
    expect(await s.find('r-1')).toBeUndefined();
    const ref = await s.create(draft);
    const [rec] = fake.records('sc_req_item');
    expect(ref.key).toBe(rec.sys_id);
    expect(ref.url).toBe(
      `${fake.url}/nav_to.do?uri=${encodeURIComponent(`sc_req_item.do?sys_id=${rec.sys_id}`)}`,
    );
    expect(rec).toMatchObject({
      correlation_id: 'r-1',
      short_description: 'Access to GitHub',
      u_requester: 'alex',
    });
    expect(rec.description).toContain('requester: alex');
    expect(await s.find('r-1')).toEqual(ref);
    expect(await s.find('r-2')).toBeUndefined();
  });

  test('work notes carry the event hash, and commentedHashes reads every page of the journal', async () => {
    const s = sn({}, 2);
    const ref = await s.create(draft);
    for (let seq = 1; seq <= 5; seq++) await s.comment(ref, event(seq));
    expect([...(await s.commentedHashes(ref))].sort()).toEqual(
      [1, 2, 3, 4, 5].map((x) => event(x).eventHash),
    );
    expect(fake.count('GET /api/now/table/sys_journal_field')).toBe(3);
    const notes = fake.workNotes(ref.key);
    expect(notes[0].split('\n')).toEqual([
      'access.granted by system at 2026-11-29T10:00:00.000Z',
      'Granted (event 1)',
      'attest-stream: request:r-1 #1',
      `attest-event: ${event(1).eventHash}`,
    ]);
  });

  test('resolve sets the closed state with a closing note, once', async () => {
    const s = sn();
    const ref = await s.create(draft);
    await s.resolve(ref, 'access expired');
    await s.resolve(ref, 'access expired');
    expect(fake.records('sc_req_item')[0].state).toBe('3');
    expect(fake.workNotes(ref.key)).toEqual(['Resolved: access expired']);
  });

  test('OAuth client credentials: a token from /oauth_token.do, fetched again after it is refused', async () => {
    const s = sn({ auth: { kind: 'oauth', clientId: 'attest-client', clientSecret: 'attest-secret' } });
    const ref = await s.create(draft);
    await s.comment(ref, event(1));
    expect(fake.count('POST /oauth_token.do')).toBe(1);
    fake.expireTokens();
    await s.comment(ref, event(2));
    expect(fake.count('POST /oauth_token.do')).toBe(2);
    expect(fake.workNotes(ref.key)).toHaveLength(2);

    const wrong = sn({ auth: { kind: 'oauth', clientId: 'attest-client', clientSecret: 'nope' } });
    const err = await failure(wrong.find('r-1'));
    expect(err.code).toBe(TicketErrorCodes.rejected);
    expect(err.message).toContain('ATTEST_SERVICENOW_CLIENT_SECRET');
  });

  test('wrong basic credentials are rejected with what ServiceNow said and what to check', async () => {
    const err = await failure(
      sn({ auth: { kind: 'basic', username: 'attest.integration', password: 'x' } }).find('r-1'),
    );
    expect(err.code).toBe(TicketErrorCodes.rejected);
    expect(err.message).toContain('ATTEST_SERVICENOW_PASSWORD');
    expect(err.message).toContain('User Not Authenticated: Required to provide Auth information');
  });

  test("4xx carry ServiceNow's error message and detail", async () => {
    const badTable = await failure(sn({ table: 'u_no_such_table' }).create(draft));
    expect(badTable.code).toBe(TicketErrorCodes.rejected);
    expect(badTable.message).toContain('Invalid table u_no_such_table');
    const missing = await failure(sn().comment({ key: 'f'.repeat(32), url: '' }, event(1)));
    expect(missing.code).toBe(TicketErrorCodes.rejected);
    expect(missing.message).toContain(
      "No Record found: Record doesn't exist or ACL restricts the record retrieval",
    );
  });

  test.each([
    ['0', 0, 0],
    ['absent', undefined, undefined],
    ['120 seconds', 120, 120_000],
  ])('429 with Retry-After %s is throttled with retryAfterMs', async (_, retryAfter, ms) => {
    const s = sn();
    fake.addFaults([
      {
        method: 'POST',
        path: '/api/now/table/*',
        status: 429,
        count: 1,
        ...(retryAfter !== undefined ? { retryAfter } : {}),
      },
    ]);
    const err = await failure(s.create(draft));
    expect(err.code).toBe(TicketErrorCodes.throttled);
    expect(err.details?.retryAfterMs).toBe(ms);
    expect(err.message).toContain('throttling');
    expect(logs.join('\n')).toContain('ServiceNow throttled');
    await s.create(draft);
    expect(fake.records('sc_req_item')).toHaveLength(1);
  });

  test('5xx and connection refused are unavailable', async () => {
    const s = sn();
    fake.addFaults([
      { status: 500, count: 1, message: 'Transaction cancelled: maximum execution time exceeded' },
    ]);
    const err = await failure(s.find('r-1'));
    expect(err.code).toBe(TicketErrorCodes.unavailable);
    expect(err.message).toContain('ServiceNow answered 500');
    expect(err.message).toContain('maximum execution time exceeded');
    await fake.setDown('refused');
    await failure(s.find('r-1')); // a kept-alive connection may be reset first
    const refused = await failure(s.find('r-1'));
    expect(refused.code).toBe(TicketErrorCodes.unavailable);
    expect(refused.message).toContain('ECONNREFUSED');
    await fake.setDown(false);
    expect(await s.find('r-1')).toBeUndefined();
  });
});
