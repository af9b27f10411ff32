/**
 * The audit vocabulary (CONVENTIONS §7): one builder per event type, each with a fixed set of detail fields,
 * so a stream reads the same whichever code path wrote it and an auditor can rely on field names. Builders
 * return an {@link AuditEventInput}; the audit log chains and stores it.
 */
import type {
  AuditActor,
  AuditChannel,
  AuditCorrelation,
  AuditEventInput,
  AuditAction,
  JsonObject,
  JsonValue,
} from './audit-event.model';

/** What every event names besides its details: the stream, who acted, on what, and the correlation ids. */
export interface AuditContext {
  stream: string;
  actor: AuditActor;
  /** What the event is about, e.g. `app:payroll/role:reader` or a user's object id. */
  subject: string;
  correlation?: AuditCorrelation;
}

/** The policy a request was judged under, recorded so a later policy change cannot rewrite history. */
export interface PolicyRef {
  id: string;
  version: string;
  /** Hash of the policy text at submission. */
  hash: string;
}

/** The Entra group behind a role. */
export interface GroupRef {
  id: string;
  name?: string;
}

/** Why access ended. */
export type RevocationReason = 'expired' | 'revoked' | 'review' | 'offboarded';

/** Drops undefined members: canonical JSON refuses undefined, and an absent optional field is simply absent. */
function compact(fields: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) out[key] = value;
  return out;
}

function groupJson(group: GroupRef): JsonObject {
  return compact({ id: group.id, name: group.name });
}

function event(action: AuditAction, ctx: AuditContext, details: JsonObject): AuditEventInput {
  const actor: AuditActor = { objectId: ctx.actor.objectId, channel: ctx.actor.channel };
  if (ctx.actor.upn !== undefined) actor.upn = ctx.actor.upn;
  const correlation: AuditCorrelation = {};
  if (ctx.correlation?.requestId !== undefined) correlation.requestId = ctx.correlation.requestId;
  if (ctx.correlation?.instanceId !== undefined) correlation.instanceId = ctx.correlation.instanceId;
  if (ctx.correlation?.ticketKey !== undefined) correlation.ticketKey = ctx.correlation.ticketKey;
  return { stream: ctx.stream, actor, action, subject: ctx.subject, details, correlation };
}

/** The person access is for, as the request records them (`id` is the Entra object id). */
export interface RequesterRef {
  id: string;
  upn?: string;
  displayName?: string;
}

/**
 * A person asked for access: their justification and the policy (id, version, hash) it was judged under; and,
 * so an evidence row can be built from the stream alone, what was asked for (app, role, the Entra group behind
 * it), the ticket it cites and who it is for. NB. the optional fields came later: older streams lack them.
 */
export function requestSubmitted(
  ctx: AuditContext,
  d: {
    justification: string;
    policy: PolicyRef;
    durationMinutes?: number;
    appId?: string;
    roleId?: string;
    /** The Entra group behind the role. */
    groupId?: string;
    ticketReference?: string;
    requester?: RequesterRef;
  },
): AuditEventInput {
  return event(
    'request.submitted',
    ctx,
    compact({
      justification: d.justification,
      policy: { id: d.policy.id, version: d.policy.version, hash: d.policy.hash },
      durationMinutes: d.durationMinutes,
      appId: d.appId,
      roleId: d.roleId,
      groupId: d.groupId,
      ticketReference: d.ticketReference,
      requester:
        d.requester &&
        compact({ id: d.requester.id, upn: d.requester.upn, displayName: d.requester.displayName }),
    }),
  );
}

/** The policy was applied: how many approval stages the request needs, or why it is refused outright. */
export function policyEvaluated(
  ctx: AuditContext,
  d: {
    policy: PolicyRef;
    outcome: 'approval-required' | 'auto-approved' | 'refused';
    stages: number;
    reason?: string;
  },
): AuditEventInput {
  return event(
    'policy.evaluated',
    ctx,
    compact({
      policy: { id: d.policy.id, version: d.policy.version, hash: d.policy.hash },
      outcome: d.outcome,
      stages: d.stages,
      reason: d.reason,
    }),
  );
}

/** An approval stage opened: who may decide it (object ids, as resolved on the server). */
export function approvalRequested(
  ctx: AuditContext,
  d: { stage: number; approvers: string[]; quorum?: number },
): AuditEventInput {
  return event(
    'approval.requested',
    ctx,
    compact({ stage: d.stage, approvers: [...d.approvers], quorum: d.quorum }),
  );
}

/** An approver decided a stage: who, through which channel, what, and their comment. */
export function approvalDecided(
  ctx: AuditContext,
  d: {
    stage: number;
    approver: string;
    channel: AuditChannel;
    decision: 'approved' | 'denied';
    comment?: string;
  },
): AuditEventInput {
  return event(
    'approval.decided',
    ctx,
    compact({
      stage: d.stage,
      approver: d.approver,
      channel: d.channel,
      decision: d.decision,
      comment: d.comment,
    }),
  );
}

/** Nobody decided in time and the stage went to other approvers. */
export function approvalEscalated(
  ctx: AuditContext,
  d: { stage: number; from: string[]; to: string[]; reason: string },
): AuditEventInput {
  return event('approval.escalated', ctx, {
    stage: d.stage,
    from: [...d.from],
    to: [...d.to],
    reason: d.reason,
  });
}

/** The request ran out of time with a stage still undecided; nothing was granted. */
export function requestExpiredUndecided(
  ctx: AuditContext,
  d: { stage: number; waitedMinutes: number },
): AuditEventInput {
  return event('request.expired-undecided', ctx, { stage: d.stage, waitedMinutes: d.waitedMinutes });
}

/** The user was added to the group behind the role; what Graph answered, and until when access runs. */
export function accessGranted(
  ctx: AuditContext,
  d: { group: GroupRef; graph: { status: number; alreadyMember: boolean }; expiresAt: string },
): AuditEventInput {
  return event('access.granted', ctx, {
    group: groupJson(d.group),
    graph: { status: d.graph.status, alreadyMember: d.graph.alreadyMember },
    expiresAt: d.expiresAt,
  });
}

/** The requester asked to keep access longer. */
export function extensionRequested(
  ctx: AuditContext,
  d: { justification: string; currentExpiry: string; requestedExpiry: string },
): AuditEventInput {
  return event('extension.requested', ctx, {
    justification: d.justification,
    currentExpiry: d.currentExpiry,
    requestedExpiry: d.requestedExpiry,
  });
}

/** An approver decided an extension; `newExpiry` when approved. */
export function extensionDecided(
  ctx: AuditContext,
  d: {
    approver: string;
    channel: AuditChannel;
    decision: 'approved' | 'denied';
    comment?: string;
    newExpiry?: string;
  },
): AuditEventInput {
  return event(
    'extension.decided',
    ctx,
    compact({
      approver: d.approver,
      channel: d.channel,
      decision: d.decision,
      comment: d.comment,
      newExpiry: d.newExpiry,
    }),
  );
}

/** The holder was told their access is about to end. */
export function expiryReminderSent(
  ctx: AuditContext,
  d: { recipient: string; expiresAt: string },
): AuditEventInput {
  return event('expiry.reminder-sent', ctx, { recipient: d.recipient, expiresAt: d.expiresAt });
}

/**
 * The grant ended: why, on whose word, what Graph answered, and what became of the membership (`removed`,
 * `not-member` when it was already gone, `kept` with the reason when Attest left it in place: a member before
 * Attest's grant, or another grant still holding it). NB. `membership` came later: older events lack it, and a
 * kept membership has no Graph answer (`graph` absent).
 */
export function accessRevoked(
  ctx: AuditContext,
  d: {
    reason: RevocationReason;
    by: string;
    group: GroupRef;
    graph?: { status: number; wasMember: boolean };
    membership?: 'removed' | 'not-member' | 'kept';
    keptBecause?: string;
    attempts?: number;
  },
): AuditEventInput {
  return event(
    'access.revoked',
    ctx,
    compact({
      reason: d.reason,
      by: d.by,
      group: groupJson(d.group),
      graph: d.graph ? { status: d.graph.status, wasMember: d.graph.wasMember } : undefined,
      membership: d.membership,
      keptBecause: d.keptBecause,
      attempts: d.attempts,
    }),
  );
}

/**
 * Removing the member failed and will be tried again: the attempt, the directory's code and reason (no
 * stack), and when the next attempt is due. Written at each step of the backoff, not at every attempt.
 */
export function accessRevokeFailed(
  ctx: AuditContext,
  d: {
    reason: RevocationReason;
    group: GroupRef;
    attempt: number;
    code: string;
    error: string;
    nextAttemptAt: string;
  },
): AuditEventInput {
  return event('access.revoke-failed', ctx, {
    reason: d.reason,
    group: groupJson(d.group),
    attempt: d.attempt,
    code: d.code,
    error: d.error,
    nextAttemptAt: d.nextAttemptAt,
  });
}

/**
 * Adding the member failed: `permanent` when retrying cannot help (the request then fails), otherwise the
 * attempt and when the next one is due.
 */
export function accessGrantFailed(
  ctx: AuditContext,
  d: {
    group: GroupRef;
    attempt: number;
    code: string;
    error: string;
    permanent: boolean;
    nextAttemptAt?: string;
  },
): AuditEventInput {
  return event(
    'access.grant-failed',
    ctx,
    compact({
      group: groupJson(d.group),
      attempt: d.attempt,
      code: d.code,
      error: d.error,
      permanent: d.permanent,
      nextAttemptAt: d.nextAttemptAt,
    }),
  );
}

/** Something was refused (a self-approval, a decision on a closed request, ...): the DomainError code and why. */
export function attemptRefused(ctx: AuditContext, d: { code: string; reason: string }): AuditEventInput {
  return event('attempt.refused', ctx, { code: d.code, reason: d.reason });
}

/**
 * The reconciler's first sweep of a group: its members then are recorded as present without Attest (a
 * baseline, never drift). One event per group, with the count, not one per member.
 */
export function membershipBaselined(
  ctx: AuditContext,
  d: { group: GroupRef; members: number; withAttestClaims: number },
): AuditEventInput {
  return event('membership.baselined', ctx, {
    group: groupJson(d.group),
    members: d.members,
    withAttestClaims: d.withAttestClaims,
  });
}

/**
 * A member nobody at Attest granted appeared after the baseline (added outside Attest, or re-added after Attest
 * removed them). Reported for review; Attest neither adopts nor removes it.
 */
export function membershipDrift(ctx: AuditContext, d: { group: GroupRef; userId: string }): AuditEventInput {
  return event('membership.drift', ctx, { group: groupJson(d.group), userId: d.userId });
}

/** A membership Attest grants claimed was removed outside Attest; the requests whose grants claimed it. */
export function membershipRemovedOutside(
  ctx: AuditContext,
  d: { group: GroupRef; userId: string; requestIds: string[] },
): AuditEventInput {
  return event('membership.removed-outside', ctx, {
    group: groupJson(d.group),
    userId: d.userId,
    requestIds: [...d.requestIds],
  });
}

/**
 * An ended grant's removal had not happened (its earlier attempts failed) and the reconciler carried it out:
 * the requests it was owed for, since when, and what the directory answered (`wasMember` false when it found
 * the member already gone).
 */
export function revocationOverdue(
  ctx: AuditContext,
  d: {
    group: GroupRef;
    userId: string;
    requestIds: string[];
    owedSince: string;
    graph: { status: number; wasMember: boolean };
  },
): AuditEventInput {
  return event('revocation.overdue', ctx, {
    group: groupJson(d.group),
    userId: d.userId,
    requestIds: [...d.requestIds],
    owedSince: d.owedSince,
    graph: { status: d.graph.status, wasMember: d.graph.wasMember },
  });
}

/** Why offboarding took someone's access away: their Entra account was disabled, or deleted. */
export type OffboardedBecause = 'disabled' | 'deleted';

/**
 * Offboarding's governed removal of one membership of a leaver: the group, why, the requests whose grants it
 * ended, and what the directory answered. `removed`/`not-member`: done at `removedAt` (`not-member` when Entra
 * had already taken them out, as it does for a deleted user); `removal-owed`: the directory refused or was
 * down, the ledger owes the removal and the reconcile carries it out later (`revocation.overdue`).
 */
export function memberOffboarded(
  ctx: AuditContext,
  d: {
    group: GroupRef;
    userId: string;
    because: OffboardedBecause;
    requestIds: string[];
    outcome: 'removed' | 'not-member' | 'removal-owed';
    removedAt?: string;
    graph?: { status: number; wasMember: boolean; requestId?: string };
    error?: { code: string; reason: string };
  },
): AuditEventInput {
  return event('member.offboarded', ctx, {
    group: groupJson(d.group),
    userId: d.userId,
    because: d.because,
    requestIds: [...d.requestIds],
    outcome: d.outcome,
    ...(d.removedAt ? { removedAt: d.removedAt } : {}),
    ...(d.graph
      ? {
          graph: {
            status: d.graph.status,
            wasMember: d.graph.wasMember,
            ...(d.graph.requestId ? { requestId: d.graph.requestId } : {}),
          },
        }
      : {}),
    ...(d.error ? { error: { code: d.error.code, reason: d.error.reason } } : {}),
  });
}
/** The stream of an access-review campaign. */
export function reviewStream(campaignId: string): string {
  return `review-${campaignId}`;
}

/**
 * A campaign's snapshot was taken and the campaign opened: how many memberships it holds and the SHA-256 over
 * its canonical sorted listing (the snapshot never changes after this), the definition it runs under and when
 * each stage closes.
 */
export function reviewStarted(
  ctx: AuditContext,
  d: {
    definitionId: string;
    name: string;
    count: number;
    hash: string;
    groups: number;
    stages: number;
    deadlines: string[];
    notRemovable: number;
    signInUnavailable: boolean;
  },
): AuditEventInput {
  return event('review.started', ctx, {
    definitionId: d.definitionId,
    name: d.name,
    count: d.count,
    hash: d.hash,
    groups: d.groups,
    stages: d.stages,
    deadlines: [...d.deadlines],
    notRemovable: d.notRemovable,
    signInUnavailable: d.signInUnavailable,
  });
}

/**
 * Decisions at a stage, one event per call (a reviewer's, a bulk action's, or the default at the deadline): the
 * stage, the source, and each item with its decision and reason.
 */
export function reviewDecided(
  ctx: AuditContext,
  d: {
    stage: number;
    source: 'reviewer' | 'bulk' | 'card' | 'default';
    items: { itemId: string; decision: 'keep' | 'revoke'; reason?: string; final: boolean }[];
  },
): AuditEventInput {
  return event('review.decided', ctx, {
    stage: d.stage,
    source: d.source,
    items: d.items.map((i) =>
      compact({ itemId: i.itemId, decision: i.decision, reason: i.reason, final: i.final }),
    ),
  });
}

/** Items handed from one reviewer to another at a stage, and why. */
export function reviewDelegated(
  ctx: AuditContext,
  d: { stage: number; from: string; to: string; itemIds: string[]; reason?: string },
): AuditEventInput {
  return event(
    'review.delegated',
    ctx,
    compact({ stage: d.stage, from: d.from, to: d.to, itemIds: [...d.itemIds], reason: d.reason }),
  );
}

/**
 * A final decision carried out: the item, the decision and who made it (the decision that caused it), and the
 * result: applied, already-gone, cannot-apply (with why) or failed-retrying (the removal stays owed in the ledger
 * and the reconcile retries it); the Attest requests it ended.
 */
export function reviewApplied(
  ctx: AuditContext,
  d: {
    itemId: string;
    group: GroupRef;
    userId: string;
    decision: { stage: number; by: string; source: string; at: string };
    outcome: 'applied' | 'already-gone' | 'cannot-apply' | 'failed-retrying';
    detail?: string;
    endedRequestIds: string[];
  },
): AuditEventInput {
  return event(
    'review.applied',
    ctx,
    compact({
      itemId: d.itemId,
      group: groupJson(d.group),
      userId: d.userId,
      decision: { stage: d.decision.stage, by: d.decision.by, source: d.decision.source, at: d.decision.at },
      outcome: d.outcome,
      detail: d.detail,
      endedRequestIds: [...d.endedRequestIds],
    }),
  );
}

/** Notices sent: which kind, at which stage, to whom (only reviewers with items left get reminders). */
export function reviewReminderSent(
  ctx: AuditContext,
  d: { kind: string; stage: number; recipients: string[] },
): AuditEventInput {
  return event('review.reminder-sent', ctx, { kind: d.kind, stage: d.stage, recipients: [...d.recipients] });
}

/** The mass-removal guard held a default or bulk removal for an admin to confirm. */
export function reviewGuardHeld(
  ctx: AuditContext,
  d: { action: 'default' | 'bulk'; stage: number; wouldRemove: number; scopeSize: number; share: number },
): AuditEventInput {
  return event('review.guard-held', ctx, {
    action: d.action,
    stage: d.stage,
    wouldRemove: d.wouldRemove,
    scopeSize: d.scopeSize,
    share: d.share,
  });
}

/** An admin let a held removal go ahead. */
export function reviewGuardConfirmed(
  ctx: AuditContext,
  d: { action: 'default' | 'bulk'; wouldRemove: number },
): AuditEventInput {
  return event('review.guard-confirmed', ctx, { action: d.action, wouldRemove: d.wouldRemove });
}

/** Every stage closed and every final decision carried out (or left owed): the counts. */
export function reviewCompleted(
  ctx: AuditContext,
  d: { items: number; kept: number; revoked: number; applied: number; failed: number; cannotApply: number },
): AuditEventInput {
  return event('review.completed', ctx, {
    items: d.items,
    kept: d.kept,
    revoked: d.revoked,
    applied: d.applied,
    failed: d.failed,
    cannotApply: d.cannotApply,
  });
}

/** The named manager acknowledged the result. */
export function reviewSignedOff(ctx: AuditContext, d: { note?: string; hash: string }): AuditEventInput {
  return event('review.signed-off', ctx, compact({ note: d.note, snapshotHash: d.hash }));
}

/**
 * The stream where ticket sync records what it did for one Attest id (a request id, or `campaign:<id>`): the
 * request's own stream keeps one writer, its orchestration.
 */
export function ticketStream(correlationId: string): string {
  return `tickets:${correlationId}`;
}

/** Where an outbox row sits: the stream and row key it was written under, and the event that owes it. */
export interface OutboxRowRef {
  stream: string;
  rowKey: string;
  eventSeq: number;
  eventHash: string;
}

function rowJson(row: OutboxRowRef): JsonObject {
  return { stream: row.stream, rowKey: row.rowKey, eventSeq: row.eventSeq, eventHash: row.eventHash };
}

/**
 * A ticket now mirrors this Attest id: which system, its key and link, and whether Attest created it, found it
 * after a restart (created before its key was recorded), or was given it as the requester's ticket reference.
 */
export function ticketLinked(
  ctx: AuditContext,
  d: { system: string; key: string; url: string; how: 'created' | 'found' | 'reference' },
): AuditEventInput {
  return event('ticket.linked', ctx, { system: d.system, key: d.key, url: d.url, how: d.how });
}

/**
 * An outbox row could not be carried to its ticket and waits, with the rows behind it on the same ticket, for
 * an admin to release or skip it: the row, the error code and message, and the attempts made.
 */
export function ticketRowParked(
  ctx: AuditContext,
  d: { row: OutboxRowRef; system: string; code: string; error: string; attempts: number },
): AuditEventInput {
  return event('ticket.row-parked', ctx, {
    row: rowJson(d.row),
    system: d.system,
    code: d.code,
    error: d.error,
    attempts: d.attempts,
  });
}

/** An admin released a parked row: it is tried again, and the rows held behind it follow. */
export function ticketRowReleased(
  ctx: AuditContext,
  d: { row: OutboxRowRef; reason?: string },
): AuditEventInput {
  return event('ticket.row-released', ctx, compact({ row: rowJson(d.row), reason: d.reason }));
}

/**
 * An admin skipped a parked row: its update is never posted to the ticket (the event stays in the log), and the
 * rows held behind it go on; the reason is required.
 */
export function ticketRowSkipped(
  ctx: AuditContext,
  d: { row: OutboxRowRef; reason: string },
): AuditEventInput {
  return event('ticket.row-skipped', ctx, { row: rowJson(d.row), reason: d.reason });
}

/**
 * The stream where Attest records what it did in Teams for one person (installing its app for them, or being
 * refused): a request's or a campaign's own stream keeps one writer, its orchestration.
 */
export function teamsStream(userId: string): string {
  return `teams:${userId.toLowerCase()}`;
}

/** What a Teams app installation was for: the notification that needed the person, and its request or campaign. */
export interface InstallPurpose {
  /** The notification kind, e.g. `approval-requested` or `review-assigned`. */
  kind: string;
  /** The request id, or `review:<campaignId>`. */
  about: string;
}

/**
 * Attest installed its Teams app for a person who had no chat with the bot, so a notification could reach them:
 * the org-catalog app id, whether it was new or already there (409), the chat it reached, and what for.
 */
export function teamsAppInstalled(
  ctx: AuditContext,
  d: { catalogAppId: string; already: boolean; chatId: string; purpose: InstallPurpose },
): AuditEventInput {
  return event('teams.app-installed', ctx, {
    catalogAppId: d.catalogAppId,
    already: d.already,
    chatId: d.chatId,
    purpose: { kind: d.purpose.kind, about: d.purpose.about },
  });
}

/**
 * Graph refused to install Attest's Teams app for a person (403: not permitted or blocked by policy; 404: the
 * app is not in the org catalog): the HTTP status, Graph's code and message, and what an admin can do.
 */
export function teamsAppInstallRefused(
  ctx: AuditContext,
  d: {
    catalogAppId: string;
    status: number;
    code: string;
    error: string;
    remedy: string;
    purpose: InstallPurpose;
  },
): AuditEventInput {
  return event('teams.app-install-refused', ctx, {
    catalogAppId: d.catalogAppId,
    status: d.status,
    code: d.code,
    error: d.error,
    remedy: d.remedy,
    purpose: { kind: d.purpose.kind, about: d.purpose.about },
  });
}
