/**
 * A sample orchestration that proves the local host: an activity, a durable timer, and Task.any of an
 * external event against a timer, then another activity. It exists only until the real orchestrations
 * (access-request) land; the tests that use it move to those.
 *
 * The activity's effect is a file per (instance, step) created exclusively, plus one line per execution in
 * `executions.log`, so a test can tell "ran once" from "ran twice".
 */
import fs from 'node:fs';
import path from 'node:path';
import type * as df from 'durable-functions';
import type { FunctionDefinition } from '../../src/functions/function-types';
import { DurableClientError } from '../../src/ports/durable-client.port';

/** Names used by the sample. */
export const SelfCheck = {
  orchestration: 'self-check',
  activity: 'self-check-record',
  event: 'Approval',
} as const;

/** The sample's input. */
export interface SelfCheckInput {
  /** How long the durable timer waits. */
  timerMs: number;
  /** How long to wait for the Approval event before giving up. */
  eventTimeoutMs: number;
}

function effectsDir(): string {
  const dir = process.env.SELF_CHECK_DIR;
  if (!dir) throw new Error('SELF_CHECK_DIR must name the folder the self-check activity records into.');
  return dir;
}

/** The orchestration: deterministic, time from the context. */
export function* selfCheckOrchestration(
  context: df.OrchestrationContext,
): Generator<df.Task, unknown, unknown> {
  const input = context.df.getInput() as SelfCheckInput;
  const id = context.df.instanceId;
  yield context.df.callActivity(SelfCheck.activity, { id, step: 'started' });
  yield context.df.createTimer(new Date(context.df.currentUtcDateTime.getTime() + input.timerMs));
  yield context.df.callActivity(SelfCheck.activity, { id, step: 'timer-fired' });
  const approval = context.df.waitForExternalEvent(SelfCheck.event);
  const deadline = context.df.createTimer(
    new Date(context.df.currentUtcDateTime.getTime() + input.eventTimeoutMs),
  );
  const winner = yield context.df.Task.any([approval, deadline]);
  let decision: unknown = 'timed-out';
  if (winner === approval) {
    deadline.cancel();
    decision = approval.result;
  }
  yield context.df.callActivity(SelfCheck.activity, { id, step: 'decided', decision });
  return { decision };
}

/** The activity: records its effect once per (instance, step), and every execution. */
export async function selfCheckRecord(input: unknown): Promise<string> {
  const { id, step } = input as { id: string; step: string };
  const dir = effectsDir();
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, 'executions.log'), `${id} ${step}\n`);
  try {
    fs.writeFileSync(path.join(dir, `${encodeURIComponent(id)}.${step}`), JSON.stringify(input), {
      flag: 'wx',
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // idempotent: the effect exists already
  }
  return step;
}

/** The sample as function-list entries, including the fixed routes a test drives it through. */
export function selfCheckFunctions(): FunctionDefinition[] {
  return [
    { kind: 'orchestration', name: SelfCheck.orchestration, handler: selfCheckOrchestration },
    { kind: 'activity', name: SelfCheck.activity, handler: (input) => selfCheckRecord(input) },
    {
      kind: 'http',
      name: 'self-check-start',
      route: 'self-check',
      methods: ['POST'],
      authLevel: 'function',
      handler: async (request, { durable }) => {
        const body = (await request.json()) as SelfCheckInput & { instanceId?: string };
        const instanceId = await durable.startNew(SelfCheck.orchestration, {
          instanceId: body.instanceId,
          input: { timerMs: body.timerMs, eventTimeoutMs: body.eventTimeoutMs },
        });
        return { status: 202, jsonBody: { instanceId } };
      },
    },
    {
      kind: 'http',
      name: 'self-check-approve',
      route: 'self-check/{id}/approval',
      methods: ['POST'],
      authLevel: 'function',
      handler: async (request, { durable }) => {
        const body = (await request.json()) as { eventId: string; decision: string };
        try {
          const result = await durable.raiseEvent(request.params.id, SelfCheck.event, body.decision, {
            eventId: body.eventId,
          });
          return { status: 200, jsonBody: result };
        } catch (err) {
          if (err instanceof DurableClientError)
            return { status: 404, jsonBody: { code: err.code, error: err.message } };
          throw err;
        }
      },
    },
    {
      kind: 'http',
      name: 'self-check-status',
      route: 'self-check/{id}',
      methods: ['GET'],
      authLevel: 'function',
      handler: async (request, { durable }) => {
        const status = await durable.getStatus(request.params.id);
        return status
          ? { status: 200, jsonBody: status }
          : { status: 404, jsonBody: { error: 'no such instance' } };
      },
    },
  ];
}
