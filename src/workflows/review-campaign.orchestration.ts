/**
 * The `review-campaign` orchestration: one access-review campaign from snapshot to completion. It holds counts
 * and timers only; items and decisions live in the review tables (see review-campaign.activities.ts), so a
 * campaign of 100,000 memberships costs its history no more than one of ten.
 *
 *   plan → snapshot chunks (4 at a time) → open (count + hash audited; an empty scope ends here, no notice)
 *   per stage: advance items (stage > 1) → notify reviewers with items → reminders before the deadline, only to
 *   reviewers with items left → at the deadline the default for undecided items, through the mass-removal
 *   guard (held until an admin confirms) → carry out final decisions
 *   → complete (counts audited, the sign-off manager asked).
 *
 * While a stage runs, `ReviewSignal` events arrive from the ReviewService: `apply` (final decisions were made:
 * carry them out now, not at the end), `confirm` (an admin let a held removal go ahead), `close` (end now; the
 * default applies to what is left).
 *
 * NB. Deterministic: time from context.df.currentUtcDateTime, all I/O in the activities, every activity idempotent.
 */
import type * as df from 'durable-functions';
import { reminderTimes } from '../domain/review/review.rules';
import type {
  ApplySummary,
  ChunkSummary,
  DeadlineResult,
  OpenResult,
  PlanSummary,
} from './review-campaign.activities';
import { APPLY_SLICE } from './review-campaign.activities';
import { ActivityNames, EventNames } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;

/** Snapshot chunks in flight at once. */
const CHUNKS_AT_ONCE = 4;
/** Apply slices per round at most (a round is re-entered on the next signal or deadline). */
const MAX_APPLY_SLICES = 1000;

/** What starts a campaign's orchestration. */
export interface ReviewCampaignInput {
  campaignId: string;
}

/** A signal to a running campaign. */
export interface ReviewSignal {
  kind: 'apply' | 'confirm' | 'close';
  eventId: string;
}

/** What a campaign run did. */
export type ReviewCampaignResult =
  | { empty: true }
  | { empty: false; items: number; stages: number; applied: number; failed: number; cannotApply: number };

/** The orchestrator function registered as `review-campaign`. */
export function* reviewCampaignOrchestration(context: df.OrchestrationContext): Gen<ReviewCampaignResult> {
  return yield* new CampaignFlow(context, context.df.getInput() as ReviewCampaignInput).run();
}

class CampaignFlow {
  private readonly waiters: { task: df.Task; taken: boolean }[] = [];
  private readonly inbox: ReviewSignal[] = [];
  private readonly seen = new Set<string>();
  private closing = false;
  private readonly totals = { applied: 0, failed: 0, cannotApply: 0 };

  constructor(
    private readonly context: df.OrchestrationContext,
    private readonly input: ReviewCampaignInput,
  ) {}

  private call<T>(name: string, input: unknown): Gen<T> {
    const ctx = this.context;
    return (function* () {
      return (yield ctx.df.callActivityWithRetry(name, activityRetry(), input)) as T;
    })();
  }

  private now(): string {
    return this.context.df.currentUtcDateTime.toISOString();
  }

  *run(): Gen<ReviewCampaignResult> {
    const ref = { campaignId: this.input.campaignId };
    const plan = yield* this.call<PlanSummary>(ActivityNames.reviewPlan, ref);
    const snap = { notRemovable: 0, signInUnavailable: false };
    for (let first = 0; first < plan.chunks; first += CHUNKS_AT_ONCE) {
      const wave: df.Task[] = [];
      for (let index = first; index < Math.min(first + CHUNKS_AT_ONCE, plan.chunks); index++) {
        wave.push(
          this.context.df.callActivityWithRetry(ActivityNames.reviewSnapshotChunk, activityRetry(), {
            ...ref,
            index,
          }),
        );
      }
      const results = (yield this.context.df.Task.all(wave)) as ChunkSummary[];
      for (const r of results) {
        snap.notRemovable += r.notRemovable;
        snap.signInUnavailable ||= r.signInUnavailable;
      }
    }
    const open = yield* this.call<OpenResult>(ActivityNames.reviewOpen, {
      ...ref,
      groups: plan.groups,
      ...snap,
    });
    if (open.empty) return { empty: true };

    for (let stage = 1; stage <= plan.stages; stage++) {
      if (stage > 1) yield* this.call(ActivityNames.reviewAdvance, { ...ref, stage, at: this.now() });
      const deadline = open.deadlines[stage - 1];
      if (!this.closing) {
        yield* this.call(ActivityNames.reviewNotify, {
          ...ref,
          stage,
          at: this.now(),
          kind: 'review-assigned',
        });
        yield* this.runStage(stage, deadline, plan.remindersBeforeMs);
      }
      let result = yield* this.call<DeadlineResult>(ActivityNames.reviewDeadline, {
        ...ref,
        stage,
        at: this.now(),
        confirmed: false,
      });
      while (result.held) {
        // Nothing is removed until an admin confirms (a close does not bypass the guard).
        yield* this.waitFor('confirm');
        result = yield* this.call<DeadlineResult>(ActivityNames.reviewDeadline, {
          ...ref,
          stage,
          at: this.now(),
          confirmed: true,
        });
      }
      yield* this.applyAll();
    }
    yield* this.call(ActivityNames.reviewComplete, { ...ref, at: this.now() });
    return { empty: false, items: open.count, stages: plan.stages, ...this.totals };
  }

  /** Waits out a stage: reminders on their timers, signals as they come, until the deadline or a close. */
  private *runStage(stage: number, deadline: string, remindersBeforeMs: number[]): Gen<void> {
    const reminders = reminderTimes(this.now(), deadline, remindersBeforeMs);
    for (;;) {
      // NB. Signals that came while an activity ran may sit in an older waiter: act on them before waiting.
      if (yield* this.actOnSignals()) {
        if (this.closing) return;
        continue;
      }
      const now = this.context.df.currentUtcDateTime.getTime();
      const nextReminder = reminders.find((t) => Date.parse(t) > now);
      const nextAt = nextReminder ?? deadline;
      if (Date.parse(nextAt) <= now) return;
      const timer = this.context.df.createTimer(new Date(nextAt));
      const winner = yield this.context.df.Task.any([this.waiter(), timer]);
      if (winner !== timer) {
        if (!timer.isCompleted) timer.cancel();
        continue;
      }
      if (!nextReminder) return;
      yield* this.call(ActivityNames.reviewNotify, {
        campaignId: this.input.campaignId,
        stage,
        at: this.now(),
        kind: 'review-reminder',
      });
    }
  }

  /** Acts on every signal received: close, confirm (release held decisions), then carry out what is final. */
  private *actOnSignals(): Gen<boolean> {
    let any = false;
    for (let s = this.take(); s; s = this.take()) {
      any = true;
      if (s.kind === 'close') this.closing = true;
      if (s.kind === 'confirm') {
        yield* this.call(ActivityNames.reviewRelease, { campaignId: this.input.campaignId });
      }
    }
    if (any) yield* this.applyAll();
    return any;
  }

  /** Waits until a signal of `kind` arrives; others are acted on meanwhile (apply) or remembered (close). */
  private *waitFor(kind: ReviewSignal['kind']): Gen<void> {
    for (;;) {
      for (let s = this.take(); s; s = this.take()) {
        if (s.kind === 'close') this.closing = true;
        if (s.kind === kind) return;
      }
      yield this.waiter();
    }
  }

  /** Carries out every final decision not yet carried out, a slice per activity. */
  private *applyAll(): Gen<void> {
    for (let i = 0; i < MAX_APPLY_SLICES; i++) {
      const r = yield* this.call<ApplySummary>(ActivityNames.reviewApply, {
        campaignId: this.input.campaignId,
        limit: APPLY_SLICE,
      });
      this.totals.applied += r.applied + r.alreadyGone;
      this.totals.failed += r.failed;
      this.totals.cannotApply += r.cannotApply;
      if (r.remaining === 0 || r.processed === 0) return;
    }
  }

  /**
   * A fresh waiter for the signal. NB. durable-functions hands an event to one waiter, and a waiter that lost a
   * race stays registered: every waiter is kept and {@link take} collects from all, so no signal is lost.
   */
  private waiter(): df.Task {
    const task = this.context.df.waitForExternalEvent(EventNames.reviewSignal);
    this.waiters.push({ task, taken: false });
    return task;
  }

  /** The next new signal, or undefined; repeats (same event id) are dropped. */
  private take(): ReviewSignal | undefined {
    for (const w of this.waiters) {
      if (!w.taken && w.task.isCompleted) {
        w.taken = true;
        this.inbox.push(w.task.result as ReviewSignal);
      }
    }
    for (let i = this.waiters.length - 1; i >= 0; i--) if (this.waiters[i].taken) this.waiters.splice(i, 1);
    for (;;) {
      const s = this.inbox.shift();
      if (!s) return undefined;
      if (this.seen.has(s.eventId)) continue;
      this.seen.add(s.eventId);
      return s;
    }
  }
}
