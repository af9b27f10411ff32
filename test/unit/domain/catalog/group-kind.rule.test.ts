import { CATALOG_PROBLEM } from '../../../../src/domain/catalog/catalog.errors';
import type { Catalog } from '../../../../src/domain/catalog/catalog.model';
import { validateCatalog } from '../../../../src/domain/catalog/catalog.validator';
import {
  roleGroupProblems,
  whyGraphCannotChange,
  type GroupKind,
} from '../../../../src/domain/catalog/group-kind.rule';
import { GROUP_A, GROUP_B, GROUP_C, rawCatalog } from '../../../fixtures/catalog/raw-catalog.fixture';

/** An assigned-membership security group managed in Entra: the kind Attest can always change. */
const plain = (id: string, more: Partial<GroupKind> = {}): GroupKind => ({
  id,
  displayName: `sg-${id.slice(0, 4)}`,
  groupTypes: [],
  securityEnabled: true,
  mailEnabled: false,
  onPremisesSyncEnabled: false,
  isAssignableToRole: false,
  ...more,
});

function catalog(): Catalog {
  const r = validateCatalog(rawCatalog());
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join('\n'));
  return r.catalog;
}

test('an assigned security group and a Microsoft 365 group can be changed by Graph', () => {
  expect(whyGraphCannotChange(plain(GROUP_A))).toEqual([]);
  expect(
    whyGraphCannotChange(
      plain(GROUP_A, { groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false }),
    ),
  ).toEqual([]);
});

test('a dynamic, an on-premises synced and a mail-enabled security group are refused, each saying why', () => {
  expect(whyGraphCannotChange(plain(GROUP_A, { groupTypes: ['DynamicMembership'] }))).toEqual([
    { severity: 'error', reason: expect.stringMatching(/dynamic membership.*Graph cannot add or remove/) },
  ]);
  expect(whyGraphCannotChange(plain(GROUP_A, { onPremisesSyncEnabled: true }))).toEqual([
    { severity: 'error', reason: expect.stringMatching(/synced from on-premises Active Directory/) },
  ]);
  expect(whyGraphCannotChange(plain(GROUP_A, { mailEnabled: true }))).toEqual([
    { severity: 'error', reason: expect.stringMatching(/mail-enabled security group.*Exchange/) },
  ]);
  expect(whyGraphCannotChange(plain(GROUP_A, { mailEnabled: true, securityEnabled: false }))).toEqual([
    { severity: 'error', reason: expect.stringMatching(/distribution list.*Exchange/) },
  ]);
  // A dynamic Microsoft 365 group is still dynamic.
  expect(
    whyGraphCannotChange(plain(GROUP_A, { groupTypes: ['Unified', 'DynamicMembership'], mailEnabled: true })),
  ).toHaveLength(1);
});

test('a role-assignable group is a warning naming the permission, not a refusal', () => {
  expect(whyGraphCannotChange(plain(GROUP_A, { isAssignableToRole: true }))).toEqual([
    { severity: 'warning', reason: expect.stringContaining('RoleManagement.ReadWrite.Directory') },
  ]);
});

test("the rule looks at the groups behind roles only, and places each problem on the role's groupId", () => {
  const kinds = new Map<string, GroupKind>([
    [GROUP_A, plain(GROUP_A, { groupTypes: ['DynamicMembership'], displayName: 'sg-finance-clerks' })],
    [GROUP_B, plain(GROUP_B, { isAssignableToRole: true, displayName: 'sg-finance-controllers' })],
    // An eligibility group may be of any kind: Attest only reads its members.
    [GROUP_C, plain(GROUP_C, { onPremisesSyncEnabled: true })],
  ]);
  const problems = roleGroupProblems(catalog(), (id) => kinds.get(id));
  expect(problems).toEqual([
    expect.objectContaining({
      severity: 'error',
      code: CATALOG_PROBLEM.UNCHANGEABLE_GROUP,
      path: ['apps', 'finance', 'roles', 'clerk', 'groupId'],
      message: expect.stringMatching(
        /^role "clerk" of app "finance": Attest cannot grant group sg-finance-clerks \(8183ff42-.*\), because it has dynamic membership/,
      ),
    }),
    expect.objectContaining({
      severity: 'warning',
      code: CATALOG_PROBLEM.ROLE_ASSIGNABLE_GROUP,
      path: ['apps', 'finance', 'roles', 'controller', 'groupId'],
      message: expect.stringContaining('RoleManagement.ReadWrite.Directory'),
    }),
  ]);
});

test('a group the directory could not describe is left to the existence check', () => {
  expect(roleGroupProblems(catalog(), () => undefined)).toEqual([]);
});
