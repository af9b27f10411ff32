import {
  formatApproval,
  LIFECYCLE_HEADER,
  toCsvCells,
  toJsonRecord,
  type LifecycleRow,
} from '../../../../src/domain/evidence/lifecycle-row.model';

const row: LifecycleRow = {
  stream: 'req-1',
  requesterUpn: 'alex.chen@contoso.example',
  requesterId: 'u-alex',
  requestedAt: '2026-11-22T10:00:00.000Z',
  app: 'crm',
  role: 'admin',
  group: 'g-1',
  policyId: 'crm-admin',
  policyVersion: '3',
  policyHash: 'ab',
  justification: '=HYPERLINK("http://x","y")',
  ticketReference: '@SEC-42',
  approvals: [
    { stage: 1, approver: 'priya@contoso.example', decision: 'approve', at: '2026-11-22T10:05:00.000Z' },
    {
      stage: 2,
      approver: 'omar@contoso.example',
      decision: 'deny',
      at: '2026-11-22T10:09:00.000Z',
      comment: 'no "admin"; use reader',
    },
  ],
  outcome: 'denied',
  headSeq: 6,
  headHash: 'cd',
};

test('the export has these columns, in this order', () => {
  expect(LIFECYCLE_HEADER).toEqual([
    'stream',
    'requester_upn',
    'requester_id',
    'requested_at',
    'app',
    'role',
    'group',
    'policy_id',
    'policy_version',
    'policy_hash',
    'justification',
    'ticket_reference',
    'approvals',
    'outcome',
    'granted_at',
    'granted_how',
    'expires_at',
    'revoked_at',
    'revocation_reason',
    'revoked_by',
    'head_seq',
    'head_hash',
  ]);
});

test('approvals fit one cell: stage, who, decision, when and the quoted comment, separated by semicolons', () => {
  expect(formatApproval(row.approvals[0])).toBe('1:priya@contoso.example approve 2026-11-22T10:05:00.000Z');
  const cells = toCsvCells(row);
  expect(cells[LIFECYCLE_HEADER.indexOf('approvals')]).toBe(
    '1:priya@contoso.example approve 2026-11-22T10:05:00.000Z; ' +
      '2:omar@contoso.example deny 2026-11-22T10:09:00.000Z "no \\"admin\\"; use reader"',
  );
});

test('every CSV cell is neutralised, whichever column people typed into', () => {
  const cells = toCsvCells({ ...row, requesterUpn: '-alex@contoso.example', app: '+crm', role: '\trole' });
  const cell = (name: string) => cells[LIFECYCLE_HEADER.indexOf(name)];
  expect(cell('justification')).toBe(`'=HYPERLINK("http://x","y")`);
  expect(cell('ticket_reference')).toBe(`'@SEC-42`);
  expect(cell('requester_upn')).toBe(`'-alex@contoso.example`);
  expect(cell('app')).toBe(`'+crm`);
  expect(cell('role')).toBe(`'\trole`);
  expect(cell('granted_at')).toBe('');
  expect(cell('head_seq')).toBe('6');
  expect(cells).toHaveLength(LIFECYCLE_HEADER.length);
});

test('a JSONL record has every column as a key, nulls for what was not recorded, approvals as a list, values as recorded', () => {
  const record = toJsonRecord(row);
  expect(Object.keys(record)).toEqual(LIFECYCLE_HEADER);
  expect(record).toMatchObject({
    justification: '=HYPERLINK("http://x","y")',
    granted_at: null,
    revoked_by: null,
    head_seq: 6,
    approvals: [
      {
        stage: 1,
        approver: 'priya@contoso.example',
        decision: 'approve',
        at: '2026-11-22T10:05:00.000Z',
        comment: null,
      },
      {
        stage: 2,
        approver: 'omar@contoso.example',
        decision: 'deny',
        at: '2026-11-22T10:09:00.000Z',
        comment: 'no "admin"; use reader',
      },
    ],
  });
});
