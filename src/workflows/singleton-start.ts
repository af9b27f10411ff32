/**
 * Starting a singleton orchestration from a timer tick (the membership reconcile, the offboarding sweep): one
 * run at a time, and one run for a burst of ticks.
 */
import type { Clock } from '../ports/clock.port';
import type { DurableClientPort } from '../ports/durable-client.port';

/**
 * Starts `name` as instance `instanceId` with the input `inputAt(at)`, and returns the input's run id; or
 * undefined when a run is still going, or one started less than half an interval ago. Ticks that come in a
 * burst (a host catching up on the schedule after downtime, a test clock moved a day ahead) make one run, not
 * one per missed tick.
 */
export async function startSingletonRun<I extends { runId: string }>(
  durable: DurableClientPort,
  clock: Clock,
  intervalMs: number,
  run: { name: string; instanceId: string; inputAt: (at: string) => I },
): Promise<string | undefined> {
  const current = await durable.getStatus(run.instanceId);
  if (current && (current.runtimeStatus === 'Running' || current.runtimeStatus === 'Pending'))
    return undefined;
  const now = clock.now();
  if (current && now.getTime() - new Date(current.createdTime).getTime() < intervalMs / 2) return undefined;
  const input = run.inputAt(now.toISOString());
  try {
    await durable.startNew(run.name, { instanceId: run.instanceId, input });
  } catch (err) {
    // Another host started one between the status read and the start.
    if ((err as { code?: string }).code === 'INSTANCE.EXISTS') return undefined;
    throw err;
  }
  return input.runId;
}
