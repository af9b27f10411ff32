import type { Catalog, CatalogRole } from '../../../../src/domain/catalog/catalog.model';
import {
  conflictsWith,
  evaluateAutoApprove,
  findRole,
  POLICY_PROBLEM,
  rolesEligibleFor,
  validateRequest,
  type RequestUnderPolicy,
} from '../../../../src/domain/catalog/catalog.policy';
import { validateCatalog } from '../../../../src/domain/catalog/catalog.validator';
import { GROUP_C, ONCALL, rawCatalog } from '../../../fixtures/catalog/raw-catalog.fixture';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function catalog(): Catalog {
  const raw = rawCatalog();
  raw.apps.wiki = {
    name: 'Wiki',
    roles: {
      reader: {
        name: 'Reader',
        groupId: '90a07bb0-22a6-555f-905e-b5705afe489c',
        approval: { stages: [{ approvers: 'manager' }] },
        duration: { default: '90d', max: 'permanent', permanent: true },
      },
    },
  };
  const r = validateCatalog(raw);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.catalog;
}

function role(appId: string, roleId: string): CatalogRole {
  const found = findRole(catalog(), appId, roleId);
  if (!found) throw new Error(`no role ${appId}/${roleId}`);
  return found;
}

const FINANCE_PERSON = { groupIds: [], department: 'Finance' };

function request(overrides: Partial<RequestUnderPolicy> = {}): RequestUnderPolicy {
  return {
    durationMs: 8 * HOUR,
    justification: 'Month-end close for March',
    ticketReference: 'CHG0012345',
    requester: { groupIds: [GROUP_C], department: 'Finance' },
    heldRoleRefs: [],
    ...overrides,
  };
}

function codes(r: CatalogRole, req: RequestUnderPolicy): string[] {
  return validateRequest(r, req).map((p) => p.code);
}

describe('findRole', () => {
  test('finds a role by app and role id', () => {
    expect(findRole(catalog(), 'finance', 'controller')?.ref).toBe('finance/controller');
  });

  test('returns undefined for a role the catalog does not have', () => {
    expect(findRole(catalog(), 'finance', 'auditor')).toBeUndefined();
    expect(findRole(catalog(), 'hr', 'clerk')).toBeUndefined();
  });
});

describe('rolesEligibleFor', () => {
  test('offers roles open to everyone, to the department, and to the groups the person is in', () => {
    const refs = (groupIds: string[], department?: string) =>
      rolesEligibleFor(catalog(), { groupIds, department }).map((r) => r.ref);
    expect(refs([], 'Sales')).toEqual(['wiki/reader']);
    expect(refs([], ' finance ')).toEqual(['finance/clerk', 'wiki/reader']);
    expect(refs([GROUP_C.toUpperCase()])).toEqual(['finance/controller', 'wiki/reader']);
  });
});

describe('conflictsWith', () => {
  test('finds a held role that conflicts, in either direction', () => {
    const c = catalog();
    expect(conflictsWith(c, 'finance/controller', ['finance/clerk', 'wiki/reader'])).toEqual([
      'finance/clerk',
    ]);
    expect(conflictsWith(c, 'finance/clerk', ['finance/controller'])).toEqual(['finance/controller']);
  });

  test('finds nothing when the held roles do not conflict', () => {
    expect(conflictsWith(catalog(), 'wiki/reader', ['finance/clerk'])).toEqual([]);
  });
});

describe('evaluateAutoApprove', () => {
  const controller = () => role('finance', 'controller');

  test('approves when every condition holds', () => {
    const d = evaluateAutoApprove(controller(), { groupIds: [ONCALL], durationMs: 2 * HOUR });
    expect(d.autoApprove).toBe(true);
    expect(d.reasons).toHaveLength(2);
  });

  test('does not approve when one condition fails, and says which', () => {
    const d = evaluateAutoApprove(controller(), { groupIds: [ONCALL], durationMs: 8 * HOUR });
    expect(d).toEqual({ autoApprove: false, reasons: ['8h is longer than the 4h auto-approval limit'] });
    expect(evaluateAutoApprove(controller(), { groupIds: [], durationMs: HOUR }).autoApprove).toBe(false);
  });

  test('does not approve a role without a rule', () => {
    expect(
      evaluateAutoApprove(role('finance', 'clerk'), { groupIds: [], durationMs: HOUR }).autoApprove,
    ).toBe(false);
  });
});

describe('validateRequest', () => {
  test('accepts a request that meets the policy', () => {
    expect(validateRequest(role('finance', 'controller'), request())).toEqual([]);
  });

  test('requires a justification, and a long enough one', () => {
    const clerk = role('finance', 'clerk');
    const base = request({ requester: FINANCE_PERSON });
    expect(codes(clerk, { ...base, justification: '  ' })).toEqual([POLICY_PROBLEM.JUSTIFICATION_REQUIRED]);
    const short = validateRequest(clerk, { ...base, justification: 'close' });
    expect(short.map((p) => p.code)).toEqual([POLICY_PROBLEM.JUSTIFICATION_TOO_SHORT]);
    expect(short[0].message).toContain('at least 10');
  });

  test('refuses a duration beyond the maximum, saying the maximum', () => {
    const [p] = validateRequest(role('finance', 'controller'), request({ durationMs: 10 * DAY }));
    expect(p.code).toBe(POLICY_PROBLEM.DURATION_TOO_LONG);
    expect(p.message).toContain('10d is longer than the 7d');
  });

  test('refuses permanent access unless the role allows it', () => {
    expect(codes(role('finance', 'controller'), request({ durationMs: 'permanent' }))).toEqual([
      POLICY_PROBLEM.DURATION_TOO_LONG,
    ]);
    expect(codes(role('wiki', 'reader'), request({ durationMs: 'permanent' }))).toEqual([]);
  });

  test('requires a ticket reference of the right shape, citing the example', () => {
    const controller = role('finance', 'controller');
    expect(codes(controller, request({ ticketReference: null }))).toEqual([POLICY_PROBLEM.TICKET_REQUIRED]);
    const [p] = validateRequest(controller, request({ ticketReference: 'see CHG0012345' }));
    expect(p.code).toBe(POLICY_PROBLEM.TICKET_MALFORMED);
    expect(p.message).toContain('CHG0012345');
  });

  test('refuses a requester outside the eligible groups and departments', () => {
    const [p] = validateRequest(
      role('finance', 'clerk'),
      request({ requester: { groupIds: [], department: 'Sales' } }),
    );
    expect(p.code).toBe(POLICY_PROBLEM.NOT_ELIGIBLE);
    expect(p.message).toContain('people in Finance');
  });

  test('refuses a role that conflicts with one the requester holds', () => {
    const [p] = validateRequest(role('finance', 'controller'), request({ heldRoleRefs: ['finance/clerk'] }));
    expect(p.code).toBe(POLICY_PROBLEM.SOD_CONFLICT);
    expect(p.conflictingRoles).toEqual(['finance/clerk']);
  });

  test('reports every problem at once', () => {
    const all = codes(
      role('finance', 'controller'),
      request({
        durationMs: 30 * DAY,
        ticketReference: '',
        requester: FINANCE_PERSON,
        heldRoleRefs: ['finance/clerk'],
      }),
    );
    expect(all).toEqual([
      POLICY_PROBLEM.NOT_ELIGIBLE,
      POLICY_PROBLEM.DURATION_TOO_LONG,
      POLICY_PROBLEM.TICKET_REQUIRED,
      POLICY_PROBLEM.SOD_CONFLICT,
    ]);
  });
});
