/**
 * Keep and Revoke on the review card, through the teams-ai application the bot runs: an adaptiveCard/action
 * invoke in, the invoke response out. The review service is an in-memory ReviewApi that keeps the contract's
 * ownership rules and records its calls (the end-to-end protocol test uses the real service).
 */
import { TestAdapter, TurnContext, type Activity } from 'botbuilder';
import type { TeamsAdapter } from '@microsoft/teams-ai';
import {
  createAttestApplication,
  setTurnServices,
  type BotTurnServices,
} from '../../../../src/adapters/teams/attest-bot';
import { CardVerbs } from '../../../../src/adapters/cards/card-verbs';
import { reviewsTabUrl } from '../../../../src/adapters/cards/review.card';
import type { Campaign } from '../../../../src/domain/review/review.model';
import { demoUserId } from '../../../../src/local/graph-sim/demo-tenant';
import { RecordingReviewApi } from '../../../fixtures/review/recording-review-api';
import {
  ALEX_ID,
  CAMPAIGN_ID,
  PRIYA_ID,
  priyasItems,
  reviewItem,
} from '../../../fixtures/review/review-items.fixture';
import { cardProblems, findAll } from '../cards/card-fixtures';

const RAHUL_ID = demoUserId('rahul.mehta');
const TEAMS_APP_ID = '2f9c1b4e-5d6a-4e8f-9a0b-1c2d3e4f5a6b';

const campaign = (over: Partial<Campaign> = {}): Campaign => ({
  id: CAMPAIGN_ID,
  definition: {
    id: 'pci-quarterly',
    name: 'Payments and production access (PCI DSS 7.2.4)',
    scope: { appIds: ['aws-production'], roleRefs: [], groupIds: [] },
    stages: [
      { number: 1, reviewers: { kind: 'manager' }, fallback: 'tomasz.nowak@contoso.example' },
      { number: 2, reviewers: { kind: 'group-owners' }, fallback: 'kenji.watanabe@contoso.example' },
    ],
    schedule: { kind: 'quarterly' },
    durationMs: 14 * 86_400_000,
    remindersBeforeMs: [],
    defaultDecision: 'keep',
    signOff: 'amara.nwosu@contoso.example',
    inactiveDays: 90,
    massRemovalShare: 0.2,
  },
  status: 'active',
  startedBy: 'system',
  startedAt: '2026-12-01T06:00:00.000Z',
  deadline: '2026-12-15T06:00:00.000Z',
  stage: 1,
  counts: { items: 3, decided: 0, kept: 0, revoked: 0, applied: 0, failed: 0 },
  ...over,
});

let api: RecordingReviewApi;
let refused: unknown[][];
let services: BotTurnServices;
const app = createAttestApplication(new TestAdapter() as unknown as TeamsAdapter, undefined);

beforeEach(() => {
  api = new RecordingReviewApi(campaign(), [
    ...priyasItems(),
    reviewItem(
      ALEX_ID,
      'Alex Chen',
      { itemId: `11111111-1111-4111-8111-111111111111:${ALEX_ID}`, groupName: 'sg-github-owners' },
      ALEX_ID,
    ),
  ]);
  refused = [];
  // NB. Only `reviews` is used by the review verbs; `service.refuse` audits card data that is not Attest's.
  services = {
    deps: {},
    requesters: {},
    service: { refuse: async (...args: unknown[]) => void refused.push(args) },
    reviews: { api, tabUrl: (id: string) => reviewsTabUrl(TEAMS_APP_ID, id) },
  } as unknown as BotTurnServices;
});

interface Answer {
  card?: Record<string, unknown>;
  text?: string;
}

/** Sends one card click as `fromId` and returns what the invoke answered. */
async function click(
  fromId: string | undefined,
  verb: string,
  data: Record<string, unknown>,
): Promise<Answer> {
  const adapter = new TestAdapter();
  const sent: Partial<Activity>[] = [];
  const activity: Partial<Activity> = {
    type: 'invoke',
    name: 'adaptiveCard/action',
    channelId: 'msteams',
    id: `activity-${Math.random()}`,
    replyToId: 'card-1',
    from: { id: '29:someone', name: 'Someone', ...(fromId && { aadObjectId: fromId }) },
    recipient: { id: '28:attest-bot', name: 'Attest' },
    conversation: { id: 'a:personal', conversationType: 'personal', isGroup: false, name: '' },
    serviceUrl: 'https://smba.example/',
    value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
  };
  await adapter.processActivity(activity, async (context: TurnContext) => {
    context.onSendActivities(async (_ctx, activities, next) => {
      sent.push(...activities);
      return next();
    });
    setTurnServices(context, services);
    await app.run(context);
  });
  const response = sent.find((a) => a.type === 'invokeResponse')?.value as
    { status: number; body: { type: string; value: unknown } } | undefined;
  expect(response?.status).toBe(200);
  const body = response?.body;
  return body?.type === 'application/vnd.microsoft.card.adaptive'
    ? { card: body.value as Record<string, unknown> }
    : { text: String(body?.value) };
}

const texts = (card: unknown) => findAll(card, (o) => o.type === 'TextBlock').map((t) => String(t.text));
const [alexItem, siobhanItem] = priyasItems();

test('a reviewer keeps an item: the service hears the activity sender, and the card shows the item decided', async () => {
  const answer = await click(PRIYA_ID, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
  });
  expect(api.decideCalls).toEqual([
    {
      caller: { objectId: PRIYA_ID, role: 'member', channel: 'teams' },
      campaignId: CAMPAIGN_ID,
      decisions: [{ itemId: alexItem.itemId, decision: 'keep' }],
      source: 'card',
    },
  ]);
  const card = answer.card as object;
  expect(cardProblems(card)).toEqual([]);
  expect(texts(card)).toEqual(
    expect.arrayContaining(['You kept Alex Chen in sg-aws-prod-admins.', 'You kept this access.']),
  );
  const facts = findAll(card, (o) => o.type === 'FactSet')[0].facts as { title: string; value: string }[];
  expect(facts[0]).toEqual({ title: 'Waiting on you', value: '2 of 3 items' });
  // Stage 1 of 2 closes half-way through the 14 days.
  expect(facts[1].value).toContain('2026-12-08T06:00:00Z');
  const stillOpen = findAll(card, (o) => o.type === 'Action.Execute').map(
    (a) => (a.data as { itemId: string }).itemId,
  );
  expect(stillOpen).not.toContain(alexItem.itemId);
  expect(stillOpen).toContain(siobhanItem.itemId);
});

test('a revoke carries the reason typed on the card', async () => {
  await click(PRIYA_ID, CardVerbs.reviewRevoke, {
    campaignId: CAMPAIGN_ID,
    itemId: siobhanItem.itemId,
    [`revokeWhy.${siobhanItem.itemId}`]: '  Left the payments team in October.  ',
  });
  expect(api.decideCalls.map((c) => c.decisions)).toEqual([
    [{ itemId: siobhanItem.itemId, decision: 'revoke', reason: 'Left the payments team in October.' }],
  ]);
});

test('a revoke without a reason changes nothing and says why', async () => {
  const answer = await click(PRIYA_ID, CardVerbs.reviewRevoke, {
    campaignId: CAMPAIGN_ID,
    itemId: siobhanItem.itemId,
  });
  expect(api.decideCalls).toEqual([]);
  expect(texts(answer.card)).toContain(
    'Say why this access should go: the audit trail keeps the reason with the decision.',
  );
});

test('the reviewer is the activity sender, never a value in the card data: another person is refused', async () => {
  const answer = await click(RAHUL_ID, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
    reviewerId: PRIYA_ID,
    caller: { objectId: PRIYA_ID, role: 'admin' },
  });
  expect(api.decideCalls.map((c) => c.caller)).toEqual([
    { objectId: RAHUL_ID, role: 'member', channel: 'teams' },
  ]);
  expect(texts(answer.card)).toEqual([
    'Access review',
    'This item is not yours to decide: it is assigned to another reviewer at its current stage. Open Access reviews to see the items that are yours.',
  ]);
  // The refusal names nothing of the item or the campaign.
  expect(JSON.stringify(answer.card)).not.toMatch(/Alex|sg-aws|PCI/);
  expect(api.items.find((i) => i.itemId === alexItem.itemId)?.decisions).toEqual([]);
});

test('an item someone else decided first is a conflict, answered on the refreshed card', async () => {
  await click(PRIYA_ID, CardVerbs.reviewKeep, { campaignId: CAMPAIGN_ID, itemId: alexItem.itemId });
  const answer = await click(PRIYA_ID, CardVerbs.reviewRevoke, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
    [`revokeWhy.${alexItem.itemId}`]: 'changed my mind',
  });
  expect(texts(answer.card)[2]).toBe(
    'Someone else decided this item first (or it moved on to the next stage). The card shows what still waits on you.',
  );
});

test('a closed campaign takes no decision and says so', async () => {
  api.campaign = campaign({ status: 'completed' });
  const answer = await click(PRIYA_ID, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
  });
  expect(texts(answer.card).some((t) => t.startsWith('This review stage is closed'))).toBe(true);
});

test('a member keeping their own access in a self-review must say why', async () => {
  const own = api.items.find((i) => i.reviewerIds.includes(ALEX_ID)) as (typeof api.items)[number];
  const without = await click(ALEX_ID, CardVerbs.reviewKeep, { campaignId: CAMPAIGN_ID, itemId: own.itemId });
  expect(api.decideCalls).toEqual([]);
  expect(texts(without.card)).toContain(
    'Say why you still need this access: a self-review needs a justification.',
  );
  await click(ALEX_ID, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: own.itemId,
    [`keepWhy.${own.itemId}`]: 'I own the org settings for the platform team.',
  });
  expect(api.decideCalls.map((c) => c.decisions[0])).toEqual([
    { itemId: own.itemId, decision: 'keep', reason: 'I own the org settings for the platform team.' },
  ]);
});

test.each([
  [{ campaignId: CAMPAIGN_ID }, 'itemId'],
  [{ campaignId: CAMPAIGN_ID, itemId: 'x:y' }, 'itemId is not a review item id'],
  [{ campaignId: "'; drop table --", itemId: alexItem.itemId }, 'campaignId is not a campaign id'],
  [{ campaignId: CAMPAIGN_ID, itemId: alexItem.itemId, [`revokeWhy.${alexItem.itemId}`]: 42 }, 'is not text'],
])('card data that is not what Attest sent is refused and audited: %j', async (data, why) => {
  const answer = await click(PRIYA_ID, CardVerbs.reviewRevoke, data);
  expect(api.decideCalls).toEqual([]);
  expect(answer.text).toMatch(/^This card's data is not what Attest sent/);
  expect(answer.text).toContain(why);
  expect(refused).toHaveLength(1);
  expect(refused[0][2]).toBe('CARD.INVALID_DATA');
});

test('a click without an Entra identity decides nothing', async () => {
  const answer = await click(undefined, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
  });
  expect(answer.text).toMatch(/^I cannot tell who you are/);
  expect(api.decideCalls).toEqual([]);
});

test('an installation without access reviews says so', async () => {
  services = { ...services, reviews: undefined };
  const answer = await click(PRIYA_ID, CardVerbs.reviewKeep, {
    campaignId: CAMPAIGN_ID,
    itemId: alexItem.itemId,
  });
  expect(answer.text).toMatch(/^Access reviews are not set up/);
});
