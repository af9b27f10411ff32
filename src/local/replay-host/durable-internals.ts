/**
 * The parts of durable-functions' own replay engine the local host drives. They ship without typings
 * (lib/src/...), so this module gives them the narrow types we rely on. The host feeds the library's
 * Orchestrator a history and reads back its state and its executor's open tasks: the library decides what
 * the orchestrator does; the host only persists and executes.
 */
import type { InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';

/* eslint-disable @typescript-eslint/no-require-imports */
const OrchestratorModule = require('durable-functions/lib/src/orchestrations/Orchestrator');
const TestingUtils = require('durable-functions/lib/src/util/testingUtils');
const ReplaySchemaModule = require('durable-functions/lib/src/orchestrations/ReplaySchema');
const Tasks = require('durable-functions/lib/src/task');
const Actions = {
  CallActivityAction: require('durable-functions/lib/src/actions/CallActivityAction').CallActivityAction,
  CallActivityWithRetryAction: require('durable-functions/lib/src/actions/CallActivityWithRetryAction')
    .CallActivityWithRetryAction,
  CreateTimerAction: require('durable-functions/lib/src/actions/CreateTimerAction').CreateTimerAction,
  CallSubOrchestratorAction: require('durable-functions/lib/src/actions/CallSubOrchestratorAction')
    .CallSubOrchestratorAction,
  CallSubOrchestratorWithRetryAction:
    require('durable-functions/lib/src/actions/CallSubOrchestratorWithRetryAction')
      .CallSubOrchestratorWithRetryAction,
  ContinueAsNewAction: require('durable-functions/lib/src/actions/ContinueAsNewAction').ContinueAsNewAction,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** History event type numbers, as the Durable Task Framework defines them. */
export const EventType = {
  ExecutionStarted: 0,
  ExecutionCompleted: 1,
  ExecutionFailed: 2,
  ExecutionTerminated: 3,
  TaskScheduled: 4,
  TaskCompleted: 5,
  TaskFailed: 6,
  SubOrchestrationInstanceCreated: 7,
  SubOrchestrationInstanceCompleted: 8,
  SubOrchestrationInstanceFailed: 9,
  TimerCreated: 10,
  TimerFired: 11,
  OrchestratorStarted: 12,
  OrchestratorCompleted: 13,
  EventSent: 14,
  EventRaised: 15,
  ContinueAsNew: 16,
} as const;

/** One history event in the wire shape the library reads (PascalCase, as the extension sends it). */
export interface HistoryEvent {
  EventType: number;
  EventId: number;
  IsPlayed: boolean;
  Timestamp: Date;
  [field: string]: unknown;
}

/** Retry options as the library records them on a CallActivityWithRetry action. */
export interface RetryOptionsShape {
  firstRetryIntervalInMilliseconds: number;
  maxNumberOfAttempts: number;
  backoffCoefficient?: number;
  maxRetryIntervalInMilliseconds?: number;
  retryTimeoutInMilliseconds?: number;
}

/** An action object as the library builds it. */
export interface ActionShape {
  actionType: number;
  functionName?: string;
  input?: unknown;
  fireAt?: Date;
  isCanceled?: boolean;
  instanceId?: string;
  retryOptions?: RetryOptionsShape;
}

/** A task the executor still waits on. */
export interface OpenTask {
  id: number | string | false;
  actionObj?: ActionShape;
  parent?: OpenTask & {
    innerTask?: OpenTask;
    isWaitingOnTimer?: boolean;
    attemptNumber?: number;
    retryOptions?: RetryOptionsShape;
  };
}

/** What one replay of the orchestrator produced. */
export interface ReplayResult {
  isDone: boolean;
  output: unknown;
  customStatus: unknown;
  error?: string;
  failed: boolean;
  continueAsNew?: { input: unknown };
  openTasks: OpenTask[];
}

const OUT_OF_PROC_LABEL = '\n\n$OutOfProcData$:';

/** Settings the host passes to the library, with Azure's defaults. */
const MAX_SHORT_TIMER = '6.00:00:00';
const LONG_TIMER_INTERVAL = '3.00:00:00';

/**
 * Replays `fn` over `history` with durable-functions' own Orchestrator and returns its state and the
 * tasks it is still waiting on.
 */
export async function replay(
  fn: df.OrchestrationHandler,
  context: InvocationContext,
  args: { instanceId: string; history: HistoryEvent[]; input: unknown; parentInstanceId?: string },
): Promise<ReplayResult> {
  const orchestrator = new OrchestratorModule.Orchestrator(fn);
  const binding = new TestingUtils.DurableOrchestrationInput(
    args.instanceId,
    args.history,
    args.input,
    LONG_TIMER_INTERVAL,
    MAX_SHORT_TIMER,
    30000,
    ReplaySchemaModule.LatestReplaySchema,
    false,
    args.parentInstanceId ?? '',
  );
  let state: {
    isDone: boolean;
    output: unknown;
    customStatus: unknown;
    error?: string;
    actions: ActionShape[][];
  };
  let failed = false;
  try {
    state = await orchestrator.handle(binding, context);
  } catch (err) {
    // The library reports an orchestrator's own failure as an OrchestrationFailureError whose message
    // carries the state after a label (that is how the Functions host reads it back in Azure).
    const message = err instanceof Error ? err.message : String(err);
    const at = message.indexOf(OUT_OF_PROC_LABEL);
    if (at < 0) throw err;
    state = JSON.parse(message.slice(at + OUT_OF_PROC_LABEL.length));
    state.error = state.error ?? message.slice(0, at);
    failed = true;
  }
  const executor = orchestrator.taskOrchestrationExecutor as { openTasks: Record<string, OpenTask> };
  const actions = (state.actions ?? []).flat();
  const can = actions.find((a) => a instanceof Actions.ContinueAsNewAction);
  return {
    isDone: state.isDone,
    output: state.output,
    customStatus: state.customStatus,
    error: state.error,
    failed,
    continueAsNew: can ? { input: can.input === undefined ? undefined : parseJson(can.input) } : undefined,
    openTasks: Object.values(executor.openTasks),
  };
}

function parseJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** What the host must do for one open task the history has not scheduled yet. */
export type Work =
  | { kind: 'activity'; id: number; name: string; input: unknown }
  | { kind: 'timer'; id: number; fireAt: Date }
  | { kind: 'retry-timer'; id: number; delayMs: number }
  | { kind: 'sub-orchestration'; id: number; name: string; instanceId?: string; input: unknown }
  | { kind: 'canceled-timer'; id: number };

/** Classifies an open task by the library's own action classes. */
export function workFor(task: OpenTask): Work | undefined {
  if (typeof task.id !== 'number') return undefined; // external events are keyed by name
  const id = task.id;
  const parent = task.parent;
  if (task instanceof Tasks.NoOpTask && parent && parent.innerTask) {
    // A retryable task's placeholder: either the pause before the next attempt, or the next attempt itself.
    if (parent.isWaitingOnTimer) {
      const o = parent.retryOptions as RetryOptionsShape;
      const attempt = (parent.attemptNumber ?? 2) - 1; // attempts made so far
      const raw = o.firstRetryIntervalInMilliseconds * Math.pow(o.backoffCoefficient ?? 1, attempt - 1);
      const delayMs = Math.min(raw, o.maxRetryIntervalInMilliseconds || Number.MAX_SAFE_INTEGER);
      return { kind: 'retry-timer', id, delayMs };
    }
    return workFor({ id, actionObj: parent.innerTask.actionObj });
  }
  const a = task.actionObj;
  if (!a) return undefined;
  if (a instanceof Actions.CallActivityAction || a instanceof Actions.CallActivityWithRetryAction) {
    return { kind: 'activity', id, name: a.functionName as string, input: parseJson(a.input) };
  }
  if (a instanceof Actions.CreateTimerAction) {
    return a.isCanceled ? { kind: 'canceled-timer', id } : { kind: 'timer', id, fireAt: a.fireAt as Date };
  }
  if (
    a instanceof Actions.CallSubOrchestratorAction ||
    a instanceof Actions.CallSubOrchestratorWithRetryAction
  ) {
    return {
      kind: 'sub-orchestration',
      id,
      name: a.functionName as string,
      instanceId: a.instanceId,
      input: a.input,
    };
  }
  throw new Error(
    `The local host cannot run action type ${a.actionType} (entities and durable HTTP are not supported locally).`,
  );
}
