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
 * History stays bounded: while a stage runs, after every {@link SIGNAL_ROUNDS_PER_EXECUTION} signal rounds the
 * orchestration acts on every signal it holds and continues as new with a {@link CampaignResume} in its input; the
 * resumed execution skips plan, snapshot, open and the stage's advance and `review-assigned` notice, and goes back
 * into the stage wait, so a reviewer deciding 100,000 items one at a time costs no more history than ten.
 * NB. durable-functions (JS) has no `preserveUnprocessedEvents`: external events the ending execution had not
 * taken (later in the same episode's batch, or buffered with no waiter) are dropped with it, in Azure and on the
 * replay host alike. Events raised once it has handed over go to the next execution (the Durable client raises to
 * a ContinuedAsNew instance; the replay host files them for whichever execution is current). So a resumed
 * execution first reads the campaign row (`review-resume`: a close or a confirm the service recorded before
 * signalling) and runs `review-apply` (a sweep of every final-but-unapplied item): a lost signal costs nothing.
 * Event ids seen are not carried over: a signal delivered twice is harmless (apply sweeps, close repeats, and
 * release only lets go what an admin confirmed).
 * NB. The campaign orchestration and this resume input are new in this release (no instances in flight), so no
 * versioning is needed; a later change to CampaignResume must accept what an older execution wrote.
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
  ResumeCheck,
} from './review-campaign.activities';
import { APPLY_SLICE } from './review-campaign.activities';
import { ActivityNames, EventNames } from './names';
import { activityRetry } from './retry-policy';

type Gen<T> = Generator<df.Task, T, unknown>;

/** Snapshot chunks in flight at once. */
const CHUNKS_AT_ONCE = 4;
/** Apply slices per round at most (a round is re-entered on the next signal or deadline). */
const MAX_APPLY_SLICES = 1000;

/** Signal rounds one execution takes in a stage before it continues as new. */
export const SIGNAL_ROUNDS_PER_EXECUTION = 50;

/** What starts a campaign's orchestration. */
export interface ReviewCampaignInput {
  campaignId: string;
  /** Signal rounds per execution; {@link SIGNAL_ROUNDS_PER_EXECUTION} unless set (tests lower it). */
  roundsPerExecution?: number;
  /** Set by a continue-as-new in the middle of a stage. */
  resume?: CampaignResume;
}

/** Where a continued-as-new campaign picks up: inside `stage`'s wait. */
export interface CampaignResume {
  stage: number;
  stages: number;
  deadlines: string[];
  remindersBeforeMs: number[];
  count: number;
  totals: { applied: number; failed: number; cannotApply: number };
  /** Reminders at or before this time were sent (or their time passed before the stage opened). */
  remindedThrough: string;
  /** The number of the execution this input starts (the first is 1): for the record only. */
  execution: number;
}

/** The campaign's shape, as open found it. */
type Shape = Pick<CampaignResume, 'stages' | 'deadlines' | 'remindersBeforeMs' | 'count'>;

/** A signal to a running campaign. */
export interface ReviewSignal {
  kind: 'apply' | 'confirm' | 'close';
  eventId: string;
}

/** What a campaign run did. */
export type ReviewCampaignResult =
  | { empty: true }
  | { empty: false; items: number; stages: number; applied: number; failed: number; cannotApply: number }
  /** This execution handed over to the next one (a host ignores the output of a continue-as-new). */
  | { continuedAsNew: true; stage: number };

/** The orchestrator function registered as `review-campaign`. */
export function* reviewCampaignOrchestration(context: df.OrchestrationContext): Gen<ReviewCampaignResult> {
  return yield* new CampaignFlow(context, context.df.getInput() as ReviewCampaignInput).run();
}

class CampaignFlow {
  private readonly waiters: { task: df.Task; taken: boolean }[] = [];
  private readonly inbox: ReviewSignal[] = [];
  private readonly seen = new Set<string>();
  private closing = false;
  private totals = { applied: 0, failed: 0, cannotApply: 0 };

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
    if (this.input.resume) return yield* this.resumed(this.input.resume);
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
    const shape: Shape = {
      stages: plan.stages,
      deadlines: open.deadlines,
      remindersBeforeMs: plan.remindersBeforeMs,
      count: open.count,
    };
    return yield* this.stages(shape, 1);
  }

  /**
   * A continued-as-new execution: first what a signal dropped on the way would have done (a close or a confirm
   * the service recorded on the campaign row; a sweep of final decisions), then back into the stage's wait.
   */
  private *resumed(r: CampaignResume): Gen<ReviewCampaignResult> {
    const ref = { campaignId: this.input.campaignId };
    this.totals = { ...r.totals };
    const check = yield* this.call<ResumeCheck>(ActivityNames.reviewResume, ref);
    if (check.closeRequested) this.closing = true;
    if (check.confirmed) yield* this.call(ActivityNames.reviewRelease, ref);
    yield* this.applyAll();
    return yield* this.stages(r, r.stage, r);
  }

  /** Runs the stages from `first` on; `resume` when continuing inside `first`'s wait. */
  private *stages(shape: Shape, first: number, resume?: CampaignResume): Gen<ReviewCampaignResult> {
    const ref = { campaignId: this.input.campaignId };
    for (let stage = first; stage <= shape.stages; stage++) {
      const resuming = resume !== undefined && stage === resume.stage;
      if (stage > 1 && !resuming) {
        yield* this.call(ActivityNames.reviewAdvance, { ...ref, stage, at: this.now() });
      }
      if (!this.closing) {
        if (!resuming) {
          yield* this.call(ActivityNames.reviewNotify, {
            ...ref,
            stage,
            at: this.now(),
            kind: 'review-assigned',
          });
        }
        const remindedThrough = resuming ? resume.remindedThrough : this.now();
        const ended = yield* this.runStage(shape, stage, remindedThrough, resume?.execution ?? 1);
        if (ended === 'continued') return { continuedAsNew: true, stage };
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
    return { empty: false, items: shape.count, stages: shape.stages, ...this.totals };
  }

  /**
   * Waits out a stage: reminders on their timers, signals as they come, until the deadline or a close; or, after
   * the execution's share of signal rounds, continues as new inside the stage ('continued').
   * A reminder is sent once: those at or before `remindedThrough` were sent (or predate the stage), and one whose
   * time passed while an activity ran is sent late rather than skipped.
   */
  private *runStage(
    shape: Shape,
    stage: number,
    remindedThrough: string,
    execution: number,
  ): Gen<'ended' | 'continued'> {
    const deadline = shape.deadlines[stage - 1];
    const reminders = reminderTimes(remindedThrough, deadline, shape.remindersBeforeMs);
    let reminded = Date.parse(remindedThrough);
    const perExecution = Math.max(1, this.input.roundsPerExecution ?? SIGNAL_ROUNDS_PER_EXECUTION);
    let rounds = 0;
    for (;;) {
      // NB. Signals that came while an activity ran may sit in an older waiter: act on them before waiting.
      if (yield* this.actOnSignals()) {
        if (this.closing) return 'ended';
        if (++rounds < perExecution) continue;
        // Every signal this execution holds is acted on before it hands over (one that completes a waiter while
        // an apply runs is taken by the next pass); what it never saw is swept up by the resume.
        while (yield* this.actOnSignals()) if (this.closing) return 'ended';
        const resume: CampaignResume = {
          stage,
          ...shape,
          totals: { ...this.totals },
          remindedThrough: new Date(reminded).toISOString(),
          execution: execution + 1,
        };
        this.context.df.continueAsNew({ ...this.input, resume } satisfies ReviewCampaignInput);
        return 'continued';
      }
      const now = this.context.df.currentUtcDateTime.getTime();
      if (now >= Date.parse(deadline)) return 'ended';
      const due = reminders.filter((t) => Date.parse(t) > reminded && Date.parse(t) <= now);
      if (due.length > 0) {
        reminded = Date.parse(due[due.length - 1]);
        yield* this.call(ActivityNames.reviewNotify, {
          campaignId: this.input.campaignId,
          stage,
          at: this.now(),
          kind: 'review-reminder',
        });
        continue;
      }
      const nextAt = reminders.find((t) => Date.parse(t) > now) ?? deadline;
      const timer = this.context.df.createTimer(new Date(nextAt));
      const winner = yield this.context.df.Task.any([this.waiter(), timer]);
      if (winner !== timer && !timer.isCompleted) timer.cancel();
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
