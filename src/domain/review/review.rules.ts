/**
 * The rules of an access review, pure (no I/O, no clock: times are passed in): which groups a scope covers, who
 * reviews an item at a stage, what Attest recommends and why, what the default decision makes of an item nobody
 * decided, when the mass-removal guard holds, the stages' deadlines, and the canonical listing a snapshot's hash
 * is computed over.
 */
import type { Catalog } from '../catalog/catalog.model';
import { DomainError } from '../domain-error';
import type {
  CampaignDefinition,
  DefaultDecision,
  Recommendation,
  RecommendationReason,
  ReviewDecisionValue,
  ReviewItem,
  ReviewStage,
} from './review.model';

/** Stable codes of review failures (the tab API maps them to HTTP statuses). */
export const REVIEW_ERRORS = {
  notFound: 'REVIEW.NOT_FOUND',
  forbidden: 'REVIEW.FORBIDDEN',
  invalid: 'REVIEW.INVALID',
  closed: 'REVIEW.CLOSED',
  conflict: 'REVIEW.CONFLICT',
} as const;

/** A review failure with a stable code and a sentence a person can act on. */
export class ReviewError extends DomainError {
  constructor(code: (typeof REVIEW_ERRORS)[keyof typeof REVIEW_ERRORS], message: string) {
    super(code, message);
    this.name = 'ReviewError';
  }
}

/** The id of the item for one membership: `${groupId}:${userId}`, lower-case (Graph ids ignore case). */
export function reviewItemId(groupId: string, userId: string): string {
  return `${groupId.toLowerCase()}:${userId.toLowerCase()}`;
}

/** The group and user of an item id; undefined for anything else. */
export function parseReviewItemId(itemId: string): { groupId: string; userId: string } | undefined {
  const m = /^([^:]+):([^:]+)$/.exec(itemId);
  return m ? { groupId: m[1], userId: m[2] } : undefined;
}

/** One group a campaign reviews, and the catalog role behind it when there is one. */
export interface ScopeGroup {
  groupId: string;
  roleRef?: `${string}/${string}`;
}

/**
 * The groups a scope covers, sorted by id, each once: every role's group of the named apps, the named roles'
 * groups, and the groups named directly. An app or role the catalog does not have is REVIEW.INVALID (a
 * definition naming it is a mistake someone should fix, not an empty review).
 */
export function scopeGroups(catalog: Catalog, scope: CampaignDefinition['scope']): ScopeGroup[] {
  const out = new Map<string, ScopeGroup>();
  const add = (groupId: string, roleRef?: `${string}/${string}`) => {
    const id = groupId.toLowerCase();
    if (!out.has(id) || (roleRef && !out.get(id)?.roleRef)) out.set(id, { groupId: id, roleRef });
  };
  for (const appId of scope.appIds) {
    const app = catalog.apps.find((a) => a.id === appId);
    if (!app)
      throw new ReviewError(
        REVIEW_ERRORS.invalid,
        `The review scope names app '${appId}', which the catalog does not have.`,
      );
    for (const role of app.roles) add(role.groupId, role.ref);
  }
  for (const ref of scope.roleRefs) {
    const role = catalog.apps.flatMap((a) => a.roles).find((r) => r.ref === ref);
    if (!role)
      throw new ReviewError(
        REVIEW_ERRORS.invalid,
        `The review scope names role '${ref}', which the catalog does not have.`,
      );
    add(role.groupId, role.ref);
  }
  for (const g of scope.groupIds) {
    const role = catalog.apps
      .flatMap((a) => a.roles)
      .find((r) => r.groupId.toLowerCase() === g.toLowerCase());
    add(g, role?.ref);
  }
  return [...out.values()].sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
}

/** What the directory said about the people who could review one membership at one stage. */
export interface ReviewerFacts {
  memberId: string;
  /** The member's manager, absent when they have none (a guest, the top of the chart). */
  managerId?: string;
  /** The owners of the membership's group. */
  ownerIds: readonly string[];
  /** The stage's named people, resolved to object ids. */
  peopleIds: readonly string[];
  /** The stage's fallback, resolved to an object id. */
  fallbackId: string;
}

/**
 * Who reviews the membership at this stage. Nobody reviews their own membership except in a self stage: the
 * member is taken out of the list, and when nobody is left (no manager, no owners, only the member) the stage's
 * fallback reviews it. Ids are lower-case, each once, in order.
 */
export function resolveReviewers(stage: ReviewStage, facts: ReviewerFacts): string[] {
  const member = facts.memberId.toLowerCase();
  let found: string[];
  switch (stage.reviewers.kind) {
    case 'self':
      return [member];
    case 'manager':
      found = facts.managerId ? [facts.managerId] : [];
      break;
    case 'group-owners':
      found = [...facts.ownerIds];
      break;
    case 'people':
      found = [...facts.peopleIds];
      break;
  }
  const ids = [...new Set(found.map((id) => id.toLowerCase()))].filter((id) => id !== member);
  return ids.length > 0 ? ids : [facts.fallbackId.toLowerCase()];
}

/** What is known of a member when Attest recommends. */
export interface RecommendationFacts {
  accountEnabled: boolean;
  /** ISO time of the last sign-in, null for never; undefined when sign-in data is unavailable. */
  lastSignIn?: string | null;
  signInUnavailable: boolean;
  /** The ledger's drift findings say the membership was added outside Attest (and no grant claims it). */
  addedOutside: boolean;
  /** The catalog role behind the group, when the member is no longer eligible for it. */
  notEligibleFor?: `${string}/${string}`;
  /** The snapshot's time (ISO). */
  now: string;
  inactiveDays: number;
}

const DAY_MS = 86_400_000;

/**
 * What Attest suggests, with every reason: a disabled account, no sign-in for `inactiveDays` (never guessed when
 * sign-in data is unavailable), added outside Attest, not eligible under the catalog. Any reason recommends
 * revoke; none recommends nothing (a take-the-recommendation default then keeps).
 */
export function recommend(f: RecommendationFacts): Recommendation {
  const reasons: RecommendationReason[] = [];
  if (!f.accountEnabled) reasons.push({ kind: 'account-disabled' });
  if (!f.signInUnavailable && f.lastSignIn !== undefined) {
    const last = f.lastSignIn === null ? undefined : Date.parse(f.lastSignIn);
    const days = last === undefined ? Infinity : Math.floor((Date.parse(f.now) - last) / DAY_MS);
    if (days >= f.inactiveDays) {
      reasons.push({
        kind: 'inactive',
        days: Number.isFinite(days) ? days : f.inactiveDays,
        lastSignIn: f.lastSignIn,
      });
    }
  }
  if (f.addedOutside) reasons.push({ kind: 'outside-attest' });
  if (f.notEligibleFor) reasons.push({ kind: 'not-eligible', roleRef: f.notEligibleFor });
  return {
    value: reasons.length > 0 ? 'revoke' : 'none',
    reasons,
    ...(f.signInUnavailable ? { signInUnavailable: true } : {}),
  };
}

/** A reason in words a reviewer reads. */
export function describeReason(r: RecommendationReason): string {
  switch (r.kind) {
    case 'account-disabled':
      return 'account disabled';
    case 'inactive':
      return r.lastSignIn === null ? 'never signed in' : `no sign-in for ${r.days} days`;
    case 'outside-attest':
      return 'added outside Attest';
    case 'not-eligible':
      return `no longer eligible for ${r.roleRef}`;
  }
}

/** The recommendation in words: its reasons, and "sign-in data unavailable" when it could not be read. */
export function describeRecommendation(r: Recommendation): string {
  const parts = r.reasons.map(describeReason);
  if (r.signInUnavailable) parts.push('sign-in data unavailable');
  return parts.join('; ');
}

/** What the default makes of an item nobody decided: take-the-recommendation with none keeps. */
export function defaultDecisionFor(d: DefaultDecision, r: Recommendation): ReviewDecisionValue {
  if (d === 'keep' || d === 'revoke') return d;
  return r.value === 'revoke' ? 'revoke' : 'keep';
}

/**
 * Whether a removal of `wouldRemove` memberships out of a scope of `scopeSize` must wait for an admin: more than
 * `share` of the scope. Nothing to remove never holds.
 */
export function guardHolds(wouldRemove: number, scopeSize: number, share: number): boolean {
  return wouldRemove > 0 && scopeSize > 0 && wouldRemove > share * scopeSize;
}

/** When each stage closes (ISO): the campaign's duration split equally over its stages, in order. */
export function stageDeadlines(
  startedAt: string,
  def: Pick<CampaignDefinition, 'durationMs' | 'stages'>,
): string[] {
  const start = Date.parse(startedAt);
  const n = Math.max(1, def.stages.length);
  return Array.from({ length: n }, (_, i) =>
    new Date(start + Math.round((def.durationMs * (i + 1)) / n)).toISOString(),
  );
}

/** The reminder times of a stage (ISO), earliest first, only those after the stage opened. */
export function reminderTimes(
  openedAt: string,
  deadline: string,
  remindersBeforeMs: readonly number[],
): string[] {
  const open = Date.parse(openedAt);
  const end = Date.parse(deadline);
  return [...new Set(remindersBeforeMs)]
    .map((ms) => end - ms)
    .filter((t) => t > open && t < end)
    .sort((a, b) => a - b)
    .map((t) => new Date(t).toISOString());
}

/**
 * One line of the snapshot's canonical listing: what the snapshot says of the membership when it was taken
 * (never the decisions). The hash is SHA-256 over these lines sorted by item id, each ended by `\n`.
 */
export function snapshotLine(
  item: Pick<
    ReviewItem,
    'itemId' | 'accountEnabled' | 'lastSignIn' | 'notRemovableBecause' | 'recommendation'
  >,
): string {
  return [
    item.itemId,
    item.accountEnabled ? 'enabled' : 'disabled',
    item.lastSignIn === undefined ? 'unavailable' : (item.lastSignIn ?? 'never'),
    item.recommendation.value,
    item.notRemovableBecause ? 'not-removable' : 'removable',
  ].join('\t');
}

/** Whether a self-stage keep has a justification worth the name. */
export function needsJustification(
  stage: ReviewStage,
  decision: ReviewDecisionValue,
  reason?: string,
): boolean {
  return stage.reviewers.kind === 'self' && decision === 'keep' && (reason ?? '').trim().length < 3;
}

/** The stage with this number (1-based); REVIEW.INVALID when the definition has none. */
export function stageOf(def: CampaignDefinition, n: number): ReviewStage {
  const s = def.stages.find((x) => x.number === n) ?? def.stages[n - 1];
  if (!s) throw new ReviewError(REVIEW_ERRORS.invalid, `Campaign ${def.id} has no stage ${n}.`);
  return s;
}

/** Whether `n` is the definition's last stage. */
export function isLastStage(def: CampaignDefinition, n: number): boolean {
  return n >= def.stages.length;
}

/** Checks a definition can run: at least one stage, a positive duration, a share in (0, 1]. */
export function checkDefinition(def: CampaignDefinition): void {
  const bad = (why: string) =>
    new ReviewError(REVIEW_ERRORS.invalid, `Campaign definition ${def.id}: ${why}.`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(def.id))
    throw bad('its id must be letters, digits, dot, dash or underscore (at most 63)');
  if (def.stages.length === 0) throw bad('it needs at least one stage');
  if (!(def.durationMs > 0)) throw bad('its duration must be positive');
  if (!(def.massRemovalShare > 0 && def.massRemovalShare <= 1))
    throw bad('massRemovalShare must be above 0 and at most 1');
  if (!(def.inactiveDays > 0)) throw bad('inactiveDays must be positive');
  if (!def.signOff) throw bad('it needs a sign-off manager');
  for (const s of def.stages) if (!s.fallback) throw bad(`stage ${s.number} needs a fallback reviewer`);
}

/**
 * The people an item is listed under in the reviewer index: its reviewers now, who handed it on at its current
 * stage (they see where it went), and who decided it at any stage (they see what they decided).
 */
export function reviewIndexIds(
  item: Pick<ReviewItem, 'reviewerIds' | 'delegations' | 'decisions' | 'stage'>,
): string[] {
  const ids = new Set(item.reviewerIds.map((id) => id.toLowerCase()));
  for (const d of item.delegations) if (d.stage === item.stage) ids.add(d.from.toLowerCase());
  for (const d of item.decisions) if (d.by !== 'system') ids.add(d.by.toLowerCase());
  return [...ids].sort();
}
