/**
 * Reaching every approver and reviewer, through the Bot Framework protocol on the local host (Azurite, the
 * Graph simulator with the demo tenant's org app catalog, the replay host), cards captured by a local connector:
 * a person who never opened Attest gets the app installed through Graph and the card in the chat the
 * installation made; when the tenant's policy refuses the installation, the stage escalates as before (a review
 * notice goes by e-mail) and the person's `teams:<id>` audit stream says why and what an admin can do.
 */
import { CardVerbs } from '../../../src/adapters/cards/card-verbs';
import { DEMO_TEAMS_CATALOG_APP_ID, PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { teamsStream } from '../../../src/domain/audit/audit-events';
import type { ReviewNotice } from '../../../src/ports/review-notifier.port';
import { BotClient, cardOf, cardText, TENANT, type TeamsUser } from '../../support/bot-client';
import { startConnector, type LocalConnector } from '../../support/connector';
import { keptMails } from '../../support/mailbox';
import { eventually } from '../../support/storage';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';
import { CAMPAIGN_ID, MATEO_ID, priyasItems } from '../../fixtures/review/review-items.fixture';

jest.mock('swiper', () => ({}));
jest.setTimeout(90_000);

const [alex, priya, rahul] = PLAYGROUND_USERS.map((u): TeamsUser => ({
  id: u.id,
  displayName: u.displayName,
})) as TeamsUser[];
const SNOWFLAKE_ANALYST = 'snowflake/analyst';
/** The chat the simulator gives an installation of the Attest app (Teams' form of a 1:1 chat with a bot). */
const chatOf = (userId: string) => `19:${userId}_${DEMO_TEAMS_CATALOG_APP_ID}@unq.gbl.spaces`;

let h: WorkflowHost;
let connector: LocalConnector;
let bot: BotClient;

beforeAll(async () => {
  h = await startWorkflowHost({ teams: true });
  connector = await startConnector();
  bot = new BotClient(`${h.host.url}/api/messages`, connector);
  await eventually(
    async () => (h.host.services.catalogCheck?.().state === 'pending' ? undefined : true),
    30_000,
    'the catalog check',
  );
  // Only the requesters ever opened Attest: the bot knows the tenant's serviceUrl from them, nobody else.
  await bot.install(alex);
  await bot.install(rahul);
});
afterAll(async () => {
  await connector?.close();
  await h?.stop();
});

const received = (conversationId: string, from = 0) =>
  connector.received.slice(from).filter((a) => a.conversationId === conversationId);

async function waitFor<T>(what: string, probe: () => T | undefined): Promise<T> {
  return eventually(async () => probe(), 30_000, what);
}

async function submit(user: TeamsUser, justification: string): Promise<string> {
  const answer = await bot.click(user, CardVerbs.requestSubmit, {
    roleRef: SNOWFLAKE_ANALYST,
    duration: '30d',
    justification,
  });
  expect(answer.status).toBe(200);
  return /[0-9a-f-]{36}/.exec(cardText(answer.card))?.[0] as string;
}

const installPosts = () =>
  h.host.graphSim!.writes().filter((w) => w.method === 'POST' && w.path.endsWith('/teamwork/installedApps'));

describe('an approver who never opened Attest', () => {
  test('gets the app installed through Graph, receives the approval card in that chat, and can decide on it', async () => {
    const from = connector.received.length;
    const id = await submit(alex, 'Quarterly revenue analysis for finance');
    await h.stageOpen(id, 1);
    const card = await waitFor('the approval card in the chat the installation made', () =>
      received(chatOf(priya.id), from).find((a) => JSON.stringify(cardOf(a.activity) ?? {}).includes(id)),
    );
    expect(cardText(cardOf(card.activity))).toContain('Approve');
    expect(h.host.graphSim!.appInstallations()).toEqual([
      expect.objectContaining({ userId: priya.id, teamsAppId: DEMO_TEAMS_CATALOG_APP_ID }),
    ]);
    // Nobody was escalated past, and the installation is on record in Priya's Teams stream.
    expect(await h.actions(id)).not.toContain('approval.escalated');
    const installed = (await h.events(teamsStream(priya.id))).find((e) => e.action === 'teams.app-installed');
    expect(installed?.details).toMatchObject({
      catalogAppId: DEMO_TEAMS_CATALOG_APP_ID,
      already: false,
      chatId: chatOf(priya.id),
      purpose: { kind: 'approval-requested', about: id },
    });
    // The reference is stored: the next card goes straight there, with no second installation.
    const reference = await (await h.host.services.teams()).conversations.user(priya.id);
    expect(reference).toMatchObject({
      serviceUrl: connector.serviceUrl,
      conversation: { id: chatOf(priya.id), tenantId: TENANT },
    });
    // Priya clicks Approve in that chat, as Teams sends it.
    const answer = await bot.click(
      priya,
      CardVerbs.requestApprove,
      { requestId: id, stage: 1 },
      { conversation: { id: chatOf(priya.id), conversationType: 'personal', tenantId: TENANT } },
    );
    expect(answer.status).toBe(200);
    await h.until(id, 'approval.decided');
    const second = await submit(alex, 'Board pack cost analysis for the CFO');
    await waitFor('the second card in the same chat', () =>
      received(chatOf(priya.id), from).find((a) => JSON.stringify(cardOf(a.activity) ?? {}).includes(second)),
    );
    expect(installPosts()).toHaveLength(1);
    await bot.click(priya, CardVerbs.requestDeny, { requestId: second, stage: 1 });
    await h.until(second, 'approval.decided');
  });

  test('whom the tenant blocks the app for is escalated past as before, and the audit says why', async () => {
    // Rahul's manager Margaret Okafor: the app permission policy blocks Attest for her. The stage's fallback
    // (Daniel Schmidt) never opened Attest either; he is not blocked, so the app is installed for him.
    const margaret = (await h.deps.directory.getUser('margaret.okafor@contoso.example'))!;
    const daniel = (await h.deps.directory.getUser('daniel.schmidt@contoso.example'))!;
    h.host.graphSim!.setTeamsAppsBlocked(margaret.id, true);
    const from = connector.received.length;
    const id = await submit(rahul, 'Engineering cost analysis for the board');
    await h.until(id, 'approval.escalated');
    const escalated = (await h.events(id)).find((e) => e.action === 'approval.escalated');
    expect(escalated?.details).toMatchObject({ from: [margaret.id], to: [daniel.id] });
    await waitFor('the card to the fallback, in the chat installed for him', () =>
      received(chatOf(daniel.id), from).find((a) => JSON.stringify(cardOf(a.activity) ?? {}).includes(id)),
    );
    const refused = (await h.events(teamsStream(margaret.id))).find(
      (e) => e.action === 'teams.app-install-refused',
    );
    expect(refused?.details).toMatchObject({
      catalogAppId: DEMO_TEAMS_CATALOG_APP_ID,
      status: 403,
      code: 'Forbidden',
      purpose: { kind: 'approval-requested', about: id },
    });
    expect(String(refused?.details.error)).toMatch(/blocked .*policy/);
    expect(String(refused?.details.remedy)).toContain('app permission');
    // The delivery keeps the reason, for whoever looks at why Margaret was not asked.
    const deliveries = await (await h.host.services.teams()).deliveries.forRequest(id);
    expect(deliveries.find((d) => d.recipient === margaret.id)).toMatchObject({
      status: 'unreachable',
      reason: expect.stringContaining('403 Forbidden'),
    });
    expect(await (await h.host.services.teams()).conversations.user(margaret.id)).toBeUndefined();
    h.host.graphSim!.setTeamsAppsBlocked(margaret.id, false);
  });
});

describe('a reviewer who never opened Attest', () => {
  function notice(recipientId: string, id: string): ReviewNotice {
    const items = priyasItems();
    return {
      kind: 'review-assigned',
      id,
      campaignId: CAMPAIGN_ID,
      campaignName: 'Payments & production access',
      recipientId,
      pending: items.length,
      total: items.length,
      deadline: '2026-12-08T06:00:00.000Z',
      items,
      text: 'A review of payments and production access is waiting on you.',
    };
  }

  test('already has the app (installed meanwhile: Graph answers 409) and gets the review card in its chat', async () => {
    const siobhan = PLAYGROUND_USERS[4];
    // Installed by someone else (an admin's setup policy), with no conversation the bot has seen.
    const token = h.host.graphSim!.issueToken();
    const res = await fetch(`${h.host.graphSim!.url}/users/${siobhan.id}/teamwork/installedApps`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        'teamsApp@odata.bind': `https://graph.microsoft.com/v1.0/appCatalogs/teamsApps/${DEMO_TEAMS_CATALOG_APP_ID}`,
      }),
    });
    expect(res.status).toBe(201);
    const from = connector.received.length;
    expect(await h.deps.reviewNotifier!.notifyReviewer(notice(siobhan.id, 'n-siobhan-1'))).toEqual({
      via: 'teams',
    });
    const card = await waitFor('the review card', () => received(chatOf(siobhan.id), from)[0]);
    expect(cardText(cardOf(card.activity))).toContain('Payments & production access');
    const installed = (await h.events(teamsStream(siobhan.id))).find(
      (e) => e.action === 'teams.app-installed',
    );
    expect(installed?.details).toMatchObject({ already: true, purpose: { about: `review:${CAMPAIGN_ID}` } });
  });

  test('whom the tenant blocks the app for gets the notice by e-mail, and the audit says why', async () => {
    h.host.graphSim!.setTeamsAppsBlocked(MATEO_ID, true);
    const from = connector.received.length;
    expect(await h.deps.reviewNotifier!.notifyReviewer(notice(MATEO_ID, 'n-mateo-1'))).toEqual({
      via: 'email',
    });
    expect(connector.received.slice(from)).toEqual([]);
    const mail = keptMails(h.dataDir).find((m) => m.subject.includes('Payments & production access'));
    expect(mail?.toRecipients).toEqual([expect.stringMatching(/^mateo\.garcia@/)]);
    const refused = (await h.events(teamsStream(MATEO_ID))).find(
      (e) => e.action === 'teams.app-install-refused',
    );
    expect(refused?.details).toMatchObject({ status: 403, purpose: { kind: 'review-assigned' } });
  });
});
