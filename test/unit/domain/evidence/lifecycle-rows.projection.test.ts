import { sha256 } from '../../../../src/adapters/crypto/sha256';
import type { AuditEvent, AuditEventInput } from '../../../../src/domain/audit/audit-event.model';
import * as audit from '../../../../src/domain/audit/audit-events';
import { chainEvent } from '../../../../src/domain/audit/hash-chain.math';
import { DomainError } from '../../../../src/domain/domain-error';
import type { LifecycleRow } from '../../../../src/domain/evidence/lifecycle-row.model';
import { lifecycleRows } from '../../../../src/domain/evidence/lifecycle-rows.projection';

const ALEX = { objectId: 'u-alex', upn: 'alex.chen@contoso.example', channel: 'teams' as const };
const PRIYA = { objectId: 'u-priya', upn: 'priya@contoso.example', channel: 'teams' as const };
const OMAR = { objectId: 'u-omar', upn: 'omar@contoso.example', channel: 'tab' as const };
const SYSTEM = { objectId: 'system', channel: 'system' as const };
const POLICY = { id: 'crm-admin', version: '3', hash: 'ab'.repeat(32) };
const GROUP = { id: 'g-crm-admins', name: 'CRM admins' };

/** A stream's events, chained, with one time per event. */
function stream(entries: Array<[string, AuditEventInput]>): AuditEvent[] {
  const out: AuditEvent[] = [];
  for (const [time, input] of entries) out.push(chainEvent(out[out.length - 1], input, time, sha256));
  return out;
}

function ctx(streamId: string, actor: audit.AuditContext['actor']): audit.AuditContext {
  return { stream: streamId, actor, subject: 'app:crm/role:admin', correlation: { requestId: streamId } };
}

/** Alex asks, Priya and Omar approve, access is granted, extended, then revoked by Omar. */
const granted = stream([
  [
    '2026-11-22T10:00:00.000Z',
    audit.requestSubmitted(ctx('req-1', ALEX), {
      justification: 'Quarter close',
      policy: POLICY,
      appId: 'crm',
      roleId: 'admin',
      groupId: GROUP.id,
      ticketReference: 'SEC-42',
      requester: { id: ALEX.objectId, upn: ALEX.upn, displayName: 'Alex Chen' },
    }),
  ],
  [
    '2026-11-22T10:00:01.000Z',
    audit.policyEvaluated(ctx('req-1', SYSTEM), { policy: POLICY, outcome: 'approval-required', stages: 2 }),
  ],
  [
    '2026-11-22T10:00:02.000Z',
    audit.approvalRequested(ctx('req-1', SYSTEM), { stage: 1, approvers: ['u-priya'] }),
  ],
  [
    '2026-11-22T10:05:00.000Z',
    audit.approvalDecided(ctx('req-1', PRIYA), {
      stage: 1,
      approver: 'u-priya',
      channel: 'teams',
      decision: 'approved',
    }),
  ],
  [
    '2026-11-22T10:05:01.000Z',
    audit.approvalRequested(ctx('req-1', SYSTEM), { stage: 2, approvers: ['u-omar'] }),
  ],
  [
    '2026-11-22T10:09:00.000Z',
    audit.approvalDecided(ctx('req-1', OMAR), {
      stage: 2,
      approver: 'u-omar',
      channel: 'tab',
      decision: 'approved',
      comment: 'ok; for the close only',
    }),
  ],
  [
    '2026-11-22T10:09:05.000Z',
    audit.accessGranted(ctx('req-1', SYSTEM), {
      group: GROUP,
      graph: { status: 204, alreadyMember: false },
      expiresAt: '2026-11-22T18:09:05.000Z',
    }),
  ],
  [
    '2026-11-22T17:00:00.000Z',
    audit.extensionRequested(ctx('req-1', ALEX), {
      justification: 'Close runs late',
      currentExpiry: '2026-11-22T18:09:05.000Z',
      requestedExpiry: '2026-11-23T02:09:05.000Z',
    }),
  ],
  [
    '2026-11-22T17:10:00.000Z',
    audit.extensionDecided(ctx('req-1', PRIYA), {
      approver: 'u-priya',
      channel: 'teams',
      decision: 'approved',
      newExpiry: '2026-11-23T02:09:05.000Z',
    }),
  ],
  [
    '2026-11-22T21:00:00.000Z',
    audit.accessRevoked(ctx('req-1', OMAR), {
      reason: 'revoked',
      by: 'u-omar',
      group: GROUP,
      graph: { status: 204, wasMember: true },
    }),
  ],
]);

/** Alex asks on 23 November; Priya denies at stage 1. Written before the detail fields existed. */
const denied = stream([
  [
    '2026-11-23T09:00:00.000Z',
    audit.requestSubmitted(
      { ...ctx('req-2', ALEX), subject: 'app:payroll/role:reader', correlation: { ticketKey: 'HR-7' } },
      { justification: 'Audit sample', policy: POLICY },
    ),
  ],
  [
    '2026-11-23T09:30:00.000Z',
    audit.approvalDecided(ctx('req-2', PRIYA), {
      stage: 1,
      approver: 'u-priya',
      channel: 'teams',
      decision: 'denied',
      comment: 'Use the read-only report',
    }),
  ],
]);

/** A review campaign's stream: no request, no row. */
const campaign = stream([
  [
    '2026-11-22T12:00:00.000Z',
    audit.attemptRefused(
      { stream: 'campaign-1', actor: SYSTEM, subject: 'campaign:q4' },
      { code: 'X', reason: 'y' },
    ),
  ],
]);

async function* from<T>(items: T[]): AsyncIterable<T> {
  for (const item of items) yield item;
}

async function collect(events: AuditEvent[], options = {}): Promise<LifecycleRow[]> {
  const rows: LifecycleRow[] = [];
  for await (const row of lifecycleRows(from(events), options)) rows.push(row);
  return rows;
}

test('a granted, extended and revoked request becomes one row that answers who, what, under which policy and when', async () => {
  const [row] = await collect(granted);
  expect(row).toEqual({
    stream: 'req-1',
    requesterUpn: 'alex.chen@contoso.example',
    requesterId: 'u-alex',
    requestedAt: '2026-11-22T10:00:00.000Z',
    app: 'crm',
    role: 'admin',
    group: 'g-crm-admins',
    policyId: 'crm-admin',
    policyVersion: '3',
    policyHash: 'ab'.repeat(32),
    justification: 'Quarter close',
    ticketReference: 'SEC-42',
    approvals: [
      { stage: 1, approver: 'priya@contoso.example', decision: 'approve', at: '2026-11-22T10:05:00.000Z' },
      {
        stage: 2,
        approver: 'omar@contoso.example',
        decision: 'approve',
        at: '2026-11-22T10:09:00.000Z',
        comment: 'ok; for the close only',
      },
    ],
    outcome: 'revoked',
    grantedAt: '2026-11-22T10:09:05.000Z',
    grantedHow: 'graph 204',
    expiresAt: '2026-11-23T02:09:05.000Z',
    revokedAt: '2026-11-22T21:00:00.000Z',
    revocationReason: 'revoked',
    revokedBy: 'omar@contoso.example',
    headSeq: 10,
    headHash: granted[9].hash,
  });
});

test('a denied request has its denial and no grant; details missing from old streams come from subject and correlation', async () => {
  const [row] = await collect(denied);
  expect(row).toMatchObject({
    stream: 'req-2',
    requesterUpn: 'alex.chen@contoso.example',
    requesterId: 'u-alex',
    app: 'payroll',
    role: 'reader',
    ticketReference: 'HR-7',
    outcome: 'denied',
    approvals: [
      {
        stage: 1,
        approver: 'priya@contoso.example',
        decision: 'deny',
        at: '2026-11-23T09:30:00.000Z',
        comment: 'Use the read-only report',
      },
    ],
    headSeq: 2,
  });
  expect(row.group).toBeUndefined();
  expect(row.grantedAt).toBeUndefined();
  expect(row.expiresAt).toBeUndefined();
  expect(row.revokedAt).toBeUndefined();
});

test('streams without a submitted request are skipped, but counted as scanned', async () => {
  const scanned: string[] = [];
  const rows = await collect([...granted, ...campaign, ...denied], {
    onStream: (s: string) => scanned.push(s),
  });
  expect(rows.map((r) => r.stream)).toEqual(['req-1', 'req-2']);
  expect(scanned).toEqual(['req-1', 'campaign-1', 'req-2']);
});

test('from is inclusive and to exclusive, on when the request was submitted', async () => {
  const all = [...granted, ...campaign, ...denied];
  const streams = async (options: object) => (await collect(all, options)).map((r) => r.stream);
  expect(await streams({ from: '2026-11-22T10:00:00.000Z', to: '2026-11-23T09:00:00.000Z' })).toEqual([
    'req-1',
  ]);
  expect(await streams({ from: '2026-11-22T10:00:00.001Z' })).toEqual(['req-2']);
  expect(await streams({ to: '2026-11-23T09:00:00.001Z' })).toEqual(['req-1', 'req-2']);
  expect(await streams({ from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' })).toEqual([]);
});

test('an auto-approved grant says so, and a grant to someone already in the group says that', async () => {
  const auto = stream([
    [
      '2026-11-24T08:00:00.000Z',
      audit.requestSubmitted(ctx('req-3', ALEX), { justification: 'On call', policy: POLICY }),
    ],
    [
      '2026-11-24T08:00:01.000Z',
      audit.policyEvaluated(ctx('req-3', SYSTEM), { policy: POLICY, outcome: 'auto-approved', stages: 0 }),
    ],
    [
      '2026-11-24T08:00:02.000Z',
      audit.accessGranted(ctx('req-3', SYSTEM), {
        group: GROUP,
        graph: { status: 400, alreadyMember: true },
        expiresAt: '2026-11-24T12:00:02.000Z',
      }),
    ],
  ]);
  const [row] = await collect(auto);
  expect(row).toMatchObject({
    outcome: 'granted',
    approvals: [],
    group: 'g-crm-admins',
    grantedHow: 'auto-approved, already-member (graph 400)',
    expiresAt: '2026-11-24T12:00:02.000Z',
  });
});

test('a request the policy refused, or that nobody decided in time, says so', async () => {
  const refused = stream([
    [
      '2026-11-24T08:00:00.000Z',
      audit.requestSubmitted(ctx('req-4', ALEX), { justification: 'x', policy: POLICY }),
    ],
    [
      '2026-11-24T08:00:01.000Z',
      audit.policyEvaluated(ctx('req-4', SYSTEM), {
        policy: POLICY,
        outcome: 'refused',
        stages: 0,
        reason: 'conflicts with payroll/approver',
      }),
    ],
  ]);
  const undecided = stream([
    [
      '2026-11-24T08:00:00.000Z',
      audit.requestSubmitted(ctx('req-5', ALEX), { justification: 'x', policy: POLICY }),
    ],
    [
      '2026-11-27T08:00:00.000Z',
      audit.requestExpiredUndecided(ctx('req-5', SYSTEM), { stage: 1, waitedMinutes: 4320 }),
    ],
  ]);
  const pending = stream([
    [
      '2026-11-24T08:00:00.000Z',
      audit.requestSubmitted(ctx('req-6', ALEX), { justification: 'x', policy: POLICY }),
    ],
  ]);
  const rows = await collect([...refused, ...undecided, ...pending]);
  expect(rows.map((r) => r.outcome)).toEqual(['refused', 'expired-undecided', 'pending']);
});

test('a stream whose events are not together and in seq order is refused rather than half reported', async () => {
  const gap = [granted[0], granted[2]];
  await expect(collect(gap)).rejects.toMatchObject({ code: 'EVIDENCE.OUT_OF_ORDER' });
  const interleaved = [granted[0], denied[0], granted[1]];
  await expect(collect(interleaved)).rejects.toThrow(DomainError);
  await expect(collect(interleaved)).rejects.toThrow(/Stream req-1: expected event 1, got 2/);
});

test('from must come before to', async () => {
  await expect(
    collect(granted, { from: '2026-11-23T00:00:00Z', to: '2026-11-22T00:00:00Z' }),
  ).rejects.toMatchObject({ code: 'EVIDENCE.BAD_RANGE' });
  await expect(collect(granted, { from: 'yesterday' })).rejects.toMatchObject({ code: 'EVIDENCE.BAD_RANGE' });
});

test('rows come out as each stream ends, before the rest of the log is read', async () => {
  let read = 0;
  async function* endless(): AsyncIterable<AuditEvent> {
    for (let i = 1; ; i++) {
      const events = stream([
        [
          '2026-11-22T10:00:00.000Z',
          audit.requestSubmitted(ctx(`req-${i}`, ALEX), { justification: 'j', policy: POLICY }),
        ],
      ]);
      for (const e of events) {
        read++;
        yield e;
      }
    }
  }
  const seen: string[] = [];
  for await (const row of lifecycleRows(endless())) {
    seen.push(row.stream);
    if (seen.length === 3) break;
  }
  expect(seen).toEqual(['req-1', 'req-2', 'req-3']);
  expect(read).toBe(4);
});

test('a grant whose removal keeps failing reads revoking, not granted; a request nobody could decide or that failed says so', async () => {
  const submitted = (id: string) =>
    [
      '2026-11-24T08:00:00.000Z',
      audit.requestSubmitted(ctx(id, ALEX), { justification: 'x', policy: POLICY }),
    ] as [string, AuditEventInput];
  const revoking = stream([
    submitted('req-7'),
    [
      '2026-11-24T08:01:00.000Z',
      audit.accessGranted(ctx('req-7', SYSTEM), {
        group: GROUP,
        graph: { status: 204, alreadyMember: false },
        expiresAt: '2026-11-24T09:01:00.000Z',
      }),
    ],
    [
      '2026-11-24T09:01:05.000Z',
      audit.accessRevokeFailed(ctx('req-7', SYSTEM), {
        reason: 'expired',
        group: GROUP,
        attempt: 1,
        code: 'DIRECTORY.UNAVAILABLE',
        error: 'Microsoft Graph was unavailable',
        nextAttemptAt: '2026-11-24T09:02:05.000Z',
      }),
    ],
  ]);
  const noApprover = stream([
    submitted('req-8'),
    [
      '2026-11-26T08:00:00.000Z',
      audit.attemptRefused(ctx('req-8', SYSTEM), {
        code: 'REQUEST.NO_APPROVER',
        reason: 'fallback is the requester',
      }),
    ],
  ]);
  const failed = stream([
    submitted('req-9'),
    [
      '2026-11-24T08:05:00.000Z',
      audit.attemptRefused(ctx('req-9', SYSTEM), {
        code: 'REQUEST.PROVISIONING_FAILED',
        reason: 'dynamic group',
      }),
    ],
  ]);
  const selfApproval = stream([
    submitted('req-10'),
    [
      '2026-11-24T08:05:00.000Z',
      audit.attemptRefused(ctx('req-10', ALEX), { code: 'REQUEST.SELF_APPROVAL', reason: 'own request' }),
    ],
  ]);
  const rows = await collect([...revoking, ...noApprover, ...failed, ...selfApproval]);
  expect(rows.map((r) => r.outcome)).toEqual(['revoking', 'no-approver', 'failed', 'pending']);
});
