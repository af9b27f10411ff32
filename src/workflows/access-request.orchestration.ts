/**
 * The `access-request` orchestration: one instance per request (instance id = request id), the only writer of
 * the request's audit stream. Submitted → policy evaluated → approval stages in order (resolve approvers,
 * notify, wait for decisions or the stage timeout; escalate once to the fallback, then expire undecided) →
 * grant → active until expiry, early revoke or an extension (approved through the role's stages again) →
 * revoke. Every step appends exactly one audit event, at a sequence number the orchestration knows, so a
 * replayed or retried step never writes twice.
 *
 * NB. Deterministic: time only from context.df.currentUtcDateTime, ids derived from the request id, all I/O
 * in activities. Decisions arrive as external events, delivered at least once: de-duplicated by their id.
 */
import type * as df from 'durable-functions';
import {
  accessGranted,
  accessRevoked,
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
import {
  approvalsNeeded,
  personName,
  recordDecision,
  type AccessRequest,
  type Person,
  type StageState,
} from '../domain/request/access-request';
import type { NotificationKind, NotifyResult } from '../ports/notifier.port';
import type {
  AccessRequestInput,
  DecisionEvent,
  ExtendEvent,
  ResolvedApprovers,
  RevokeEvent,
} from './access-request.types';
import { ActivityNames, EventNames } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;
type StagesOutcome = 'approved' | 'denied' | 'expired' | 'deadline' | 'failed' | 'revoked';

const SYSTEM: AuditActor = { objectId: 'system', channel: 'system' };
const MINUTE = 60_000;

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

  constructor(
    private readonly context: df.OrchestrationContext,
    private readonly input: AccessRequestInput,
  ) {
    this.request = { ...input.request, stages: [...input.request.stages] };
    this.policy = {
      id: this.request.policy.id,
      version: this.request.policy.version,
      hash: this.request.policy.hash,
    };
  }

  *run(): Gen<string> {
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
      this.request = { ...this.request, status: 'Approved' };
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
      this.request = { ...this.request, status: 'PendingApproval' };
      yield* this.record(
        policyEvaluated(this.audit(SYSTEM), {
          policy: this.policy,
          outcome: 'approval-required',
          stages: stages.length,
        }),
      );
      const outcome = yield* this.runStages(stages);
      if (outcome !== 'approved') return this.request.status;
      this.request = { ...this.request, status: 'Approved' };
    }
    return yield* this.grantAndHold();
  }

  /** Grants, waits out the grant (reminder, extensions, early revoke), then revokes. */
  private *grantAndHold(): Gen<string> {
    const r = this.request;
    const membership = { groupId: r.groupId, userId: r.requester.id };
    let graph: { status: number; alreadyMember: boolean };
    try {
      graph = (yield this.context.df.callActivityWithRetry(
        ActivityNames.grantAccess,
        activityRetry(),
        membership,
      )) as typeof graph;
    } catch (err) {
      this.request = { ...this.request, status: 'Failed' };
      const reason = `Adding ${r.requester.upn ?? r.requester.id} to group ${r.groupId} failed after retries: ${(err as Error).message}`;
      yield* this.record(attemptRefused(this.audit(SYSTEM), { code: 'REQUEST.PROVISIONING_FAILED', reason }));
      yield* this.notify(
        'provisioning-failed',
        [r.requester.id],
        `${reason}. An administrator has to look at it.`,
      );
      return this.request.status;
    }
    const now = this.now();
    const expiresAt =
      r.durationMs === 'permanent' ? undefined : new Date(now.getTime() + r.durationMs).toISOString();
    this.request = { ...this.request, status: 'Active', grantedAt: now.toISOString(), expiresAt };
    yield* this.record(
      accessGranted(this.audit(SYSTEM), {
        group: { id: r.groupId },
        graph,
        expiresAt: expiresAt ?? 'permanent',
      }),
    );
    yield* this.notify(
      'access-granted',
      [r.requester.id],
      `You now have ${this.what()}${expiresAt ? ` until ${expiresAt}` : ' with no end date'}.`,
    );

    const end = yield* this.holdUntilEnd();
    const removed = (yield this.context.df.callActivityWithRetry(
      ActivityNames.revokeAccess,
      activityRetry(),
      membership,
    )) as { status: number; wasMember: boolean };
    this.request = {
      ...this.request,
      status: 'Revoked',
      pendingExtension: undefined,
      revokedAt: this.now().toISOString(),
      revocation: end,
    };
    yield* this.record(
      accessRevoked(this.audit(end.by === 'system' ? SYSTEM : end.actor), {
        reason: end.reason,
        by: end.by,
        group: { id: r.groupId },
        graph: removed,
      }),
    );
    yield* this.notify(
      'access-revoked',
      [r.requester.id],
      `Your ${this.what()} access ended (${end.reason}).`,
    );
    return this.request.status;
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
        return yield* this.fail(`Stage ${number} could not be opened: ${(err as Error).message}`);
      }
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
          const fallback = (yield this.context.df.callActivityWithRetry(
            ActivityNames.resolvePerson,
            activityRetry(),
            policy.fallback,
          )) as Person;
          const approvers = current.approvers.some((a) => a.id === fallback.id)
            ? current.approvers
            : [...current.approvers, fallback];
          dueAt = new Date(this.now().getTime() + policy.timeoutMs);
          this.replaceStage(index, { ...current, approvers, escalated: true, dueAt: dueAt.toISOString() });
          yield* this.record(
            approvalEscalated(this.audit(SYSTEM), {
              stage: number,
              from: current.approvers.map((a) => a.id),
              to: [fallback.id],
              reason: 'nobody decided before the stage timed out',
            }),
          );
          yield* this.askApprovers([fallback], number, 'approval-escalated');
          continue;
        }
        const waitedMinutes = Math.round(
          (this.now().getTime() - new Date(this.request.submittedAt).getTime()) / MINUTE,
        );
        if (this.request.pendingExtension) return 'expired';
        this.request = { ...this.request, status: 'ExpiredUndecided' };
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

  private *fail(reason: string): Gen<StagesOutcome> {
    this.request = {
      ...this.request,
      status: this.request.pendingExtension ? this.request.status : 'Failed',
    };
    yield* this.record(attemptRefused(this.audit(SYSTEM), { code: 'REQUEST.NO_APPROVER', reason }));
    yield* this.notify('provisioning-failed', [this.request.requester.id], reason);
    return 'failed';
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
    const fallback = (yield this.context.df.callActivityWithRetry(
      ActivityNames.resolvePerson,
      activityRetry(),
      policy.fallback,
    )) as Person;
    const names = current.approvers
      .filter((a) => missing.has(a.id.toLowerCase()))
      .map(personName)
      .join(', ');
    const reason = `the bot cannot reach ${names} in Teams (the Attest app is not installed for them)`;
    if (missing.has(fallback.id.toLowerCase()) || current.approvers.some((a) => a.id === fallback.id)) {
      // Nobody else to ask now: the stage waits for its timeout. Its approvers still find it under `pending`
      // once they open Attest, and the CLI can decide it.
      yield* this.notify(
        'approvers-unreachable',
        [this.request.requester.id],
        `Your request is waiting: ${reason}.`,
      );
      return;
    }
    this.replaceStage(index, { ...current, approvers: [...current.approvers, fallback], escalated: true });
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
    const result = (yield this.context.df.callActivityWithRetry(ActivityNames.notify, activityRetry(), {
      kind,
      requestId: this.request.id,
      recipients,
      text,
      id: `${String(this.notices).padStart(4, '0')}-${kind}`,
    })) as NotifyResult | undefined;
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
