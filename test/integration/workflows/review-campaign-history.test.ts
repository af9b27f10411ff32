/**
 * A review campaign's history stays bounded: with the rounds per execution lowered to 3, a reviewer deciding one
 * item per call makes the orchestration continue as new inside the stage; every decision is still carried out
 * with its per-item result, no notice is sent twice, a close raised as the instance restarts still closes it, a
 * close whose signal was lost is found on the campaign row by the resumed execution, and Graph ends right.
 * In-process host (Azurite, the Graph simulator with the demo tenant, the replay host), time on a TestClock.
 */
import type { TableReviewStore } from '../../../src/adapters/tables/review.store';
import { TableNames } from '../../../src/adapters/tables/table-names';
import type { Campaign, CampaignDefinition } from '../../../src/domain/review/review.model';
import { reviewStream } from '../../../src/domain/audit/audit-events';
import { reviewItemId } from '../../../src/domain/review/review.rules';
import { DEMO_ATTEST_ADMINS_GROUP_ID, demoGroupId } from '../../../src/local/graph-sim/demo-tenant';
import { TaskHubStore } from '../../../src/local/replay-host/task-hub-store';
import type { DurableClientPort } from '../../../src/ports/durable-client.port';
import type { ReviewCaller } from '../../../src/ports/review-api.port';
import type { ReviewNotice } from '../../../src/ports/review-notifier.port';
import type { ActivityContext, FunctionDefinition } from '../../../src/functions/function-types';
import { ActivityNames, OrchestrationNames, reviewInstanceId } from '../../../src/workflows/names';
import { reviewResume, type CampaignRef } from '../../../src/workflows/review-campaign.activities';
import type { ReviewCampaignInput, ReviewSignal } from '../../../src/workflows/review-campaign.orchestration';
import { ReviewService } from '../../../src/workflows/review.service';
import { DAY, demo, MINUTE } from '../../support/workflow-scenarios';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
const ROUNDS = 3;
let w: WorkflowHost;
let reviews: ReviewService;
let store: TableReviewStore;
let hub: TaskHubStore;
/** While set, `close` signals are not raised: as if the restarting instance had dropped them. */
let dropClose = false;
/** Run once inside the next `review-resume`, after it read the campaign row: a signal raised mid-restart. */
let duringResume: (() => Promise<void>) | undefined;

/** `review-resume` as the app has it, with the {@link duringResume} hook. */
const resumeWithHook: FunctionDefinition = {
  kind: 'activity',
  name: ActivityNames.reviewResume,
  handler: async (input: unknown, context: ActivityContext) => {
    const read = await reviewResume(await context.services.workflow(), input as CampaignRef);
    const hook = duringResume;
    duringResume = undefined;
    await hook?.();
    return read;
  },
};

/** The host's durable client, starting campaigns with fewer rounds per execution (and able to lose a close). */
function lowered(client: DurableClientPort): DurableClientPort {
  return {
    startNew: (name, options) =>
      client.startNew(
        name,
        name === OrchestrationNames.reviewCampaign
          ? {
              ...options,
              input: { ...(options?.input as ReviewCampaignInput), roundsPerExecution: ROUNDS },
            }
          : options,
      ),
    raiseEvent: async (instanceId, eventName, data, options) => {
      if (dropClose && (data as ReviewSignal).kind === 'close') return { delivered: true, duplicate: false };
      return client.raiseEvent(instanceId, eventName, data, options);
    },
    getStatus: (id) => client.getStatus(id),
    terminate: (id, reason) => client.terminate(id, reason),
    list: (filter) => client.list(filter),
  };
}

beforeAll(async () => {
  w = await startWorkflowHost({
    clock,
    env: { ATTEST_ADMIN_GROUP_ID: DEMO_ATTEST_ADMINS_GROUP_ID },
    overrides: [resumeWithHook],
  });
  reviews = new ReviewService(w.deps, lowered(w.host.durable));
  store = w.deps.reviews as TableReviewStore;
  hub = new TaskHubStore(w.host.tables.client(TableNames.localTaskHub(w.host.services.config.taskHub)));
}, 60000);
afterAll(async () => {
  await w?.stop();
});

const GITHUB_MEMBERS = demoGroupId('sg-github-members');
const AWS_READONLY = demoGroupId('sg-aws-prod-readonly');
const caller = (alias: string, role: ReviewCaller['role'] = 'member'): ReviewCaller => ({
  objectId: demo(alias).id,
  upn: demo(alias).userPrincipalName,
  role,
  channel: 'tab',
});
const admin = caller('ravi.patel', 'admin');
const kenji = caller('kenji.watanabe');
const members = async (groupId: string) => (await w.deps.directory.groupMembers(groupId)).map((u) => u.id);

function definition(id: string, groupId: string): CampaignDefinition {
  return {
    id,
    name: `History test ${id}`,
    scope: { appIds: [], roleRefs: [], groupIds: [groupId] },
    stages: [
      {
        number: 1,
        reviewers: { kind: 'people', people: ['kenji.watanabe@contoso.example'] },
        fallback: 'ravi.patel@contoso.example',
      },
    ],
    schedule: { kind: 'on-demand' },
    durationMs: 7 * DAY,
    remindersBeforeMs: [3 * DAY, DAY],
    defaultDecision: 'keep',
    signOff: 'amara.nwosu@contoso.example',
    inactiveDays: 90,
    massRemovalShare: 1,
  };
}

async function campaignWhen(id: string, ready: (c: Campaign) => boolean, what: string): Promise<Campaign> {
  return eventually(
    async () => {
      const c = (await w.deps.reviews?.getCampaign(id))?.value;
      return c && ready(c) ? c : undefined;
    },
    30000,
    what,
  );
}

async function notices(campaignId: string, kind: ReviewNotice['kind']): Promise<ReviewNotice[]> {
  return (await store.notices(campaignId)).filter((n) => n.kind === kind);
}

/** The instance's current execution and its history length, and how many executions it has had. */
async function executions(campaignId: string): Promise<{ current: string; length: number; count: number }> {
  const instanceId = reviewInstanceId(campaignId);
  const row = await hub.getInstance(instanceId);
  if (!row) throw new Error(`no instance ${instanceId}`);
  const table = w.host.tables.client(TableNames.localTaskHub(w.host.services.config.taskHub));
  const seen = new Set<string>();
  for await (const e of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${instanceId}'` } })) {
    const m = /^h-([^-]+)-/.exec(e.rowKey as string);
    if (m) seen.add(m[1]);
  }
  return { current: row.executionId, length: row.historyLength, count: seen.size };
}

async function advance(ms: number): Promise<void> {
  clock.advance(ms);
  await new Promise((r) => setTimeout(r, 300));
  await w.host.durable.idle();
}

describe('one reviewer deciding item by item', () => {
  let campaignId: string;
  let pendingIds: string[];
  const revoked = ['liam.murphy', 'fatima.zahra', 'mateo.garcia', 'noah.williams'];
  const github = (alias: string) => reviewItemId(GITHUB_MEMBERS, demo(alias).id);

  test('continues as new every 3 rounds; each decision is applied with its result; history stays bounded', async () => {
    const started = await reviews.start(admin, { definition: definition('history', GITHUB_MEMBERS) });
    if ('empty' in started) throw new Error('the scope is not empty');
    campaignId = started.id;
    await campaignWhen(campaignId, (c) => c.status === 'active', 'the campaign to open');
    await w.host.durable.idle();
    expect((await executions(campaignId)).count).toBe(1);

    // The first reminder (3 days before the deadline) goes out before any restart.
    await advance(4 * DAY + MINUTE);
    expect(await notices(campaignId, 'review-reminder')).toHaveLength(1);

    const page = await reviews.myItems(kenji, { campaignId, pageSize: 100 });
    expect(page.total).toBe(10);
    const revokeIds = revoked.map(github);
    const others = page.items.map((i) => i.itemId).filter((id) => !revokeIds.includes(id));
    const order = [...revokeIds, ...others.sort()];
    pendingIds = order.slice(6);
    const lengths: number[] = [];
    for (const [n, itemId] of order.slice(0, 6).entries()) {
      const decision = n < revoked.length ? ('revoke' as const) : ('keep' as const);
      await reviews.decide(kenji, campaignId, [{ itemId, decision }], 'reviewer');
      const outcome = await eventually(
        async () => (await store.getItem(campaignId, itemId))?.value.outcome,
        30000,
        `the outcome of decision ${n + 1}`,
      );
      expect(outcome).toBe(decision === 'revoke' ? 'applied' : 'kept');
      await w.host.durable.idle();
      lengths.push((await executions(campaignId)).length);
    }
    // 6 rounds at 3 per execution: two hand-overs. A resumed execution starts small and its history does not
    // grow with the rounds before it: the same after 6 rounds as after 3 (both right after a hand-over).
    expect((await executions(campaignId)).count).toBe(3);
    expect((await w.host.durable.getStatus(reviewInstanceId(campaignId)))?.runtimeStatus).toBe('Running');
    expect(lengths[5]).toBe(lengths[2]);
    expect(Math.max(...lengths.slice(2))).toBeLessThan(lengths[1]);
    for (const a of revoked) expect(await members(GITHUB_MEMBERS)).not.toContain(demo(a).id);
    // No notice twice: the resumed executions skipped the assignment and the reminder already sent.
    expect(await notices(campaignId, 'review-assigned')).toHaveLength(1);
    expect(await notices(campaignId, 'review-reminder')).toHaveLength(1);
    const applied = (await w.events(reviewStream(campaignId))).filter((e) => e.action === 'review.applied');
    expect(applied.map((e) => [e.details.itemId, e.details.outcome]).sort()).toEqual(
      revoked.map((a) => [github(a), 'applied']).sort(),
    );
  });

  test('the second reminder comes once, from a resumed execution', async () => {
    await advance(2 * DAY);
    expect(await notices(campaignId, 'review-reminder')).toHaveLength(2);
    const last = (await notices(campaignId, 'review-reminder')).map((n) => n.pending).sort();
    expect(last).toEqual([10, 4]);
  });

  test('a close raised as the instance restarts still closes it; the default decides the rest; Graph ends right', async () => {
    const keep = (itemId: string) =>
      reviews.decide(kenji, campaignId, [{ itemId, decision: 'keep' }], 'reviewer');
    await keep(pendingIds[0]);
    await w.host.durable.idle();
    await keep(pendingIds[1]);
    await w.host.durable.idle();
    // The third round of this execution: the instance continues as new, and the close is raised while the next
    // execution starts (after it read the campaign row, so only the signal can tell it).
    let closedMidRestart = false;
    duringResume = async () => {
      await reviews.close(admin, campaignId);
      closedMidRestart = true;
    };
    await keep(pendingIds[2]);
    const done = await campaignWhen(campaignId, (c) => c.status === 'completed', 'the campaign to complete');
    expect(closedMidRestart).toBe(true);
    expect((await executions(campaignId)).count).toBe(4);
    expect(clock.now().getTime()).toBeLessThan(Date.parse(done.deadline));
    expect(done.counts).toMatchObject({ items: 10, decided: 10, revoked: 4, kept: 6 });
    await w.settled(reviewInstanceId(campaignId), ['Completed']);
    const final = new Set(await members(GITHUB_MEMBERS));
    for (const a of revoked) expect(final.has(demo(a).id)).toBe(false);
    expect(final.size).toBe(6);
    expect(await notices(campaignId, 'review-assigned')).toHaveLength(1);
    expect(await notices(campaignId, 'review-reminder')).toHaveLength(2);
    expect((await w.deps.audit.verify()).ok).toBe(true);
  });
});

test('a close whose signal was lost is found on the campaign row by the resumed execution', async () => {
  const started = await reviews.start(admin, { definition: definition('lost-close', AWS_READONLY) });
  if ('empty' in started) throw new Error('the scope is not empty');
  const campaignId = started.id;
  await campaignWhen(campaignId, (c) => c.status === 'active', 'the campaign to open');
  const { items } = await reviews.myItems(kenji, { campaignId, pageSize: 100 });
  expect(items.length).toBeGreaterThanOrEqual(3);
  const keep = async (itemId: string) => {
    await reviews.decide(kenji, campaignId, [{ itemId, decision: 'keep' }], 'reviewer');
    await eventually(async () => (await store.getItem(campaignId, itemId))?.value.outcome, 30000);
    await w.host.durable.idle();
  };
  await keep(items[0].itemId);
  await keep(items[1].itemId);
  dropClose = true;
  try {
    const closed = await reviews.close(admin, campaignId);
    expect(closed.closeRequested).toMatchObject({ by: demo('ravi.patel').id });
  } finally {
    dropClose = false;
  }
  await w.host.durable.idle();
  // The signal never came: the campaign waits on.
  expect((await w.deps.reviews?.getCampaign(campaignId))?.value.status).toBe('active');
  // The third round hands over; the resumed execution reads the close from the row and ends the campaign.
  await keep(items[2].itemId);
  const done = await campaignWhen(campaignId, (c) => c.status === 'completed', 'the campaign to complete');
  expect(done.counts).toMatchObject({ items: items.length, decided: items.length, revoked: 0 });
  expect((await executions(campaignId)).count).toBe(2);
  expect(clock.now().getTime()).toBeLessThan(Date.parse(done.deadline));
});
