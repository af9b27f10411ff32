/**
 * Scheduled review campaigns: the timer looks for catalog definitions that fell due since a short while ago and
 * starts each once per due time. The campaign id carries the due time (`${definitionId}-YYYYMMDDTHHMMSSZ`), so a
 * tick repeated in the window, a second host, or a host catching up after downtime starts nothing twice.
 */
import { Cron } from 'croner';
import type { CampaignDefinition, ReviewSchedule } from '../domain/review/review.model';
import type { DurableClientPort } from '../ports/durable-client.port';
import { campaignIdFor, startCampaign } from './review.service';
import type { WorkflowDeps } from './workflow-deps';

/** How far back a due time still starts its campaign: a host down for less than this misses nothing. */
export const REVIEW_DUE_WINDOW_MS = 24 * 60 * 60 * 1000;

/** NCRONTAB (second first) of the timer that starts due campaigns: every 15 minutes. */
export const REVIEW_SCHEDULE_TIMER = '0 */15 * * * *';

/** The NCRONTAB expression of a schedule; undefined for on-demand. Monthly: the 1st, quarterly: Jan/Apr/Jul/Oct 1st, 06:00 UTC. */
export function scheduleExpression(s: ReviewSchedule): string | undefined {
  switch (s.kind) {
    case 'on-demand':
      return undefined;
    case 'monthly':
      return '0 0 6 1 * *';
    case 'quarterly':
      return '0 0 6 1 1,4,7,10 *';
    case 'cron':
      return s.expression;
  }
}

/** The due time of a definition in (now − window, now], or undefined. */
export function dueTime(
  def: CampaignDefinition,
  now: Date,
  windowMs = REVIEW_DUE_WINDOW_MS,
): Date | undefined {
  const expr = scheduleExpression(def.schedule);
  if (!expr) return undefined;
  const job = new Cron(expr, { timezone: 'UTC', paused: true });
  try {
    const next = job.nextRun(new Date(now.getTime() - windowMs)) ?? undefined;
    return next && next.getTime() <= now.getTime() ? next : undefined;
  } finally {
    job.stop();
  }
}

/** What a tick started. */
export interface ScheduleTick {
  started: string[];
  empty: string[];
  failed: { definitionId: string; reason: string }[];
}

/** Starts every catalog campaign that is due now, once per due time. One bad definition does not stop the rest. */
export async function startDueCampaigns(
  deps: WorkflowDeps,
  durable: DurableClientPort,
): Promise<ScheduleTick> {
  const now = deps.clock.now();
  const out: ScheduleTick = { started: [], empty: [], failed: [] };
  for (const def of deps.catalog.catalog.reviews ?? []) {
    const due = dueTime(def, now);
    if (!due) continue;
    const at = due.toISOString();
    try {
      const r = await startCampaign(deps, durable, def, {
        startedBy: 'schedule',
        campaignId: campaignIdFor(def.id, at),
        at,
      });
      if ('empty' in r) out.empty.push(def.id);
      else out.started.push(r.id);
    } catch (err) {
      out.failed.push({ definitionId: def.id, reason: (err as Error).message });
    }
  }
  return out;
}
