/**
 * Questions the request lifecycle asks the catalog: which roles can this person ask for, does a request meet
 * the role's policy, does it conflict with what they hold, may it skip the approvers. Pure functions over a
 * validated {@link Catalog}; what the requester is (groups, department) comes from the directory via the caller.
 */
import type { Catalog, CatalogRole, DurationValue, RoleRef } from './catalog.model';
import { wholeMatch } from './catalog.validator';
import { formatDuration } from './duration.parser';

/** What the policy needs to know about the person asking. */
export interface Requester {
  /** Object ids of the groups the requester is a (transitive) member of. */
  readonly groupIds: readonly string[];
  /** The requester's `department` from the directory; absent for accounts that have none. */
  readonly department?: string | null;
}

/** Stable codes of policy problems with a request; the bot maps them to what the requester sees. */
export const POLICY_PROBLEM = {
  JUSTIFICATION_REQUIRED: 'POLICY.JUSTIFICATION_REQUIRED',
  JUSTIFICATION_TOO_SHORT: 'POLICY.JUSTIFICATION_TOO_SHORT',
  DURATION_TOO_LONG: 'POLICY.DURATION_TOO_LONG',
  DURATION_INVALID: 'POLICY.DURATION_INVALID',
  TICKET_REQUIRED: 'POLICY.TICKET_REQUIRED',
  TICKET_MALFORMED: 'POLICY.TICKET_MALFORMED',
  NOT_ELIGIBLE: 'POLICY.NOT_ELIGIBLE',
  SOD_CONFLICT: 'POLICY.SOD_CONFLICT',
} as const;

/** One of {@link POLICY_PROBLEM}'s values. */
export type PolicyProblemCode = (typeof POLICY_PROBLEM)[keyof typeof POLICY_PROBLEM];

/** Something about a request the role's policy does not accept, worded for the requester. */
export interface PolicyProblem {
  readonly code: PolicyProblemCode;
  /** Which part of the request to change. */
  readonly field: 'duration' | 'justification' | 'ticketReference' | 'requester';
  readonly message: string;
  /** For SoD conflicts: the held roles that conflict. */
  readonly conflictingRoles?: readonly RoleRef[];
}

/** A request as the policy sees it. */
export interface RequestUnderPolicy {
  /** How long the access should last, or `'permanent'`. */
  readonly durationMs: DurationValue;
  readonly justification?: string | null;
  readonly ticketReference?: string | null;
  readonly requester: Requester;
  /** Roles the requester holds now (active grants), for separation of duties. */
  readonly heldRoleRefs: readonly RoleRef[];
}

/** The role `appId/roleId`, or undefined when the catalog has no such role. */
export function findRole(catalog: Catalog, appId: string, roleId: string): CatalogRole | undefined {
  return catalog.apps.find((a) => a.id === appId)?.roles.find((r) => r.id === roleId);
}

/** The role named by a reference such as `netsuite/controller`. */
export function findRoleByRef(catalog: Catalog, ref: string): CatalogRole | undefined {
  const slash = ref.indexOf('/');
  return slash < 0 ? undefined : findRole(catalog, ref.slice(0, slash), ref.slice(slash + 1));
}

/** The groups whose membership the role's policy asks about: its own, eligibility, auto-approval. */
export function policyGroupIds(role: CatalogRole): string[] {
  const ids = new Set<string>([...role.eligibility.groupIds, role.groupId]);
  if (role.autoApprove?.requesterInGroup) ids.add(role.autoApprove.requesterInGroup);
  return [...ids];
}

/** The groups any role's policy asks about, each once. */
export function catalogPolicyGroupIds(catalog: Catalog): string[] {
  return [...new Set(allRoles(catalog).flatMap(policyGroupIds))];
}

/** Every role of the catalog, in file order. */
export function allRoles(catalog: Catalog): CatalogRole[] {
  return catalog.apps.flatMap((a) => [...a.roles]);
}

function sameText(a: string, b: string): boolean {
  // Departments are free text typed by HR; "engineering " and "Engineering" are the same department.
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/** Whether the requester may ask for the role: no restriction, or in ANY listed group or department. */
export function isEligible(role: CatalogRole, requester: Requester): boolean {
  const { groupIds, departments } = role.eligibility;
  if (groupIds.length === 0 && departments.length === 0) return true;
  const mine = new Set(requester.groupIds.map((g) => g.toLowerCase()));
  if (groupIds.some((g) => mine.has(g))) return true;
  const dept = requester.department;
  return typeof dept === 'string' && departments.some((d) => sameText(d, dept));
}

/** The roles the requester may ask for, in catalog order (what the bot offers in its role picker). */
export function rolesEligibleFor(catalog: Catalog, requester: Requester): CatalogRole[] {
  return allRoles(catalog).filter((r) => isEligible(r, requester));
}

/**
 * The held roles that must not be combined with `roleRef` (separation of duties). Symmetric: the validator
 * recorded each conflict on both roles, whichever side the catalog listed it on.
 */
export function conflictsWith(
  catalog: Catalog,
  roleRef: RoleRef,
  heldRoleRefs: readonly RoleRef[],
): RoleRef[] {
  const role = findRoleByRef(catalog, roleRef);
  if (!role) return [];
  return role.conflicts.filter((c) => heldRoleRefs.includes(c));
}

/** Whether a request skips the approval stages, and why, in words fit for the audit log. */
export interface AutoApproveDecision {
  readonly autoApprove: boolean;
  readonly reasons: readonly string[];
}

/**
 * Whether a request meets the role's autoApprove conditions (all of them). NB. Call this only for a request
 * that {@link validateRequest} accepted: autoApprove skips people, never the policy.
 */
export function evaluateAutoApprove(
  role: CatalogRole,
  request: {
    readonly groupIds: readonly string[];
    readonly department?: string | null;
    readonly durationMs: DurationValue;
  },
): AutoApproveDecision {
  const rule = role.autoApprove;
  if (!rule) return { autoApprove: false, reasons: [`${role.ref} has no autoApprove rule`] };
  const met: string[] = [];
  const unmet: string[] = [];
  if (rule.requesterInGroup !== undefined) {
    const inGroup = request.groupIds.some((g) => g.toLowerCase() === rule.requesterInGroup);
    (inGroup ? met : unmet).push(
      `requester is ${inGroup ? '' : 'not '}a member of group ${rule.requesterInGroup}`,
    );
  }
  if (rule.requesterInDepartment !== undefined) {
    const dept = request.department;
    const inDept = typeof dept === 'string' && sameText(dept, rule.requesterInDepartment);
    (inDept ? met : unmet).push(
      `requester is ${inDept ? '' : 'not '}in department ${rule.requesterInDepartment}`,
    );
  }
  if (rule.maxDurationMs !== undefined) {
    const short = request.durationMs !== 'permanent' && request.durationMs <= rule.maxDurationMs;
    (short ? met : unmet).push(
      `${formatDuration(request.durationMs)} is ${short ? 'within' : 'longer than'} the ${formatDuration(rule.maxDurationMs)} auto-approval limit`,
    );
  } else if (request.durationMs === 'permanent') {
    // Standing access always goes to a person, whatever else the rule says.
    unmet.push('permanent access is never auto-approved');
  }
  return unmet.length === 0 ? { autoApprove: true, reasons: met } : { autoApprove: false, reasons: unmet };
}

/** The duration a request gets when the requester does not say. */
export function defaultDuration(role: CatalogRole): DurationValue {
  return role.duration.defaultMs;
}

/**
 * Everything about a request the role's policy does not accept (empty when it is acceptable). All problems
 * are returned together so the requester can fix them in one go.
 */
export function validateRequest(role: CatalogRole, request: RequestUnderPolicy): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const { duration, justification, ticketReference } = role;

  if (!isEligible(role, request.requester)) {
    const who = [
      ...(role.eligibility.departments.length > 0
        ? [`people in ${role.eligibility.departments.join(', ')}`]
        : []),
      ...(role.eligibility.groupIds.length > 0 ? ['members of its eligibility groups'] : []),
    ].join(' or ');
    problems.push({
      code: POLICY_PROBLEM.NOT_ELIGIBLE,
      field: 'requester',
      message: `${role.name} can only be requested by ${who}. Ask your manager or the app owner if you need it.`,
    });
  }

  const d = request.durationMs;
  if (d !== 'permanent' && (!Number.isFinite(d) || d <= 0)) {
    problems.push({
      code: POLICY_PROBLEM.DURATION_INVALID,
      field: 'duration',
      message: `Ask for a duration longer than zero, up to ${formatDuration(duration.maxMs)}.`,
    });
  } else if (d === 'permanent' && !duration.permanentAllowed) {
    problems.push({
      code: POLICY_PROBLEM.DURATION_TOO_LONG,
      field: 'duration',
      message: `${role.name} cannot be granted permanently. Ask for ${formatDuration(duration.maxMs)} or less.`,
    });
  } else if (d !== 'permanent' && duration.maxMs !== 'permanent' && d > duration.maxMs) {
    problems.push({
      code: POLICY_PROBLEM.DURATION_TOO_LONG,
      field: 'duration',
      message: `${formatDuration(d)} is longer than the ${formatDuration(duration.maxMs)} ${role.name} allows. Ask for ${formatDuration(duration.maxMs)} or less, and request an extension later if you need it.`,
    });
  }

  const why = (request.justification ?? '').trim();
  if (justification.required && why === '') {
    problems.push({
      code: POLICY_PROBLEM.JUSTIFICATION_REQUIRED,
      field: 'justification',
      message: `${role.name} needs a justification. Say what you will do with the access${justification.minLength > 0 ? ` (at least ${justification.minLength} characters)` : ''}.`,
    });
  } else if (why !== '' && why.length < justification.minLength) {
    problems.push({
      code: POLICY_PROBLEM.JUSTIFICATION_TOO_SHORT,
      field: 'justification',
      message: `The justification is ${why.length} characters; ${role.name} needs at least ${justification.minLength}. Say what you will do and why.`,
    });
  }

  const ticket = (request.ticketReference ?? '').trim();
  const example = ticketReference.example ? ` such as ${ticketReference.example}` : '';
  if (ticketReference.required && ticket === '') {
    problems.push({
      code: POLICY_PROBLEM.TICKET_REQUIRED,
      field: 'ticketReference',
      message: `${role.name} needs a ticket reference${example}. Add the incident or change number this access is for.`,
    });
  } else if (
    ticket !== '' &&
    ticketReference.pattern !== undefined &&
    !wholeMatch(ticketReference.pattern).test(ticket)
  ) {
    problems.push({
      code: POLICY_PROBLEM.TICKET_MALFORMED,
      field: 'ticketReference',
      message: `"${ticket}" is not a ticket reference ${role.name} accepts. Give one in the form ${ticketReference.example ?? ticketReference.pattern}.`,
    });
  }

  const conflicting = role.conflicts.filter((c) => request.heldRoleRefs.includes(c));
  if (conflicting.length > 0) {
    problems.push({
      code: POLICY_PROBLEM.SOD_CONFLICT,
      field: 'requester',
      message: `${role.name} must not be held together with ${conflicting.join(', ')} (separation of duties). Give up ${conflicting.length === 1 ? 'that role' : 'those roles'} first, or ask someone else to do this task.`,
      conflictingRoles: conflicting,
    });
  }
  return problems;
}
