/**
 * Access-review campaigns end to end on the in-process host (Azurite, the Graph simulator with the demo tenant,
 * the replay host) with time on a TestClock: stages, reminders, delegation, defaults, the mass-removal guard,
 * revocations carried out as soon as the last stage decides, per-item results, sign-off, and the refusals.
 */
import type { TableReviewStore } from '../../../src/adapters/tables/review.store';
import type { CampaignDefinition, Campaign, ReviewItem } from '../../../src/domain/review/review.model';
import { reviewStream } from '../../../src/domain/audit/audit-events';
import { reviewItemId } from '../../../src/domain/review/review.rules';
import { outcomeOf } from '../../../src/domain/request/request-lifecycle';
import {
  DEMO_ATTEST_ADMINS_GROUP_ID,
  DEMO_DYNAMIC_GROUP_ID,
  demoGroupId,
} from '../../../src/local/graph-sim/demo-tenant';
import type { GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { ReviewCaller } from '../../../src/ports/review-api.port';
import type { ReviewNotice } from '../../../src/ports/review-notifier.port';
import { ReviewService } from '../../../src/workflows/review.service';
import { startDueCampaigns } from '../../../src/workflows/review-schedule';
import { reviewInstanceId } from '../../../src/workflows/names';
import { activeGrant, as, DAY, demo, MINUTE, storedWhen } from '../../support/workflow-scenarios';
import { eventually } from '../../support/storage';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
let w: WorkflowHost;
let sim: GraphSimulator;
let reviews: ReviewService;
let store: TableReviewStore;

const AWS_READONLY = demoGroupId('sg-aws-prod-readonly');
const JIRA_ADMINS = demoGroupId('sg-jira-project-admins');
const GITHUB_MEMBERS = demoGroupId('sg-github-members');

beforeAll(async () => {
  w = await startWorkflowHost({ clock, env: { ATTEST_ADMIN_GROUP_ID: DEMO_ATTEST_ADMINS_GROUP_ID } });
  sim = w.host.graphSim as GraphSimulator;
  reviews = new ReviewService(w.deps, w.host.durable);
  store = w.deps.reviews as TableReviewStore;
}, 60000);
afterAll(async () => {
  await w?.stop();
});

const caller = (alias: string, role: ReviewCaller['role'] = 'member'): ReviewCaller => ({
  objectId: demo(alias).id,
  upn: demo(alias).userPrincipalName,
  role,
  channel: 'tab',
});
const admin = caller('ravi.patel', 'admin');
const item = (groupId: string, alias: string) => reviewItemId(groupId, demo(alias).id);
const members = async (groupId: string) => (await w.deps.directory.groupMembers(groupId)).map((u) => u.id);

function definition(over: Partial<CampaignDefinition>): CampaignDefinition {
  return {
    id: 'q4-access',
    name: 'Q4 access review',
    scope: { appIds: [], roleRefs: [], groupIds: [] },
    stages: [
      { number: 1, name: 'Managers', reviewers: { kind: 'manager' }, fallback: 'ravi.patel@contoso.example' },
    ],
    schedule: { kind: 'on-demand' },
    durationMs: 7 * DAY,
    remindersBeforeMs: [DAY],
    defaultDecision: 'recommendation',
    signOff: 'amara.nwosu@contoso.example',
    inactiveDays: 90,
    massRemovalShare: 0.2,
    ...over,
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

async function itemOf(campaignId: string, itemId: string): Promise<ReviewItem> {
  const v = await w.deps.reviews?.getItem(campaignId, itemId);
  if (!v) throw new Error(`no item ${itemId}`);
  return v.value;
}

async function notices(campaignId: string, kind: ReviewNotice['kind']): Promise<ReviewNotice[]> {
  return (await store.notices(campaignId)).filter((n) => n.kind === kind);
}

const ids = (...aliases: string[]) => aliases.map((a) => demo(a).id).sort();

/** Moves the clock and lets the orchestration's timers fire. */
async function advance(ms: number): Promise<void> {
  clock.advance(ms);
  await new Promise((r) => setTimeout(r, 300));
  await w.host.durable.idle();
}

describe('a two-stage campaign', () => {
  let campaignId: string;
  let requestId: string;

  test('starts with a snapshot whose count and hash are audited, and tells each reviewer with items', async () => {
    // Alex holds Jira project admin through an Attest grant: the review's revocation must end that request.
    ({ requestId } = await activeGrant(
      w,
      {
        actor: as(demo('alex.chen')),
        appId: 'jira',
        roleId: 'project-admin',
        durationMs: 60 * DAY,
        justification: 'Set up the platform team project',
      },
      [demo('priya.raman')],
    ));
    const started = await reviews.start(admin, {
      definition: definition({
        scope: {
          appIds: [],
          roleRefs: ['aws-production/readonly', 'jira/project-admin'],
          groupIds: [DEMO_DYNAMIC_GROUP_ID],
        },
        durationMs: 14 * DAY,
        stages: [
          { number: 1, reviewers: { kind: 'manager' }, fallback: 'ravi.patel@contoso.example' },
          { number: 2, reviewers: { kind: 'group-owners' }, fallback: 'ravi.patel@contoso.example' },
        ],
      }),
    });
    if ('empty' in started) throw new Error('the scope is not empty');
    campaignId = started.id;
    const open = await campaignWhen(campaignId, (c) => c.status === 'active', 'the campaign to open');
    expect(open.snapshot?.count).toBe(10);
    expect(await store.snapshotDigest(campaignId)).toEqual({ count: 10, hash: open.snapshot?.hash });
    const startedEvent = await eventually(async () =>
      (await w.events(reviewStream(campaignId))).find((e) => e.action === 'review.started'),
    );
    expect(startedEvent?.details).toMatchObject({
      count: 10,
      hash: open.snapshot?.hash,
      groups: 3,
      stages: 2,
    });

    const dyn = await itemOf(campaignId, item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'));
    expect(dyn.notRemovableBecause).toMatch(/dynamic membership/);
    expect(dyn.reviewerIds).toEqual(ids('priya.raman'));
    const jira = await itemOf(campaignId, item(JIRA_ADMINS, 'alex.chen'));
    expect(jira).toMatchObject({ grantRequestIds: [requestId], outsideAttest: false });

    await eventually(async () =>
      (await notices(campaignId, 'review-assigned')).length === 7 ? true : undefined,
    );
    const assigned = await notices(campaignId, 'review-assigned');
    expect(assigned.map((n) => n.recipientId).sort()).toEqual(
      ids(
        'priya.raman',
        'daniel.schmidt',
        'kenji.watanabe',
        'isabella.rossi',
        'rahul.mehta',
        'lucas.moreau',
        'margaret.okafor',
      ),
    );
    const priya = assigned.find((n) => n.recipientId === demo('priya.raman').id);
    expect(priya).toMatchObject({ pending: 3, total: 3 });
    expect(priya?.items?.map((i) => i.itemId).sort()).toEqual(
      [
        item(AWS_READONLY, 'siobhan.obrien'),
        item(JIRA_ADMINS, 'alex.chen'),
        item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'),
      ].sort(),
    );
  });

  test('a reviewer deciding someone else’s item is REVIEW.FORBIDDEN and audited; an auditor’s write is refused', async () => {
    const other = item(AWS_READONLY, 'siobhan.obrien');
    await expect(
      reviews.decide(
        caller('daniel.schmidt'),
        campaignId,
        [{ itemId: other, decision: 'revoke' }],
        'reviewer',
      ),
    ).rejects.toMatchObject({ code: 'REVIEW.FORBIDDEN' });
    await expect(
      reviews.decide(
        caller('grace.kim', 'auditor'),
        campaignId,
        [{ itemId: other, decision: 'keep' }],
        'reviewer',
      ),
    ).rejects.toMatchObject({ code: 'REVIEW.FORBIDDEN' });
    await expect(reviews.start(caller('grace.kim', 'auditor'), { definitionId: 'x' })).rejects.toMatchObject({
      code: 'REVIEW.FORBIDDEN',
    });
    const refused = (await w.events(reviewStream(campaignId))).filter((e) => e.action === 'attempt.refused');
    expect(refused.map((e) => e.actor.objectId)).toEqual([demo('daniel.schmidt').id, demo('grace.kim').id]);
    expect(refused[0].details).toMatchObject({ code: 'REVIEW.FORBIDDEN' });
    expect((await itemOf(campaignId, other)).decisions).toEqual([]);
    // The auditor reads everything.
    const all = await reviews.myItems(caller('grace.kim', 'auditor'), {
      campaignId,
      state: 'all',
      pageSize: 100,
    });
    expect(all.total).toBe(10);
  });

  test('reviewers decide and delegate; the original reviewer sees where items went; reminders reach only reviewers with items left', async () => {
    const priya = caller('priya.raman');
    expect((await reviews.myItems(priya, { campaignId })).total).toBe(3);
    await reviews.decide(
      priya,
      campaignId,
      [
        { itemId: item(AWS_READONLY, 'siobhan.obrien'), decision: 'keep' },
        { itemId: item(JIRA_ADMINS, 'alex.chen'), decision: 'revoke', reason: 'moved teams' },
        { itemId: item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'), decision: 'revoke', reason: 'moved teams' },
      ],
      'reviewer',
    );
    await reviews.decide(
      caller('daniel.schmidt'),
      campaignId,
      [{ itemId: item(AWS_READONLY, 'yuki.tanaka'), decision: 'keep' }],
      'reviewer',
    );
    const zoe = item(AWS_READONLY, 'zoe.martin');
    expect(
      await reviews.delegate(
        caller('kenji.watanabe'),
        campaignId,
        [zoe],
        'amara.nwosu@contoso.example',
        'on leave',
      ),
    ).toEqual({
      delegated: 1,
      to: demo('amara.nwosu').id,
    });
    const handed = await reviews.myItems(caller('kenji.watanabe'), { campaignId, state: 'delegated' });
    expect(handed.items.map((i) => [i.itemId, i.reviewerIds, i.delegations.map((d) => d.to)])).toEqual([
      [zoe, ids('amara.nwosu'), ids('amara.nwosu')],
    ]);
    expect((await reviews.myItems(caller('kenji.watanabe'), { campaignId })).total).toBe(0);
    await reviews.decide(caller('amara.nwosu'), campaignId, [{ itemId: zoe, decision: 'keep' }], 'reviewer');
    const delegated = (await w.events(reviewStream(campaignId))).find((e) => e.action === 'review.delegated');
    expect(delegated?.details).toMatchObject({
      from: demo('kenji.watanabe').id,
      to: demo('amara.nwosu').id,
      itemIds: [zoe],
    });
    expect((await notices(campaignId, 'review-delegated')).map((n) => n.recipientId)).toEqual(
      ids('amara.nwosu'),
    );
    // Stage 1 decisions are not final: nothing is removed yet.
    expect(await members(JIRA_ADMINS)).toContain(demo('alex.chen').id);

    await advance(6 * DAY + MINUTE);
    await eventually(async () =>
      (await notices(campaignId, 'review-reminder')).length > 0 ? true : undefined,
    );
    const reminded = (await notices(campaignId, 'review-reminder')).map((n) => n.recipientId).sort();
    expect(reminded).toEqual(ids('isabella.rossi', 'rahul.mehta', 'lucas.moreau', 'margaret.okafor'));
  });

  test('at the stage deadline the default decides what is left and stage 2 sees the earlier decisions', async () => {
    await advance(DAY);
    await campaignWhen(campaignId, (c) => c.stage === 2, 'stage 2 to open');
    const jack = await itemOf(campaignId, item(AWS_READONLY, 'jack.wilson'));
    expect(jack.decisions).toEqual([
      expect.objectContaining({ stage: 1, decision: 'keep', by: 'system', source: 'default' }),
    ]);
    expect(jack.reviewerIds).toEqual(ids('kenji.watanabe', 'priya.raman'));
    const alexDyn = await itemOf(campaignId, item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'));
    expect(alexDyn.decisions).toEqual([
      expect.objectContaining({ stage: 1, decision: 'revoke', by: demo('priya.raman').id }),
    ]);
    expect(alexDyn.reviewerIds).toEqual(ids('rahul.mehta'));
    // The dynamic group's owner is a member too: nobody reviews their own membership, so the fallback does.
    expect((await itemOf(campaignId, item(DEMO_DYNAMIC_GROUP_ID, 'rahul.mehta'))).reviewerIds).toEqual(
      ids('ravi.patel'),
    );
    await eventually(async () =>
      (await notices(campaignId, 'review-assigned')).some((n) => n.id.startsWith('review-assigned-2-'))
        ? true
        : undefined,
    );
  });

  test('a last-stage revoke takes effect at once: applied (its request ends revoked by review), cannot-apply, failed-retrying', async () => {
    sim.setFaultRules([
      {
        method: 'DELETE',
        path: `/groups/${AWS_READONLY}/members/${demo('siobhan.obrien').id}/$ref`,
        status: 503,
        retryAfterSeconds: 0,
      },
    ]);
    await reviews.decide(
      caller('priya.raman'),
      campaignId,
      [{ itemId: item(JIRA_ADMINS, 'alex.chen'), decision: 'revoke', reason: '=HYPERLINK("x")' }],
      'reviewer',
    );
    await reviews.decide(
      caller('rahul.mehta'),
      campaignId,
      [{ itemId: item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'), decision: 'revoke' }],
      'reviewer',
    );
    await reviews.decide(
      caller('kenji.watanabe'),
      campaignId,
      [{ itemId: item(AWS_READONLY, 'siobhan.obrien'), decision: 'revoke' }],
      'reviewer',
    );
    const outcome = (alias: string, groupId: string) =>
      eventually(
        async () => (await itemOf(campaignId, item(groupId, alias))).outcome,
        30000,
        `${alias}'s outcome`,
      );
    expect(await outcome('alex.chen', JIRA_ADMINS)).toBe('applied');
    expect(await outcome('alex.chen', DEMO_DYNAMIC_GROUP_ID)).toBe('cannot-apply');
    expect(await outcome('siobhan.obrien', AWS_READONLY)).toBe('failed-retrying');
    sim.clearFaultRules();

    expect(await members(JIRA_ADMINS)).not.toContain(demo('alex.chen').id);
    expect(await members(DEMO_DYNAMIC_GROUP_ID)).toContain(demo('alex.chen').id);
    // The failed removal stays owed in the ledger, for the reconcile's overdue path.
    expect((await w.deps.ledger.get(AWS_READONLY, demo('siobhan.obrien').id)).entry.owed).toEqual([
      expect.objectContaining({ reason: 'review' }),
    ]);
    const request = await storedWhen(w, requestId, (r) => r.status === 'Revoked');
    expect(outcomeOf(request)).toBe('revoked-review');
    const revoked = (await w.events(requestId)).find((e) => e.action === 'access.revoked');
    expect(revoked?.details).toMatchObject({ reason: 'review' });

    const applied = (await w.events(reviewStream(campaignId))).filter((e) => e.action === 'review.applied');
    expect(applied.map((e) => [e.details.itemId, e.details.outcome]).sort()).toEqual(
      [
        [item(AWS_READONLY, 'siobhan.obrien'), 'failed-retrying'],
        [item(DEMO_DYNAMIC_GROUP_ID, 'alex.chen'), 'cannot-apply'],
        [item(JIRA_ADMINS, 'alex.chen'), 'applied'],
      ].sort(),
    );
    const jira = applied.find((e) => e.details.itemId === item(JIRA_ADMINS, 'alex.chen'));
    expect(jira?.details).toMatchObject({
      decision: { stage: 2, by: demo('priya.raman').id, source: 'reviewer' },
      endedRequestIds: [requestId],
    });
  });

  test('the campaign completes at the last deadline, the named manager signs it off, and the results export as CSV', async () => {
    await advance(7 * DAY);
    const done = await campaignWhen(campaignId, (c) => c.status === 'completed', 'the campaign to complete');
    expect(done.counts).toMatchObject({ items: 10, decided: 10, revoked: 3, kept: 7, failed: 1 });
    expect((await notices(campaignId, 'review-signoff-requested')).map((n) => n.recipientId)).toEqual(
      ids('amara.nwosu'),
    );
    await w.settled(reviewInstanceId(campaignId));

    await expect(reviews.signOff(admin, campaignId)).rejects.toMatchObject({ code: 'REVIEW.FORBIDDEN' });
    const signed = await reviews.signOff(caller('amara.nwosu'), campaignId, 'Reviewed with the CISO office');
    expect(signed).toMatchObject({ status: 'signed-off', signedOff: { by: demo('amara.nwosu').id } });
    const actions = await w.actions(reviewStream(campaignId));
    expect(actions).toEqual(
      expect.arrayContaining([
        'review.started',
        'review.decided',
        'review.reminder-sent',
        'review.completed',
        'review.signed-off',
      ]),
    );
    expect(actions[actions.length - 1]).toBe('review.signed-off');

    const csv = await reviews.resultsCsv(caller('grace.kim', 'auditor'), campaignId);
    const lines = csv.trim().split('\r\n');
    expect(lines).toHaveLength(11);
    expect(lines[0]).toMatch(/^campaign,item,group_id/);
    expect(csv).toContain(`'=HYPERLINK(""x"")`);
    await expect(reviews.resultsCsv(caller('alex.chen'), campaignId)).rejects.toMatchObject({
      code: 'REVIEW.FORBIDDEN',
    });
    expect(await w.deps.audit.verify()).toMatchObject({ ok: true });
  });
});

describe('the mass-removal guard', () => {
  let campaignId: string;
  const kenji = caller('kenji.watanabe');
  const github = (alias: string) => item(GITHUB_MEMBERS, alias);

  test('a bulk revoke over the share waits for an admin, removes nothing meanwhile, and goes ahead once confirmed', async () => {
    const started = await reviews.start(admin, {
      definition: definition({
        id: 'github-review',
        scope: { appIds: [], roleRefs: [], groupIds: [GITHUB_MEMBERS] },
        stages: [
          {
            number: 1,
            reviewers: { kind: 'people', people: ['kenji.watanabe@contoso.example'] },
            fallback: 'ravi.patel@contoso.example',
          },
        ],
        defaultDecision: 'revoke',
      }),
    });
    if ('empty' in started) throw new Error('the scope is not empty');
    campaignId = started.id;
    await campaignWhen(campaignId, (c) => c.status === 'active', 'the campaign to open');
    const bulk = ['liam.murphy', 'fatima.zahra', 'mateo.garcia'];
    const r = await reviews.decide(
      kenji,
      campaignId,
      bulk.map((a) => ({ itemId: github(a), decision: 'revoke' as const })),
      'bulk',
    );
    expect(r).toEqual({ decided: 0, guarded: { wouldRemove: 3, share: 0.2 } });
    const held = await campaignWhen(
      campaignId,
      (c) => c.status === 'awaiting-confirmation',
      'the guard to hold',
    );
    expect(held.guard).toMatchObject({ action: 'bulk', wouldRemove: 3, scopeSize: 10 });
    expect((await notices(campaignId, 'review-guard-held')).map((n) => n.recipientId).sort()).toEqual(
      ids('kenji.watanabe', 'ravi.patel', 'zoe.martin'),
    );
    await expect(
      reviews.decide(kenji, campaignId, [{ itemId: github('noah.williams'), decision: 'keep' }], 'reviewer'),
    ).rejects.toMatchObject({ code: 'REVIEW.CLOSED', message: expect.stringMatching(/waits for an admin/) });
    await advance(MINUTE);
    for (const a of bulk) expect(await members(GITHUB_MEMBERS)).toContain(demo(a).id);
    await expect(reviews.confirmGuard(kenji, campaignId)).rejects.toMatchObject({ code: 'REVIEW.FORBIDDEN' });

    await reviews.confirmGuard(admin, campaignId);
    for (const a of bulk) {
      expect(await eventually(async () => (await itemOf(campaignId, github(a))).outcome, 30000)).toBe(
        'applied',
      );
    }
    const now = await members(GITHUB_MEMBERS);
    for (const a of bulk) expect(now).not.toContain(demo(a).id);
    await campaignWhen(campaignId, (c) => c.status === 'active', 'the campaign to resume');
  });

  test('a default of revoke over the share holds at the deadline until an admin confirms', async () => {
    await reviews.decide(
      kenji,
      campaignId,
      ['priya.raman', 'daniel.schmidt', 'siobhan.obrien', 'noah.williams'].map((a) => ({
        itemId: github(a),
        decision: 'keep' as const,
      })),
      'reviewer',
    );
    await advance(7 * DAY);
    const held = await campaignWhen(
      campaignId,
      (c) => c.status === 'awaiting-confirmation',
      'the default to be held',
    );
    expect(held.guard).toMatchObject({ action: 'default', wouldRemove: 3, scopeSize: 10, share: 0.2 });
    const left = ['yuki.tanaka', 'taylor.brooks', 'omar.haddad'];
    await advance(DAY);
    for (const a of left) expect(await members(GITHUB_MEMBERS)).toContain(demo(a).id);
    expect(
      (await w.events(reviewStream(campaignId))).filter((e) => e.action === 'review.guard-held'),
    ).toHaveLength(2);

    await reviews.confirmGuard(admin, campaignId);
    const done = await campaignWhen(campaignId, (c) => c.status === 'completed', 'the campaign to complete');
    expect(done.counts).toMatchObject({ revoked: 6, kept: 4 });
    const now = await members(GITHUB_MEMBERS);
    for (const a of left) expect(now).not.toContain(demo(a).id);
    expect(await w.actions(reviewStream(campaignId))).toContain('review.guard-confirmed');
  });
});

test('an empty scope makes no campaign and no notice', async () => {
  const sysadmins = demoGroupId('sg-snowflake-sysadmins');
  expect(sim.removeGroupMember(sysadmins, demo('yuki.tanaka').id)).toBe(true);
  const before = await w.deps.reviews?.listCampaigns();
  const r = await reviews.start(admin, {
    definition: definition({ id: 'empty', scope: { appIds: [], roleRefs: [], groupIds: [sysadmins] } }),
  });
  expect(r).toEqual({ empty: true });
  expect(await w.deps.reviews?.listCampaigns()).toEqual(before);
  const streams: string[] = [];
  for await (const s of w.deps.audit.streams()) streams.push(s);
  expect(streams.filter((s) => s.startsWith('review-empty'))).toEqual([]);
});

test('a scheduled campaign starts once per due time, however many ticks see it due', async () => {
  const now = clock.now();
  const expression = `0 ${now.getUTCMinutes()} ${now.getUTCHours()} * * *`; // due this very minute, daily
  const scheduled = definition({
    id: 'daily-jira',
    scope: { appIds: [], roleRefs: ['jira/project-admin'], groupIds: [] },
    schedule: { kind: 'cron', expression },
  });
  const deps = {
    ...w.deps,
    catalog: { ...w.deps.catalog, catalog: { ...w.deps.catalog.catalog, reviews: [scheduled] } },
  };
  const first = await startDueCampaigns(deps, w.host.durable);
  expect(first.started).toHaveLength(1);
  expect(first.started[0]).toMatch(/^daily-jira-\d{8}T\d{6}Z$/);
  await advance(10 * MINUTE);
  const again = await startDueCampaigns(deps, w.host.durable);
  expect(again.started).toEqual(first.started);
  const runs = (await w.deps.reviews?.listCampaigns())?.filter((c) => c.definition.id === 'daily-jira');
  expect(runs?.map((c) => c.id)).toEqual(first.started);
  expect(runs?.[0].startedBy).toBe('schedule');
});
