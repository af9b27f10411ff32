/**
 * Access reviews as the tab API and the bot use them (ReviewApi). Every method authorises its caller on the
 * server: a reviewer acts only on items assigned to them at the item's current stage (or delegated to them);
 * admins act on everything; auditors read everything and write nothing. A refusal is a REVIEW.FORBIDDEN
 * DomainError and is audited (`attempt.refused` on the campaign's stream). Decisions are written to the item
 * tables (ETag-guarded); the campaign's orchestration hears of them by a `ReviewSignal` and carries final ones
 * out at once.
 */
import { stringify } from 'csv-stringify/sync';
import {
  attemptRefused,
  reviewDecided,
  reviewDelegated,
  reviewGuardConfirmed,
  reviewGuardHeld,
  reviewSignedOff,
} from '../domain/audit/audit-events';
import type { AuditActor } from '../domain/audit/audit-event.model';
import { neutraliseCell } from '../domain/evidence/csv-cell.neutraliser';
import type {
  Campaign,
  CampaignDefinition,
  ReviewDecisionValue,
  ReviewItem,
  StageDecision,
} from '../domain/review/review.model';
import {
  checkDefinition,
  describeRecommendation,
  guardHolds,
  isLastStage,
  needsJustification,
  parseReviewItemId,
  scopeGroups,
  stageOf,
  REVIEW_ERRORS,
  ReviewError,
} from '../domain/review/review.rules';
import type { DurableClientPort } from '../ports/durable-client.port';
import type {
  CampaignProgress,
  ItemPage,
  ItemQuery,
  ReviewApi,
  ReviewCaller,
} from '../ports/review-api.port';
import type { Versioned } from '../ports/review-store.port';
import { EventNames, OrchestrationNames, reviewInstanceId } from './names';
import {
  campaignCtx,
  loadCampaign,
  noticeGuardHeld,
  resolvePersonId,
  reviewDeps,
  updateCampaign,
  updateItem,
  type ReviewDeps,
} from './review-campaign.activities';
import type { ReviewCampaignInput, ReviewSignal } from './review-campaign.orchestration';
import type { WorkflowDeps } from './workflow-deps';
import { appendReviewEvent } from './review-ticket-outbox';

/** Items per decide or delegate call at most. */
const MAX_ITEMS_PER_CALL = 1000;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 500;
/** Above this many assigned items, one partition read beats a point read per item. */
const POINT_READS_UP_TO = 50;
/** Groups read before start gives up looking for a member and lets the snapshot decide. */
const EMPTY_CHECK_GROUPS = 50;

function actorOf(caller: ReviewCaller): AuditActor {
  return {
    objectId: caller.objectId.toLowerCase(),
    ...(caller.upn ? { upn: caller.upn } : {}),
    channel: caller.channel,
  };
}

/** Whether an item waits on a decision at its stage. */
function isPending(item: ReviewItem): boolean {
  return !item.held && !item.decisions.some((d) => d.stage === item.stage);
}

/** A campaign id for a definition started at `at` (ISO): `${definitionId}-YYYYMMDDTHHMMSSZ`. */
export function campaignIdFor(definitionId: string, at: string): string {
  return `${definitionId}-${at.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * Starts a campaign from a definition, unless its scope is empty (then nothing is written and nobody is told:
 * `{ empty: true }`). Idempotent per campaign id: a second start of the same id returns the campaign as it is.
 */
export async function startCampaign(
  wdeps: WorkflowDeps,
  durable: DurableClientPort,
  definition: CampaignDefinition,
  opts: { startedBy: string; campaignId?: string; at?: string },
): Promise<Campaign | { empty: true }> {
  const deps = reviewDeps(wdeps);
  checkDefinition(definition);
  const groups = scopeGroups(deps.catalog.catalog, definition.scope);
  if (groups.length === 0) return { empty: true };
  if (groups.length <= EMPTY_CHECK_GROUPS) {
    let anyone = false;
    for (const g of groups) {
      if (!(await deps.directory.getGroup(g.groupId))) continue;
      if ((await deps.directory.groupMembers(g.groupId)).length > 0) {
        anyone = true;
        break;
      }
    }
    if (!anyone) return { empty: true };
  }
  const at = opts.at ?? deps.clock.now().toISOString();
  const id = opts.campaignId ?? campaignIdFor(definition.id, at);
  const signOffId = await resolvePersonId(deps, definition.signOff);
  const campaign: Campaign = {
    id,
    definition,
    status: 'snapshotting',
    startedBy: opts.startedBy,
    startedAt: at,
    deadline: new Date(Date.parse(at) + definition.durationMs).toISOString(),
    stage: 1,
    counts: { items: 0, decided: 0, kept: 0, revoked: 0, applied: 0, failed: 0 },
    signOffId,
  };
  if (!(await deps.reviews.createCampaign(campaign))) {
    return (await loadCampaign(deps, id)).value;
  }
  const input: ReviewCampaignInput = { campaignId: id };
  try {
    await durable.startNew(OrchestrationNames.reviewCampaign, { instanceId: reviewInstanceId(id), input });
  } catch (err) {
    if ((err as { code?: string }).code !== 'INSTANCE.EXISTS') throw err;
  }
  return campaign;
}

/** ReviewApi over the review tables and the `review-campaign` orchestration. */
export class ReviewService implements ReviewApi {
  private readonly deps: ReviewDeps;

  constructor(
    deps: WorkflowDeps,
    private readonly durable: DurableClientPort,
  ) {
    this.deps = reviewDeps(deps);
  }

  /** Refuses, audited on the campaign's stream (or the reviews' own stream when there is no campaign). */
  private async refuse(caller: ReviewCaller, campaignId: string | undefined, reason: string): Promise<never> {
    await appendReviewEvent(
      this.deps,
      attemptRefused(
        {
          ...campaignCtx(campaignId ?? 'none', actorOf(caller)),
          subject: campaignId ? `campaign:${campaignId}` : 'reviews',
        },
        { code: REVIEW_ERRORS.forbidden, reason },
      ),
    );
    throw new ReviewError(REVIEW_ERRORS.forbidden, reason);
  }

  private async writer(caller: ReviewCaller, campaignId: string | undefined, what: string): Promise<void> {
    if (caller.role === 'auditor')
      await this.refuse(caller, campaignId, `Auditors can read reviews but not ${what}.`);
  }

  private async admin(caller: ReviewCaller, campaignId: string | undefined, what: string): Promise<void> {
    if (caller.role !== 'admin') await this.refuse(caller, campaignId, `Only Attest admins can ${what}.`);
  }

  private async campaign(id: string): Promise<Versioned<Campaign>> {
    if (typeof id !== 'string' || id.length === 0 || id.length > 200) {
      throw new ReviewError(REVIEW_ERRORS.invalid, 'Say which campaign: its id is missing or too long.');
    }
    return loadCampaign(this.deps, id);
  }

  private async signal(campaignId: string, kind: ReviewSignal['kind']): Promise<void> {
    const eventId = `${kind}-${this.deps.clock.now().toISOString()}-${Math.random().toString(36).slice(2, 10)}`;
    const signal: ReviewSignal = { kind, eventId };
    try {
      await this.durable.raiseEvent(reviewInstanceId(campaignId), EventNames.reviewSignal, signal, {
        eventId,
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'INSTANCE.NOT_RUNNING' || code === 'INSTANCE.NOT_FOUND') return;
      throw err;
    }
  }

  async myItems(caller: ReviewCaller, query: ItemQuery): Promise<ItemPage> {
    const me = caller.objectId.toLowerCase();
    const state = query.state ?? 'pending';
    const pageSize = Math.min(Math.max(1, Math.floor(query.pageSize ?? DEFAULT_PAGE)), MAX_PAGE);
    const campaigns = query.campaignId
      ? [(await this.campaign(query.campaignId)).value]
      : (await this.deps.reviews.listCampaigns()).filter(
          (c) => c.status === 'active' || c.status === 'awaiting-confirmation',
        );
    const everything = state === 'all' && query.campaignId !== undefined && caller.role !== 'member';
    const all: ReviewItem[] = [];
    for (const c of campaigns) {
      if (everything) {
        for await (const { value } of this.deps.reviews.items(c.id)) all.push(value);
        continue;
      }
      const ids = await this.deps.reviews.assignedTo(c.id, me);
      if (ids.length === 0) continue;
      if (ids.length <= POINT_READS_UP_TO) {
        for (const id of ids) {
          const v = await this.deps.reviews.getItem(c.id, id);
          if (v) all.push(v.value);
        }
      } else {
        const wanted = new Set(ids);
        for await (const { value } of this.deps.reviews.items(c.id))
          if (wanted.has(value.itemId)) all.push(value);
      }
    }
    const mine = all.filter((item) => {
      // Each item is checked against its own reviewers: a stale index row shows nothing it should not.
      const reviewing = item.reviewerIds.includes(me);
      const decided = item.decisions.some((d) => d.by === me);
      const delegated = item.delegations.some((d) => d.from === me && d.stage === item.stage);
      if (everything) return true;
      switch (state) {
        case 'pending':
          return reviewing && isPending(item);
        case 'decided':
          return decided;
        case 'delegated':
          return delegated;
        case 'all':
          return reviewing || decided || delegated;
      }
    });
    const search = query.search?.trim().toLowerCase();
    const filtered = mine.filter(
      (i) =>
        (!query.recommendation || i.recommendation.value === query.recommendation) &&
        (!search ||
          [i.userDisplayName, i.userPrincipalName, i.groupName].some((t) =>
            t.toLowerCase().includes(search),
          )),
    );
    const key = (i: ReviewItem): string => {
      switch (query.sort) {
        case 'group':
          return `${i.groupName}\u0000${i.userDisplayName}`;
        case 'lastSignIn':
          return i.lastSignIn ?? '';
        case 'recommendation':
          return `${i.recommendation.value === 'revoke' ? 0 : 1}\u0000${i.userDisplayName}`;
        default:
          return `${i.userDisplayName}\u0000${i.groupName}`;
      }
    };
    filtered.sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      return ka < kb ? -1 : ka > kb ? 1 : a.itemId < b.itemId ? -1 : 1;
    });
    let offset = 0;
    if (query.cursor) {
      offset = Number(Buffer.from(query.cursor, 'base64url').toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0)
        throw new ReviewError(REVIEW_ERRORS.invalid, 'The page cursor is not one this API gave out.');
    }
    const items = filtered.slice(offset, offset + pageSize);
    const end = offset + items.length;
    return {
      items,
      total: filtered.length,
      ...(end < filtered.length ? { next: Buffer.from(String(end), 'utf8').toString('base64url') } : {}),
    };
  }

  async decide(
    caller: ReviewCaller,
    campaignId: string,
    decisions: { itemId: string; decision: ReviewDecisionValue; reason?: string }[],
    source: 'reviewer' | 'bulk' | 'card',
  ): Promise<{ decided: number; guarded?: { wouldRemove: number; share: number } }> {
    const { value: campaign } = await this.campaign(campaignId);
    await this.writer(caller, campaignId, 'decide items');
    if (!Array.isArray(decisions) || decisions.length === 0 || decisions.length > MAX_ITEMS_PER_CALL) {
      throw new ReviewError(REVIEW_ERRORS.invalid, `Send between 1 and ${MAX_ITEMS_PER_CALL} decisions.`);
    }
    for (const d of decisions) {
      if (!parseReviewItemId(String(d?.itemId)) || (d.decision !== 'keep' && d.decision !== 'revoke')) {
        throw new ReviewError(
          REVIEW_ERRORS.invalid,
          `Each decision needs an item id and 'keep' or 'revoke' (got ${JSON.stringify(d?.itemId)}).`,
        );
      }
      if (d.reason !== undefined && (typeof d.reason !== 'string' || d.reason.length > 1000)) {
        throw new ReviewError(REVIEW_ERRORS.invalid, 'A reason is text of at most 1,000 characters.');
      }
    }
    if (new Set(decisions.map((d) => d.itemId)).size !== decisions.length) {
      throw new ReviewError(REVIEW_ERRORS.invalid, 'An item appears twice in one call.');
    }
    if (campaign.status !== 'active') {
      throw new ReviewError(
        REVIEW_ERRORS.closed,
        campaign.status === 'awaiting-confirmation'
          ? `Campaign "${campaign.definition.name}" waits for an admin to confirm a removal; decisions resume after that.`
          : `Campaign "${campaign.definition.name}" is ${campaign.status}; it takes no decisions now.`,
      );
    }
    const me = caller.objectId.toLowerCase();
    const loaded: Versioned<ReviewItem>[] = [];
    for (const d of decisions) {
      const v = await this.deps.reviews.getItem(campaignId, d.itemId);
      if (!v)
        throw new ReviewError(REVIEW_ERRORS.notFound, `Campaign ${campaignId} has no item ${d.itemId}.`);
      if (caller.role !== 'admin' && !v.value.reviewerIds.includes(me)) {
        await this.refuse(
          caller,
          campaignId,
          `Item ${d.itemId} is not yours to review at stage ${v.value.stage}.`,
        );
      }
      if (v.value.stage !== campaign.stage) {
        throw new ReviewError(
          REVIEW_ERRORS.closed,
          `Item ${d.itemId} is at stage ${v.value.stage}, not the open stage ${campaign.stage}.`,
        );
      }
      const stage = stageOf(campaign.definition, v.value.stage);
      if (needsJustification(stage, d.decision, d.reason)) {
        throw new ReviewError(
          REVIEW_ERRORS.invalid,
          `Keeping your own access (${v.value.groupName}) needs a reason: say why you still need it.`,
        );
      }
      loaded.push(v);
    }
    const last = isLastStage(campaign.definition, campaign.stage);
    const at = this.deps.clock.now().toISOString();
    const revokes = decisions.filter((d) => d.decision === 'revoke').length;
    const share = campaign.definition.massRemovalShare;
    if (source === 'bulk' && last && guardHolds(revokes, campaign.counts.items, share)) {
      // Held: each decision waits on its item until an admin confirms; nothing is removed meanwhile.
      for (const [i, d] of decisions.entries()) {
        const held: StageDecision = {
          stage: campaign.stage,
          decision: d.decision,
          by: me,
          at,
          source,
          ...(d.reason ? { reason: d.reason } : {}),
        };
        await updateItem(
          this.deps,
          campaignId,
          d.itemId,
          (item) => (isPending(item) ? { ...item, held } : undefined),
          loaded[i],
        );
      }
      const updated = await updateCampaign(this.deps, campaignId, (c) => ({
        ...c,
        status: 'awaiting-confirmation',
        guard: { action: 'bulk', wouldRemove: revokes, scopeSize: c.counts.items, share },
      }));
      await appendReviewEvent(
        this.deps,
        reviewGuardHeld(campaignCtx(campaignId, actorOf(caller)), {
          action: 'bulk',
          stage: campaign.stage,
          wouldRemove: revokes,
          scopeSize: campaign.counts.items,
          share,
        }),
      );
      await noticeGuardHeld(this.deps, updated, revokes, at);
      return { decided: 0, guarded: { wouldRemove: revokes, share } };
    }
    const written: { itemId: string; decision: ReviewDecisionValue; reason?: string; final: boolean }[] = [];
    for (const [i, d] of decisions.entries()) {
      const decision: StageDecision = {
        stage: campaign.stage,
        decision: d.decision,
        by: me,
        at,
        source,
        ...(d.reason ? { reason: d.reason } : {}),
      };
      const done = await updateItem(
        this.deps,
        campaignId,
        d.itemId,
        (item) =>
          isPending(item) && item.stage === campaign.stage
            ? { ...item, decisions: [...item.decisions, decision], ...(last ? { final: d.decision } : {}) }
            : undefined,
        loaded[i],
      );
      if (!done) {
        if (written.length === 0)
          throw new ReviewError(
            REVIEW_ERRORS.conflict,
            `Item ${d.itemId} was decided already (by someone else, or by you before).`,
          );
        continue;
      }
      written.push({
        itemId: d.itemId,
        decision: d.decision,
        ...(d.reason ? { reason: d.reason } : {}),
        final: last,
      });
    }
    if (written.length > 0) {
      await appendReviewEvent(
        this.deps,
        reviewDecided(campaignCtx(campaignId, actorOf(caller)), {
          stage: campaign.stage,
          source,
          items: written,
        }),
      );
    }
    // Decisions take effect when the last stage decides, not at the end of the campaign.
    if (last && written.length > 0) await this.signal(campaignId, 'apply');
    return { decided: written.length };
  }

  async delegate(
    caller: ReviewCaller,
    campaignId: string,
    itemIds: string[],
    to: string,
    reason?: string,
  ): Promise<{ delegated: number; to: string }> {
    const { value: campaign } = await this.campaign(campaignId);
    await this.writer(caller, campaignId, 'delegate items');
    if (!Array.isArray(itemIds) || itemIds.length === 0 || itemIds.length > MAX_ITEMS_PER_CALL) {
      throw new ReviewError(
        REVIEW_ERRORS.invalid,
        `Name between 1 and ${MAX_ITEMS_PER_CALL} items to hand on.`,
      );
    }
    if (typeof to !== 'string' || to.trim() === '')
      throw new ReviewError(REVIEW_ERRORS.invalid, 'Say who should review these items (a UPN or object id).');
    if (campaign.status !== 'active')
      throw new ReviewError(
        REVIEW_ERRORS.closed,
        `Campaign "${campaign.definition.name}" is ${campaign.status}.`,
      );
    const target = await resolvePersonId(this.deps, to.trim());
    const me = caller.objectId.toLowerCase();
    if (target === me) throw new ReviewError(REVIEW_ERRORS.invalid, 'These items are already yours.');
    const loaded: Versioned<ReviewItem>[] = [];
    for (const id of itemIds) {
      const v = await this.deps.reviews.getItem(campaignId, id);
      if (!v) throw new ReviewError(REVIEW_ERRORS.notFound, `Campaign ${campaignId} has no item ${id}.`);
      if (caller.role !== 'admin' && !v.value.reviewerIds.includes(me)) {
        await this.refuse(caller, campaignId, `Item ${id} is not yours to hand on.`);
      }
      if (!isPending(v.value)) throw new ReviewError(REVIEW_ERRORS.closed, `Item ${id} is decided already.`);
      if (
        v.value.userId === target &&
        stageOf(campaign.definition, v.value.stage).reviewers.kind !== 'self'
      ) {
        throw new ReviewError(
          REVIEW_ERRORS.invalid,
          `Nobody reviews their own membership: ${to} is the member of item ${id}.`,
        );
      }
      loaded.push(v);
    }
    const at = this.deps.clock.now().toISOString();
    let delegated = 0;
    for (const v of loaded) {
      const done = await updateItem(
        this.deps,
        campaignId,
        v.value.itemId,
        (item) => {
          if (!isPending(item)) return undefined;
          const from =
            caller.role === 'admin' && !item.reviewerIds.includes(me) ? item.reviewerIds.join(',') : me;
          const reviewerIds =
            caller.role === 'admin' && !item.reviewerIds.includes(me)
              ? [target]
              : [...new Set(item.reviewerIds.map((r) => (r === me ? target : r)))];
          return {
            ...item,
            reviewerIds,
            delegations: [
              ...item.delegations,
              { stage: item.stage, from, to: target, at, ...(reason ? { reason } : {}) },
            ],
          };
        },
        v,
      );
      if (done) delegated++;
    }
    await appendReviewEvent(
      this.deps,
      reviewDelegated(campaignCtx(campaignId, actorOf(caller)), {
        stage: campaign.stage,
        from: me,
        to: target,
        itemIds: loaded.map((v) => v.value.itemId),
        ...(reason ? { reason } : {}),
      }),
    );
    await this.deps.reviewNotifier.notifyReviewer({
      kind: 'review-delegated',
      id: `delegated-${campaignId}-${at}-${target}`,
      campaignId,
      campaignName: campaign.definition.name,
      recipientId: target,
      pending: delegated,
      total: delegated,
      deadline: campaign.stageDeadline ?? campaign.deadline,
      text: `${caller.upn ?? me} handed you ${delegated} access ${delegated === 1 ? 'review' : 'reviews'} in "${campaign.definition.name}".`,
    });
    return { delegated, to: target };
  }

  async campaigns(caller: ReviewCaller): Promise<Campaign[]> {
    const all = await this.deps.reviews.listCampaigns();
    if (caller.role !== 'member') return all;
    const me = caller.objectId.toLowerCase();
    const out: Campaign[] = [];
    for (const c of all) {
      if (c.signOffId === me || (await this.deps.reviews.assignedTo(c.id, me)).length > 0) out.push(c);
    }
    return out;
  }

  async progress(caller: ReviewCaller, campaignId: string): Promise<CampaignProgress> {
    const { value: campaign } = await this.campaign(campaignId);
    if (caller.role === 'member' && campaign.signOffId !== caller.objectId.toLowerCase()) {
      await this.refuse(
        caller,
        campaignId,
        'Only admins, auditors and the sign-off manager see a campaign’s progress.',
      );
    }
    const per = new Map<string, { pending: number; decided: number }>();
    const stage = { number: campaign.stage, items: 0, decided: 0, kept: 0, revoked: 0, held: 0 };
    for await (const { value: item } of this.deps.reviews.items(campaignId, { stage: campaign.stage })) {
      // The stage's own counts, live (the campaign's counts are the final decisions, known at completion).
      stage.items++;
      const own = item.decisions.find((d) => d.stage === item.stage);
      if (own) {
        stage.decided++;
        if (own.decision === 'keep') stage.kept++;
        else stage.revoked++;
      } else if (item.held) stage.held++;
      for (const r of item.reviewerIds) {
        const e = per.get(r) ?? { pending: 0, decided: 0 };
        if (isPending(item)) e.pending++;
        else e.decided++;
        per.set(r, e);
      }
    }
    const byReviewer = await Promise.all(
      [...per.entries()].map(async ([reviewerId, e]) => ({
        reviewerId,
        displayName:
          per.size <= 100
            ? ((await this.deps.directory.getUser(reviewerId))?.displayName ?? reviewerId)
            : reviewerId,
        ...e,
      })),
    );
    byReviewer.sort((a, b) => b.pending - a.pending || (a.displayName < b.displayName ? -1 : 1));
    return { campaign, byReviewer, stage };
  }

  async start(
    caller: ReviewCaller,
    what: { definitionId: string } | { definition: CampaignDefinition },
  ): Promise<Campaign | { empty: true }> {
    await this.admin(caller, undefined, 'start a review campaign');
    let definition: CampaignDefinition | undefined;
    if ('definitionId' in what) {
      definition = this.deps.catalog.catalog.reviews?.find((d) => d.id === what.definitionId);
      if (!definition) {
        const known = (this.deps.catalog.catalog.reviews ?? []).map((d) => d.id).join(', ') || 'none';
        throw new ReviewError(
          REVIEW_ERRORS.notFound,
          `The catalog has no review '${what.definitionId}' (it has: ${known}).`,
        );
      }
    } else {
      definition = what.definition;
    }
    return startCampaign(this.deps, this.durable, definition, { startedBy: caller.objectId.toLowerCase() });
  }

  async confirmGuard(caller: ReviewCaller, campaignId: string): Promise<Campaign> {
    await this.campaign(campaignId);
    await this.admin(caller, campaignId, 'confirm a held removal');
    const at = this.deps.clock.now().toISOString();
    const me = caller.objectId.toLowerCase();
    let was: Campaign | undefined;
    const updated = await updateCampaign(this.deps, campaignId, (c) => {
      was = c;
      if (c.status !== 'awaiting-confirmation' || !c.guard) {
        throw new ReviewError(
          REVIEW_ERRORS.closed,
          `Campaign ${campaignId} has no removal waiting for confirmation.`,
        );
      }
      return { ...c, guard: { ...c.guard, confirmedBy: me, confirmedAt: at } };
    });
    const guard = (was ?? updated).guard;
    await appendReviewEvent(
      this.deps,
      reviewGuardConfirmed(campaignCtx(campaignId, actorOf(caller)), {
        action: guard?.action ?? 'default',
        wouldRemove: guard?.wouldRemove ?? 0,
      }),
    );
    await this.signal(campaignId, 'confirm');
    return updated;
  }

  async close(caller: ReviewCaller, campaignId: string): Promise<Campaign> {
    const { value } = await this.campaign(campaignId);
    await this.admin(caller, campaignId, 'close a review campaign');
    if (value.status !== 'active' && value.status !== 'awaiting-confirmation') {
      throw new ReviewError(REVIEW_ERRORS.closed, `Campaign ${campaignId} is ${value.status} already.`);
    }
    // Recorded first: an orchestration restarting (continue-as-new) when the signal comes reads it from the row.
    const at = this.deps.clock.now().toISOString();
    const me = caller.objectId.toLowerCase();
    const updated = await updateCampaign(this.deps, campaignId, (c) =>
      c.closeRequested || (c.status !== 'active' && c.status !== 'awaiting-confirmation')
        ? undefined
        : { ...c, closeRequested: { by: me, at } },
    );
    await this.signal(campaignId, 'close');
    return updated;
  }

  async signOff(caller: ReviewCaller, campaignId: string, note?: string): Promise<Campaign> {
    const { value: campaign } = await this.campaign(campaignId);
    await this.writer(caller, campaignId, 'sign a campaign off');
    const me = caller.objectId.toLowerCase();
    const signOffId = campaign.signOffId ?? (await resolvePersonId(this.deps, campaign.definition.signOff));
    if (me !== signOffId) {
      await this.refuse(
        caller,
        campaignId,
        `Only the named manager (${campaign.definition.signOff}) signs this campaign off; nobody signs on their behalf.`,
      );
    }
    if (note !== undefined && (typeof note !== 'string' || note.length > 2000)) {
      throw new ReviewError(REVIEW_ERRORS.invalid, 'A sign-off note is text of at most 2,000 characters.');
    }
    if (campaign.status !== 'completed') {
      throw new ReviewError(
        REVIEW_ERRORS.closed,
        campaign.status === 'signed-off'
          ? 'This campaign is signed off already.'
          : `Campaign ${campaignId} is ${campaign.status}: it can be signed off once complete.`,
      );
    }
    const at = this.deps.clock.now().toISOString();
    const signed = await updateCampaign(this.deps, campaignId, (c) =>
      c.status !== 'completed'
        ? undefined
        : { ...c, status: 'signed-off', signedOff: { by: me, at, ...(note ? { note } : {}) } },
    );
    if (signed.signedOff?.at === at) {
      await appendReviewEvent(
        this.deps,
        reviewSignedOff(campaignCtx(campaignId, actorOf(caller)), {
          ...(note ? { note } : {}),
          hash: campaign.snapshot?.hash ?? '',
        }),
      );
    }
    return signed;
  }

  async resultsCsv(caller: ReviewCaller, campaignId: string): Promise<string> {
    const { value: campaign } = await this.campaign(campaignId);
    if (caller.role === 'member' && campaign.signOffId !== caller.objectId.toLowerCase()) {
      await this.refuse(
        caller,
        campaignId,
        'Only admins, auditors and the sign-off manager export a campaign’s results.',
      );
    }
    const stages = campaign.definition.stages.length;
    const header = [
      'campaign',
      'item',
      'group_id',
      'group_name',
      'role',
      'user_id',
      'user_name',
      'user_principal_name',
      'account_enabled',
      'last_sign_in',
      'recommendation',
      'recommendation_reasons',
      'not_removable_because',
      ...Array.from({ length: stages }, (_, i) => [
        `stage${i + 1}_decision`,
        `stage${i + 1}_by`,
        `stage${i + 1}_at`,
        `stage${i + 1}_reason`,
        `stage${i + 1}_source`,
      ]).flat(),
      'delegations',
      'final',
      'outcome',
      'outcome_detail',
    ];
    const rows: string[][] = [];
    for await (const { value: i } of this.deps.reviews.items(campaignId)) {
      const perStage = Array.from({ length: stages }, (_, s) => {
        const d = [...i.decisions].reverse().find((x) => x.stage === s + 1);
        return d ? [d.decision, d.by, d.at, d.reason ?? '', d.source] : ['', '', '', '', ''];
      }).flat();
      rows.push(
        [
          campaign.id,
          i.itemId,
          i.groupId,
          i.groupName,
          i.roleRef ?? '',
          i.userId,
          i.userDisplayName,
          i.userPrincipalName,
          String(i.accountEnabled),
          i.lastSignIn === undefined ? 'sign-in data unavailable' : (i.lastSignIn ?? 'never'),
          i.recommendation.value,
          describeRecommendation(i.recommendation),
          i.notRemovableBecause ?? '',
          ...perStage,
          i.delegations
            .map((d) => `stage ${d.stage}: ${d.from} -> ${d.to}${d.reason ? ` (${d.reason})` : ''}`)
            .join('; '),
          i.final ?? '',
          i.outcome ?? '',
          i.outcomeDetail ?? '',
        ].map(neutraliseCell),
      );
    }
    // NB. quote bare CR and LF too: csv-stringify only quotes the record delimiter (CRLF) by itself.
    return stringify([header, ...rows], { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
  }
}
