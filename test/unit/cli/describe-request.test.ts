import { describeRequest } from '../../../src/cli/request.commands';
import type { AccessRequest } from '../../../src/domain/request/access-request';

const base: AccessRequest = {
  id: 'r-1',
  requester: { id: 'u-1', upn: 'alex.chen@contoso.example' },
  appId: 'snowflake',
  roleId: 'analyst',
  groupId: 'g-1',
  policy: { id: 'p', version: '1', hash: 'h' },
  durationMs: 3600_000,
  justification: 'j',
  submittedAt: '2026-11-29T09:00:00.000Z',
  status: 'Active',
  stages: [],
  currentStage: 0,
  expiresAt: '2026-11-29T10:00:00.000Z',
};

test('status of a revocation that keeps failing says how often, why, and when Attest tries again', () => {
  expect(
    describeRequest({
      ...base,
      status: 'Revoking',
      revocation: { reason: 'expired', by: 'system' },
      revoking: {
        since: '2026-11-29T10:00:00.000Z',
        attempts: 3,
        lastError: 'Microsoft Graph was unavailable',
        nextAttemptAt: '2026-11-29T10:07:00.000Z',
      },
    }),
  ).toBe(
    'r-1 snowflake/analyst for alex.chen@contoso.example: Revoking — expired; removal failed 3 times (Microsoft Graph was unavailable), next attempt 2026-11-29T10:07:00.000Z',
  );
});

test('status of a request that ended without access says why', () => {
  expect(
    describeRequest({
      ...base,
      status: 'NoApprover',
      failure: { code: 'REQUEST.NO_APPROVER', reason: 'its fallback cannot decide it' },
    }),
  ).toBe('r-1 snowflake/analyst for alex.chen@contoso.example: NoApprover — its fallback cannot decide it');
  expect(describeRequest(base)).toBe(
    'r-1 snowflake/analyst for alex.chen@contoso.example: Active until 2026-11-29T10:00:00.000Z',
  );
});
