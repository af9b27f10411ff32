/**
 * The `access-request` orchestration: one instance per request (instance id = request id), the only writer of
 * the request's audit stream. Submitted → policy evaluated → approval stages in order (resolve approvers,
 * notify, wait for decisions or the stage timeout; escalate once to the fallback, then expire undecided) →
 * grant (through the membership ledger, transient failures retried within a bound) → active until expiry, early
 * revoke or an extension (approved through the role's stages again) → Revoking → revoked, the removal retried
 * on durable timers until it succeeds (ADR 0006). Each audited step appends one event at a sequence number
 * the orchestration knows, so a replayed or retried step never writes twice.
 *
 * NB. Deterministic: time only from context.df.currentUtcDateTime, ids derived from the request id, all I/O
 * in activities. Decisions arrive as external events, delivered at least once: de-duplicated by their id.
 */
import type * as df from 'durable-functions';
import {
  accessGranted,
  accessGrantFailed,
  accessRevoked,
  accessRevokeFailed,
  approvalDecided,
  approvalEscalated,
  approvalRequested,
  attemptRefused,
  expiryReminderSent,
  extensionDecided,
  extensionRequested,
  policyEvaluated,
  requestExpiredUndecided,
  requestSubmitted,
  type AuditContext,
  type PolicyRef,
} from '../domain/audit/audit-events';
import type { AuditActor, AuditEventInput } from '../domain/audit/audit-event.model';
import type { ApprovalStage } from '../domain/catalog/catalog.model';
import { DomainError } from '../domain/domain-error';
import { publicReason } from '../domain/errors/public-message';
import { transition, type RequestStatus } from '../domain/request/request-lifecycle';
import {
  approvalsNeeded,
  personName,
  recordDecision,
  type AccessRequest,
  type Person,
  type StageState,
} from '../domain/request/access-request';
import type { NotificationKind, NotifyResult } from '../ports/notifier.port';
import {
  ACCESS_REQUEST_VERSION,
  type AccessRequestInput,
  type DecisionEvent,
  type ExtendEvent,
  type LegacyGrant,
  type LegacyRevoke,
  type MembershipInput,
  type ResolvedApprovers,
  type RevokeEvent,
  type RevokingCheckpoint,
} from './access-request.types';
import type { EndResult, GrantResult } from './membership.operations';
import { ActivityNames, EventNames } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;
type StagesOutcome = 'approved' | 'denied' | 'expired' | 'deadline' | 'failed' | 'revoked';

const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** A transient grant failure is retried for at most this long (or the requested duration, if shorter). */
const GRANT_RETRY_BOUND_MS = 24 * HOUR;
/** Revocation attempts per execution before continuing as new, which keeps the history bounded. */
const ATTEMPTS_PER_EXECUTION = 12;
/** The longest wait between two attempts of a grant, a revocation or opening a stage. */
const BACKOFF_CAP_MS = HOUR;

/** The wait before attempt `attempt + 1`: one minute, doubling, at most an hour. */
export function backoffMs(attempt: number): number {
  return Math.min(BACKOFF_CAP_MS, MINUTE * 2 ** Math.min(attempt - 1, 20));
}

/**
 * Which step of the backoff an attempt is on: one step per doubling, then one a day at the cap. A failure is
 * audited once per step, so a removal failing for weeks writes a bounded, readable trail.
 */
export function backoffStep(attempt: number): number {
  const doublings = Math.ceil(Math.log2(BACKOFF_CAP_MS / MINUTE)); // attempts until the cap
  if (attempt <= doublings) return attempt - 1;
  return doublings + Math.floor((attempt - doublings - 1) / 24);
}

/** A membership activity's answer, or why it failed (transient or for good). */
type ActivityFailure = { ok: false; permanent: boolean; code: string; reason: string };
type ActivityOutcome<T> = { ok: true; value: T } | ActivityFailure;

/** The orchestrator function registered as `access-request`. */
export function* accessRequestOrchestration(context: df.OrchestrationContext): Gen<string> {
  return yield* new AccessRequestFlow(context, context.df.getInput() as AccessRequestInput).run();
}

/** One request's flow; its fields are rebuilt identically on every replay. */
class AccessRequestFlow {
  private request: AccessRequest;
  private seq = 0;
  private notices = 0;
  private readonly seen = new Set<string>();
  private readonly policy: PolicyRef;
  /** Every event waiter created, in order; see {@link take}. */
  private readonly waiters: { name: string; task: df.Task; taken: boolean }[] = [];
  /** Events received and not yet acted on, in the order they were noticed. */
  private readonly inbox: { name: string; data: unknown }[] = [];

  /** False for instances the first version started (see ACCESS_REQUEST_VERSION). */
  private readonly v2: boolean;

  constructor(
    private readonly context: df.OrchestrationContext,
    private readonly input: AccessRequestInput,
  ) {
    this.v2 = (input.version ?? 1) >= 2;
    const from = input.revoking;
    this.request = from ? from.request : { ...input.request, stages: [...input.request.stages] };
    if (from) {
      this.seq = from.seq;
      this.notices = from.notices;
    }
    this.policy = {
      id: this.request.policy.id,
      version: this.request.policy.version,
      hash: this.request.policy.hash,
    };
  }

  *run(): Gen<string> {
    if (this.input.revoking) {
      const { attempts, end, legacy, auditedStep } = this.input.revoking;
      return yield* this.revokeUntilDone({ attempts, end, legacy, auditedStep });
    }
    const r = this.request;
    const requester = r.requester;
    yield* this.record(
      requestSubmitted(this.audit(this.input.actor), {
        justification: r.justification,
        policy: this.policy,
        durationMinutes: r.durationMs === 'permanent' ? undefined : Math.round(r.durationMs / MINUTE),
        appId: r.appId,
        roleId: r.roleId,
        groupId: r.groupId,
        ticketReference: r.ticketReference,
        requester,
      }),
    );
    yield* this.notify('request-submitted', [requester.id], `Your request for ${this.what()} was submitted.`);

    if (this.input.autoApprove.approved) {
      this.moveTo('Approved');
      yield* this.record(
        policyEvaluated(this.audit(SYSTEM), {
          policy: this.policy,
          outcome: 'auto-approved',
          stages: 0,
          reason: this.input.autoApprove.reason,
        }),
      );
    } else {
      const stages = this.input.role.approval.stages;
      this.moveTo('PendingApproval');
      yield* this.record(
        policyEvaluated(this.audit(SYSTEM), {
          policy: this.policy,
          outcome: 'approval-required',
          stages: stages.length,
        }),
      );
      const outcome = yield* this.runStages(stages);
      if (outcome !== 'approved') return this.request.status;
      this.moveTo('Approved');
    }
    return yield* this.grantAndHold();
  }

  /**
   * Grants through the membership ledger, retrying a transient failure on durable timers up to the shorter of
   * 24 hours and the requested duration (a permanent one fails at once), waits out the grant (reminder,
   * extensions, early revoke), then revokes.
   */
  private *grantAndHold(): Gen<string> {
    const r = this.request;
    const started = this.now().getTime();
    const bound =
      started + Math.min(GRANT_RETRY_BOUND_MS, r.durationMs === 'permanent' ? Infinity : r.durationMs);
    let graph: Extract<GrantResult, { ok: true }> | LegacyGrant;
    for (let attempt = 1; ; attempt++) {
      const outcome = yield* this.attempt<GrantResult | LegacyGrant>(ActivityNames.grantAccess, {
        groupId: r.groupId,
        userId: r.requester.id,
        requestId: r.id,
        expiresAt: r.durationMs === 'permanent' ? undefined : new Date(started + r.durationMs).toISOString(),
      });
      if (outcome.ok) {
        graph = outcome.value as Extract<GrantResult, { ok: true }> | LegacyGrant;
        break;
      }
      const nextAt = this.now().getTime() + backoffMs(attempt);
      const giveUp = outcome.permanent || nextAt > bound;
      yield* this.record(
        accessGrantFailed(this.audit(SYSTEM), {
          group: { id: r.groupId },
          attempt,
          code: outcome.code,
          error: outcome.reason,
          permanent: outcome.permanent,
          nextAttemptAt: giveUp ? undefined : new Date(nextAt).toISOString(),
        }),
      );
      if (giveUp) return yield* this.grantFailed(outcome, attempt);
      yield this.context.df.createTimer(new Date(nextAt));
    }
    const legacy = 'ok' in graph ? undefined : { alreadyMember: graph.alreadyMember };
    const now = this.now();
    const expiresAt =
      r.durationMs === 'permanent' ? undefined : new Date(now.getTime() + r.durationMs).toISOString();
    this.moveTo('Active', { grantedAt: now.toISOString(), expiresAt });
    yield* this.record(
      accessGranted(this.audit(SYSTEM), {
        group: { id: r.groupId },
        graph: { status: graph.status, alreadyMember: graph.alreadyMember },
        expiresAt: expiresAt ?? 'permanent',
      }),
    );
    yield* this.notify(
      'access-granted',
      [r.requester.id],
      `You now have ${this.what()}${expiresAt ? ` until ${expiresAt}` : ' with no end date'}.`,
    );

    const end = yield* this.holdUntilEnd();
    return yield* this.revokeUntilDone({ attempts: 0, end, legacy, auditedStep: -1 });
  }

  /** A grant that will not succeed: the request fails, the ledger claim is released, the requester is told. */
  private *grantFailed(outcome: ActivityFailure, attempts: number): Gen<string> {
    const r = this.request;
    const reason = `Adding ${r.requester.upn ?? r.requester.id} to group ${r.groupId} failed${
      outcome.permanent ? '' : ` after ${attempts} attempts`
    }: ${outcome.reason}`;
    this.moveTo('Failed', { failure: { code: 'REQUEST.PROVISIONING_FAILED', reason } });
    yield* this.record(attemptRefused(this.audit(SYSTEM), { code: 'REQUEST.PROVISIONING_FAILED', reason }));
    // The claim was recorded before the add: end it, so the ledger does not hold the membership for a failed grant.
    yield* this.attempt(ActivityNames.revokeAccess, {
      groupId: r.groupId,
      userId: r.requester.id,
      requestId: r.id,
    });
    yield* this.notify(
      'provisioning-failed',
      [r.requester.id],
      `${reason}. An administrator has to look at it.`,
    );
    return this.request.status;
  }

  /**
   * Ends the grant. The request reads Revoking from before the first attempt until the removal succeeds; a
   * failing removal is retried on durable timers with a growing backoff (capped at an hour) without end, audited
   * at each step of the backoff, and the history is kept bounded by continuing as new.
   */
  private *revokeUntilDone(from: Omit<RevokingCheckpoint, 'request' | 'seq' | 'notices'>): Gen<string> {
    const r = this.request;
    const { end, legacy } = from;
    let { attempts, auditedStep } = from;
    if (attempts === 0) {
      this.moveTo('Revoking', {
        pendingExtension: undefined,
        revocation: { reason: end.reason, by: end.by },
        revoking: { since: this.now().toISOString(), attempts: 0 },
      });
    }
    for (;;) {
      attempts++;
      const outcome = yield* this.attempt<EndResult | LegacyRevoke>(ActivityNames.revokeAccess, {
        groupId: r.groupId,
        userId: r.requester.id,
        requestId: r.id,
        legacy,
        // The first attempt saves Revoking before it touches the directory.
        state: attempts === 1 ? { ...this.request, auditSeq: this.seq } : undefined,
      });
      if (outcome.ok) return yield* this.revoked(end, outcome.value, attempts);
      const delay = backoffMs(attempts);
      const nextAt = new Date(this.now().getTime() + delay).toISOString();
      this.request = {
        ...this.request,
        revoking: {
          since: this.request.revoking?.since ?? this.now().toISOString(),
          attempts,
          lastError: outcome.reason,
          nextAttemptAt: nextAt,
        },
      };
      const step = backoffStep(attempts);
      if (step > auditedStep) {
        auditedStep = step;
        yield* this.record(
          accessRevokeFailed(this.audit(SYSTEM), {
            reason: end.reason,
            group: { id: r.groupId },
            attempt: attempts,
            code: outcome.code,
            error: outcome.reason,
            nextAttemptAt: nextAt,
          }),
        );
      }
      yield this.context.df.createTimer(new Date(nextAt));
      if (attempts % ATTEMPTS_PER_EXECUTION === 0) {
        const checkpoint: RevokingCheckpoint = {
          request: this.request,
          seq: this.seq,
          notices: this.notices,
          attempts,
          end,
          legacy,
          auditedStep,
        };
        this.context.df.continueAsNew({
          ...this.input,
          version: ACCESS_REQUEST_VERSION,
          revoking: checkpoint,
        });
        return this.request.status;
      }
    }
  }

  /** The removal succeeded (or the membership stays for a reason the ledger gave): the grant is over. */
  private *revoked(
    end: RevokingCheckpoint['end'],
    result: EndResult | LegacyRevoke,
    attempts: number,
  ): Gen<string> {
    const r = this.request;
    const done =
      'ok' in result && result.ok
        ? result
        : {
            membership: (result as LegacyRevoke).wasMember ? ('removed' as const) : ('not-member' as const),
            status: (result as LegacyRevoke).status,
            wasMember: (result as LegacyRevoke).wasMember,
            keptBecause: undefined,
          };
    this.moveTo('Revoked', {
      pendingExtension: undefined,
      revokedAt: this.now().toISOString(),
      revocation: { reason: end.reason, by: end.by },
      revoking: undefined,
    });
    yield* this.record(
      accessRevoked(this.audit(end.by === 'system' ? SYSTEM : end.actor), {
        reason: end.reason,
        by: end.by,
        group: { id: r.groupId },
        graph: done.status === undefined ? undefined : { status: done.status, wasMember: done.wasMember },
        membership: done.membership,
        keptBecause: done.keptBecause,
        attempts: attempts > 1 ? attempts : undefined,
      }),
    );
    yield* this.notify(
      'access-revoked',
      [r.requester.id],
      `Your ${this.what()} access ended (${end.reason}).${
        done.membership === 'kept' ? ` You stay in the group: ${done.keptBecause}.` : ''
      }`,
    );
    return this.request.status;
  }

  /**
   * Calls a membership activity. Directory failures come back as values; anything else that failed after the
   * activity's retries (storage, the host) counts as transient. Either way no stack reaches the audit log.
   */
  private *attempt<T>(name: string, input: MembershipInput): Gen<ActivityOutcome<T>> {
    let result: unknown;
    try {
      result = yield this.context.df.callActivityWithRetry(name, activityRetry(), input);
    } catch (err) {
      return { ok: false, permanent: false, code: 'ATTEST.STEP_FAILED', reason: publicReason(err) };
    }
    const failure = result as { ok?: boolean; permanent?: boolean; code?: string; reason?: string };
    if (failure && failure.ok === false) {
      return {
        ok: false,
        permanent: failure.permanent === true,
        code: failure.code ?? 'DIRECTORY.FAILED',
        reason: publicReason(failure.reason ?? 'the directory refused'),
      };
    }
    return { ok: true, value: result as T };
  }

  /** Waits while access is active; returns why and by whom it ends. */
  private *holdUntilEnd(): Gen<{
    reason: 'expired' | 'revoked' | 'review' | 'offboarded';
    by: string;
    actor: AuditActor;
  }> {
    let reminded = false;
    for (;;) {
      const revokeEvent = this.take<RevokeEvent>(EventNames.revoke, (e) => e.eventId);
      if (revokeEvent)
        return { reason: revokeEvent.reason, by: revokeEvent.actor.objectId, actor: revokeEvent.actor };
      const extendEvent = this.take<ExtendEvent>(EventNames.extend, (e) => e.eventId);
      if (extendEvent) {
        const outcome = yield* this.extension(extendEvent);
        if (outcome === 'deadline') return { reason: 'expired', by: 'system', actor: SYSTEM };
        if (outcome === 'approved') reminded = false;
        continue;
      }
      const expiresAt = this.request.expiresAt ? new Date(this.request.expiresAt) : undefined;
      const now = this.now();
      const expiry = expiresAt ? this.context.df.createTimer(expiresAt) : undefined;
      const reminderAt = expiresAt ? new Date(expiresAt.getTime() - this.input.reminderLeadMs) : undefined;
      const reminder =
        !reminded && reminderAt && reminderAt.getTime() > now.getTime()
          ? this.context.df.createTimer(reminderAt)
          : undefined;
      const racing: df.Task[] = [this.waiter(EventNames.revoke), this.waiter(EventNames.extend)];
      if (expiry) racing.push(expiry);
      if (reminder) racing.push(reminder);
      const winner = yield this.context.df.Task.any(racing);
      for (const t of [expiry, reminder]) if (t && t !== winner && !t.isCompleted) t.cancel();

      if (winner === reminder) {
        reminded = true;
        yield* this.record(
          expiryReminderSent(this.audit(SYSTEM), {
            recipient: this.request.requester.id,
            expiresAt: this.request.expiresAt as string,
          }),
        );
        yield* this.notify(
          'expiry-reminder',
          [this.request.requester.id],
          `Your ${this.what()} access ends at ${this.request.expiresAt}.`,
        );
      } else if (winner === expiry) {
        // A revoke that arrived with the expiry still counts as the reason.
        const late = this.take<RevokeEvent>(EventNames.revoke, (e) => e.eventId);
        if (late) return { reason: late.reason, by: late.actor.objectId, actor: late.actor };
        return { reason: 'expired', by: 'system', actor: SYSTEM };
      }
      // An event won: it is in the inbox, taken at the top of the loop.
    }
  }

  /** Runs an extension through the role's stages, racing the current expiry. */
  private *extension(ev: ExtendEvent): Gen<StagesOutcome> {
    const currentExpiry = this.request.expiresAt as string;
    // An extension adds to what is left: it can never move the expiry earlier.
    const requestedExpiry = new Date(new Date(currentExpiry).getTime() + ev.durationMs).toISOString();
    this.request = {
      ...this.request,
      pendingExtension: {
        durationMs: ev.durationMs,
        justification: ev.justification,
        requestedAt: this.now().toISOString(),
      },
    };
    yield* this.record(
      extensionRequested(this.audit(ev.actor), {
        justification: ev.justification,
        currentExpiry,
        requestedExpiry,
      }),
    );
    const outcome = yield* this.runStages(this.input.role.approval.stages, new Date(currentExpiry));
    if (outcome === 'revoked') {
      // The grant is being revoked: the extension is moot; the revoke stays in the inbox for the caller.
      this.request = { ...this.request, pendingExtension: undefined };
      return outcome;
    }
    const last = this.request.stages[this.request.currentStage];
    const decider = last?.decisions[last.decisions.length - 1];
    this.request = { ...this.request, pendingExtension: undefined };
    if (outcome === 'failed' && this.v2) {
      // The failure's event was saved with the extension still pending: save the state without it, or the
      // stored request would refuse every later extension.
      yield this.context.df.callActivityWithRetry(ActivityNames.saveState, activityRetry(), {
        request: { ...this.request, auditSeq: this.seq },
      });
    }
    if (outcome === 'deadline' || outcome === 'failed') return outcome;
    const approved = outcome === 'approved';
    if (approved) this.request = { ...this.request, expiresAt: requestedExpiry };
    yield* this.record(
      extensionDecided(
        this.audit(decider ? { objectId: decider.approverId, channel: decider.channel } : SYSTEM),
        {
          approver: decider?.approverId ?? 'system',
          channel: decider?.channel ?? 'system',
          decision: approved ? 'approved' : 'denied',
          comment: outcome === 'expired' ? 'nobody decided before the stage timed out' : decider?.comment,
          newExpiry: approved ? requestedExpiry : undefined,
        },
      ),
    );
    yield* this.notify(
      'extension-decided',
      [this.request.requester.id],
      approved
        ? `Your ${this.what()} access now runs until ${requestedExpiry}.`
        : `Your extension of ${this.what()} was not approved.`,
    );
    return outcome;
  }

  /**
   * Runs approval stages in order. `deadline` (for extensions) ends the wait when the grant expires first.
   * Returns 'approved' when every stage is approved.
   */
  private *runStages(policies: readonly ApprovalStage[], deadline?: Date): Gen<StagesOutcome> {
    for (const policy of policies) {
      const number = this.request.stages.length + 1;
      const resolved = yield* this.resolveStage(policy, number);
      if ('stop' in resolved) return yield* this.fail(resolved.stop);
      let dueAt = new Date(this.now().getTime() + policy.timeoutMs);
      const stage: StageState = {
        number,
        quorum: policy.quorum,
        approvers: resolved.approvers,
        dueAt: dueAt.toISOString(),
        escalated: resolved.fallbackReason !== undefined,
        decisions: [],
        outcome: 'pending',
      };
      this.request = {
        ...this.request,
        stages: [...this.request.stages, stage],
        currentStage: this.request.stages.length,
      };
      const index = this.request.currentStage;
      yield* this.record(
        approvalRequested(this.audit(SYSTEM), {
          stage: number,
          approvers: resolved.approvers.map((a) => a.id),
          quorum: approvalsNeeded(stage),
        }),
      );
      if (resolved.fallbackReason) {
        yield* this.record(
          approvalEscalated(this.audit(SYSTEM), {
            stage: number,
            from: [],
            to: resolved.approvers.map((a) => a.id),
            reason: resolved.fallbackReason,
          }),
        );
      }
      yield* this.askApprovers(
        stage.approvers,
        number,
        resolved.fallbackReason ? 'approval-escalated' : 'approval-requested',
        resolved.fallbackReason ? undefined : policy,
      );

      for (;;) {
        // While an extension waits, a revoke ends the wait (it stays in the inbox for holdUntilEnd).
        if (this.request.pendingExtension && this.peek(EventNames.revoke)) return 'revoked';
        const ev = this.take<DecisionEvent>(EventNames.decision, (e) => e.decisionId);
        if (!ev) {
          const timeout = this.context.df.createTimer(dueAt);
          const end = deadline ? this.context.df.createTimer(deadline) : undefined;
          const racing: df.Task[] = [this.waiter(EventNames.decision), timeout];
          if (end) racing.push(end);
          if (this.request.pendingExtension) racing.push(this.waiter(EventNames.revoke));
          const winner = yield this.context.df.Task.any(racing);
          for (const t of [timeout, end]) if (t && t !== winner && !t.isCompleted) t.cancel();
          if (end && winner === end) return 'deadline';
          if (winner !== timeout) continue; // an event: taken from the inbox at the top
        } else {
          try {
            this.request = recordDecision(
              this.request,
              {
                approverId: ev.actor.objectId,
                decision: ev.decision,
                at: this.now().toISOString(),
                channel: ev.actor.channel === 'system' ? 'api' : ev.actor.channel,
                comment: ev.comment,
              },
              ev.stage,
            );
          } catch (err) {
            if (!(err instanceof DomainError)) throw err;
            yield* this.record(attemptRefused(this.audit(ev.actor), { code: err.code, reason: err.message }));
            yield* this.notify('decision-refused', [ev.actor.objectId], err.message);
            continue;
          }
          yield* this.record(
            approvalDecided(this.audit(ev.actor), {
              stage: ev.stage,
              approver: ev.actor.objectId,
              channel: ev.actor.channel,
              decision: ev.decision === 'approve' ? 'approved' : 'denied',
              comment: ev.comment,
            }),
          );
          const outcome = this.request.stages[index].outcome;
          if (outcome !== 'denied') {
            const who = this.request.stages[index].approvers.find((a) => a.id === ev.actor.objectId);
            yield* this.notify(
              'decision-recorded',
              [this.request.requester.id],
              `${who?.displayName ?? ev.actor.upn ?? ev.actor.objectId} approved stage ${ev.stage} of your request for ${this.what()}.`,
            );
          }
          if (outcome === 'denied') {
            if (!this.request.pendingExtension) {
              yield* this.notify(
                'request-denied',
                [this.request.requester.id],
                `Your request for ${this.what()} was denied.`,
              );
            }
            return 'denied';
          }
          if (outcome === 'approved') break;
          continue;
        }

        // The stage timed out: escalate once to the fallback (beside the approvers already asked), then give up.
        const current = this.request.stages[index];
        if (!current.escalated) {
          const found = (yield this.context.df.callActivityWithRetry(
            ActivityNames.resolvePerson,
            activityRetry(),
            policy.fallback,
          )) as Person & { enabled?: boolean };
          const fallback = asPerson(found);
          const cannot = this.v2 ? this.cannotDecide(found) : undefined;
          if (cannot) {
            // Escalating to someone who cannot decide would leave the request waiting for nobody.
            if (this.request.pendingExtension) return 'expired';
            return yield* this.fail({
              code: 'REQUEST.NO_APPROVER',
              reason: `Nobody decided stage ${number} before it timed out, and its fallback ${personName(fallback)} cannot decide it (${cannot}). Fix the catalog's fallback for this role.`,
              status: 'NoApprover',
            });
          }
          const decided = current.approvers.filter((a) =>
            current.decisions.some((d) => d.approverId.toLowerCase() === a.id.toLowerCase()),
          );
          const approvers = withFallback(current, fallback, decided);
          dueAt = new Date(this.now().getTime() + policy.timeoutMs);
          const approvals = current.decisions.filter((d) => d.decision === 'approve').length;
          // With `quorum: all`, a fallback who already approved stands in for the approvers who did not decide.
          const done = this.v2 && approvals >= approvalsNeeded({ quorum: current.quorum, approvers });
          this.replaceStage(index, {
            ...current,
            approvers,
            escalated: true,
            dueAt: dueAt.toISOString(),
            outcome: done ? 'approved' : current.outcome,
          });
          yield* this.record(
            approvalEscalated(this.audit(SYSTEM), {
              stage: number,
              from: current.approvers.map((a) => a.id),
              to: [fallback.id],
              reason: done
                ? `nobody else decided before the stage timed out; its fallback ${personName(fallback)} had already approved`
                : 'nobody decided before the stage timed out',
            }),
          );
          if (done) break;
          yield* this.askApprovers([fallback], number, 'approval-escalated');
          continue;
        }
        const waitedMinutes = Math.round(
          (this.now().getTime() - new Date(this.request.submittedAt).getTime()) / MINUTE,
        );
        if (this.request.pendingExtension) return 'expired';
        this.moveTo('ExpiredUndecided');
        yield* this.record(requestExpiredUndecided(this.audit(SYSTEM), { stage: number, waitedMinutes }));
        yield* this.notify(
          'request-expired-undecided',
          [this.request.requester.id],
          `Nobody decided your request for ${this.what()} in time; nothing was granted.`,
        );
        return 'expired';
      }
    }
    return 'approved';
  }

  /**
   * Ends the request for good (or, during an extension, ends the extension: the grant stays Active). The reason
   * is a sentence for people; the status says which way it ended.
   */
  private *fail(f: { code: string; reason: string; status: 'NoApprover' | 'Failed' }): Gen<StagesOutcome> {
    if (!this.request.pendingExtension)
      this.moveTo(f.status, { failure: { code: f.code, reason: f.reason } });
    yield* this.record(attemptRefused(this.audit(SYSTEM), { code: f.code, reason: f.reason }));
    yield* this.notify('provisioning-failed', [this.request.requester.id], f.reason);
    return 'failed';
  }

  /**
   * Resolves a stage's approvers. A stage nobody can decide is a permanent failure; a directory that fails
   * (throttled, unavailable) is retried on durable timers until the stage's own timeout has passed.
   */
  private *resolveStage(
    policy: ApprovalStage,
    number: number,
  ): Gen<ResolvedApprovers | { stop: { code: string; reason: string; status: 'NoApprover' | 'Failed' } }> {
    const giveUpAt = this.now().getTime() + policy.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      let resolved: ResolvedApprovers;
      try {
        resolved = (yield this.context.df.callActivityWithRetry(
          ActivityNames.resolveApprovers,
          activityRetry(),
          {
            requesterId: this.request.requester.id,
            groupId: this.request.groupId,
            stage: policy,
          },
        )) as ResolvedApprovers;
      } catch (err) {
        resolved = {
          approvers: [],
          failure: { permanent: false, code: 'ATTEST.STEP_FAILED', reason: publicReason(err) },
        };
      }
      if (!resolved.failure) return resolved;
      const why = publicReason(resolved.failure.reason);
      if (resolved.failure.permanent) {
        return {
          stop: {
            code: 'REQUEST.NO_APPROVER',
            reason: `Stage ${number} could not be opened: ${why}`,
            status: 'NoApprover',
          },
        };
      }
      const nextAt = this.now().getTime() + backoffMs(attempt);
      if (nextAt > giveUpAt) {
        return {
          stop: {
            code: 'REQUEST.DIRECTORY_UNAVAILABLE',
            reason: `Stage ${number} could not be opened: the directory kept failing for ${Math.round(policy.timeoutMs / MINUTE)} minutes (${why}).`,
            status: 'Failed',
          },
        };
      }
      yield this.context.df.createTimer(new Date(nextAt));
    }
  }

  /** Why `p` cannot decide this request (the requester, a disabled account), or undefined when they can. */
  private cannotDecide(p: Person & { enabled?: boolean }): string | undefined {
    if (p.id.toLowerCase() === this.request.requester.id.toLowerCase()) return 'they are the requester';
    if (p.enabled === false) return 'their account is disabled';
    return undefined;
  }

  /** Moves the request to `status` through the lifecycle's rules, with the fields that go with it. */
  private moveTo(status: RequestStatus, fields: Partial<AccessRequest> = {}): void {
    this.request = { ...this.request, ...fields, status: transition(this.request.status, status) };
  }

  private replaceStage(index: number, stage: StageState): void {
    this.request = { ...this.request, stages: this.request.stages.map((s, i) => (i === index ? stage : s)) };
  }

  /**
   * Sends the stage's approval card to `approvers`. When the channel cannot reach enough of the stage's
   * approvers to reach its quorum (in Teams: the app is not installed for them), the stage is escalated to its
   * fallback at once rather than left to time out, and the requester is told why.
   */
  private *askApprovers(
    approvers: Person[],
    stage: number,
    kind: NotificationKind,
    policy?: ApprovalStage,
  ): Gen<void> {
    const what = this.request.pendingExtension ? `an extension of ${this.what()}` : this.what();
    const result = yield* this.notify(
      kind,
      approvers.map((a) => a.id),
      `${personName(this.request.requester)} asks for ${what} (stage ${stage}). Justification: ${this.request.pendingExtension?.justification ?? this.request.justification}`,
    );
    const index = this.request.currentStage;
    const current = this.request.stages[index];
    if (!policy || !current || current.number !== stage || result.unreachable.length === 0) return;
    const missing = new Set(result.unreachable.map((id) => id.toLowerCase()));
    const reachable = current.approvers.filter((a) => !missing.has(a.id.toLowerCase()));
    if (reachable.length >= approvalsNeeded(current)) return;
    const found = (yield this.context.df.callActivityWithRetry(
      ActivityNames.resolvePerson,
      activityRetry(),
      policy.fallback,
    )) as Person & { enabled?: boolean };
    const fallback = asPerson(found);
    const names = current.approvers
      .filter((a) => missing.has(a.id.toLowerCase()))
      .map(personName)
      .join(', ');
    const reason = `the bot cannot reach ${names} in Teams (the Attest app is not installed for them)`;
    if (
      missing.has(fallback.id.toLowerCase()) ||
      current.approvers.some((a) => a.id === fallback.id) ||
      (this.v2 && this.cannotDecide(found))
    ) {
      // Nobody else to ask now: the stage waits for its timeout. Its approvers still find it under `pending`
      // once they open Attest, and the CLI can decide it.
      yield* this.notify(
        'approvers-unreachable',
        [this.request.requester.id],
        `Your request is waiting: ${reason}.`,
      );
      return;
    }
    const kept = current.approvers.filter((a) => !missing.has(a.id.toLowerCase()));
    this.replaceStage(index, {
      ...current,
      approvers: withFallback(current, fallback, kept),
      escalated: true,
    });
    yield* this.record(
      approvalEscalated(this.audit(SYSTEM), {
        stage,
        from: current.approvers.filter((a) => missing.has(a.id.toLowerCase())).map((a) => a.id),
        to: [fallback.id],
        reason,
      }),
    );
    yield* this.notify(
      'approvers-unreachable',
      [this.request.requester.id],
      `Your request was also sent to ${personName(fallback)}: ${reason}.`,
    );
    yield* this.askApprovers([fallback], stage, 'approval-escalated');
  }

  /** Appends one audit event at the next sequence number, and saves the request's state with it. */
  private *record(event: AuditEventInput): Gen<void> {
    this.seq++;
    yield this.context.df.callActivityWithRetry(ActivityNames.recordStep, activityRetry(), {
      event,
      expectedSeq: this.seq,
      request: this.request,
    });
  }

  private *notify(kind: NotificationKind, recipients: string[], text: string): Gen<NotifyResult> {
    this.notices++;
    let result: NotifyResult | undefined;
    try {
      result = (yield this.context.df.callActivityWithRetry(ActivityNames.notify, activityRetry(), {
        kind,
        requestId: this.request.id,
        recipients,
        text,
        id: `${String(this.notices).padStart(4, '0')}-${kind}`,
      })) as NotifyResult | undefined;
    } catch {
      // Telling people is not worth failing the request for (Teams or Graph down past the retries): the step
      // itself is recorded, and approvers find what waits on them under `pending`.
      return { unreachable: [] };
    }
    return { unreachable: result?.unreachable ?? [] };
  }

  /**
   * A fresh waiter for `name`, raced by the caller. NB. durable-functions hands an event to the newest waiter
   * registered for its name, and a waiter that lost a race stays registered: an event that arrives while the
   * orchestration is busy (escalating, sending a reminder) lands in such an orphan. Every waiter is kept, and
   * {@link take} collects events from all of them, so none is lost. A waiter is never yielded twice (the
   * library would register it twice).
   */
  private waiter(name: string): df.Task {
    const task = this.context.df.waitForExternalEvent(name);
    this.waiters.push({ name, task, taken: false });
    return task;
  }

  /** Moves events that completed any waiter into the inbox. */
  private collect(): void {
    for (const w of this.waiters) {
      if (!w.taken && w.task.isCompleted) {
        w.taken = true;
        this.inbox.push({ name: w.name, data: w.task.result });
      }
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i].taken) this.waiters.splice(i, 1);
  }

  /** The next new event named `name`, or undefined; repeats (same id) are dropped. */
  private take<T>(name: string, idOf: (event: T) => string): T | undefined {
    this.collect();
    for (;;) {
      const i = this.inbox.findIndex((e) => e.name === name);
      if (i < 0) return undefined;
      const [event] = this.inbox.splice(i, 1);
      if (this.once(idOf(event.data as T))) return event.data as T;
    }
  }

  /** Whether an event named `name` waits in the inbox (left there). */
  private peek(name: string): boolean {
    this.collect();
    return this.inbox.some((e) => e.name === name);
  }

  /** True the first time an event id is seen (events are delivered at least once). */
  private once(eventId: string): boolean {
    if (this.seen.has(eventId)) return false;
    this.seen.add(eventId);
    return true;
  }

  private audit(actor: AuditActor): AuditContext {
    return {
      stream: this.request.id,
      actor,
      subject: `app:${this.request.appId}/role:${this.request.roleId}`,
      correlation: { requestId: this.request.id, instanceId: this.context.df.instanceId },
    };
  }

  private what(): string {
    const { appName, role } = this.input;
    return appName ? `${appName} · ${role.name}` : `${this.request.appId}/${this.request.roleId}`;
  }

  private now(): Date {
    return this.context.df.currentUtcDateTime;
  }
}

/** A person as a stage records them (the directory's `enabled` flag is not kept). */
function asPerson(p: Person & { enabled?: boolean }): Person {
  return { id: p.id, upn: p.upn, displayName: p.displayName };
}

/**
 * A stage's approvers once `fallback` joins. With `quorum: all` the fallback stands in for the approvers who
 * have not decided (or cannot be reached): keeping them would leave the stage needing someone absent.
 * Otherwise the fallback is asked beside everyone already asked.
 */
function withFallback(stage: StageState, fallback: Person, keepIfAll: Person[]): Person[] {
  const base = stage.quorum === 'all' ? keepIfAll : stage.approvers;
  return base.some((a) => a.id === fallback.id) ? base : [...base, fallback];
}
