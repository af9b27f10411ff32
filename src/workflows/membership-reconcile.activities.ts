/**
 * The membership reconcile's activities: compare the catalog's groups in the directory with the ledger (a
 * Graph delta round per batch of ≤50 groups, a full sweep when there is no usable delta link), carry out
 * removals that are overdue, and send Attest admins one digest a day of those outstanding.
 *
 * Each activity can run twice (a retry, a host killed mid-run) and the world ends up the same:
 * - audit events carry the run id and are appended only when the day's reconcile stream does not already have
 *   the same (run, action, subject); they are written before the ledger row that makes the finding go away,
 *   so a replay after a crash finds the finding again and writes only what is missing;
 * - ledger rows are written against their ETag, findings once per (group, user, kind, day), the baseline
 *   mark once, and a batch's delta link last, after everything the round reported is recorded (a delta link
 *   can be used again: a replay with the old link sees the same changes).
 */
import { isDirectoryOutage } from '../ports/directory.port';
import { mapPool } from './map-pool';
import {
  membershipBaselined,
  membershipDrift,
  membershipRemovedOutside,
  revocationOverdue,
  type AuditContext,
} from '../domain/audit/audit-events';
import type { AuditActor, AuditEventInput } from '../domain/audit/audit-event.model';
import { DomainError } from '../domain/domain-error';
import {
  emptyEntry,
  grantClaims,
  reconcileMember,
  recordBaseline,
  recordClaimGone,
  recordOutsideGone,
  type MembershipEntry,
  type OwedRemoval,
} from '../domain/ledger/membership-ledger';
import { batchKey, catalogRoleGroups, reconcileBatches } from '../domain/ledger/reconcile-batches';
import { DirectoryError, type GroupMembershipDelta } from '../ports/directory.port';
import { removeOwedInDirectory, settleRemoval, updateEntry, type DirectoryRemoval } from './overdue-removal';
import type { WorkflowDeps } from './workflow-deps';

const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };
/** Events per appendMany (one entity-group transaction holds at most 100 rows). */
const AUDIT_CHUNK = 50;
/** Above this many changed members of a group, one partition read beats a point read per member. */
const POINT_READS_UP_TO = 100;
/** Removals in flight at once; the pacer keeps them under the write quota, this keeps the pipe full. */
const REMOVAL_CONCURRENCY = 16;
/** Lines listed in the admins' digest before "and N more". */
const DIGEST_LINES = 25;

/** The reconcile stream of a day: one per day, so an auditor finds a day's reconcile findings together. */
export function reconcileStream(at: string): string {
  return `reconcile/${at.slice(0, 10)}`;
}

/** What a run passes every activity: its id (the audit events' correlation) and its time. */
export interface ReconcileRunRef {
  runId: string;
  /** The run's time (ISO), from the orchestration's clock: the same on every replay. */
  at: string;
}

/** One batch of the catalog's groups, by its index in {@link reconcileBatches}. */
export interface ReconcileBatchInput extends ReconcileRunRef {
  index: number;
}

/** What one batch found. */
export interface BatchSummary {
  groups: number;
  /** `full`: a fresh round (first sweep, refused link, changed batch); `delta`: what changed since the last. */
  mode: 'full' | 'delta';
  /** Why a full round was needed. */
  fullBecause?: 'first-sweep' | 'delta-expired' | 'not-baselined';
  /** Groups baselined in this round, and the members recorded for them. */
  baselinedGroups: number;
  baselinedMembers: number;
  drift: number;
  removedOutside: number;
  /** Present members whose removal is owed (the overdue activity carries them out). */
  owedPresent: number;
  /** Owed removals the directory showed done already. */
  owedDone: number;
}

/** A slice of the overdue removals. */
export interface OverdueInput extends ReconcileRunRef {
  /** Only removals owed since this time or earlier are overdue (younger ones are still being retried). */
  olderThan: string;
  /** How many to carry out in this activity, and how many overdue ones to pass over (those that failed). */
  limit: number;
  skip: number;
}

/** What a slice of overdue removals did. */
export interface OverdueSummary {
  processed: number;
  removed: number;
  alreadyGone: number;
  failed: number;
  /** Overdue removals left after this slice (not counting those skipped). */
  remaining: number;
}

/** What the digest did. */
export interface DigestSummary {
  overdue: number;
  notified: boolean;
}

/** How many batches the catalog's groups make. */
export async function reconcilePlan(
  deps: WorkflowDeps,
  _input: ReconcileRunRef,
): Promise<{ batches: number }> {
  return { batches: reconcileBatches(catalogRoleGroups(deps.catalog.catalog)).length };
}

/** Reconciles the batch at `index` of the catalog's groups. */
export async function reconcileBatch(
  deps: WorkflowDeps,
  input: ReconcileBatchInput,
): Promise<BatchSummary | { unavailable: string }> {
  const groups = reconcileBatches(catalogRoleGroups(deps.catalog.catalog))[input.index] ?? [];
  try {
    return await reconcileGroups(deps, { runId: input.runId, at: input.at, groupIds: groups });
  } catch (err) {
    // The directory is down or throttling: the next run sweeps again from the saved link. Answered at once
    // rather than retried for half a minute, so the run still reaches the admins' digest during an outage.
    if (isDirectoryOutage(err)) return { unavailable: err.message };
    throw err;
  }
}

/** The group's audit subject. */
const groupSubject = (groupId: string) => `group:${groupId}`;
const memberSubject = (groupId: string, userId: string) => `group:${groupId}/user:${userId}`;

/**
 * The day's reconcile stream as one activity writes it: what this run already wrote there is read once, and
 * only events it lacks are appended (see the module comment), in order, one transaction per chunk.
 */
class RunAudit {
  private chain: Promise<void> = Promise.resolve();

  private constructor(
    private readonly deps: WorkflowDeps,
    private readonly stream: string,
    private readonly written: Set<string>,
  ) {}

  static async open(deps: WorkflowDeps, run: ReconcileRunRef): Promise<RunAudit> {
    const stream = reconcileStream(run.at);
    const written = new Set<string>();
    for await (const e of deps.audit.read(stream)) {
      if (e.correlation.instanceId === run.runId) written.add(RunAudit.key(e));
    }
    return new RunAudit(deps, stream, written);
  }

  private static key(e: AuditEventInput): string {
    return `${e.correlation.instanceId ?? ''}|${e.action}|${e.subject}`;
  }

  /** Appends the events not written yet; resolves once they are stored. */
  append(events: AuditEventInput[]): Promise<void> {
    const run = this.chain.then(async () => {
      const missing = events.filter((e) => !this.written.has(RunAudit.key(e)));
      for (let i = 0; i < missing.length; i += AUDIT_CHUNK) {
        const chunk = missing.slice(i, i + AUDIT_CHUNK);
        await this.deps.audit.appendMany(this.stream, chunk);
        chunk.forEach((e) => this.written.add(RunAudit.key(e)));
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** Appends the events the day's stream does not already have for this run. */
async function auditOnce(deps: WorkflowDeps, run: ReconcileRunRef, events: AuditEventInput[]): Promise<void> {
  if (events.length) await (await RunAudit.open(deps, run)).append(events);
}

function ctx(run: ReconcileRunRef, subject: string, requestId?: string): AuditContext {
  return {
    stream: reconcileStream(run.at),
    actor: SYSTEM,
    subject,
    correlation: { instanceId: run.runId, ...(requestId ? { requestId } : {}) },
  };
}

/** One delta round for the batch: from its saved link, or fresh when there is none or it was refused. */
async function deltaRound(
  deps: WorkflowDeps,
  groups: string[],
  key: string,
  allBaselined: boolean,
): Promise<{
  delta: GroupMembershipDelta;
  mode: BatchSummary['mode'];
  fullBecause?: BatchSummary['fullBecause'];
}> {
  const link = await deps.reconcile.deltaLink(key);
  if (link && allBaselined) {
    try {
      return { delta: await deps.directory.groupMembersDelta({ deltaLink: link }), mode: 'delta' };
    } catch (err) {
      if (!(err instanceof DirectoryError && err.code === 'DIRECTORY.DELTA_EXPIRED')) throw err;
      return {
        delta: await deps.directory.groupMembersDelta({ groupIds: groups }),
        mode: 'full',
        fullBecause: 'delta-expired',
      };
    }
  }
  return {
    delta: await deps.directory.groupMembersDelta({ groupIds: groups }),
    mode: 'full',
    fullBecause: link ? 'not-baselined' : 'first-sweep',
  };
}

/**
 * Reconciles a set of groups (≤50: one delta round) with the ledger. Exposed with an explicit group list for
 * the bench; the orchestration goes through {@link reconcileBatch}.
 */
export async function reconcileGroups(
  deps: WorkflowDeps,
  input: ReconcileRunRef & { groupIds: string[] },
): Promise<BatchSummary> {
  const groups = [...new Set(input.groupIds.map((g) => g.toLowerCase()))].sort();
  const summary: BatchSummary = {
    groups: groups.length,
    mode: 'delta',
    baselinedGroups: 0,
    baselinedMembers: 0,
    drift: 0,
    removedOutside: 0,
    owedPresent: 0,
    owedDone: 0,
  };
  if (!groups.length) return summary;
  const key = batchKey(groups);
  const states = await Promise.all(groups.map((g) => deps.reconcile.groupState(g)));
  const baselined = new Map(groups.map((g, i) => [g, Boolean(states[i]?.baselinedAt)]));
  const round = await deltaRound(deps, groups, key, [...baselined.values()].every(Boolean));
  summary.mode = round.mode;
  if (round.fullBecause) summary.fullBecause = round.fullBecause;
  const changes = new Map(round.delta.changes.map((c) => [c.groupId.toLowerCase(), c]));

  // Decide every group first (reads only), then audit, then write: see the module comment.
  const plans = await mapPool(groups, 4, (g) =>
    planGroup(deps, g, changes.get(g), round.mode, baselined.get(g) ?? false),
  );
  const events: AuditEventInput[] = [];
  for (const p of plans) {
    if (p.baseline) {
      events.push(
        membershipBaselined(ctx(input, groupSubject(p.groupId)), {
          group: { id: p.groupId },
          members: p.baseline.members,
          withAttestClaims: p.baseline.withAttestClaims,
        }),
      );
    }
    for (const userId of p.drift) {
      events.push(
        membershipDrift(ctx(input, memberSubject(p.groupId, userId)), { group: { id: p.groupId }, userId }),
      );
    }
    for (const gone of p.claimGone) {
      events.push(
        membershipRemovedOutside(ctx(input, memberSubject(p.groupId, gone.userId), gone.requestIds[0]), {
          group: { id: p.groupId },
          userId: gone.userId,
          requestIds: gone.requestIds,
        }),
      );
    }
  }
  await auditOnce(deps, input, events);

  for (const p of plans) {
    await applyPlan(deps, p, input.at);
    summary.drift += p.drift.length;
    summary.removedOutside += p.claimGone.length;
    summary.owedPresent += p.owedPresent;
    summary.owedDone += p.owedDone.length;
    if (p.baseline) {
      summary.baselinedGroups++;
      summary.baselinedMembers += p.baseline.members;
    }
  }
  // Last: the next round starts after what this one reported, now that all of it is recorded.
  await deps.reconcile.saveDeltaLink(key, round.delta.deltaLink);
  return summary;
}

/** What reconciling one group decided, before anything is written. */
interface GroupPlan {
  groupId: string;
  /** Set on the group's first sweep. */
  baseline?: { members: number; withAttestClaims: number };
  /** Members to record as present without Attest: new rows, and rows that exist without any claim. */
  baselineNew: string[];
  baselineExisting: string[];
  drift: string[];
  claimGone: { userId: string; requestIds: string[] }[];
  owedDone: string[];
  outsideGone: string[];
  /** Claimed members seen present again after the reconciler had found them gone. */
  backAgain: string[];
  owedPresent: number;
}

async function planGroup(
  deps: WorkflowDeps,
  groupId: string,
  change: GroupMembershipDelta['changes'][number] | undefined,
  mode: BatchSummary['mode'],
  baselined: boolean,
): Promise<GroupPlan> {
  const plan: GroupPlan = {
    groupId,
    baselineNew: [],
    baselineExisting: [],
    drift: [],
    claimGone: [],
    owedDone: [],
    outsideGone: [],
    backAgain: [],
    owedPresent: 0,
  };
  const lower = (ids: string[] | undefined) => (ids ?? []).map((u) => u.toLowerCase());
  const added = new Set(lower(change?.added));
  const removed = new Set(lower(change?.removed));
  const deleted = change?.groupDeleted === true;
  // Whose rows to look at: in a full round, every member reported and every row (a row whose member is not
  // reported is gone); in a delta round, only the members that changed.
  const rows = new Map<string, MembershipEntry>();
  let candidates: string[];
  if (mode === 'full' || deleted || added.size + removed.size > POINT_READS_UP_TO) {
    for (const e of await deps.ledger.byGroup(groupId)) rows.set(e.userId.toLowerCase(), e);
    candidates =
      mode === 'full' || deleted
        ? [...new Set([...added, ...rows.keys()])]
        : [...new Set([...added, ...removed])];
  } else {
    candidates = [...new Set([...added, ...removed])];
    const read = await Promise.all(candidates.map((u) => deps.ledger.get(groupId, u)));
    candidates.forEach((u, i) => read[i].etag !== undefined && rows.set(u, read[i].entry));
  }
  let withClaims = 0;
  for (const userId of candidates.sort()) {
    const present = !deleted && added.has(userId) && !removed.has(userId);
    const entry = rows.get(userId);
    if (present && entry && grantClaims(entry).length) withClaims++;
    const finding = reconcileMember(entry, present, baselined);
    switch (finding.kind) {
      case 'baseline':
        (entry ? plan.baselineExisting : plan.baselineNew).push(userId);
        break;
      case 'drift':
        plan.drift.push(userId);
        break;
      case 'claim-gone':
        plan.claimGone.push({ userId, requestIds: finding.requestIds });
        break;
      case 'overdue-removal':
        plan.owedPresent++;
        break;
      case 'owed-done':
        plan.owedDone.push(userId);
        break;
      case 'outside-gone':
        plan.outsideGone.push(userId);
        break;
      case 'in-order':
        if (present && entry?.goneAt) plan.backAgain.push(userId);
        break;
    }
  }
  if (!baselined) {
    const members = candidates.filter((u) => !deleted && added.has(u) && !removed.has(u)).length;
    plan.baseline = { members, withAttestClaims: withClaims };
  }
  return plan;
}

async function applyPlan(deps: WorkflowDeps, p: GroupPlan, at: string): Promise<void> {
  const { ledger, reconcile } = deps;
  const g = p.groupId;
  const fresh = p.baselineNew.map((u) => recordBaseline(emptyEntry(g, u), at));
  const taken = ledger.insertMany
    ? await ledger.insertMany(fresh)
    : (await mapPool(fresh, 8, async (e) => ((await ledger.put(e, undefined)) ? undefined : e))).filter(
        (e): e is MembershipEntry => e !== undefined,
      );
  // Rows that exist (or appeared meanwhile): baselined only while still unclaimed.
  await mapPool([...p.baselineExisting, ...taken.map((e) => e.userId)], 8, (u) =>
    updateEntry(ledger, g, u, (e) => (e.claims.length || e.owed.length ? undefined : recordBaseline(e, at))),
  );
  for (const userId of p.drift) {
    await reconcile.addFinding({ groupId: g, userId, kind: 'added-outside', foundAt: at });
  }
  for (const gone of p.claimGone) {
    await reconcile.addFinding({
      groupId: g,
      userId: gone.userId,
      kind: 'removed-outside',
      foundAt: at,
      requestIds: gone.requestIds,
    });
    await updateEntry(ledger, g, gone.userId, (e) => {
      const next = recordClaimGone(e, at);
      return next === e ? undefined : next;
    });
  }
  for (const userId of p.owedDone) await settleRemoval(deps, g, userId, at);
  // Only outside claims held it and it ended outside Attest: forget them, so a later re-add is drift.
  for (const userId of p.outsideGone) {
    await updateEntry(ledger, g, userId, (e) => {
      const next = recordOutsideGone(e);
      return next === e ? undefined : next;
    });
  }
  for (const userId of p.backAgain) {
    await updateEntry(ledger, g, userId, (e) =>
      e.goneAt ? { ...e, goneAt: undefined, seenAt: at } : undefined,
    );
  }
  if (p.baseline) await reconcile.markBaselined(g, at);
}

/** The oldest owed removal of an entry (ISO). */
function owedSince(e: MembershipEntry): string {
  return e.owed.map((o) => o.since).sort()[0] ?? '';
}

/** Entries whose oldest owed removal is at or before `olderThan`, oldest first. */
async function overdueEntries(deps: WorkflowDeps, olderThan: string): Promise<MembershipEntry[]> {
  return (await deps.ledger.owedRemovals()).filter((e) => owedSince(e) <= olderThan);
}

/**
 * Carries out up to `limit` overdue removals (ended grants whose removal never succeeded), concurrently and
 * paced under Graph's write quota by the directory; each is audited as an overdue revocation. A removal that
 * fails again is counted and left owed (for the next run and the admins' digest).
 */
export async function reconcileOverdue(deps: WorkflowDeps, input: OverdueInput): Promise<OverdueSummary> {
  const due = await overdueEntries(deps, input.olderThan);
  const slice = due.slice(input.skip, input.skip + input.limit);
  const audit = await RunAudit.open(deps, input);
  const counts = { removed: 0, alreadyGone: 0, failed: 0 };
  // Removals go out continuously (paced by the directory); every AUDIT_CHUNK done ones are audited and then
  // settled in the ledger behind them, so the ledger and audit work never holds the removals up.
  let pending: { entry: MembershipEntry; removal: Exclude<DirectoryRemoval, { outcome: 'nothing-owed' }> }[] =
    [];
  let behind: Promise<void> = Promise.resolve();
  const flush = () => {
    const batch = pending;
    pending = [];
    if (!batch.length) return;
    behind = behind.then(async () => {
      await audit.append(batch.map(({ entry, removal }) => overdueEvent(input, entry, removal)));
      await mapPool(batch, 8, ({ entry }) => settleRemoval(deps, entry.groupId, entry.userId, input.at));
    });
    behind.catch(() => undefined); // awaited below; marked handled so a failure waits for that await
  };
  await mapPool(slice, REMOVAL_CONCURRENCY, async (entry) => {
    let removal: DirectoryRemoval;
    try {
      removal = await removeOwedInDirectory(deps, entry.groupId, entry.userId);
    } catch {
      counts.failed++;
      return;
    }
    if (removal.outcome === 'nothing-owed') return;
    counts[removal.outcome === 'removed' ? 'removed' : 'alreadyGone']++;
    pending.push({ entry, removal });
    if (pending.length >= AUDIT_CHUNK) flush();
  });
  flush();
  await behind;
  return {
    processed: slice.length,
    ...counts,
    remaining: Math.max(0, due.length - input.skip - slice.length),
  };
}

function overdueEvent(
  run: ReconcileRunRef,
  entry: MembershipEntry,
  removal: { outcome: 'removed' | 'not-member'; owed: OwedRemoval[] },
): AuditEventInput {
  const requestIds = removal.owed.map((o) => o.requestId);
  const subject = memberSubject(entry.groupId.toLowerCase(), entry.userId.toLowerCase());
  return revocationOverdue(ctx(run, subject, requestIds[0]), {
    group: { id: entry.groupId },
    userId: entry.userId,
    requestIds,
    owedSince: removal.owed.map((o) => o.since).sort()[0] ?? '',
    graph: { status: removal.outcome === 'removed' ? 204 : 404, wasMember: removal.outcome === 'removed' },
  });
}

/**
 * One notification to Attest admins listing the removals still overdue, at most one a day (its id is the
 * day's): an outage that leaves hundreds of revocations failing is one message, not hundreds.
 */
/**
 * The admin group's members now, remembered for later; while the directory is down, the members last read
 * (an outage is when revocations become overdue, and when the admins most need to hear of it).
 */
export async function adminsToTell(deps: WorkflowDeps, adminGroupId: string): Promise<string[]> {
  try {
    const ids = (await deps.directory.groupMembers(adminGroupId)).map((a) => a.id);
    await deps.reconcile.saveKnownAdmins(ids);
    return ids;
  } catch (err) {
    const down = err instanceof DomainError && err.code.startsWith('DIRECTORY.');
    const known = down ? await deps.reconcile.knownAdmins() : undefined;
    if (known) return known;
    throw err;
  }
}

export async function reconcileOverdueDigest(
  deps: WorkflowDeps,
  input: ReconcileRunRef & { olderThan: string },
): Promise<DigestSummary> {
  const due = await overdueEntries(deps, input.olderThan);
  if (!deps.adminGroupId) return { overdue: due.length, notified: false };
  if (!due.length) {
    // Nothing to tell: still learn who the admins are, for a digest while the directory is down.
    await adminsToTell(deps, deps.adminGroupId).catch(() => undefined);
    return { overdue: 0, notified: false };
  }
  const admins = await adminsToTell(deps, deps.adminGroupId);
  if (!admins.length) return { overdue: due.length, notified: false };
  const lines = due.slice(0, DIGEST_LINES).map((e) => {
    const requests = e.owed.map((o) => o.requestId).join(', ');
    return `- user ${e.userId} in group ${e.groupId}: removal owed since ${owedSince(e)} (request ${requests})`;
  });
  if (due.length > DIGEST_LINES) lines.push(`… and ${due.length - DIGEST_LINES} more`);
  const day = input.at.slice(0, 10);
  await deps.notifier.notify({
    kind: 'revocations-overdue',
    requestId: 'reconcile',
    id: `revocations-overdue-${day}`,
    recipients: admins,
    text:
      `${due.length} revocation${due.length === 1 ? ' is' : 's are'} overdue: the access ended but the ` +
      `removal from the group has not succeeded yet (Attest keeps trying).\n${lines.join('\n')}`,
  });
  return { overdue: due.length, notified: true };
}
