/**
 * The `review-campaign` orchestration's activities. Items live in the review tables, never in the history: every
 * activity takes a campaign id (and a stage, a chunk index) and returns counts.
 *
 * Each activity can run twice (a retry, a host killed mid-run) and the world ends up the same: snapshot chunks
 * are upserts of rows nobody decides on until the campaign opens; the opening, advancing, defaults and releases
 * select the items still to do by their columns (`stage`, `undecided`, `held`, `toApply`) and write each one
 * against its ETag; a final decision is carried out once (its outcome is written after the removal, and a second
 * governed removal of a membership already gone is `already-gone`, not a second removal).
 */
import { mapPool } from './map-pool';
import {
  attemptRefused,
  reviewApplied,
  reviewCompleted,
  reviewDecided,
  reviewGuardHeld,
  reviewReminderSent,
  reviewStarted,
  reviewStream,
  type AuditContext,
} from '../domain/audit/audit-events';
import type { AuditActor, AuditEventInput } from '../domain/audit/audit-event.model';
import { isEligible, findRoleByRef } from '../domain/catalog/catalog.policy';
import { whyGraphCannotChange } from '../domain/catalog/group-kind.rule';
import { DomainError } from '../domain/domain-error';
import { grantClaims } from '../domain/ledger/membership-ledger';
import type {
  ApplyOutcome,
  Campaign,
  ReviewItem,
  ReviewStage,
  StageDecision,
} from '../domain/review/review.model';
import {
  defaultDecisionFor,
  describeRecommendation,
  guardHolds,
  isLastStage,
  recommend,
  resolveReviewers,
  reviewItemId,
  scopeGroups,
  stageDeadlines,
  stageOf,
  REVIEW_ERRORS,
  ReviewError,
} from '../domain/review/review.rules';
import type { DirectoryGroup, DirectoryUser } from '../ports/directory.port';
import type { DurableClientPort } from '../ports/durable-client.port';
import type { ReviewNotice, ReviewNoticeKind, ReviewNotifier } from '../ports/review-notifier.port';
import type { ReviewStore, Versioned } from '../ports/review-store.port';
import type { RevokeEvent } from './access-request.types';
import { governedRemove } from './membership.operations';
import { EventNames } from './names';
import type { WorkflowDeps } from './workflow-deps';
import { appendReviewEvent } from './review-ticket-outbox';

/** Groups per snapshot activity: one activity call stays short even with 1,000 groups in scope. */
export const GROUPS_PER_CHUNK = 20;
/** Decisions carried out per apply activity (about 10 s of writes at Graph's quota). */
export const APPLY_SLICE = 200;
/** Items listed per `review.decided` event (a table property holds 32K characters). */
const AUDIT_ITEMS_PER_EVENT = 100;
/** Items on a notice: a reviewer with this many or fewer decides on the card itself. */
export const ITEMS_ON_CARD = 10;
/** Directory calls in flight at once while snapshotting. */
const LOOKUP_CONCURRENCY = 8;
/** Removals in flight at once; the shared WritePacer keeps them under Graph's write quota. */
const REMOVAL_CONCURRENCY = 16;

const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };

/** The ports the review needs, present. */
export type ReviewDeps = WorkflowDeps & { reviews: ReviewStore; reviewNotifier: ReviewNotifier };

/** The workflow's ports with the review's, or a message that says this host does not run reviews. */
export function reviewDeps(deps: WorkflowDeps): ReviewDeps {
  if (!deps.reviews || !deps.reviewNotifier) {
    throw new DomainError('REVIEW.UNAVAILABLE', 'This host was built without the access-review store.');
  }
  return deps as ReviewDeps;
}

/** What every activity of a campaign takes. */
export interface CampaignRef {
  campaignId: string;
}

export { mapPool };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export async function loadCampaign(deps: ReviewDeps, campaignId: string): Promise<Versioned<Campaign>> {
  const c = await deps.reviews.getCampaign(campaignId);
  if (!c) throw new ReviewError(REVIEW_ERRORS.notFound, `There is no review campaign ${campaignId}.`);
  return c;
}

/** Changes the campaign row, reading again whenever another writer got there first. */
export async function updateCampaign(
  deps: ReviewDeps,
  campaignId: string,
  change: (c: Campaign) => Campaign | undefined,
): Promise<Campaign> {
  for (let i = 0; i < 20; i++) {
    const { value, etag } = await loadCampaign(deps, campaignId);
    const next = change(value);
    if (!next) return value;
    if (await deps.reviews.putCampaign(next, etag)) return next;
  }
  throw new ReviewError(REVIEW_ERRORS.conflict, `Campaign ${campaignId} kept changing; try again.`);
}

/** Changes one item against its ETag, reading again on a conflict; undefined when `change` leaves it. */
export async function updateItem(
  deps: ReviewDeps,
  campaignId: string,
  itemId: string,
  change: (item: ReviewItem) => ReviewItem | undefined,
  first?: Versioned<ReviewItem>,
): Promise<ReviewItem | undefined> {
  let current = first;
  for (let i = 0; i < 20; i++) {
    current ??= await deps.reviews.getItem(campaignId, itemId);
    if (!current) return undefined;
    const next = change(current.value);
    if (!next) return undefined;
    if (await deps.reviews.putItem(next, current.etag, current.value)) return next;
    current = undefined;
  }
  throw new ReviewError(REVIEW_ERRORS.conflict, `Item ${itemId} kept changing; try again.`);
}

/** The campaign's audit context. */
export function campaignCtx(campaignId: string, actor: AuditActor = SYSTEM, subject?: string): AuditContext {
  return {
    stream: reviewStream(campaignId),
    actor,
    subject: subject ?? `campaign:${campaignId}`,
    correlation: { instanceId: `review-${campaignId}` },
  };
}

/** Appends `input` unless the stream already has an event for which `same` holds (a replayed activity). */
async function appendOnce(
  deps: ReviewDeps,
  input: AuditEventInput,
  same: (e: { action: string; details: Record<string, unknown> }) => boolean,
): Promise<void> {
  for await (const e of deps.audit.read(input.stream)) if (e.action === input.action && same(e)) return;
  await appendReviewEvent(deps, input);
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An object id for a UPN or id; REVIEW.INVALID when the directory has no such person. */
export async function resolvePersonId(deps: WorkflowDeps, idOrUpn: string): Promise<string> {
  if (GUID.test(idOrUpn)) return idOrUpn.toLowerCase();
  const u = await deps.directory.getUser(idOrUpn);
  if (!u) throw new ReviewError(REVIEW_ERRORS.invalid, `The directory has no person '${idOrUpn}'.`);
  return u.id.toLowerCase();
}

/** Looks people's managers and groups' owners up once per activity. */
class ReviewerLookup {
  private readonly managers = new Map<string, Promise<string | undefined>>();
  private readonly owners = new Map<string, Promise<string[]>>();
  private readonly people = new Map<string, Promise<string>>();

  constructor(private readonly deps: ReviewDeps) {}

  manager(userId: string): Promise<string | undefined> {
    let p = this.managers.get(userId);
    if (!p) {
      p = this.deps.directory.managerChain(userId, 1).then(
        (chain) => chain[0]?.id.toLowerCase(),
        (err: unknown) => {
          // A member deleted since the listing has no manager to ask: the fallback reviews it.
          if (err instanceof DomainError && err.code === 'DIRECTORY.NOT_FOUND') return undefined;
          throw err;
        },
      );
      this.managers.set(userId, p);
    }
    return p;
  }

  groupOwners(groupId: string): Promise<string[]> {
    let p = this.owners.get(groupId);
    if (!p) {
      p = this.deps.directory.groupOwners(groupId).then((us) => us.map((u) => u.id.toLowerCase()));
      this.owners.set(groupId, p);
    }
    return p;
  }

  person(idOrUpn: string): Promise<string> {
    let p = this.people.get(idOrUpn);
    if (!p) {
      p = resolvePersonId(this.deps, idOrUpn);
      this.people.set(idOrUpn, p);
    }
    return p;
  }

  async reviewers(stage: ReviewStage, groupId: string, memberId: string): Promise<string[]> {
    const fallbackId = await this.person(stage.fallback);
    const src = stage.reviewers;
    return resolveReviewers(stage, {
      memberId,
      fallbackId,
      managerId: src.kind === 'manager' ? await this.manager(memberId) : undefined,
      ownerIds: src.kind === 'group-owners' ? await this.groupOwners(groupId) : [],
      peopleIds: src.kind === 'people' ? await Promise.all(src.people.map((p) => this.person(p))) : [],
    });
  }
}

/** What the plan found. */
export interface PlanSummary {
  groups: number;
  chunks: number;
  stages: number;
  remindersBeforeMs: number[];
}

/** Resolves the scope into groups (sorted) and stores them in chunks of {@link GROUPS_PER_CHUNK}. */
export async function reviewPlan(wdeps: WorkflowDeps, input: CampaignRef): Promise<PlanSummary> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const groups = scopeGroups(deps.catalog.catalog, campaign.definition.scope);
  const chunks: { groupId: string; roleRef?: string }[][] = [];
  for (let i = 0; i < groups.length; i += GROUPS_PER_CHUNK)
    chunks.push(groups.slice(i, i + GROUPS_PER_CHUNK));
  await deps.reviews.putScopeChunks(input.campaignId, chunks);
  return {
    groups: groups.length,
    chunks: chunks.length,
    stages: campaign.definition.stages.length,
    remindersBeforeMs: [...campaign.definition.remindersBeforeMs],
  };
}

/** One snapshot chunk. */
export interface SnapshotChunkInput extends CampaignRef {
  index: number;
}

/** What one chunk wrote. */
export interface ChunkSummary {
  groups: number;
  items: number;
  notRemovable: number;
  signInUnavailable: boolean;
  /** Groups in scope the directory no longer has (left out, and said so). */
  missingGroups: string[];
}

/**
 * Snapshots one chunk of groups: their members (users only, every page), the members' last sign-ins (one
 * request per 20 users through $batch; "unavailable" when the tenant or permission does not allow, never
 * guessed), each group's kind (dynamic / on-premises-synced / mail-enabled → not removable), the ledger's claims
 * and drift findings, eligibility under the catalog, and the first stage's reviewers. Items are written 100 per
 * transaction.
 */
export async function reviewSnapshotChunk(
  wdeps: WorkflowDeps,
  input: SnapshotChunkInput,
): Promise<ChunkSummary> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const out: ChunkSummary = {
    groups: 0,
    items: 0,
    notRemovable: 0,
    signInUnavailable: false,
    missingGroups: [],
  };
  // A snapshot never changes once the campaign opened (a replayed chunk after that writes nothing).
  if (campaign.status !== 'snapshotting') return out;
  const def = campaign.definition;
  const groups = await deps.reviews.scopeChunk(input.campaignId, input.index);
  const now = deps.clock.now().toISOString();
  const lookup = new ReviewerLookup(deps);
  const stage1 = stageOf(def, 1);

  // The groups and their members in as few requests as the directory allows ($batch of 20 through Graph).
  const listed = deps.directory.groupsWithMembers
    ? await deps.directory.groupsWithMembers(groups.map((g) => g.groupId))
    : undefined;
  const perGroup = await mapPool(groups, LOOKUP_CONCURRENCY, async (g) => {
    let found: { group: DirectoryGroup; members: DirectoryUser[] } | undefined;
    if (listed) found = listed.get(g.groupId);
    else {
      const group = await deps.directory.getGroup(g.groupId);
      found = group && { group, members: await deps.directory.groupMembers(g.groupId) };
    }
    if (!found) return undefined;
    const [ledgerRows, findings] = await Promise.all([
      deps.ledger.byGroup(g.groupId),
      deps.reconcile.findings({ groupId: g.groupId }),
    ]);
    return { g, group: found.group, members: found.members, ledgerRows, findings };
  });

  const distinct = new Map<string, DirectoryUser>();
  for (const pg of perGroup) for (const m of pg?.members ?? []) distinct.set(m.id.toLowerCase(), m);
  let signIns: Map<string, Date | null> | undefined;
  try {
    signIns = distinct.size ? await deps.directory.lastSignIns([...distinct.keys()]) : new Map();
  } catch (err) {
    // No AuditLog.Read.All, or no Entra ID P1/P2: say so on every item, never guess.
    if (err instanceof DomainError && err.code === 'DIRECTORY.FORBIDDEN') signIns = undefined;
    else throw err;
  }
  out.signInUnavailable = signIns === undefined;

  // Eligibility, for members of groups behind catalog roles that restrict who may hold them.
  const eligibilityGroups = new Map<string, Promise<string[]>>();
  const memberGroupsOf = (userId: string, candidates: readonly string[]) => {
    const key = `${userId}|${candidates.join(',')}`;
    let p = eligibilityGroups.get(key);
    if (!p) {
      p = deps.directory.memberGroupIds(userId, [...candidates]);
      eligibilityGroups.set(key, p);
    }
    return p;
  };

  const items: ReviewItem[] = [];
  for (const pg of perGroup) {
    if (!pg) continue;
    out.groups++;
    const { g, group, members, ledgerRows, findings } = pg;
    const notRemovable = whyGraphCannotChange(group)
      .filter((r) => r.severity === 'error')
      .map((r) => r.reason)
      .join('; ');
    const role = g.roleRef ? findRoleByRef(deps.catalog.catalog, g.roleRef) : undefined;
    const byUser = new Map(ledgerRows.map((e) => [e.userId.toLowerCase(), e]));
    const addedOutside = new Set(
      findings.filter((f) => f.kind === 'added-outside').map((f) => f.userId.toLowerCase()),
    );
    const built = await mapPool(members, LOOKUP_CONCURRENCY, async (m): Promise<ReviewItem> => {
      const userId = m.id.toLowerCase();
      const entry = byUser.get(userId);
      const grants = entry ? grantClaims(entry).map((c) => c.requestId) : [];
      let notEligibleFor: `${string}/${string}` | undefined;
      if (role && (role.eligibility.groupIds.length > 0 || role.eligibility.departments.length > 0)) {
        const inGroups = role.eligibility.groupIds.length
          ? await memberGroupsOf(userId, role.eligibility.groupIds)
          : [];
        if (!isEligible(role, { groupIds: inGroups, department: m.department ?? null }))
          notEligibleFor = role.ref;
      }
      const last = signIns?.has(userId) ? (signIns.get(userId) ?? null) : signIns ? null : undefined;
      const lastSignIn = last === undefined ? undefined : last === null ? null : last.toISOString();
      const recommendation = recommend({
        accountEnabled: m.accountEnabled,
        lastSignIn,
        signInUnavailable: signIns === undefined,
        addedOutside: addedOutside.has(userId) && grants.length === 0,
        notEligibleFor,
        now,
        inactiveDays: def.inactiveDays,
      });
      const reviewerIds = await lookup.reviewers(stage1, g.groupId, userId);
      return {
        campaignId: campaign.id,
        itemId: reviewItemId(g.groupId, userId),
        groupId: g.groupId,
        groupName: group.displayName,
        ...(g.roleRef ? { roleRef: g.roleRef as `${string}/${string}` } : {}),
        userId,
        userDisplayName: m.displayName,
        userPrincipalName: m.userPrincipalName,
        accountEnabled: m.accountEnabled,
        ...(lastSignIn !== undefined ? { lastSignIn } : {}),
        recommendation,
        ...(notRemovable ? { notRemovableBecause: notRemovable } : {}),
        grantRequestIds: grants,
        outsideAttest: grants.length === 0,
        stage: 1,
        reviewerIds,
        originalReviewerIds: reviewerIds,
        decisions: [],
        delegations: [],
      };
    });
    if (notRemovable) out.notRemovable += built.length;
    items.push(...built);
  }
  out.missingGroups = perGroup.flatMap((pg, i) => (pg ? [] : [groups[i].groupId]));
  await deps.reviews.putSnapshotItems(items);
  out.items = items.length;
  return out;
}

/** What opening found. */
export type OpenResult = { empty: true } | { empty: false; count: number; hash: string; deadlines: string[] };

/**
 * Seals the snapshot: its count and SHA-256 over the canonical listing are written to the campaign and audited
 * (`review.started`), and the campaign opens at stage 1. An empty snapshot drops the campaign: no campaign, no
 * notice.
 */
export async function reviewOpen(
  wdeps: WorkflowDeps,
  input: CampaignRef & { groups: number; notRemovable: number; signInUnavailable: boolean },
): Promise<OpenResult> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const deadlines = stageDeadlines(campaign.startedAt, campaign.definition);
  if (campaign.status === 'snapshotting') {
    const digest = await deps.reviews.snapshotDigest(campaign.id);
    if (digest.count === 0) {
      await deps.reviews.deleteCampaign(campaign.id);
      return { empty: true };
    }
    await updateCampaign(deps, campaign.id, (c) =>
      c.status !== 'snapshotting'
        ? undefined
        : {
            ...c,
            status: 'active',
            stage: 1,
            stageDeadline: deadlines[0],
            snapshot: { count: digest.count, hash: digest.hash, takenAt: deps.clock.now().toISOString() },
            counts: { ...c.counts, items: digest.count },
          },
    );
  }
  const { value: open } = await loadCampaign(deps, input.campaignId);
  const snap = open.snapshot ?? { count: 0, hash: '' };
  await appendOnce(
    deps,
    reviewStarted(campaignCtx(open.id, actorOf(open)), {
      definitionId: open.definition.id,
      name: open.definition.name,
      count: snap.count,
      hash: snap.hash,
      groups: input.groups,
      stages: open.definition.stages.length,
      deadlines,
      notRemovable: input.notRemovable,
      signInUnavailable: input.signInUnavailable,
    }),
    () => true,
  );
  return { empty: false, count: snap.count, hash: snap.hash, deadlines };
}

function actorOf(c: Campaign): AuditActor {
  return c.startedBy === 'system' || c.startedBy === 'schedule'
    ? SYSTEM
    : { objectId: c.startedBy, channel: 'tab' };
}

/** A stage and when it happens. */
export interface StageInput extends CampaignRef {
  stage: number;
  /** The orchestration's time (ISO): the same on every replay. */
  at: string;
}

/**
 * Moves every item at the previous stage to `stage`, with that stage's reviewers; the earlier decisions stay on
 * the item for the later stage to see. Updates the campaign's stage and deadline.
 */
export async function reviewAdvance(wdeps: WorkflowDeps, input: StageInput): Promise<{ moved: number }> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const stage = stageOf(campaign.definition, input.stage);
  const lookup = new ReviewerLookup(deps);
  const behind = await collect(deps.reviews.items(campaign.id, { stage: input.stage - 1 }));
  let moved = 0;
  await mapPool(behind, LOOKUP_CONCURRENCY, async (v) => {
    const reviewerIds = await lookup.reviewers(stage, v.value.groupId, v.value.userId);
    const done = await updateItem(
      deps,
      campaign.id,
      v.value.itemId,
      (item) =>
        item.stage >= input.stage
          ? undefined
          : { ...item, stage: input.stage, reviewerIds, originalReviewerIds: reviewerIds },
      v,
    );
    if (done) moved++;
  });
  const deadlines = stageDeadlines(campaign.startedAt, campaign.definition);
  await updateCampaign(deps, campaign.id, (c) =>
    c.stage >= input.stage
      ? undefined
      : { ...c, stage: input.stage, stageDeadline: deadlines[input.stage - 1] },
  );
  return { moved };
}

/** Whether an item waits on a decision at its stage. */
function pending(item: ReviewItem): boolean {
  return !item.held && !item.decisions.some((d) => d.stage === item.stage);
}

/** A notice round. */
export interface NotifyInput extends StageInput {
  kind: Extract<ReviewNoticeKind, 'review-assigned' | 'review-reminder'>;
}

/**
 * Tells each reviewer with items left at the stage: their pending and total counts, and the items themselves
 * when there are {@link ITEMS_ON_CARD} or fewer. Nobody with nothing left hears anything. Audited once per round.
 */
export async function reviewNotify(
  wdeps: WorkflowDeps,
  input: NotifyInput,
): Promise<{ recipients: string[] }> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const per = new Map<string, { pending: ReviewItem[]; total: number }>();
  for await (const { value: item } of deps.reviews.items(campaign.id, { stage: input.stage })) {
    for (const r of item.reviewerIds) {
      const e = per.get(r) ?? { pending: [], total: 0 };
      e.total++;
      if (pending(item)) e.pending.push(item);
      per.set(r, e);
    }
  }
  const recipients = [...per.entries()]
    .filter(([, e]) => e.pending.length > 0)
    .map(([r]) => r)
    .sort();
  const deadline = campaign.stageDeadline ?? '';
  for (const r of recipients) {
    const e = per.get(r) as { pending: ReviewItem[]; total: number };
    const notice: ReviewNotice = {
      kind: input.kind,
      id: `${input.kind}-${input.stage}-${input.at}-${r}`,
      campaignId: campaign.id,
      campaignName: campaign.definition.name,
      recipientId: r,
      pending: e.pending.length,
      total: e.total,
      deadline,
      ...(e.pending.length <= ITEMS_ON_CARD ? { items: e.pending } : {}),
      text:
        input.kind === 'review-assigned'
          ? `You have ${e.pending.length} access ${e.pending.length === 1 ? 'membership' : 'memberships'} to review in "${campaign.definition.name}" by ${deadline}.`
          : `Reminder: ${e.pending.length} of your ${e.total} access reviews in "${campaign.definition.name}" are still open; the stage closes ${deadline}.`,
    };
    await deps.reviewNotifier.notifyReviewer(notice);
  }
  if (recipients.length > 0) {
    await appendOnce(
      deps,
      reviewReminderSent(campaignCtx(campaign.id), { kind: input.kind, stage: input.stage, recipients }),
      (e) =>
        e.details.kind === input.kind &&
        e.details.stage === input.stage &&
        sameList(e.details.recipients, recipients),
    );
  }
  return { recipients };
}

function sameList(a: unknown, b: string[]): boolean {
  return Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The Attest admins (members of the admin group), for guard notices. */
async function adminIds(deps: ReviewDeps): Promise<string[]> {
  if (!deps.adminGroupId) return [];
  try {
    return (await deps.directory.groupMembers(deps.adminGroupId)).map((u) => u.id.toLowerCase());
  } catch {
    const known = await deps.reconcile.knownAdmins();
    return known ?? [];
  }
}

/** Tells the admins that a removal waits for them. */
export async function noticeGuardHeld(
  deps: ReviewDeps,
  campaign: Campaign,
  wouldRemove: number,
  at: string,
): Promise<void> {
  for (const admin of await adminIds(deps)) {
    await deps.reviewNotifier.notifyReviewer({
      kind: 'review-guard-held',
      id: `guard-${campaign.stage}-${at}-${admin}`,
      campaignId: campaign.id,
      campaignName: campaign.definition.name,
      recipientId: admin,
      pending: wouldRemove,
      total: campaign.counts.items,
      deadline: campaign.stageDeadline ?? '',
      text:
        `"${campaign.definition.name}" would remove ${wouldRemove} of ${campaign.counts.items} memberships, more than ` +
        `${Math.round(campaign.definition.massRemovalShare * 100)}% of its scope: nothing is removed until an admin confirms in the tab.`,
    });
  }
}

/** What the deadline did. */
export type DeadlineResult =
  { held: true; wouldRemove: number } | { held: false; defaulted: number; final: number };

/**
 * At a stage's deadline: the definition's default for every item nobody decided (keep, revoke, or the
 * recommendation — none means keep). At the last stage, a default that would remove more than the guard's share
 * of the scope is held: the campaign waits for an admin (`awaiting-confirmation`), admins are told and nothing is
 * removed. `confirmed` is set once an admin let it go ahead.
 */
export async function reviewDeadline(
  wdeps: WorkflowDeps,
  input: StageInput & { confirmed: boolean },
): Promise<DeadlineResult> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  const def = campaign.definition;
  const last = isLastStage(def, input.stage);
  const undecided = await collect(deps.reviews.items(campaign.id, { stage: input.stage, undecided: true }));
  const choice = undecided.map((v) => ({
    v,
    decision: defaultDecisionFor(def.defaultDecision, v.value.recommendation),
  }));
  const wouldRemove = choice.filter((c) => c.decision === 'revoke').length;
  const scopeSize = campaign.counts.items;
  if (last && !input.confirmed && guardHolds(wouldRemove, scopeSize, def.massRemovalShare)) {
    const held = await updateCampaign(deps, campaign.id, (c) =>
      c.status === 'awaiting-confirmation' && c.guard?.action === 'default'
        ? undefined
        : {
            ...c,
            status: 'awaiting-confirmation',
            guard: { action: 'default', wouldRemove, scopeSize, share: def.massRemovalShare },
          },
    );
    await appendOnce(
      deps,
      reviewGuardHeld(campaignCtx(campaign.id), {
        action: 'default',
        stage: input.stage,
        wouldRemove,
        scopeSize,
        share: def.massRemovalShare,
      }),
      (e) => e.details.action === 'default' && e.details.stage === input.stage,
    );
    await noticeGuardHeld(deps, held, wouldRemove, input.at);
    return { held: true, wouldRemove };
  }
  const at = input.at;
  const decided: { itemId: string; decision: 'keep' | 'revoke'; final: boolean }[] = [];
  await mapPool(choice, LOOKUP_CONCURRENCY, async ({ v, decision }) => {
    const d: StageDecision = { stage: input.stage, decision, by: 'system', at, source: 'default' };
    const done = await updateItem(
      deps,
      campaign.id,
      v.value.itemId,
      (item) =>
        item.stage !== input.stage || !pending(item)
          ? undefined
          : { ...item, decisions: [...item.decisions, d], ...(last ? { final: decision } : {}) },
      v,
    );
    if (done) decided.push({ itemId: v.value.itemId, decision, final: last });
  });
  decided.sort((a, b) => (a.itemId < b.itemId ? -1 : 1));
  for (let i = 0; i < decided.length; i += AUDIT_ITEMS_PER_EVENT) {
    await appendReviewEvent(
      deps,
      reviewDecided(campaignCtx(campaign.id), {
        stage: input.stage,
        source: 'default',
        items: decided.slice(i, i + AUDIT_ITEMS_PER_EVENT),
      }),
    );
  }
  if (campaign.status === 'awaiting-confirmation' && campaign.guard?.action === 'default') {
    await updateCampaign(deps, campaign.id, (c) =>
      c.status === 'awaiting-confirmation' ? { ...c, status: 'active' } : undefined,
    );
  }
  return { held: false, defaulted: decided.length, final: last ? decided.length : 0 };
}

/**
 * Turns decisions the guard held (a bulk action over the share) into decisions, once an admin confirmed; the
 * campaign is active again.
 */
export async function reviewRelease(wdeps: WorkflowDeps, input: CampaignRef): Promise<{ released: number }> {
  const deps = reviewDeps(wdeps);
  const { value: campaign } = await loadCampaign(deps, input.campaignId);
  // A `confirm` delivered twice (or late) must not let a later, unconfirmed hold go.
  if (
    campaign.status === 'awaiting-confirmation' &&
    campaign.guard?.action === 'bulk' &&
    !campaign.guard.confirmedAt
  )
    return { released: 0 };
  const held = await collect(deps.reviews.items(campaign.id, { held: true }));
  let released = 0;
  await mapPool(held, LOOKUP_CONCURRENCY, async (v) => {
    const done = await updateItem(
      deps,
      campaign.id,
      v.value.itemId,
      (item) => {
        if (!item.held) return undefined;
        const { held: d, ...rest } = item;
        const last = isLastStage(campaign.definition, d.stage);
        return { ...rest, decisions: [...rest.decisions, d], ...(last ? { final: d.decision } : {}) };
      },
      v,
    );
    if (done) released++;
  });
  await updateCampaign(deps, campaign.id, (c) =>
    c.status === 'awaiting-confirmation' && c.guard?.action === 'bulk'
      ? { ...c, status: 'active' }
      : undefined,
  );
  return { released };
}

/** What the campaign row says when an orchestration resumes after continuing as new. */
export interface ResumeCheck {
  /** An admin asked to close the campaign early. */
  closeRequested: boolean;
  /** An admin confirmed a held bulk removal that is still held (its `confirm` signal may have been lost). */
  confirmed: boolean;
}

/**
 * Reads what a signal lost across a continue-as-new would have said: durable-functions (JS) drops external
 * events the ending execution had not taken, so the service records a close or a confirm on the campaign row
 * before it signals, and the resumed orchestration reads it here. Read-only.
 */
export async function reviewResume(wdeps: WorkflowDeps, input: CampaignRef): Promise<ResumeCheck> {
  const { value: c } = await loadCampaign(reviewDeps(wdeps), input.campaignId);
  return {
    closeRequested: c.closeRequested !== undefined,
    confirmed:
      c.status === 'awaiting-confirmation' && c.guard?.action === 'bulk' && c.guard.confirmedAt !== undefined,
  };
}

/** What a slice of carrying out did. */
export interface ApplySummary {
  processed: number;
  applied: number;
  alreadyGone: number;
  cannotApply: number;
  failed: number;
  kept: number;
  /** Final decisions still to carry out after this slice. */
  remaining: number;
}

/** A slice of final decisions to carry out. */
export interface ApplyInput extends CampaignRef {
  limit: number;
}

/**
 * Carries out up to `limit` final decisions: a keep is recorded as kept; a revoke goes through the ledger's
 * governed removal (reason `review`, paced by the shared WritePacer), which ends every Attest grant on the
 * membership; the request of each ended grant is closed by raising its Revoke event (reason `review`). Each
 * result is audited with the decision that caused it: applied, already-gone, cannot-apply (a group Graph cannot
 * change) or failed-retrying (the removal stays owed in the ledger and the reconcile's overdue path retries it).
 */
export async function reviewApply(
  wdeps: WorkflowDeps,
  input: ApplyInput,
  durable?: DurableClientPort,
): Promise<ApplySummary> {
  const deps = reviewDeps(wdeps);
  const out: ApplySummary = {
    processed: 0,
    applied: 0,
    alreadyGone: 0,
    cannotApply: 0,
    failed: 0,
    kept: 0,
    remaining: 0,
  };
  const slice: Versioned<ReviewItem>[] = [];
  for await (const v of deps.reviews.items(input.campaignId, { toApply: true })) {
    if (slice.length < input.limit) slice.push(v);
    else out.remaining++;
  }
  // The removals run 16 at a time, but their `review.applied` events all go to the campaign's one stream: they are
  // appended one after another (concurrent appends to one stream would keep taking each other's next seq).
  let appends: Promise<unknown> = Promise.resolve();
  const appendInTurn = (event: AuditEventInput) => {
    const mine = appends.then(() => appendReviewEvent(deps, event));
    appends = mine.catch(() => undefined);
    return mine;
  };
  await mapPool(slice, REMOVAL_CONCURRENCY, async (v) => {
    const item = v.value;
    const decision =
      [...item.decisions].reverse().find((d) => d.decision === item.final) ??
      item.decisions[item.decisions.length - 1];
    let outcome: ApplyOutcome;
    let detail: string | undefined;
    let ended: string[] = [];
    if (item.final === 'keep') {
      outcome = 'kept';
    } else if (item.notRemovableBecause) {
      outcome = 'cannot-apply';
      detail = `Graph cannot remove this membership: ${item.notRemovableBecause}`;
    } else {
      // Marked first: a replay after a crash between the removal and the outcome knows it may have removed.
      if (!item.applyingSince) {
        await updateItem(deps, item.campaignId, item.itemId, (cur) =>
          cur.outcome !== undefined || cur.applyingSince
            ? undefined
            : { ...cur, applyingSince: deps.clock.now().toISOString() },
        );
      }
      const r = await governedRemove(deps, { groupId: item.groupId, userId: item.userId, reason: 'review' });
      if (r.ok) {
        ended = r.endedRequestIds ?? [];
        if (r.membership === 'removed') outcome = 'applied';
        else if (r.membership === 'not-member') outcome = 'already-gone';
        else {
          outcome = 'cannot-apply';
          detail = r.keptBecause;
        }
      } else if (r.permanent) {
        outcome = 'cannot-apply';
        detail = r.reason;
      } else {
        outcome = 'failed-retrying';
        detail = `${r.reason} The removal stays owed in the membership ledger; the reconcile retries it.`;
      }
    }
    // The Attest requests whose grants the removal ended close as revoked by review.
    for (const requestId of ended) await closeRequest(deps, durable, item, requestId);
    // A replay of an item audited before the crash keeps that result and writes no second event.
    const earlier = item.applyingSince ? await appliedEvent(deps, item) : undefined;
    if (earlier) {
      outcome = earlier.outcome;
      detail = earlier.detail;
    } else if (outcome !== 'kept') {
      await appendInTurn(
        reviewApplied(campaignCtx(item.campaignId, SYSTEM, `group:${item.groupId}/user:${item.userId}`), {
          itemId: item.itemId,
          group: { id: item.groupId, name: item.groupName },
          userId: item.userId,
          decision: {
            stage: decision?.stage ?? item.stage,
            by: decision?.by ?? 'system',
            source: decision?.source ?? 'default',
            at: decision?.at ?? '',
          },
          outcome,
          detail,
          endedRequestIds: ended,
        }),
      );
    }
    const result = outcome;
    await updateItem(deps, item.campaignId, item.itemId, (cur) =>
      cur.outcome !== undefined
        ? undefined
        : { ...cur, outcome: result, ...(detail ? { outcomeDetail: detail } : {}) },
    );
    out.processed++;
    if (outcome === 'applied') out.applied++;
    else if (outcome === 'already-gone') out.alreadyGone++;
    else if (outcome === 'cannot-apply') out.cannotApply++;
    else if (outcome === 'failed-retrying') out.failed++;
    else out.kept++;
  });
  return out;
}

/** The `review.applied` event of an item, when its stream has one (a replay after a crash). */
async function appliedEvent(
  deps: ReviewDeps,
  item: ReviewItem,
): Promise<{ outcome: ApplyOutcome; detail?: string } | undefined> {
  for await (const e of deps.audit.read(reviewStream(item.campaignId))) {
    if (e.action === 'review.applied' && e.details.itemId === item.itemId) {
      const d = e.details as { outcome: ApplyOutcome; detail?: string };
      return { outcome: d.outcome, ...(d.detail ? { detail: d.detail } : {}) };
    }
  }
  return undefined;
}

/** Raises Revoke (reason `review`) on the request's orchestration; a request already over is fine. */
async function closeRequest(
  deps: ReviewDeps,
  durable: DurableClientPort | undefined,
  item: ReviewItem,
  requestId: string,
): Promise<void> {
  if (!durable) {
    await appendReviewEvent(
      deps,
      attemptRefused(campaignCtx(item.campaignId, SYSTEM, `request:${requestId}`), {
        code: 'REVIEW.NO_DURABLE_CLIENT',
        reason: `request ${requestId} could not be closed: this host gave the activity no durable client`,
      }),
    );
    return;
  }
  const event: RevokeEvent = {
    eventId: `review-${item.campaignId}-${item.itemId}`,
    actor: SYSTEM,
    reason: 'review',
  };
  try {
    await durable.raiseEvent(requestId, EventNames.revoke, event, { eventId: event.eventId });
  } catch (err) {
    const code = (err as { code?: string }).code;
    // The request ended already (expired, revoked): nothing to close.
    if (code === 'INSTANCE.NOT_RUNNING' || code === 'INSTANCE.NOT_FOUND') return;
    throw err;
  }
}

/**
 * Closes the campaign: its counts from the items, `review.completed` audited, and the sign-off manager asked.
 */
export async function reviewComplete(
  wdeps: WorkflowDeps,
  input: CampaignRef & { at: string },
): Promise<Campaign> {
  const deps = reviewDeps(wdeps);
  const counts = { items: 0, decided: 0, kept: 0, revoked: 0, applied: 0, failed: 0 };
  let cannotApply = 0;
  for await (const { value: item } of deps.reviews.items(input.campaignId)) {
    counts.items++;
    if (item.final) counts.decided++;
    if (item.final === 'keep') counts.kept++;
    if (item.final === 'revoke') counts.revoked++;
    if (item.outcome === 'applied' || item.outcome === 'already-gone') counts.applied++;
    if (item.outcome === 'failed-retrying') counts.failed++;
    if (item.outcome === 'cannot-apply') cannotApply++;
  }
  const done = await updateCampaign(deps, input.campaignId, (c) =>
    c.status === 'completed' || c.status === 'signed-off' ? undefined : { ...c, status: 'completed', counts },
  );
  await appendOnce(
    deps,
    reviewCompleted(campaignCtx(input.campaignId), { ...counts, cannotApply }),
    () => true,
  );
  const signOffId = done.signOffId ?? (await resolvePersonId(deps, done.definition.signOff));
  await deps.reviewNotifier.notifyReviewer({
    kind: 'review-signoff-requested',
    id: `signoff-${input.campaignId}`,
    campaignId: input.campaignId,
    campaignName: done.definition.name,
    recipientId: signOffId,
    pending: 0,
    total: counts.items,
    deadline: input.at,
    text: `"${done.definition.name}" is complete: ${counts.kept} kept, ${counts.revoked} revoked (${counts.failed} removals still retrying). Please sign it off in the tab.`,
  });
  return done;
}

/** The recommendation's reasons in words (for the CSV and the tab). */
export function recommendationText(item: ReviewItem): string {
  return describeRecommendation(item.recommendation);
}

/**
 * The whole snapshot of a stored campaign in one call, as the orchestration runs it (plan, chunks four at a
 * time, open): for the bench and for tools that snapshot without the orchestration.
 */
export async function snapshotCampaign(
  deps: WorkflowDeps,
  campaignId: string,
  chunksAtOnce = 4,
): Promise<{ plan: PlanSummary; chunks: ChunkSummary[]; open: OpenResult }> {
  const plan = await reviewPlan(deps, { campaignId });
  const chunks: ChunkSummary[] = [];
  for (let first = 0; first < plan.chunks; first += chunksAtOnce) {
    const wave = [];
    for (let index = first; index < Math.min(first + chunksAtOnce, plan.chunks); index++) {
      wave.push(reviewSnapshotChunk(deps, { campaignId, index }));
    }
    chunks.push(...(await Promise.all(wave)));
  }
  const open = await reviewOpen(deps, {
    campaignId,
    groups: plan.groups,
    notRemovable: chunks.reduce((n, c) => n + c.notRemovable, 0),
    signInUnavailable: chunks.some((c) => c.signInUnavailable),
  });
  return { plan, chunks, open };
}
