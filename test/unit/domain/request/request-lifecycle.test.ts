import { DomainError } from '../../../../src/domain/domain-error';
import {
  isTerminal,
  nextStatuses,
  isRequestStatus,
  outcomeOf,
  transition,
  type RequestStatus,
} from '../../../../src/domain/request/request-lifecycle';

const ALL: RequestStatus[] = [
  'Submitted',
  'PendingApproval',
  'Approved',
  'Active',
  'Revoking',
  'Revoked',
  'Denied',
  'Cancelled',
  'ExpiredUndecided',
  'NoApprover',
  'Failed',
];

test('a grant ends only through Revoking: Active may go nowhere else, and Revoking only to Revoked', () => {
  expect(nextStatuses('Active')).toEqual(['Revoking']);
  expect(nextStatuses('Revoking')).toEqual(['Revoked']);
  expect(() => transition('Active', 'Revoked')).toThrow(DomainError);
  expect(transition('Active', 'Revoking')).toBe('Revoking');
});

test('an illegal move is REQUEST.ILLEGAL_TRANSITION naming where the request may go', () => {
  try {
    transition('Denied', 'Active');
    throw new Error('expected a refusal');
  } catch (err) {
    expect(err).toMatchObject({ code: 'REQUEST.ILLEGAL_TRANSITION' });
    expect((err as Error).message).toBe(
      'A request cannot go from Denied to Active; it may go to nothing (it is final).',
    );
  }
});

test('staying put is allowed (an extension records steps while Active)', () => {
  for (const s of ALL) expect(transition(s, s)).toBe(s);
});

test('every terminal status is its own outcome, and a revocation says why', () => {
  const terminal = ALL.filter(isTerminal);
  expect(terminal).toEqual(['Revoked', 'Denied', 'Cancelled', 'ExpiredUndecided', 'NoApprover', 'Failed']);
  expect(terminal.map((status) => outcomeOf({ status }))).toEqual([
    'revoked-revoked',
    'denied',
    'cancelled',
    'expired-undecided',
    'no-approver',
    'failed',
  ]);
  expect(outcomeOf({ status: 'Revoked', revocation: { reason: 'offboarded' } })).toBe('revoked-offboarded');
  expect(outcomeOf({ status: 'Revoking' })).toBeUndefined();
});

test('every status can be reached from Submitted', () => {
  const seen = new Set<RequestStatus>(['Submitted']);
  const queue: RequestStatus[] = ['Submitted'];
  while (queue.length) {
    for (const n of nextStatuses(queue.shift() as RequestStatus)) {
      if (seen.has(n)) continue;
      seen.add(n);
      queue.push(n);
    }
  }
  expect([...seen].sort()).toEqual([...ALL].sort());
});

test('isRequestStatus knows every status and nothing else (not even an Object.prototype name)', () => {
  for (const s of ALL) expect(isRequestStatus(s)).toBe(true);
  for (const s of ['', 'active', 'toString', 'constructor', '__proto__'])
    expect(isRequestStatus(s)).toBe(false);
});
