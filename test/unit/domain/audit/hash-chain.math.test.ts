import { sha256 } from '../../../../src/adapters/crypto/sha256';
import { DomainError } from '../../../../src/domain/domain-error';
import { GENESIS_HASH, type AuditEvent } from '../../../../src/domain/audit/audit-event.model';
import { approvalDecided, requestSubmitted } from '../../../../src/domain/audit/audit-events';
import { canonicalJson, toHex, utf8 } from '../../../../src/domain/audit/canonical-json.codec';
import {
  chainEvent,
  eventHash,
  verifyChain,
  type Checkpoint,
} from '../../../../src/domain/audit/hash-chain.math';

const ctx = {
  stream: 'request/42',
  actor: { objectId: 'u-1', upn: 'ada@contoso.test', channel: 'teams' as const },
  subject: 'app:payroll/role:reader',
  correlation: { requestId: '42' },
};
const policy = { id: 'payroll', version: '3', hash: 'ab'.repeat(32) };

function stream(n: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (let i = 0; i < n; i++) {
    const input =
      i === 0
        ? requestSubmitted(ctx, { justification: 'month-end close', policy })
        : approvalDecided(ctx, { stage: i, approver: `m-${i}`, channel: 'teams', decision: 'approved' });
    events.push(chainEvent(events[i - 1], input, `2026-01-0${1 + (i % 9)}T10:00:00.000Z`, sha256));
  }
  return events;
}

test('the first event points at the genesis hash and each next one at its predecessor', () => {
  const events = stream(3);
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
  expect(events[0].prevHash).toBe(GENESIS_HASH);
  expect(events[1].prevHash).toBe(events[0].hash);
  expect(events[2].prevHash).toBe(events[1].hash);
});

test('the hash is SHA-256 over the canonical encoding of every field but the hash', () => {
  const [e] = stream(1);
  const { hash, ...rest } = e;
  expect(hash).toBe(toHex(sha256(utf8(canonicalJson(rest)))));
  expect(eventHash(rest, sha256)).toBe(hash);
});

test('a sound stream verifies and reports its head', () => {
  const events = stream(5);
  expect(verifyChain('request/42', events, sha256)).toEqual({
    ok: true,
    events: 5,
    head: { stream: 'request/42', seq: 5, hash: events[4].hash },
  });
});

test('an edited field is named edited at its seq', () => {
  const events = stream(5);
  events[2] = { ...events[2], details: { ...events[2].details, decision: 'denied' } };
  expect(verifyChain('request/42', events, sha256)).toMatchObject({ ok: false, seq: 3, problem: 'edited' });
});

test('a removed event in the middle is named missing', () => {
  const events = stream(5);
  events.splice(2, 1);
  expect(verifyChain('request/42', events, sha256)).toMatchObject({ ok: false, seq: 3, problem: 'missing' });
});

test('a removed first event is named missing at seq 1', () => {
  expect(verifyChain('request/42', stream(3).slice(1), sha256)).toMatchObject({ seq: 1, problem: 'missing' });
});

test('two swapped events are named reordered, not missing', () => {
  const events = stream(5);
  [events[2], events[3]] = [events[3], events[2]];
  expect(verifyChain('request/42', events, sha256)).toMatchObject({ ok: false, problem: 'reordered' });
});

test('an event whose prevHash points elsewhere is named reordered', () => {
  const events = stream(3);
  const other = chainEvent(
    events[0],
    approvalDecided(ctx, { stage: 9, approver: 'x', channel: 'cli', decision: 'denied' }),
    '2026-02-01T00:00:00Z',
    sha256,
  );
  const spliced = { ...other, seq: 3 };
  const rehashed = { ...spliced, hash: eventHash(spliced, sha256) };
  expect(verifyChain('request/42', [events[0], events[1], rehashed], sha256)).toMatchObject({
    seq: 3,
    problem: 'reordered',
  });
});

test('an event of another stream is named reordered', () => {
  const other = chainEvent(
    undefined,
    requestSubmitted({ ...ctx, stream: 'request/43' }, { justification: 'x', policy }),
    '2026-01-01T00:00:00Z',
    sha256,
  );
  expect(verifyChain('request/42', [other], sha256)).toMatchObject({ seq: 1, problem: 'reordered' });
});

test('a stream cut short of a recorded head is named truncated, and one with no events deleted', () => {
  const events = stream(5);
  const recorded = new Map<number, Checkpoint>([[5, { seq: 5, hash: events[4].hash, digestSeq: 1 }]]);
  expect(verifyChain('request/42', events.slice(0, 3), sha256, recorded)).toMatchObject({
    seq: 4,
    problem: 'truncated',
  });
  expect(verifyChain('request/42', [], sha256, recorded)).toMatchObject({ seq: 1, problem: 'deleted' });
  expect(verifyChain('request/42', events, sha256, recorded)).toMatchObject({ ok: true });
});

test('a stream rewritten and re-hashed from the start is caught by the head a digest recorded', () => {
  const events = stream(3);
  const recorded = new Map<number, Checkpoint>([[3, { seq: 3, hash: events[2].hash, digestSeq: 7 }]]);
  const rewritten: AuditEvent[] = [];
  for (const e of events) {
    const details = e.seq === 2 ? { ...e.details, decision: 'denied' } : e.details;
    rewritten.push(chainEvent(rewritten[rewritten.length - 1], { ...e, details }, e.time, sha256));
  }
  expect(verifyChain('request/42', rewritten, sha256)).toMatchObject({ ok: true });
  expect(verifyChain('request/42', rewritten, sha256, recorded)).toMatchObject({ seq: 3, problem: 'edited' });
});

test('chaining refuses malformed inputs with AUDIT.INVALID_EVENT', () => {
  const good = requestSubmitted(ctx, { justification: 'x', policy });
  const bad = [
    { ...good, stream: '' },
    { ...good, action: 'request.deleted' },
    { ...good, actor: { objectId: '', channel: 'teams' } },
    { ...good, actor: { objectId: 'u', channel: 'fax' } },
    { ...good, details: [] },
    { ...good, correlation: { orderId: '1' } },
  ];
  for (const input of bad) {
    expect(() => chainEvent(undefined, input as never, '2026-01-01T00:00:00Z', sha256)).toThrow(DomainError);
  }
  expect(() => chainEvent(undefined, good, 'yesterday', sha256)).toThrow(/ISO 8601/);
  expect(() =>
    chainEvent(undefined, { ...good, details: { n: NaN } }, '2026-01-01T00:00:00Z', sha256),
  ).toThrow(/finite/);
});
