/**
 * Attest's functions, as one declarative list. Both hosts mount exactly this list: Azure through
 * `index.ts`, the local host through `src/local`. Names come from `src/workflows/names.ts`.
 */
import { handleBotRequest } from '../adapters/teams/bot-endpoint';
import { AccessRequestService } from '../workflows/access-request.service';
import type { AttestConfig } from '../config/config';
import { reviewTabLink } from './composition';
import * as activities from '../workflows/access-request.activities';
import { accessRequestOrchestration } from '../workflows/access-request.orchestration';
import type {
  MembershipInput,
  NotifyInput,
  RecordStepInput,
  ResolveApproversInput,
} from '../workflows/access-request.types';
import * as reconcile from '../workflows/membership-reconcile.activities';
import {
  membershipReconcileOrchestration,
  startMembershipReconcile,
} from '../workflows/membership-reconcile.orchestration';
import { ActivityNames, FunctionNames, OrchestrationNames } from '../workflows/names';
import * as offboarding from '../workflows/offboarding.activities';
import { offboardingSweepOrchestration, startOffboardingSweep } from '../workflows/offboarding.orchestration';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import type { AccessRequest } from '../domain/request/access-request';
import * as review from '../workflows/review-campaign.activities';
import { reviewCampaignOrchestration } from '../workflows/review-campaign.orchestration';
import { REVIEW_SCHEDULE_TIMER, startDueCampaigns } from '../workflows/review-schedule';
import * as evidenceMail from '../workflows/evidence-mail.activities';
import { evidenceMailOrchestration, startEvidenceMail } from '../workflows/evidence-mail.orchestration';
import { schedulePeriodAt } from '../config/config';
import type { InvocationContext } from '@azure/functions';
import type { DigestOutcome, DigestSummary } from '../ports/audit-log.port';
import type {
  ActivityContext,
  ActivityFunction,
  FunctionContext,
  FunctionDefinition,
} from './function-types';
import { tabApiFunctions } from './tab-api';
import { tabAuthFunctions } from './tab-auth.functions';
import { tabRoute } from './tab-route';
import { tabStaticFunction } from './tab-static';
import { recordWorkCounts } from '../adapters/telemetry/work-gauges';
import { instrumentFunctions } from './instrument';

/** An activity entry: validates that an input arrived, then calls the workflow's activity with the ports. */
function activity<I, O>(name: string, run: (deps: WorkflowDeps, input: I) => Promise<O>): ActivityFunction {
  return {
    kind: 'activity',
    name,
    handler: async (input: unknown, context: ActivityContext) => {
      if (input === undefined || input === null) throw new Error(`Activity ${name} needs an input.`);
      return run(await context.services.workflow(), input as I);
    },
  };
}

/**
 * Logs what a digest timer did. An anchor that could not be written is an error (the digest stands in the
 * tables and the next tick retries); a conflicting anchor means the tables' digest chain was rewritten.
 */
function reportDigest(
  d: DigestSummary & DigestOutcome,
  invocation: Pick<InvocationContext, 'log' | 'error'>,
): void {
  if (d.written) {
    invocation.log(
      `audit digest ${d.seq}: ${d.streams} streams, ${d.events} events, root ${d.root}, anchor ${d.seq}:${d.hash}${d.anchored ? '' : ' (NOT anchored yet)'}`,
    );
  }
  if (d.anchorProblem) {
    invocation.error(`audit digest anchoring failed (the next digest tick retries): ${d.anchorProblem}`);
  }
}

/** NCRONTAB of the work counts the telemetry gauges report: every 5 minutes. */
export const WORK_COUNTS_SCHEDULE = '0 */5 * * * *';

/** NCRONTAB (second first) of the audit digest: daily at 02:00 UTC. */
export const AUDIT_DIGEST_SCHEDULE = '0 0 2 * * *';

/** Builds the list for one configuration. */
export function buildFunctionList(config: AttestConfig): FunctionDefinition[] {
  // Every handler runs in its work's context and span (instrument.ts); orchestrations are left as they are.
  return instrumentFunctions([
    {
      kind: 'http',
      name: FunctionNames.botMessages,
      route: 'messages',
      methods: ['POST'],
      authLevel: 'anonymous', // the Bot Framework token is validated by the CloudAdapter
      handler: (request, { services, durable }) =>
        handleBotRequest(request, async () => ({
          channel: await services.teams(),
          deps: await services.workflow(),
          service: (deps, requesterFacts) =>
            new AccessRequestService(deps, durable, undefined, requesterFacts),
          // The review card's Keep and Revoke: decided through the same ReviewApi as the tab, authorised there.
          ...(services.reviews && {
            reviews: {
              api: await services.reviews(durable),
              tabUrl: (campaignId: string) => reviewTabLink(config, campaignId),
            },
          }),
        })),
    },
    // The review tab: its static files at /api/tab/{*path} (the manifest's contentUrl) and its sign-in routes.
    tabStaticFunction(),
    ...tabAuthFunctions(config),
    // The tab's API at /api/tabapi/v1/..., every route behind the tab's token validation.
    ...tabApiFunctions(tabRoute),
    {
      kind: 'timer',
      name: FunctionNames.auditDigest,
      // Daily at 02:00 UTC: fixes every stream's head, so a later edit, cut or deletion fails `attest verify`.
      schedule: AUDIT_DIGEST_SCHEDULE,
      handler: async ({ services, invocation }) => {
        reportDigest(await (await services.workflow()).audit.writeDigest(), invocation);
      },
    },
    {
      kind: 'timer',
      name: FunctionNames.auditDigestInterval,
      // Every ATTEST_DIGEST_INTERVAL_MINUTES (15 by default) when a stream moved since the last digest: the
      // interval bounds how long a cut-off tail can go unseen. Each tick also anchors digests a blob outage left.
      schedule: config.evidence.digestSchedule,
      handler: async ({ services, invocation }) => {
        const digest = await (await services.workflow()).audit.digestIfChanged();
        if (digest) reportDigest(digest, invocation);
      },
    },
    {
      kind: 'timer',
      name: FunctionNames.membershipReconcileTimer,
      // Every 15 minutes by default (ATTEST_RECONCILE_SCHEDULE); a run still going skips the tick.
      schedule: config.reconcile.schedule,
      handler: async ({ services, durable, invocation }) => {
        const deps = await services.workflow();
        const runId = await startMembershipReconcile(durable, deps.clock, config.reconcile.intervalMs);
        invocation.log(
          runId
            ? `membership reconcile ${runId} started`
            : 'membership reconcile still running: tick skipped',
        );
      },
    },
    {
      kind: 'timer',
      name: FunctionNames.offboardingTimer,
      // Every 15 minutes by default (ATTEST_OFFBOARDING_SCHEDULE); a run still going skips the tick.
      schedule: config.offboarding.schedule,
      handler: async ({ services, durable, invocation }) => {
        const deps = await services.workflow();
        const runId = await startOffboardingSweep(durable, deps.clock, config.offboarding.intervalMs);
        invocation.log(
          runId ? `offboarding sweep ${runId} started` : 'offboarding sweep still running: tick skipped',
        );
      },
    },
    {
      kind: 'timer',
      name: FunctionNames.reviewScheduleTimer,
      // Every 15 minutes: starts each catalog review that fell due, once per due time (the campaign id says when).
      schedule: REVIEW_SCHEDULE_TIMER,
      handler: async ({ services, durable, invocation }) => {
        const deps = await services.workflow();
        if (!deps.catalog.catalog.reviews?.length) return;
        const tick = await startDueCampaigns(deps, durable);
        for (const id of tick.started) invocation.log(`review campaign ${id} started`);
        for (const id of tick.empty)
          invocation.log(`review ${id} is due but its scope is empty: no campaign`);
        for (const f of tick.failed) invocation.error(`review ${f.definitionId} did not start: ${f.reason}`);
      },
    },
    ...(config.tickets.mode === 'none'
      ? []
      : [
          {
            kind: 'timer' as const,
            name: FunctionNames.ticketSyncTimer,
            // Every minute by default (ATTEST_TICKETS_SYNC_SCHEDULE): one drain of the audit outbox into tickets;
            // a tick while another drain (this host or another instance) holds the lease is skipped.
            schedule: config.ticketSync.schedule,
            handler: async ({ services, invocation }: FunctionContext) => {
              const sync = await services.ticketSync?.();
              if (!sync) return;
              const r = await sync.drain();
              if (r.outcome === 'busy')
                invocation.log('ticket sync: another drain holds the lease: tick skipped');
              else
                invocation.log(
                  `ticket sync: ${r.outcome}${r.reason ? ` (${r.reason})` : ''}: ${r.streams} streams, ${r.rows} rows, ` +
                    `${r.comments} comments, ${r.created} created, ${r.resolved} resolved, ${r.held} held, ${r.parked} parked` +
                    (r.failedStreams ? `, ${r.failedStreams} streams unreadable (see the log)` : ''),
                );
            },
          },
        ]),
    {
      kind: 'timer',
      name: FunctionNames.workCountsTimer,
      // Every 5 minutes: the gauges report these counts between ticks, so an export never queries the tables.
      schedule: WORK_COUNTS_SCHEDULE,
      handler: async ({ services, invocation }) => {
        if (!services.workCounts) return;
        const counts = await services.workCounts();
        recordWorkCounts(counts);
        invocation.log(
          `work counts: ${counts.pendingApprovals} pending approvals, ${counts.overdueRevocations} overdue revocations, ` +
            `${counts.parkedTicketRows ?? 'no'} parked ticket rows, ${counts.driftFindings} drift findings`,
        );
      },
    },
    {
      kind: 'timer',
      name: FunctionNames.evidenceMailTimer,
      // Mondays 07:00 UTC by default (ATTEST_EVIDENCE_MAIL_SCHEDULE): the period since the previous occurrence.
      schedule: config.evidenceMail.schedule,
      handler: async ({ services, durable, invocation }) => {
        const deps = await services.workflow();
        if (!deps.evidenceMail) {
          invocation.log('evidence e-mail is off: ATTEST_EVIDENCE_MAIL_TO names no recipient');
          return;
        }
        const period = schedulePeriodAt(config.evidenceMail.schedule, deps.clock.now());
        const run = await startEvidenceMail(durable, deps.evidenceMail.deliveries, {
          period,
          attempts: config.evidenceMail.attempts,
        });
        for (const id of run.started) invocation.log(`evidence e-mail ${id} started`);
        if (run.skipped) invocation.log(`evidence e-mail ${run.skipped} already ran: tick skipped`);
      },
    },
    { kind: 'orchestration', name: OrchestrationNames.accessRequest, handler: accessRequestOrchestration },
    { kind: 'orchestration', name: OrchestrationNames.reviewCampaign, handler: reviewCampaignOrchestration },
    {
      kind: 'orchestration',
      name: OrchestrationNames.offboardingSweep,
      handler: offboardingSweepOrchestration,
    },
    {
      kind: 'orchestration',
      name: OrchestrationNames.membershipReconcile,
      handler: membershipReconcileOrchestration,
    },
    { kind: 'orchestration', name: OrchestrationNames.evidenceMail, handler: evidenceMailOrchestration },
    activity<evidenceMail.EvidenceMailRef, unknown>(
      ActivityNames.evidenceMailPrepare,
      evidenceMail.evidenceMailPrepare,
    ),
    activity<evidenceMail.EvidenceMailRef, unknown>(
      ActivityNames.evidenceMailSend,
      evidenceMail.evidenceMailSend,
    ),
    activity<evidenceMail.EvidenceMailReportInput, unknown>(
      ActivityNames.evidenceMailReport,
      evidenceMail.evidenceMailReport,
    ),
    activity<RecordStepInput, unknown>(ActivityNames.recordStep, activities.recordStep),
    activity<ResolveApproversInput, unknown>(ActivityNames.resolveApprovers, activities.resolveApprovers),
    activity<string, unknown>(ActivityNames.resolvePerson, activities.resolvePerson),
    activity<MembershipInput, unknown>(ActivityNames.grantAccess, activities.grantAccess),
    activity<MembershipInput, unknown>(ActivityNames.revokeAccess, activities.revokeAccess),
    activity<NotifyInput, unknown>(ActivityNames.notify, activities.notify),
    activity<{ request: AccessRequest }, unknown>(ActivityNames.saveState, activities.saveState),
    activity<reconcile.ReconcileRunRef, unknown>(ActivityNames.reconcilePlan, reconcile.reconcilePlan),
    activity<reconcile.ReconcileBatchInput, unknown>(ActivityNames.reconcileBatch, reconcile.reconcileBatch),
    activity<reconcile.OverdueInput, unknown>(ActivityNames.reconcileOverdue, reconcile.reconcileOverdue),
    activity<reconcile.ReconcileRunRef & { olderThan: string }, unknown>(
      ActivityNames.reconcileOverdueDigest,
      reconcile.reconcileOverdueDigest,
    ),
    activity<offboarding.OffboardingRunRef, unknown>(
      ActivityNames.offboardingFindLeavers,
      offboarding.findLeavers,
    ),
    {
      kind: 'activity',
      name: ActivityNames.offboardingOffboardUser,
      durableClient: true,
      handler: async (input: unknown, context: ActivityContext) => {
        const leaver = input as (offboarding.OffboardingRunRef & offboarding.Leaver) | null | undefined;
        if (!leaver || typeof leaver.userId !== 'string' || !leaver.userId || !leaver.runId)
          throw new Error(`Activity ${ActivityNames.offboardingOffboardUser} needs a run id and a user id.`);
        if (!context.durable)
          throw new Error(`Activity ${ActivityNames.offboardingOffboardUser} needs the durable client.`);
        return offboarding.offboardUser(await context.services.workflow(), context.durable, leaver);
      },
    },
    activity<offboarding.OffboardingRunRef & { deltaLink: string }, unknown>(
      ActivityNames.offboardingSaveLink,
      offboarding.saveUsersDeltaLink,
    ),
    activity<review.CampaignRef, unknown>(ActivityNames.reviewPlan, review.reviewPlan),
    activity<review.SnapshotChunkInput, unknown>(
      ActivityNames.reviewSnapshotChunk,
      review.reviewSnapshotChunk,
    ),
    activity<Parameters<typeof review.reviewOpen>[1], unknown>(ActivityNames.reviewOpen, review.reviewOpen),
    activity<review.StageInput, unknown>(ActivityNames.reviewAdvance, review.reviewAdvance),
    activity<review.NotifyInput, unknown>(ActivityNames.reviewNotify, review.reviewNotify),
    activity<Parameters<typeof review.reviewDeadline>[1], unknown>(
      ActivityNames.reviewDeadline,
      review.reviewDeadline,
    ),
    activity<review.CampaignRef, unknown>(ActivityNames.reviewRelease, review.reviewRelease),
    activity<review.CampaignRef, unknown>(ActivityNames.reviewResume, review.reviewResume),
    {
      kind: 'activity',
      name: ActivityNames.reviewApply,
      // It closes the Attest requests a revocation ended by raising their Revoke event.
      durableClient: true,
      handler: async (input: unknown, context: ActivityContext) => {
        const slice = input as review.ApplyInput | null | undefined;
        if (!slice || typeof slice.campaignId !== 'string' || !(slice.limit > 0))
          throw new Error(`Activity ${ActivityNames.reviewApply} needs a campaign id and a limit.`);
        return review.reviewApply(await context.services.workflow(), slice, context.durable);
      },
    },
    activity<review.CampaignRef & { at: string }, unknown>(
      ActivityNames.reviewComplete,
      review.reviewComplete,
    ),
  ]);
}
