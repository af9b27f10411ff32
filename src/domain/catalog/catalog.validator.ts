/**
 * Turns the plain object read from a catalog file into a {@link Catalog}, or into the complete list of what is
 * wrong with it. Every problem is reported, not just the first, because an admin fixing a catalog wants one
 * round trip, not twenty. Problems carry value paths; the loader turns those into lines.
 */
import {
  CATALOG_PROBLEM,
  catalogProblem,
  subjectOf,
  type CatalogProblem,
  type CatalogProblemCode,
  type ValuePath,
} from './catalog.errors';
import type {
  ApprovalStage,
  ApproverSource,
  AutoApproveRule,
  Catalog,
  CatalogApp,
  CatalogRole,
  DurationPolicy,
  DurationValue,
  Eligibility,
  JustificationPolicy,
  Quorum,
  RoleRef,
  TicketReferencePolicy,
} from './catalog.model';
import type {
  CampaignDefinition,
  DefaultDecision,
  ReviewerSource,
  ReviewSchedule,
  ReviewScope,
  ReviewStage,
} from '../review/review.model';
import { closest, didYouMean } from './did-you-mean.helper';
import { DURATION_HINT, formatDuration, tryParseDuration } from './duration.parser';

/**
 * What the validator may ask the directory. Both are optional so a catalog can be checked offline (then only
 * the shape of ids is checked); the loader passes them whenever a directory is at hand.
 */
export interface CatalogDirectory {
  /** Whether a group with this (lower-case) object id exists. */
  readonly knownGroup?: (groupId: string) => boolean;
  /** Whether a user with this object id (lower-case) or UPN exists. */
  readonly knownUser?: (idOrUpn: string) => boolean;
  /**
   * Why a 6-field NCRONTAB expression is not a schedule that fires (undefined when it is). The domain has no
   * cron parser; the loader passes croner's verdict. Without it only the number of fields is checked.
   */
  readonly scheduleProblem?: (expression: string) => string | undefined;
}

/** The validator's answer: a resolved catalog, or every problem found (in document order). */
export type CatalogValidation =
  | { readonly ok: true; readonly catalog: Catalog }
  | { readonly ok: false; readonly problems: readonly CatalogProblem[] };

/** The keys each block accepts; anything else is a typo or a feature we do not have. */
export const CATALOG_KEYS = {
  catalog: ['id', 'name', 'version', 'description', 'stageDefaults', 'apps', 'reviews'],
  stageDefaults: ['timeout', 'fallback'],
  app: ['name', 'description', 'synonyms', 'roles'],
  role: [
    'name',
    'description',
    'synonyms',
    'groupId',
    'eligibility',
    'approval',
    'duration',
    'justification',
    'ticketReference',
    'autoApprove',
    'conflicts',
  ],
  eligibility: ['groups', 'departments'],
  approval: ['stages'],
  stage: ['name', 'approvers', 'quorum', 'timeout', 'fallback'],
  approverKinds: ['manager', 'people', 'group-members'],
  manager: ['levels'],
  duration: ['default', 'max', 'permanent'],
  justification: ['required', 'minLength'],
  ticketReference: ['required', 'pattern', 'example'],
  autoApprove: ['requesterInGroup', 'requesterInDepartment', 'maxDuration'],
  review: [
    'id',
    'name',
    'scope',
    'stages',
    'schedule',
    'duration',
    'reminders',
    'default',
    'signOff',
    'inactiveDays',
    'massRemovalShare',
  ],
  reviewScope: ['apps', 'roles', 'groups'],
  reviewStage: ['name', 'reviewers', 'fallback'],
  reviewerKinds: ['people'],
  schedule: ['cron'],
} as const;

const APPROVER_WORDS = ['manager', 'manager-of-manager', 'group-owners'] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const UPN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
// A letter first: ids become object keys, and JavaScript reorders keys that look like numbers.
const ID = /^[a-z][a-z0-9-]{0,62}$/;

const STAGE_FORMS =
  'Use one of: manager, manager-of-manager, { manager: { levels: 3 } }, group-owners, { people: [upn, ...] }, { group-members: <group id> }.';

type Raw = Record<string, unknown>;

function isMap(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'a list';
  if (isMap(v)) return 'a mapping';
  if (typeof v === 'string') return `"${v}"`;
  return String(v);
}

function exceeds(a: DurationValue, b: DurationValue): boolean {
  if (b === 'permanent') return false;
  if (a === 'permanent') return true;
  return a > b;
}

/** Collects problems while walking the document; each reader reports and returns undefined on a bad value. */
class Checker {
  readonly problems: CatalogProblem[] = [];
  // Keys that a misspelt key was taken for: `grupId` already says "did you mean groupId", so a second
  // "groupId is missing" would only be noise.
  private readonly suggested = new Set<string>();

  constructor(private readonly directory: CatalogDirectory) {}

  /** Access reviews by position, once their id is read, so messages name `access review "pci-quarterly"`. */
  readonly reviewIds = new Map<number, string>();

  report(code: CatalogProblemCode, path: ValuePath, problem: string, fix: string): void {
    let subject = subjectOf(path);
    const reviewId = path[0] === 'reviews' ? this.reviewIds.get(path[1] as number) : undefined;
    if (reviewId !== undefined) {
      subject = subject.replace(/access review \d+$/, `access review "${reviewId}"`);
    }
    this.problems.push(catalogProblem(code, path, subject, problem, fix));
  }

  get scheduleProblem(): ((expression: string) => string | undefined) | undefined {
    return this.directory.scheduleProblem;
  }

  /** A block (mapping); reports a wrong type and every unknown key, with a suggestion for near misses. */
  map(v: unknown, path: ValuePath, field: string, keys: readonly string[]): Raw | undefined {
    if (!isMap(v)) {
      this.report(
        CATALOG_PROBLEM.WRONG_TYPE,
        path,
        `${field} is ${describe(v)}, not a block of keys`,
        `Write ${field} as indented "key: value" lines.`,
      );
      return undefined;
    }
    for (const key of Object.keys(v)) {
      if (keys.includes(key)) continue;
      const near = closest(key, keys);
      if (near !== undefined) this.suggested.add(JSON.stringify([...path, near]));
      this.report(
        CATALOG_PROBLEM.UNKNOWN_KEY,
        [...path, key],
        `unknown key "${key}"`,
        `Remove it or correct the spelling; ${field} accepts ${keys.join(', ')}.${near ? ` Did you mean "${near}"?` : ''}`,
      );
    }
    return v;
  }

  missing(path: ValuePath, field: string, fix: string): undefined {
    if (this.suggested.has(JSON.stringify(path))) return undefined;
    this.report(CATALOG_PROBLEM.MISSING_KEY, path, `${field} is missing`, fix);
    return undefined;
  }

  text(v: unknown, path: ValuePath, field: string, required: string | false): string | undefined {
    if (v === undefined || v === null) return required ? this.missing(path, field, required) : undefined;
    if (typeof v !== 'string' || v.trim() === '') {
      this.report(CATALOG_PROBLEM.WRONG_TYPE, path, `${field} is ${describe(v)}`, `Give ${field} as text.`);
      return undefined;
    }
    return v.trim();
  }

  bool(v: unknown, path: ValuePath, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') {
      this.report(CATALOG_PROBLEM.WRONG_TYPE, path, `${field} is ${describe(v)}`, `Write true or false.`);
      return undefined;
    }
    return v;
  }

  count(v: unknown, path: ValuePath, field: string, min: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      this.report(
        CATALOG_PROBLEM.WRONG_TYPE,
        path,
        `${field} is ${describe(v)}`,
        `Write a whole number of at least ${min}.`,
      );
      return undefined;
    }
    return v;
  }

  list(v: unknown, path: ValuePath, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      this.report(
        CATALOG_PROBLEM.WRONG_TYPE,
        path,
        `${field} is ${describe(v)}, not a list`,
        `Write a list, e.g. ${field}: [a, b] or one "- item" per line.`,
      );
      return undefined;
    }
    return v;
  }

  id(v: string, path: ValuePath, what: string): void {
    if (ID.test(v)) return;
    this.report(
      CATALOG_PROBLEM.INVALID_ID,
      path,
      `${what} id "${v}" is not a valid id`,
      'Use lower-case letters, digits and hyphens, starting with a letter (e.g. aws-production).',
    );
  }

  duration(v: unknown, path: ValuePath, field: string, required: string | false): DurationValue | undefined {
    if (v === undefined || v === null) return required ? this.missing(path, field, required) : undefined;
    if (v === 'permanent') return 'permanent';
    if (typeof v === 'number') {
      this.report(
        CATALOG_PROBLEM.BAD_DURATION,
        path,
        `${field} is ${v}, a number without a unit`,
        `${DURATION_HINT}; e.g. ${v}h or ${v}d.`,
      );
      return undefined;
    }
    if (typeof v !== 'string') {
      this.report(CATALOG_PROBLEM.BAD_DURATION, path, `${field} is ${describe(v)}`, `${DURATION_HINT}.`);
      return undefined;
    }
    const r = tryParseDuration(v);
    if (r.ok) return r.ms;
    const why = {
      empty: 'is empty',
      negative: `"${v}" is negative`,
      'no-unit': `"${v}" has no unit`,
      malformed: `"${v}" is not a duration`,
      zero: `"${v}" is zero`,
    }[r.reason];
    const fix = r.reason === 'zero' || r.reason === 'negative' ? 'Use a duration longer than zero.' : '';
    this.report(CATALOG_PROBLEM.BAD_DURATION, path, `${field} ${why}`, fix || `${DURATION_HINT}.`);
    return undefined;
  }

  group(v: unknown, path: ValuePath, field: string, required: string | false): string | undefined {
    if (v === undefined || v === null) return required ? this.missing(path, field, required) : undefined;
    if (typeof v !== 'string' || !GUID.test(v.trim())) {
      this.report(
        CATALOG_PROBLEM.MALFORMED_GUID,
        path,
        `${field} ${describe(v)} is not a group object id (GUID)`,
        "Use the group's Object ID from Entra (Groups > the group > Overview), e.g. 8183ff42-ddf5-50c1-a556-b84764f8ea47.",
      );
      return undefined;
    }
    const id = v.trim().toLowerCase();
    if (this.directory.knownGroup && !this.directory.knownGroup(id)) {
      this.report(
        CATALOG_PROBLEM.UNKNOWN_GROUP,
        path,
        `${field} ${id} is not a group in the directory`,
        'Check the Object ID in Entra, or create the group before referencing it.',
      );
      return undefined;
    }
    return id;
  }

  user(v: unknown, path: ValuePath, field: string): string | undefined {
    if (typeof v !== 'string' || !(GUID.test(v.trim()) || UPN.test(v.trim()))) {
      this.report(
        CATALOG_PROBLEM.MALFORMED_USER,
        path,
        `${field} ${describe(v)} is neither a user object id nor a UPN`,
        "Use the user's UPN (name@contoso.com) or Object ID (a GUID).",
      );
      return undefined;
    }
    const who = GUID.test(v.trim()) ? v.trim().toLowerCase() : v.trim();
    if (this.directory.knownUser && !this.directory.knownUser(who)) {
      this.report(
        CATALOG_PROBLEM.UNKNOWN_USER,
        path,
        `${field} ${who} is not a user in the directory`,
        'Check the spelling of the UPN, or use the Object ID from Entra.',
      );
      return undefined;
    }
    return who;
  }
}

interface StageDefaults {
  timeoutMs?: number;
  fallback?: string;
}

interface PendingConflict {
  owner: RoleRef;
  value: unknown;
  path: ValuePath;
}

/**
 * Validates a parsed catalog document and resolves it. NB. Duplicate keys cannot be seen here (a parsed
 * object keeps one of them); the file reader reports those with {@link duplicateKeyProblem}.
 */
export function validateCatalog(raw: unknown, directory: CatalogDirectory = {}): CatalogValidation {
  const c = new Checker(directory);
  if (raw === undefined || raw === null) {
    c.missing([], 'the catalog', 'Start the file with id, name, version and apps (see docs/catalog.md).');
    return { ok: false, problems: c.problems };
  }
  const top = c.map(raw, [], 'the top level', CATALOG_KEYS.catalog);
  if (!top) return { ok: false, problems: c.problems };

  const fixTop = (k: string, example: string) => `Add ${k}: ${example} at the top of the file.`;
  const id = c.text(top.id, ['id'], 'id', fixTop('id', 'contoso-access'));
  if (id !== undefined) c.id(id, ['id'], 'catalog');
  const name = c.text(top.name, ['name'], 'name', fixTop('name', 'Contoso access catalog'));
  const version = readVersion(c, top.version);
  const description = c.text(top.description, ['description'], 'description', false);
  const defaults = readStageDefaults(c, top.stageDefaults);

  const apps: CatalogApp[] = [];
  const pending: PendingConflict[] = [];
  const groupOwner = new Map<string, RoleRef>();
  const rawApps =
    top.apps === undefined || top.apps === null
      ? c.missing(['apps'], 'apps', 'Add apps: with at least one app and its roles.')
      : c.map(top.apps, ['apps'], 'apps', Object.keys(top.apps as object));
  for (const [appId, rawApp] of Object.entries(rawApps ?? {})) {
    const app = readApp(c, appId, rawApp, defaults, pending, groupOwner);
    if (app) apps.push(app);
  }

  const conflicts = resolveConflicts(c, apps, pending);
  const reviews = readReviews(c, top.reviews, apps);
  if (c.problems.length > 0) return { ok: false, problems: c.problems };
  return {
    ok: true,
    catalog: {
      id: id ?? '',
      name: name ?? '',
      version: version ?? '',
      ...(description !== undefined && { description }),
      apps: apps.map((a) => ({
        ...a,
        roles: a.roles.map((r) => ({ ...r, conflicts: conflicts.get(r.ref) ?? [] })),
      })),
      ...(reviews.length > 0 && { reviews }),
    },
  };
}

function readVersion(c: Checker, v: unknown): string | undefined {
  if (v === undefined || v === null) {
    return c.missing(
      ['version'],
      'version',
      'Add version: 1 at the top of the file, and raise it on each change.',
    );
  }
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return String(v);
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  c.report(
    CATALOG_PROBLEM.WRONG_TYPE,
    ['version'],
    `version is ${describe(v)}`,
    typeof v === 'number'
      ? `Quote it (version: "${v}") so that YAML keeps it as written, or use a whole number.`
      : 'Use a whole number (version: 3) or a quoted text ("2024.06").',
  );
  return undefined;
}

function readStageDefaults(c: Checker, v: unknown): StageDefaults {
  if (v === undefined || v === null) return {};
  const m = c.map(v, ['stageDefaults'], 'stageDefaults', CATALOG_KEYS.stageDefaults);
  if (!m) return {};
  const timeout = c.duration(m.timeout, ['stageDefaults', 'timeout'], 'stageDefaults.timeout', false);
  if (timeout === 'permanent') {
    c.report(
      CATALOG_PROBLEM.BAD_DURATION,
      ['stageDefaults', 'timeout'],
      'stageDefaults.timeout cannot be permanent',
      'A stage must time out so it can escalate; use e.g. 48h.',
    );
  }
  const fallback =
    m.fallback === undefined || m.fallback === null
      ? undefined
      : c.user(m.fallback, ['stageDefaults', 'fallback'], 'stageDefaults.fallback');
  return { timeoutMs: typeof timeout === 'number' ? timeout : undefined, fallback };
}

function readApp(
  c: Checker,
  appId: string,
  raw: unknown,
  defaults: StageDefaults,
  pending: PendingConflict[],
  groupOwner: Map<string, RoleRef>,
): CatalogApp | undefined {
  const path = ['apps', appId];
  c.id(appId, path, 'app');
  const m = c.map(raw, path, 'an app', CATALOG_KEYS.app);
  if (!m) return undefined;
  const name = c.text(m.name, [...path, 'name'], 'name', 'Add name: with the name people know the app by.');
  const description = c.text(m.description, [...path, 'description'], 'description', false);
  const synonyms = readSynonyms(c, m.synonyms, [...path, 'synonyms']);
  const rawRoles =
    m.roles === undefined || m.roles === null
      ? c.missing([...path, 'roles'], 'roles', 'Add roles: with at least one role and its groupId.')
      : c.map(m.roles, [...path, 'roles'], 'roles', Object.keys(m.roles as object));
  const roles: CatalogRole[] = [];
  for (const [roleId, rawRole] of Object.entries(rawRoles ?? {})) {
    const role = readRole(c, appId, roleId, rawRole, defaults, pending, groupOwner);
    if (role) roles.push(role);
  }
  return {
    id: appId,
    name: name ?? '',
    ...(description !== undefined && { description }),
    ...(synonyms.length > 0 && { synonyms }),
    roles,
  };
}

function readRole(
  c: Checker,
  appId: string,
  roleId: string,
  raw: unknown,
  defaults: StageDefaults,
  pending: PendingConflict[],
  groupOwner: Map<string, RoleRef>,
): CatalogRole | undefined {
  const path = ['apps', appId, 'roles', roleId];
  const ref: RoleRef = `${appId}/${roleId}`;
  c.id(roleId, path, 'role');
  const m = c.map(raw, path, 'a role', CATALOG_KEYS.role);
  if (!m) return undefined;
  const name = c.text(m.name, [...path, 'name'], 'name', 'Add name: with the name requesters see.');
  const description = c.text(m.description, [...path, 'description'], 'description', false);
  const synonyms = readSynonyms(c, m.synonyms, [...path, 'synonyms']);
  const groupId = c.group(
    m.groupId,
    [...path, 'groupId'],
    'groupId',
    'Add groupId: with the Object ID of the Entra group whose membership grants this role.',
  );
  if (groupId !== undefined) {
    const other = groupOwner.get(groupId);
    if (other) {
      c.report(
        CATALOG_PROBLEM.SHARED_GROUP,
        [...path, 'groupId'],
        `groupId ${groupId} is also the group of role "${other}"`,
        'Give each role its own group: granting or revoking one role would silently change the other.',
      );
    } else {
      groupOwner.set(groupId, ref);
    }
  }
  const eligibility = readEligibility(c, m.eligibility, [...path, 'eligibility']);
  const stages = readApproval(c, m.approval, [...path, 'approval'], groupId ?? '', defaults);
  const duration = readDuration(c, m.duration, [...path, 'duration']);
  const justification = readJustification(c, m.justification, [...path, 'justification']);
  const ticketReference = readTicketReference(c, m.ticketReference, [...path, 'ticketReference']);
  const autoApprove = readAutoApprove(c, m.autoApprove, [...path, 'autoApprove'], duration);
  const conflicts = c.list(m.conflicts, [...path, 'conflicts'], 'conflicts') ?? [];
  conflicts.forEach((value, i) => pending.push({ owner: ref, value, path: [...path, 'conflicts', i] }));

  return {
    appId,
    id: roleId,
    ref,
    name: name ?? '',
    ...(description !== undefined && { description }),
    ...(synonyms.length > 0 && { synonyms }),
    groupId: groupId ?? '',
    eligibility,
    approval: { stages },
    duration: duration ?? { defaultMs: 0, maxMs: 0, permanentAllowed: false },
    justification,
    ticketReference,
    ...(autoApprove !== undefined && { autoApprove }),
    conflicts: [],
  };
}

/** Other words people use for an app or role ("SFDC", "sysadmin"); the chat matcher reads them. */
function readSynonyms(c: Checker, v: unknown, path: ValuePath): string[] {
  const out: string[] = [];
  (c.list(v, path, 'synonyms') ?? []).forEach((s, i) => {
    const word = c.text(s, [...path, i], 'synonyms entry', false);
    if (word !== undefined && !out.includes(word)) out.push(word);
  });
  return out;
}

function readEligibility(c: Checker, v: unknown, path: ValuePath): Eligibility {
  if (v === undefined || v === null) return { groupIds: [], departments: [] };
  const m = c.map(v, path, 'eligibility', CATALOG_KEYS.eligibility);
  if (!m) return { groupIds: [], departments: [] };
  const groupIds: string[] = [];
  (c.list(m.groups, [...path, 'groups'], 'eligibility.groups') ?? []).forEach((g, i) => {
    const id = c.group(g, [...path, 'groups', i], 'eligibility.groups entry', false);
    if (id !== undefined && !groupIds.includes(id)) groupIds.push(id);
  });
  const departments: string[] = [];
  (c.list(m.departments, [...path, 'departments'], 'eligibility.departments') ?? []).forEach((d, i) => {
    const name = c.text(d, [...path, 'departments', i], 'eligibility.departments entry', false);
    if (name !== undefined && !departments.includes(name)) departments.push(name);
  });
  return { groupIds, departments };
}

function readApproval(
  c: Checker,
  v: unknown,
  path: ValuePath,
  roleGroupId: string,
  defaults: StageDefaults,
): ApprovalStage[] {
  if (v === undefined || v === null) {
    c.missing(
      path,
      'approval',
      'Add approval: with stages: (e.g. "- approvers: manager"); use autoApprove for requests that need no person.',
    );
    return [];
  }
  const m = c.map(v, path, 'approval', CATALOG_KEYS.approval);
  if (!m) return [];
  const list =
    m.stages === undefined || m.stages === null
      ? []
      : c.list(m.stages, [...path, 'stages'], 'approval.stages');
  if (list === undefined) return [];
  if (list.length === 0) {
    c.report(
      CATALOG_PROBLEM.NO_STAGES,
      [...path, 'stages'],
      'approval has no stages, so no request could ever be approved',
      'Add at least one stage (e.g. "- approvers: manager"); use autoApprove for requests that need no person.',
    );
    return [];
  }
  return list.flatMap((s, i) => {
    const stage = readStage(c, s, [...path, 'stages', i], i + 1, roleGroupId, defaults);
    return stage ? [stage] : [];
  });
}

function readApprovers(
  c: Checker,
  v: unknown,
  path: ValuePath,
  roleGroupId: string,
): ApproverSource | undefined {
  if (v === undefined || v === null)
    return c.missing(path, 'approvers', `Say who approves this stage. ${STAGE_FORMS}`);
  if (typeof v === 'string') {
    if (v === 'manager') return { kind: 'manager', levels: 1 };
    if (v === 'manager-of-manager') return { kind: 'manager', levels: 2 };
    if (v === 'group-owners') return { kind: 'group-owners', groupId: roleGroupId };
    const needsList = v === 'people' || v === 'group-members';
    c.report(
      CATALOG_PROBLEM.UNKNOWN_APPROVERS,
      path,
      needsList
        ? `approvers "${v}" needs to say which ${v === 'people' ? 'people' : 'group'}`
        : `unknown approvers "${v}"`,
      needsList
        ? `Write approvers: { ${v}: ${v === 'people' ? '[name@contoso.com]' : '<group id>'} }.`
        : `${STAGE_FORMS}${didYouMean(v, [...APPROVER_WORDS, 'people', 'group-members'])}`,
    );
    return undefined;
  }
  const m = c.map(v, path, 'approvers', CATALOG_KEYS.approverKinds);
  if (!m) return undefined;
  const kinds = Object.keys(m).filter((k) => (CATALOG_KEYS.approverKinds as readonly string[]).includes(k));
  if (kinds.length !== 1) {
    if (Object.keys(m).length === kinds.length) {
      c.report(
        CATALOG_PROBLEM.UNKNOWN_APPROVERS,
        path,
        kinds.length === 0
          ? 'approvers names nobody'
          : `approvers names ${kinds.length} kinds (${kinds.join(', ')})`,
        kinds.length === 0
          ? STAGE_FORMS
          : 'One stage has one kind of approver: split them into separate stages.',
      );
    }
    return undefined;
  }
  const kind = kinds[0];
  const at = [...path, kind];
  if (kind === 'manager') {
    const mm = c.map(m.manager, at, 'approvers.manager', CATALOG_KEYS.manager);
    if (!mm) return undefined;
    const levels = c.count(mm.levels, [...at, 'levels'], 'manager.levels', 1);
    if (levels === undefined) {
      if (mm.levels === undefined || mm.levels === null) {
        c.missing(
          [...at, 'levels'],
          'manager.levels',
          "Write { manager: { levels: 2 } } for the manager's manager.",
        );
      }
      return undefined;
    }
    return { kind: 'manager', levels };
  }
  if (kind === 'group-members') {
    const groupId = c.group(m['group-members'], at, 'group-members', 'Write { group-members: <group id> }.');
    return groupId === undefined ? undefined : { kind: 'group-members', groupId };
  }
  const list = c.list(m.people, at, 'people');
  if (list === undefined) {
    if (m.people === undefined || m.people === null) {
      c.report(
        CATALOG_PROBLEM.UNSATISFIABLE_STAGE,
        at,
        'people names nobody, so the stage can never be approved',
        'List at least one approver by UPN or Object ID.',
      );
    }
    return undefined;
  }
  const people: string[] = [];
  list.forEach((p, i) => {
    // An unknown person is reported on its own line; still count them, so the quorum check does not pile on.
    const who = c.user(p, [...at, i], 'people entry') ?? (typeof p === 'string' ? p.trim() : undefined);
    // Case-insensitive: the same UPN twice would otherwise count twice towards a quorum.
    if (who !== undefined && !people.some((q) => q.toLowerCase() === who.toLowerCase())) people.push(who);
  });
  if (list.length === 0) {
    c.report(
      CATALOG_PROBLEM.UNSATISFIABLE_STAGE,
      at,
      'people is an empty list, so the stage can never be approved',
      'List at least one approver by UPN or Object ID.',
    );
    return undefined;
  }
  return { kind: 'people', people };
}

function readQuorum(c: Checker, v: unknown, path: ValuePath): Quorum | undefined {
  if (v === undefined || v === null || v === 'any') return 'any';
  if (v === 'all') return 'all';
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1) return v;
  const hint = typeof v === 'string' ? didYouMean(v, ['any', 'all']) : '';
  c.report(
    CATALOG_PROBLEM.BAD_QUORUM,
    path,
    `quorum ${describe(v)} is not any, all or a number of approvers`,
    `Write quorum: any, quorum: all, or a whole number such as quorum: 2.${hint}`,
  );
  return undefined;
}

function readStage(
  c: Checker,
  v: unknown,
  path: ValuePath,
  number: number,
  roleGroupId: string,
  defaults: StageDefaults,
): ApprovalStage | undefined {
  const m = c.map(v, path, 'a stage', CATALOG_KEYS.stage);
  if (!m) return undefined;
  const name = c.text(m.name, [...path, 'name'], 'name', false);
  const approvers = readApprovers(c, m.approvers, [...path, 'approvers'], roleGroupId);
  const quorum = readQuorum(c, m.quorum, [...path, 'quorum']);

  let timeoutMs: number | undefined;
  if (m.timeout === undefined || m.timeout === null) {
    timeoutMs = defaults.timeoutMs;
    if (timeoutMs === undefined) {
      c.report(
        CATALOG_PROBLEM.MISSING_TIMEOUT,
        path,
        'no timeout, so a stage nobody acts on would wait forever',
        'Add timeout: 24h to the stage, or stageDefaults.timeout at the top of the file.',
      );
    }
  } else {
    const t = c.duration(m.timeout, [...path, 'timeout'], 'timeout', false);
    if (t === 'permanent') {
      c.report(
        CATALOG_PROBLEM.BAD_DURATION,
        [...path, 'timeout'],
        'timeout cannot be permanent',
        'A stage must time out so it can escalate to its fallback; use e.g. 24h.',
      );
    } else {
      timeoutMs = t;
    }
  }

  let fallback: string | undefined;
  if (m.fallback === undefined || m.fallback === null) {
    fallback = defaults.fallback;
    if (fallback === undefined) {
      c.report(
        CATALOG_PROBLEM.MISSING_FALLBACK,
        path,
        'no fallback approver, so the request is stuck when the stage times out or resolves to nobody (e.g. a requester without a manager)',
        'Add fallback: <UPN> to the stage, or stageDefaults.fallback at the top of the file.',
      );
    }
  } else {
    fallback = c.user(m.fallback, [...path, 'fallback'], 'fallback');
  }

  if (approvers && quorum !== undefined) checkSatisfiable(c, approvers, quorum, [...path, 'quorum']);
  if (!approvers || quorum === undefined || timeoutMs === undefined || fallback === undefined)
    return undefined;
  return { number, ...(name !== undefined && { name }), approvers, quorum, timeoutMs, fallback };
}

/** A stage whose quorum cannot be met by the approvers it can ever resolve to. */
function checkSatisfiable(c: Checker, approvers: ApproverSource, quorum: Quorum, path: ValuePath): void {
  const unsatisfiable = (problem: string, fix: string) =>
    c.report(CATALOG_PROBLEM.UNSATISFIABLE_STAGE, path, problem, fix);
  if (approvers.kind === 'manager' && typeof quorum === 'number' && quorum > 1) {
    unsatisfiable(
      `quorum ${quorum} on a manager stage, which has exactly one approver`,
      'Use quorum: any, or add a separate stage for each further approver.',
    );
  }
  if (approvers.kind === 'people' && typeof quorum === 'number' && quorum > approvers.people.length) {
    const n = approvers.people.length;
    unsatisfiable(
      `quorum ${quorum} is more than the ${n} ${n === 1 ? 'person' : 'different people'} named`,
      `Lower quorum to ${n} or less, or name more people.`,
    );
  }
  if (approvers.kind === 'group-members' && quorum === 'all') {
    unsatisfiable(
      'quorum all on group-members waits for every member of a group whose membership can grow at any time',
      'Use quorum: any or a number (e.g. quorum: 2), or name the people explicitly.',
    );
  }
}

function readDuration(c: Checker, v: unknown, path: ValuePath): DurationPolicy | undefined {
  if (v === undefined || v === null) {
    return c.missing(path, 'duration', 'Add duration: { default: 8h, max: 7d } (how long access lasts).');
  }
  const m = c.map(v, path, 'duration', CATALOG_KEYS.duration);
  if (!m) return undefined;
  const permanentAllowed = c.bool(m.permanent, [...path, 'permanent'], 'duration.permanent') ?? false;
  const need = (k: string) => `Add duration.${k}, e.g. ${k}: ${k === 'max' ? '7d' : '8h'}.`;
  const def = c.duration(m.default, [...path, 'default'], 'duration.default', need('default'));
  const max = c.duration(m.max, [...path, 'max'], 'duration.max', need('max'));
  let ok = def !== undefined && max !== undefined;
  for (const [k, value] of [
    ['default', def],
    ['max', max],
  ] as const) {
    if (value === 'permanent' && !permanentAllowed) {
      ok = false;
      c.report(
        CATALOG_PROBLEM.PERMANENT_NOT_ALLOWED,
        [...path, k],
        `duration.${k} is permanent but this role does not allow permanent access`,
        `Give ${k} a duration such as 30d, or set duration.permanent: true if standing access is acceptable.`,
      );
    }
  }
  if (def !== undefined && max !== undefined && exceeds(def, max)) {
    ok = false;
    c.report(
      CATALOG_PROBLEM.DURATION_DEFAULT_EXCEEDS_MAX,
      [...path, 'default'],
      `duration.default ${formatDuration(def)} exceeds duration.max ${formatDuration(max)}`,
      'Lower default or raise max.',
    );
  }
  return ok && def !== undefined && max !== undefined
    ? { defaultMs: def, maxMs: max, permanentAllowed }
    : undefined;
}

function readJustification(c: Checker, v: unknown, path: ValuePath): JustificationPolicy {
  if (v === undefined || v === null) return { required: false, minLength: 0 };
  const m = c.map(v, path, 'justification', CATALOG_KEYS.justification);
  if (!m) return { required: false, minLength: 0 };
  return {
    required: c.bool(m.required, [...path, 'required'], 'justification.required') ?? false,
    minLength: c.count(m.minLength, [...path, 'minLength'], 'justification.minLength', 0) ?? 0,
  };
}

function readTicketReference(c: Checker, v: unknown, path: ValuePath): TicketReferencePolicy {
  if (v === undefined || v === null) return { required: false };
  const m = c.map(v, path, 'ticketReference', CATALOG_KEYS.ticketReference);
  if (!m) return { required: false };
  const required = c.bool(m.required, [...path, 'required'], 'ticketReference.required') ?? false;
  const pattern = c.text(m.pattern, [...path, 'pattern'], 'ticketReference.pattern', false);
  const example = c.text(m.example, [...path, 'example'], 'ticketReference.example', false);
  let re: RegExp | undefined;
  if (pattern !== undefined) {
    try {
      re = wholeMatch(pattern);
    } catch (err) {
      c.report(
        CATALOG_PROBLEM.BAD_PATTERN,
        [...path, 'pattern'],
        `ticketReference.pattern "${pattern}" is not a valid regular expression (${(err as Error).message})`,
        "Fix the expression, e.g. 'INC[0-9]{7}'; quote it in single quotes so YAML leaves backslashes alone.",
      );
    }
  }
  if (re && example !== undefined && !re.test(example)) {
    c.report(
      CATALOG_PROBLEM.EXAMPLE_DOES_NOT_MATCH,
      [...path, 'example'],
      `ticketReference.example "${example}" does not match pattern "${pattern}"`,
      'Requesters are shown the example when they get it wrong; make it one the pattern accepts.',
    );
  }
  return {
    required,
    ...(pattern !== undefined && { pattern }),
    ...(example !== undefined && { example }),
  };
}

/** The pattern must match the whole reference: `INC\d{7}` should not accept `xINC1234567yz`. */
export function wholeMatch(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

function readAutoApprove(
  c: Checker,
  v: unknown,
  path: ValuePath,
  duration: DurationPolicy | undefined,
): AutoApproveRule | undefined {
  if (v === undefined) return undefined;
  if (v === null || (isMap(v) && Object.keys(v).length === 0)) {
    c.report(
      CATALOG_PROBLEM.EMPTY_AUTO_APPROVE,
      path,
      'autoApprove has no conditions, so every request would be approved without a person',
      'Add requesterInGroup, requesterInDepartment or maxDuration, or remove autoApprove.',
    );
    return undefined;
  }
  const m = c.map(v, path, 'autoApprove', CATALOG_KEYS.autoApprove);
  if (!m) return undefined;
  const requesterInGroup = c.group(
    m.requesterInGroup,
    [...path, 'requesterInGroup'],
    'autoApprove.requesterInGroup',
    false,
  );
  const requesterInDepartment = c.text(
    m.requesterInDepartment,
    [...path, 'requesterInDepartment'],
    'autoApprove.requesterInDepartment',
    false,
  );
  const max = c.duration(m.maxDuration, [...path, 'maxDuration'], 'autoApprove.maxDuration', false);
  if (max === 'permanent') {
    c.report(
      CATALOG_PROBLEM.PERMANENT_NOT_ALLOWED,
      [...path, 'maxDuration'],
      'autoApprove.maxDuration is permanent',
      'Access with no end date always needs a person; give maxDuration a duration such as 8h.',
    );
    return undefined;
  }
  if (max !== undefined && duration && exceeds(max, duration.maxMs)) {
    c.report(
      CATALOG_PROBLEM.AUTO_APPROVE_EXCEEDS_MAX,
      [...path, 'maxDuration'],
      `autoApprove.maxDuration ${formatDuration(max)} exceeds duration.max ${formatDuration(duration.maxMs)}`,
      `Lower autoApprove.maxDuration to ${formatDuration(duration.maxMs)} or less, or raise duration.max.`,
    );
  }
  return {
    ...(requesterInGroup !== undefined && { requesterInGroup }),
    ...(requesterInDepartment !== undefined && { requesterInDepartment }),
    ...(max !== undefined && { maxDurationMs: max }),
  };
}

/** Checks every conflict reference once all roles are known, and makes the relation symmetric. */
function resolveConflicts(c: Checker, apps: readonly CatalogApp[], pending: readonly PendingConflict[]) {
  const known = new Set<string>(apps.flatMap((a) => a.roles.map((r) => r.ref)));
  const result = new Map<RoleRef, RoleRef[]>();
  const add = (a: RoleRef, b: RoleRef) => {
    const list = result.get(a) ?? [];
    if (!list.includes(b)) list.push(b);
    result.set(a, list);
  };
  for (const { owner, value, path } of pending) {
    if (typeof value !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(value.trim())) {
      c.report(
        CATALOG_PROBLEM.UNKNOWN_CONFLICT,
        path,
        `conflicts entry ${describe(value)} is not a role reference`,
        'Write it as appId/roleId, e.g. netsuite/controller.',
      );
      continue;
    }
    const ref = value.trim() as RoleRef;
    if (ref === owner) {
      c.report(
        CATALOG_PROBLEM.SELF_CONFLICT,
        path,
        `conflicts lists the role itself (${ref})`,
        'Remove it: a role cannot conflict with itself.',
      );
      continue;
    }
    if (!known.has(ref)) {
      const near = closest(ref, known);
      c.report(
        CATALOG_PROBLEM.UNKNOWN_CONFLICT,
        path,
        `conflicts names ${ref}, which is not a role in this catalog`,
        `Use an appId/roleId defined under apps.${near ? ` Did you mean "${near}"?` : ''}`,
      );
      continue;
    }
    add(owner, ref);
    add(ref, owner);
  }
  return result;
}

// ---- access reviews (the `reviews:` section) ----

const REVIEWER_FORMS = 'Use one of: manager, group-owners, self, { people: [upn, ...] }.';
const REVIEWER_WORDS = ['manager', 'group-owners', 'self'] as const;
const SCHEDULE_WORDS = ['on-demand', 'monthly', 'quarterly'] as const;
const DEFAULT_DECISIONS: readonly DefaultDecision[] = ['keep', 'revoke', 'recommendation'];
const SCHEDULE_FORMS =
  "Write schedule: on-demand, monthly, quarterly, or { cron: '0 0 6 1 1,4,7,10 *' } (6-field NCRONTAB: second minute hour day month day-of-week, UTC).";

/** Defaults where a review definition is silent (issue 9: 90 days without sign-in, a 20% guard). */
export const REVIEW_DEFAULTS = {
  inactiveDays: 90,
  massRemovalShare: 0.2,
  defaultDecision: 'keep' as DefaultDecision,
} as const;

/** Reads every access review; an absent section is no reviews. */
function readReviews(c: Checker, v: unknown, apps: readonly CatalogApp[]): CampaignDefinition[] {
  const list = c.list(v, ['reviews'], 'reviews') ?? [];
  const firstAt = new Map<string, number>();
  const out: CampaignDefinition[] = [];
  list.forEach((raw, i) => {
    const review = readReview(c, raw, i, apps, firstAt);
    if (review) out.push(review);
  });
  return out;
}

function readReview(
  c: Checker,
  raw: unknown,
  i: number,
  apps: readonly CatalogApp[],
  firstAt: Map<string, number>,
): CampaignDefinition | undefined {
  const path: ValuePath = ['reviews', i];
  const m = c.map(raw, path, 'an access review', CATALOG_KEYS.review);
  if (!m) return undefined;
  const id = c.text(
    m.id,
    [...path, 'id'],
    'id',
    'Add id: with a short name for the review, e.g. pci-quarterly.',
  );
  if (id !== undefined) {
    c.id(id, [...path, 'id'], 'review');
    const first = firstAt.get(id);
    if (first !== undefined) {
      c.report(
        CATALOG_PROBLEM.DUPLICATE_REVIEW,
        [...path, 'id'],
        `review id "${id}" is also the id of access review ${first + 1}`,
        'Give each review a unique id, or merge the two definitions into one.',
      );
    } else {
      firstAt.set(id, i);
      c.reviewIds.set(i, id);
    }
  }
  const name = c.text(m.name, [...path, 'name'], 'name', 'Add name: with the name reviewers see.');
  const scope = readReviewScope(c, m.scope, [...path, 'scope'], apps);
  const stages = readReviewStages(c, m.stages, [...path, 'stages']);
  const schedule = readSchedule(c, m.schedule, [...path, 'schedule']);
  const duration = c.duration(
    m.duration,
    [...path, 'duration'],
    'duration',
    'Add duration: with how long reviewers have, e.g. 14d.',
  );
  if (duration === 'permanent') {
    c.report(
      CATALOG_PROBLEM.BAD_DURATION,
      [...path, 'duration'],
      'duration cannot be permanent',
      'A review must end so its default decision applies; use e.g. 14d.',
    );
  }
  const durationMs = typeof duration === 'number' ? duration : undefined;
  // Counted from the file, so a stage with a mistake of its own does not hide a reminder's.
  const stageCount = Array.isArray(m.stages) && m.stages.length > 0 ? m.stages.length : undefined;
  const stageMs = durationMs !== undefined && stageCount ? durationMs / stageCount : undefined;
  const reminders = readReminders(c, m.reminders, [...path, 'reminders'], stageMs, stageCount ?? 1);
  const defaultDecision = readDefaultDecision(c, m.default, [...path, 'default']);
  const signOff =
    m.signOff === undefined || m.signOff === null
      ? c.missing(
          [...path, 'signOff'],
          'signOff',
          'Add signOff: with the UPN of the manager who acknowledges the result (PCI DSS 7.2.4 asks for it).',
        )
      : c.user(m.signOff, [...path, 'signOff'], 'signOff');
  const inactiveDays =
    m.inactiveDays === undefined || m.inactiveDays === null
      ? REVIEW_DEFAULTS.inactiveDays
      : c.count(m.inactiveDays, [...path, 'inactiveDays'], 'inactiveDays', 1);
  const share = readShare(c, m.massRemovalShare, [...path, 'massRemovalShare']);

  if (
    id === undefined ||
    name === undefined ||
    !scope ||
    !stages ||
    !schedule ||
    durationMs === undefined ||
    !reminders ||
    !defaultDecision ||
    signOff === undefined ||
    inactiveDays === undefined ||
    share === undefined
  ) {
    return undefined;
  }
  return {
    id,
    name,
    scope,
    stages,
    schedule,
    durationMs,
    remindersBeforeMs: reminders,
    defaultDecision,
    signOff,
    inactiveDays,
    massRemovalShare: share,
  };
}

function readReviewScope(
  c: Checker,
  v: unknown,
  path: ValuePath,
  apps: readonly CatalogApp[],
): ReviewScope | undefined {
  const fix =
    'Say what it reviews: scope: { apps: [appId], roles: [appId/roleId], groups: [<group object id>] } (any of the three).';
  if (v === undefined || v === null) return c.missing(path, 'scope', fix);
  const m = c.map(v, path, 'scope', CATALOG_KEYS.reviewScope);
  if (!m) return undefined;
  let ok = true;
  const appIds: string[] = [];
  const knownApps = apps.map((a) => a.id);
  (c.list(m.apps, [...path, 'apps'], 'scope.apps') ?? []).forEach((a, i) => {
    const at = [...path, 'apps', i];
    const appId = c.text(a, at, 'scope.apps entry', false);
    if (appId === undefined) return void (ok = false);
    if (!knownApps.includes(appId)) {
      ok = false;
      c.report(
        CATALOG_PROBLEM.BAD_REVIEW_SCOPE,
        at,
        `scope names app "${appId}", which is not an app in this catalog`,
        `Use an app id defined under apps.${didYouMean(appId, knownApps)}`,
      );
      return;
    }
    if (!appIds.includes(appId)) appIds.push(appId);
  });
  const roleRefs: RoleRef[] = [];
  const knownRoles = apps.flatMap((a) => a.roles.map((r) => r.ref as string));
  (c.list(m.roles, [...path, 'roles'], 'scope.roles') ?? []).forEach((r, i) => {
    const at = [...path, 'roles', i];
    const ref = c.text(r, at, 'scope.roles entry', false);
    if (ref === undefined) return void (ok = false);
    if (!knownRoles.includes(ref)) {
      ok = false;
      const shape = /^[^/\s]+\/[^/\s]+$/.test(ref);
      c.report(
        CATALOG_PROBLEM.BAD_REVIEW_SCOPE,
        at,
        shape
          ? `scope names role ${ref}, which is not a role in this catalog`
          : `scope.roles entry "${ref}" is not a role reference`,
        `Write it as appId/roleId, e.g. netsuite/controller, naming a role defined under apps.${didYouMean(ref, knownRoles)}`,
      );
      return;
    }
    if (!roleRefs.includes(ref as RoleRef)) roleRefs.push(ref as RoleRef);
  });
  const groupIds: string[] = [];
  (c.list(m.groups, [...path, 'groups'], 'scope.groups') ?? []).forEach((g, i) => {
    const id = c.group(g, [...path, 'groups', i], 'scope.groups entry', false);
    if (id === undefined) return void (ok = false);
    if (!groupIds.includes(id)) groupIds.push(id);
  });
  if (ok && appIds.length + roleRefs.length + groupIds.length === 0) {
    c.report(
      CATALOG_PROBLEM.BAD_REVIEW_SCOPE,
      path,
      'scope is empty, so the review would never have anything to review',
      fix,
    );
    return undefined;
  }
  return ok ? { appIds, roleRefs, groupIds } : undefined;
}

function readReviewStages(c: Checker, v: unknown, path: ValuePath): ReviewStage[] | undefined {
  const fix = 'Add stages: with at least one stage, e.g. "- reviewers: manager" and its fallback: <UPN>.';
  if (v === undefined || v === null) return c.missing(path, 'stages', fix);
  const list = c.list(v, path, 'stages');
  if (list === undefined) return undefined;
  if (list.length === 0) {
    c.report(CATALOG_PROBLEM.NO_STAGES, path, 'stages is empty, so nobody would review anything', fix);
    return undefined;
  }
  const stages = list.map((s, i) => readReviewStage(c, s, [...path, i], i + 1));
  return stages.every((s) => s !== undefined) ? (stages as ReviewStage[]) : undefined;
}

function readReviewStage(c: Checker, v: unknown, path: ValuePath, number: number): ReviewStage | undefined {
  const m = c.map(v, path, 'a review stage', CATALOG_KEYS.reviewStage);
  if (!m) return undefined;
  const name = c.text(m.name, [...path, 'name'], 'name', false);
  const reviewers = readReviewers(c, m.reviewers, [...path, 'reviewers']);
  let fallback: string | undefined;
  if (m.fallback === undefined || m.fallback === null) {
    c.report(
      CATALOG_PROBLEM.MISSING_FALLBACK,
      path,
      'no fallback reviewer, so items whose reviewer cannot be found (a member with no manager, a group with no owner) would wait on nobody',
      'Add fallback: <UPN> to the stage.',
    );
  } else {
    fallback = c.user(m.fallback, [...path, 'fallback'], 'fallback');
  }
  if (!reviewers || fallback === undefined) return undefined;
  return { number, ...(name !== undefined && { name }), reviewers, fallback };
}

function readReviewers(c: Checker, v: unknown, path: ValuePath): ReviewerSource | undefined {
  if (v === undefined || v === null)
    return c.missing(path, 'reviewers', `Say who reviews. ${REVIEWER_FORMS}`);
  if (typeof v === 'string') {
    if ((REVIEWER_WORDS as readonly string[]).includes(v)) {
      return { kind: v as (typeof REVIEWER_WORDS)[number] };
    }
    c.report(
      CATALOG_PROBLEM.UNKNOWN_REVIEWERS,
      path,
      v === 'people' ? 'reviewers "people" needs to say which people' : `unknown reviewers "${v}"`,
      v === 'people'
        ? 'Write reviewers: { people: [name@contoso.com] }.'
        : `${REVIEWER_FORMS}${didYouMean(v, [...REVIEWER_WORDS, 'people'])}`,
    );
    return undefined;
  }
  const m = c.map(v, path, 'reviewers', CATALOG_KEYS.reviewerKinds);
  if (!m) return undefined;
  if (!('people' in m)) {
    if (Object.keys(m).length === 0) {
      c.report(CATALOG_PROBLEM.UNKNOWN_REVIEWERS, path, 'reviewers names nobody', REVIEWER_FORMS);
    }
    return undefined;
  }
  const at = [...path, 'people'];
  const list = c.list(m.people, at, 'people');
  if (list === undefined || list.length === 0) {
    if (list !== undefined || m.people === undefined || m.people === null) {
      c.report(
        CATALOG_PROBLEM.UNKNOWN_REVIEWERS,
        at,
        'people names nobody, so nobody would review this stage',
        'List at least one reviewer by UPN or Object ID.',
      );
    }
    return undefined;
  }
  const people: string[] = [];
  let ok = true;
  list.forEach((p, i) => {
    const who = c.user(p, [...at, i], 'people entry');
    if (who === undefined) ok = false;
    else if (!people.some((q) => q.toLowerCase() === who.toLowerCase())) people.push(who);
  });
  return ok ? { kind: 'people', people } : undefined;
}

function readSchedule(c: Checker, v: unknown, path: ValuePath): ReviewSchedule | undefined {
  if (v === undefined || v === null || v === 'on-demand') return { kind: 'on-demand' };
  if (v === 'monthly' || v === 'quarterly') return { kind: v };
  if (typeof v === 'string') {
    const cronLike = v.trim().split(/\s+/).length > 1;
    c.report(
      CATALOG_PROBLEM.BAD_SCHEDULE,
      path,
      `schedule "${v}" is not one Attest knows`,
      cronLike
        ? `Write an NCRONTAB expression as { cron: '${v.trim()}' }.`
        : `${SCHEDULE_FORMS}${didYouMean(v, SCHEDULE_WORDS)}`,
    );
    return undefined;
  }
  const m = c.map(v, path, 'schedule', CATALOG_KEYS.schedule);
  if (!m) return undefined;
  const at = [...path, 'cron'];
  const expression = c.text(m.cron, at, 'schedule.cron', SCHEDULE_FORMS);
  if (expression === undefined) return undefined;
  const fields = expression.split(/\s+/).length;
  const problem =
    fields !== 6
      ? `has ${fields} fields; NCRONTAB needs 6 (second minute hour day month day-of-week)`
      : c.scheduleProblem?.(expression);
  if (problem !== undefined) {
    c.report(
      CATALOG_PROBLEM.BAD_SCHEDULE,
      at,
      `schedule.cron '${expression}' ${problem}`,
      fields === 5
        ? `Add the seconds first, e.g. '0 ${expression}'.`
        : 'Write 6 fields, e.g. 0 0 6 1 1,4,7,10 * for 06:00 UTC on the first day of each quarter.',
    );
    return undefined;
  }
  return { kind: 'cron', expression };
}

function readReminders(
  c: Checker,
  v: unknown,
  path: ValuePath,
  stageMs: number | undefined,
  stageCount: number,
): number[] | undefined {
  const list = c.list(v, path, 'reminders');
  if (list === undefined) return v === undefined || v === null ? [] : undefined;
  const out: number[] = [];
  let ok = true;
  list.forEach((r, i) => {
    const at = [...path, i];
    const d = c.duration(r, at, 'reminders entry', false);
    if (d === undefined) return void (ok = false);
    if (d === 'permanent' || (stageMs !== undefined && d >= stageMs)) {
      ok = false;
      const stage = stageMs === undefined ? '' : formatDuration(Math.floor(stageMs));
      c.report(
        CATALOG_PROBLEM.BAD_REMINDER,
        at,
        d === 'permanent'
          ? 'a reminder cannot be permanent'
          : `reminder ${formatDuration(d)} before the deadline is not shorter than the stage (${stage}${stageCount > 1 ? `, the duration shared by ${stageCount} stages` : ''})`,
        `Give reminders as times before each stage's deadline, each shorter than ${stage || 'the stage'}, e.g. [3d, 1d].`,
      );
      return;
    }
    if (!out.includes(d)) out.push(d);
  });
  return ok ? out.sort((a, b) => b - a) : undefined;
}

function readDefaultDecision(c: Checker, v: unknown, path: ValuePath): DefaultDecision | undefined {
  if (v === undefined || v === null) return REVIEW_DEFAULTS.defaultDecision;
  if (typeof v === 'string' && (DEFAULT_DECISIONS as readonly string[]).includes(v))
    return v as DefaultDecision;
  c.report(
    CATALOG_PROBLEM.WRONG_TYPE,
    path,
    `default ${describe(v)} is not keep, revoke or recommendation`,
    `Say what happens to items nobody decided: default: keep (the default), revoke, or recommendation.${typeof v === 'string' ? didYouMean(v, DEFAULT_DECISIONS) : ''}`,
  );
  return undefined;
}

function readShare(c: Checker, v: unknown, path: ValuePath): number | undefined {
  if (v === undefined || v === null) return REVIEW_DEFAULTS.massRemovalShare;
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1) return v;
  c.report(
    CATALOG_PROBLEM.OUT_OF_RANGE,
    path,
    `massRemovalShare ${describe(v)} is not a share above 0 and at most 1`,
    'Write the share of the scope a default or bulk removal may take without an admin confirming, e.g. 0.2 for 20%.',
  );
  return undefined;
}
