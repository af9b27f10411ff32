/**
 * Which groups Attest can promise to change: access is membership of a role's group, and Microsoft Graph cannot
 * add to or remove from every kind of group. The directory check applies this to the group behind each role;
 * eligibility and approver groups are only read, so they need only exist.
 */
import type { Catalog } from './catalog.model';
import { CATALOG_PROBLEM, catalogProblem, type CatalogProblem } from './catalog.errors';

/**
 * What the rule needs to know about a group: the directory port's `DirectoryGroup` has this shape (the domain
 * does not import ports, so it is restated here structurally).
 */
export interface GroupKind {
  readonly id: string;
  readonly displayName?: string;
  readonly groupTypes: readonly string[];
  readonly securityEnabled: boolean;
  readonly mailEnabled: boolean;
  readonly onPremisesSyncEnabled: boolean;
  readonly isAssignableToRole: boolean;
}

/** A problem with a severity: an `error` means grants to the role would fail; a `warning` needs an admin's step. */
export interface GroupKindProblem extends CatalogProblem {
  readonly severity: 'error' | 'warning';
}

/**
 * Why Graph cannot change this group's membership, as sentences (empty when it can). Microsoft 365 groups
 * (`Unified`) are mail-enabled yet managed through Graph; mail-enabled security groups and distribution lists
 * are not.
 */
export function whyGraphCannotChange(group: GroupKind): { severity: 'error' | 'warning'; reason: string }[] {
  const reasons: { severity: 'error' | 'warning'; reason: string }[] = [];
  const types = group.groupTypes.map((t) => t.toLowerCase());
  if (types.includes('dynamicmembership')) {
    reasons.push({
      severity: 'error',
      reason:
        'it has dynamic membership: Entra computes its members from a rule, and Graph cannot add or remove any',
    });
  }
  if (group.onPremisesSyncEnabled) {
    reasons.push({
      severity: 'error',
      reason:
        'it is synced from on-premises Active Directory: its members are changed there, and Graph refuses to change them',
    });
  }
  if (group.mailEnabled && !types.includes('unified')) {
    reasons.push({
      severity: 'error',
      reason: group.securityEnabled
        ? 'it is a mail-enabled security group: its members are managed in Exchange, and Graph cannot change them'
        : 'it is a distribution list: its members are managed in Exchange, and Graph cannot change them',
    });
  }
  if (group.isAssignableToRole) {
    reasons.push({
      severity: 'warning',
      reason:
        'it is role-assignable: Graph changes its members only when Attest also has the RoleManagement.ReadWrite.Directory permission',
    });
  }
  return reasons;
}

/**
 * The problems with the groups behind the catalog's roles. `kindOf` answers for each role group (undefined: not
 * known, e.g. missing, which the existence check reports). A group used by several roles is reported for each.
 */
export function roleGroupProblems(
  catalog: Catalog,
  kindOf: (groupId: string) => GroupKind | undefined,
): GroupKindProblem[] {
  const problems: GroupKindProblem[] = [];
  for (const app of catalog.apps) {
    for (const role of app.roles) {
      const group = kindOf(role.groupId);
      if (!group) continue;
      const name = group.displayName ? `${group.displayName} (${group.id})` : group.id;
      for (const { severity, reason } of whyGraphCannotChange(group)) {
        const path = ['apps', app.id, 'roles', role.id, 'groupId'];
        const subject = `role "${role.id}" of app "${app.id}"`;
        problems.push(
          severity === 'error'
            ? {
                ...catalogProblem(
                  CATALOG_PROBLEM.UNCHANGEABLE_GROUP,
                  path,
                  subject,
                  `Attest cannot grant group ${name}, because ${reason}`,
                  'Point the role at an assigned-membership security group (or a Microsoft 365 group) managed in Entra ID.',
                ),
                severity,
              }
            : {
                ...catalogProblem(
                  CATALOG_PROBLEM.ROLE_ASSIGNABLE_GROUP,
                  path,
                  subject,
                  `warning: group ${name} needs an extra permission, because ${reason}`,
                  'Grant Attest RoleManagement.ReadWrite.Directory (docs/permissions.md), or use a group that is not role-assignable.',
                ),
                severity,
              },
        );
      }
    }
  }
  return problems;
}
