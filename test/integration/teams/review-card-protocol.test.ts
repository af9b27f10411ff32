/**
 * A small access review decided on the Teams card, through the Bot Framework protocol: the campaign's notice is
 * delivered as the review card in the reviewer's personal chat (captured by the local connector), its
 * Action.Execute buttons are clicked as Teams would POST them to /api/messages, and the decisions go through the
 * real ReviewService and review-campaign orchestration to the Graph simulator.
 */
import { CardVerbs } from '../../../src/adapters/cards/card-verbs';
import type { ReviewItem } from '../../../src/domain/review/review.model';
import { reviewItemId } from '../../../src/domain/review/review.rules';
import { DEMO_ATTEST_ADMINS_GROUP_ID, demoGroupId } from '../../../src/local/graph-sim/demo-tenant';
import { ReviewService } from '../../../src/workflows/review.service';
import { BotClient, cardText, personalConversation, type TeamsUser } from '../../support/bot-client';
import { startConnector, type LocalConnector } from '../../support/connector';
import { eventually } from '../../support/storage';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import { DAY, demo } from '../../support/workflow-scenarios';

jest.mock('swiper', () => ({}));
jest.setTimeout(90_000);

const AWS_READONLY = demoGroupId('sg-aws-prod-readonly');
const person = (alias: string): TeamsUser => ({ id: demo(alias).id, displayName: alias });
const priya = person('priya.raman');
const alex = person('alex.chen');

let h: WorkflowHost;
let connector: LocalConnector;
let bot: BotClient;
let campaignId: string;

beforeAll(async () => {
  h = await startWorkflowHost({ teams: true, env: { ATTEST_ADMIN_GROUP_ID: DEMO_ATTEST_ADMINS_GROUP_ID } });
  connector = await startConnector();
  bot = new BotClient(`${h.host.url}/api/messages`, connector);
  await bot.install(priya);
  await bot.install(alex);
});
afterAll(async () => {
  await connector?.close();
  await h?.stop();
});

type Action = { type: string; verb?: string; data?: { campaignId?: string; itemId?: string } };

/** Every Action.Execute on a card, wherever it sits (action sets, show-cards). */
function executes(card: unknown): Action[] {
  const out: Action[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      if (o.type === 'Action.Execute') out.push(o as Action);
      Object.values(o).forEach(walk);
    }
  };
  walk(card);
  return out;
}

/** The review cards the bot sent to `user`'s personal chat. */
const reviewCardsTo = (user: TeamsUser) =>
  connector.received
    .filter((a) => a.conversationId === personalConversation(user))
    .flatMap((a) => a.activity.attachments ?? [])
    .map((a) => a.content)
    .filter((c) => executes(c).some((x) => x.verb === CardVerbs.reviewRevoke));

const itemOf = async (itemId: string): Promise<ReviewItem> => {
  const v = await h.deps.reviews?.getItem(campaignId, itemId);
  if (!v) throw new Error(`no item ${itemId}`);
  return v.value;
};

test('the reviewer gets the review card in chat with each of their items on it', async () => {
  const reviews = new ReviewService(h.deps, h.host.durable);
  const started = await reviews.start(
    { objectId: demo('ravi.patel').id, role: 'admin', channel: 'tab' },
    {
      definition: {
        id: 'aws-readonly-check',
        name: 'AWS read-only check',
        scope: { appIds: [], roleRefs: [], groupIds: [AWS_READONLY] },
        stages: [
          {
            number: 1,
            reviewers: { kind: 'people', people: [demo('priya.raman').userPrincipalName] },
            fallback: demo('ravi.patel').userPrincipalName,
          },
        ],
        schedule: { kind: 'on-demand' },
        durationMs: 7 * DAY,
        remindersBeforeMs: [DAY],
        defaultDecision: 'keep',
        signOff: demo('amara.nwosu').userPrincipalName,
        inactiveDays: 90,
        massRemovalShare: 1,
      },
    },
  );
  if ('empty' in started) throw new Error('the scope is not empty');
  campaignId = started.id;
  const card = await eventually(async () => reviewCardsTo(priya)[0], 30_000, "Priya's review card");
  const onCard = executes(card)
    .filter((a) => a.verb === CardVerbs.reviewRevoke)
    .map((a) => a.data?.itemId);
  // The group's four members, each decidable on the card; the data carries ids only.
  expect(onCard.sort()).toEqual(
    ['siobhan.obrien', 'yuki.tanaka', 'zoe.martin', 'jack.wilson']
      .map((a) => reviewItemId(AWS_READONLY, demo(a).id))
      .sort(),
  );
  for (const a of executes(card)) expect(Object.keys(a.data ?? {}).sort()).toEqual(['campaignId', 'itemId']);
  expect(cardText(card)).toContain('AWS read-only check');
});

test("someone else clicking the reviewer's card is refused on the card, and nothing is decided", async () => {
  const itemId = reviewItemId(AWS_READONLY, demo('jack.wilson').id);
  const answer = await bot.click(alex, CardVerbs.reviewRevoke, {
    campaignId,
    itemId,
    [`revokeWhy.${itemId}`]: 'I want this gone',
  });
  expect(answer.status).toBe(200);
  expect(cardText(answer.card)).toContain('This item is not yours to decide');
  expect((await itemOf(itemId)).decisions).toEqual([]);
});

test('the reviewer revokes one item and keeps another on the card; the revocation takes effect at once', async () => {
  const jack = reviewItemId(AWS_READONLY, demo('jack.wilson').id);
  const yuki = reviewItemId(AWS_READONLY, demo('yuki.tanaka').id);

  const revoked = await bot.click(priya, CardVerbs.reviewRevoke, {
    campaignId,
    itemId: jack,
    [`revokeWhy.${jack}`]: 'Moved to the support desk; no AWS work',
  });
  expect(revoked.status).toBe(200);
  // The refreshed card: the decided item has no buttons left; the others still do.
  const left = executes(revoked.card).map((a) => a.data?.itemId);
  expect(left).not.toContain(jack);
  expect(left).toContain(yuki);

  const kept = await bot.click(priya, CardVerbs.reviewKeep, { campaignId, itemId: yuki });
  expect(kept.status).toBe(200);
  expect(executes(kept.card).map((a) => a.data?.itemId)).not.toContain(yuki);

  const jackItem = await eventually(
    async () => {
      const i = await itemOf(jack);
      return i.outcome ? i : undefined;
    },
    30_000,
    "the revocation of Jack's membership",
  );
  expect(jackItem).toMatchObject({ final: 'revoke', outcome: 'applied' });
  expect(jackItem.decisions).toEqual([
    expect.objectContaining({
      decision: 'revoke',
      by: demo('priya.raman').id,
      source: 'card',
      reason: 'Moved to the support desk; no AWS work',
    }),
  ]);
  expect(await h.deps.directory.isMember(AWS_READONLY, demo('jack.wilson').id)).toBe(false);
  expect(await itemOf(yuki)).toMatchObject({ final: 'keep' });
  expect(await h.deps.directory.isMember(AWS_READONLY, demo('yuki.tanaka').id)).toBe(true);
});
