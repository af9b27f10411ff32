/**
 * Policy at submit: a request the catalog does not accept is a DomainError with a POLICY.* or CATALOG.* code
 * and a message that says what to change, and nothing is written (no audit stream, no orchestration, no stored
 * request). Separation of duties: holding one role (Active) refuses a request for a role it conflicts with.
 */
import { DomainError } from '../../../src/domain/domain-error';
import { DEMO_ONCALL_GROUP_ID } from '../../../src/local/graph-sim/demo-tenant';
import type { SubmitCommand } from '../../../src/workflows/access-request.service';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import { DAY, HOUR, activeGrant, as, demo, writes } from '../../support/workflow-scenarios';

let w: WorkflowHost;
beforeAll(async () => (w = await startWorkflowHost()), 60000);
afterAll(async () => w?.stop());

const alex = demo('alex.chen'); // Engineering
const siobhan = demo('siobhan.obrien'); // Engineering, a GitHub member
const mei = demo('mei.lin'); // Finance, reports to Aisha (Financial Controller), who reports to Henrik (CFO)
const henrik = demo('henrik.larsen'); // CFO: owner of sg-netsuite-controllers, reports to Margaret (CEO)
const aisha = demo('aisha.rahman'); // owner of sg-netsuite-ap-clerks
const margaret = demo('margaret.okafor');

const analyst = (over: Partial<SubmitCommand> = {}): SubmitCommand => ({
  actor: as(siobhan),
  appId: 'snowflake',
  roleId: 'analyst',
  durationMs: 30 * DAY,
  justification: 'Quarterly churn analysis for the board pack',
  ...over,
});
const githubOwner = (over: Partial<SubmitCommand> = {}): SubmitCommand => ({
  actor: as(siobhan),
  appId: 'github',
  roleId: 'owner',
  durationMs: 4 * HOUR,
  justification: 'Rotate the organisation webhook secrets after the incident',
  ticketReference: 'CHG0012345',
  ...over,
});

/** Submits `command`, expects it refused with `code`, and that nothing was written; returns the error. */
async function refused(command: SubmitCommand, code: string): Promise<DomainError> {
  const before = await writes(w, command.actor.objectId);
  const error = await w.service.submit(command).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code });
  expect(await writes(w, command.actor.objectId)).toEqual(before);
  return error as DomainError;
}

test('a missing justification is POLICY.JUSTIFICATION_REQUIRED, naming the minimum length, and nothing is written', async () => {
  const err = await refused(analyst({ justification: '   ' }), 'POLICY.JUSTIFICATION_REQUIRED');
  expect(err.message).toBe(
    'Analyst needs a justification. Say what you will do with the access (at least 10 characters).',
  );
});

test('a justification shorter than the role asks is POLICY.JUSTIFICATION_TOO_SHORT, saying how long it is and must be', async () => {
  const err = await refused(analyst({ justification: 'for work' }), 'POLICY.JUSTIFICATION_TOO_SHORT');
  expect(err.message).toBe(
    'The justification is 8 characters; Analyst needs at least 10. Say what you will do and why.',
  );
});

test("a duration over the role's maximum is POLICY.DURATION_TOO_LONG, naming the maximum, and so is permanent access where it is not allowed", async () => {
  const long = await refused(analyst({ durationMs: 200 * DAY }), 'POLICY.DURATION_TOO_LONG');
  expect(long.message).toMatch(/^200d is longer than the 180d Analyst allows\. Ask for 180d or less/);
  const permanent = await refused(analyst({ durationMs: 'permanent' }), 'POLICY.DURATION_TOO_LONG');
  expect(permanent.message).toBe('Analyst cannot be granted permanently. Ask for 180d or less.');
});

test('a missing ticket reference is POLICY.TICKET_REQUIRED and a malformed one POLICY.TICKET_MALFORMED, each with an example', async () => {
  const missing = await refused(githubOwner({ ticketReference: undefined }), 'POLICY.TICKET_REQUIRED');
  expect(missing.message).toMatch(/^Organization Owner needs a ticket reference such as CHG0012345\./);
  const malformed = await refused(githubOwner({ ticketReference: 'JIRA-123' }), 'POLICY.TICKET_MALFORMED');
  expect(malformed.message).toBe(
    '"JIRA-123" is not a ticket reference Organization Owner accepts. Give one in the form CHG0012345.',
  );
});

test('a requester the role is not for is POLICY.NOT_ELIGIBLE, saying who may ask', async () => {
  const hr = await refused(
    analyst({ actor: as(alex), appId: 'workday', roleId: 'hr-partner' }),
    'POLICY.NOT_ELIGIBLE',
  );
  expect(hr.message).toBe(
    'HR Partner can only be requested by people in HR. Ask your manager or the app owner if you need it.',
  );
  // Eligibility by group: Alex is not a GitHub member.
  const owner = await refused(githubOwner({ actor: as(alex) }), 'POLICY.NOT_ELIGIBLE');
  expect(owner.message).toMatch(
    /^Organization Owner can only be requested by members of its eligibility groups/,
  );
});

test('an unknown app or role is CATALOG.UNKNOWN_ROLE, listing what the catalog has', async () => {
  const app = await refused(analyst({ appId: 'sap' }), 'CATALOG.UNKNOWN_ROLE');
  expect(app.message).toBe(
    'There is no app sap in the catalog. Apps: salesforce, github, aws-production, snowflake, workday, servicenow, jira, netsuite.',
  );
  const role = await refused(analyst({ roleId: 'superuser' }), 'CATALOG.UNKNOWN_ROLE');
  expect(role.message).toBe('App snowflake has no role superuser. Its roles: analyst, sysadmin.');
});

test('holding NetSuite Controller (Active) makes a request for AP Clerk or Payroll Administrator fail with POLICY.SOD_CONFLICT', async () => {
  const { request } = await activeGrant(
    w,
    {
      actor: as(mei),
      appId: 'netsuite',
      roleId: 'controller',
      durationMs: 30 * DAY,
      justification: 'Cover month-end payment approvals while Aisha is on leave',
      ticketReference: 'CHG0077777',
    },
    [aisha, henrik],
  );
  expect(request.status).toBe('Active');
  expect(await w.deps.directory.isMember(request.groupId, mei.id)).toBe(true);

  const clerk = await refused(
    {
      actor: as(mei),
      appId: 'netsuite',
      roleId: 'ap-clerk',
      durationMs: 30 * DAY,
      justification: 'Enter the vendor bills backlog',
    },
    'POLICY.SOD_CONFLICT',
  );
  expect(clerk.message).toBe(
    'AP Clerk must not be held together with netsuite/controller (separation of duties). Give up that role first, or ask someone else to do this task.',
  );
  expect(clerk.details).toMatchObject({
    problems: [
      expect.objectContaining({ code: 'POLICY.SOD_CONFLICT', conflictingRoles: ['netsuite/controller'] }),
    ],
  });
  await refused(
    {
      actor: as(mei),
      appId: 'workday',
      roleId: 'payroll-admin',
      durationMs: 7 * DAY,
      justification: 'Run the off-cycle payroll for the contractors',
    },
    'POLICY.SOD_CONFLICT',
  );
});

test('the conflict holds the other way round: holding AP Clerk (Active) refuses NetSuite Controller', async () => {
  const { request } = await activeGrant(
    w,
    {
      actor: as(henrik),
      appId: 'netsuite',
      roleId: 'ap-clerk',
      durationMs: 30 * DAY,
      justification: 'Enter the vendor bills backlog',
    },
    [margaret, aisha],
  );
  expect(request.status).toBe('Active');
  const err = await refused(
    {
      actor: as(henrik),
      appId: 'netsuite',
      roleId: 'controller',
      durationMs: 30 * DAY,
      justification: 'Approve the month-end payment run',
      ticketReference: 'CHG0088888',
    },
    'POLICY.SOD_CONFLICT',
  );
  expect(err.message).toMatch(/^Controller must not be held together with netsuite\/ap-clerk/);
});

test('two pending requests for conflicting roles: the second is refused with POLICY.SOD_CONFLICT while the first still waits for approval', async () => {
  const benjamin = demo('benjamin.cohen'); // Finance, reports to Aisha
  const { requestId } = await w.service.submit({
    actor: as(benjamin),
    appId: 'netsuite',
    roleId: 'ap-clerk',
    durationMs: 30 * DAY,
    justification: 'Enter the vendor bills backlog',
  });
  await w.stageOpen(requestId, 1);
  expect((await w.deps.requests.get(requestId))?.status).toBe('PendingApproval');
  const err = await refused(
    {
      actor: as(benjamin),
      appId: 'netsuite',
      roleId: 'controller',
      durationMs: 30 * DAY,
      justification: 'Approve the month-end payment run',
      ticketReference: 'CHG0099999',
    },
    'POLICY.SOD_CONFLICT',
  );
  expect(err.message).toMatch(/^Controller must not be held together with netsuite\/ap-clerk/);
});

test('a second request for a role already waiting for approval is refused as a duplicate, naming the first', async () => {
  const first = await w.service.submit(analyst({ actor: as(demo('noah.williams')) }));
  await w.stageOpen(first.requestId, 1);
  const err = await refused(analyst({ actor: as(demo('noah.williams')) }), 'REQUEST.DUPLICATE');
  expect(err.message).toContain(first.requestId);
});

test('eligibility counts nested groups: a member of On-call only through the secondary rota may ask for AWS PowerUser', async () => {
  const nora = demo('nora.johansson'); // in sg-oncall-secondary, which is a member of sg-oncall
  expect(await w.deps.directory.isMember(DEMO_ONCALL_GROUP_ID, nora.id)).toBe(false);
  expect(await w.deps.directory.isTransitiveMember(DEMO_ONCALL_GROUP_ID, nora.id)).toBe(true);
  const { requestId } = await w.service.submit({
    actor: as(nora),
    appId: 'aws-production',
    roleId: 'poweruser',
    durationMs: 4 * HOUR,
    justification: 'Restart the stuck ingestion workers in production',
    ticketReference: 'INC0012345',
  });
  await w.stageOpen(requestId, 1);
});
