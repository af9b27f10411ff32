/**
 * Review notices delivered for real parts: conversation references and deliveries in Azurite, cards through
 * the proactive queue and botbuilder's CloudAdapter to a local Bot Framework connector, the e-mail fallback
 * through Graph sendMail to the Graph simulator (which keeps each message under its data folder).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConversationReference,
} from 'botbuilder';
import { reviewsTabUrl } from '../../../src/adapters/cards/review.card';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { GraphDirectory } from '../../../src/adapters/graph/graph-directory';
import { GraphMailer } from '../../../src/adapters/graph/graph-mailer';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { ConversationStore, DeliveryStore } from '../../../src/adapters/tables/teams.store';
import { botbuilderSender, ProactiveQueue } from '../../../src/adapters/teams/proactive-queue';
import { reviewDeliveryKey, TeamsReviewNotifier } from '../../../src/adapters/teams/teams-review-notifier';
import { startGraphSimulator, type GraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import type { ReviewNotice, ReviewNotifier } from '../../../src/ports/review-notifier.port';
import {
  ALEX_ID,
  CAMPAIGN_ID,
  MATEO_ID,
  PRIYA_ID,
  SIOBHAN_ID,
  priyasItems,
} from '../../fixtures/review/review-items.fixture';
import { startConnector, type LocalConnector } from '../../support/connector';
import { startTestStorage, type TestStorage } from '../../support/storage';

jest.mock('swiper', () => ({}));
jest.setTimeout(60_000);

const TEAMS_APP_ID = '2f9c1b4e-5d6a-4e8f-9a0b-1c2d3e4f5a6b';
const TENANT = 'tenant-contoso';
const SENDER = 'tomasz.nowak@contoso.example';

let storage: TestStorage;
let connector: LocalConnector;
let sim: GraphSimulator;
let simDir: string;
let conversations: ConversationStore;
let deliveries: DeliveryStore;
let queue: ProactiveQueue;
let directory: GraphDirectory;
const references = new Map<string, Partial<ConversationReference>>();
const kept: ReviewNotice[] = [];
const outbox: ReviewNotifier = { notifyReviewer: async (n) => (kept.push(n), { via: 'outbox' }) };
const logged: string[] = [];

beforeAll(async () => {
  storage = await startTestStorage('attest-review-notifier-');
  conversations = new ConversationStore(storage.tables.client(TableNames.teamsConversations));
  deliveries = new DeliveryStore(storage.tables.client(TableNames.teamsDeliveries));
  await Promise.all([conversations.init(), deliveries.init()]);
  connector = await startConnector();
  simDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-review-mail-'));
  sim = await startGraphSimulator({ port: 0, dataDir: simDir, now: () => new Date('2026-12-01T06:00:00Z') });
  const token = sim.issueToken();
  directory = new GraphDirectory(createGraphClient({ baseUrl: sim.url, getToken: async () => token }));
  const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
  queue = new ProactiveQueue({
    send: botbuilderSender(adapter, '', (id) => references.get(id)),
    maxAttempts: 1,
  });
  for (const id of [PRIYA_ID, SIOBHAN_ID, MATEO_ID]) {
    await conversations.rememberUser(id, {
      channelId: 'msteams',
      serviceUrl: connector.serviceUrl,
      conversation: {
        id: `a:${id}`,
        conversationType: 'personal',
        isGroup: false,
        name: '',
        tenantId: TENANT,
      },
      bot: { id: '28:attest-bot', name: 'Attest' },
      user: { id: `29:${id}`, name: '', aadObjectId: id },
    });
  }
});
afterAll(async () => {
  await queue?.stop();
  await connector?.close();
  await sim?.close();
  await storage?.stop();
  fs.rmSync(simDir, { recursive: true, force: true });
});

function notifier(sender = SENDER): TeamsReviewNotifier {
  const token = sim.issueToken();
  const mailer = new GraphMailer(
    createGraphClient({ baseUrl: sim.url, getToken: async () => token, retry: { maxRetries: 0 } }),
    sender,
  );
  return new TeamsReviewNotifier({
    outbox,
    conversations,
    deliveries,
    queue,
    references,
    directory,
    mailer,
    tabUrl: (id) => reviewsTabUrl(TEAMS_APP_ID, id),
    log: (line) => logged.push(line),
  });
}

function notice(recipientId: string, id: string): ReviewNotice {
  const items = priyasItems();
  return {
    kind: 'review-assigned',
    id,
    campaignId: CAMPAIGN_ID,
    campaignName: 'Payments & production access <PCI DSS 7.2.4>',
    recipientId,
    pending: items.length,
    total: items.length,
    deadline: '2026-12-08T06:00:00.000Z',
    items,
    text: 'A review of payments and production access is waiting on you.',
  };
}

const toConversation = (id: string) => connector.received.filter((a) => a.conversationId === `a:${id}`);

/** Every message the simulator kept, as Graph would have sent it. NB. In no particular order. */
function mailbox(): {
  subject: string;
  toRecipients: string[];
  from: unknown;
  body: { contentType: string; content: string };
}[] {
  const dir = path.join(simDir, 'mail');
  return fs
    .readdirSync(dir)
    .map((m) => JSON.parse(fs.readFileSync(path.join(dir, m, 'message.json'), 'utf8')));
}

test('a reviewer the bot reaches gets the card in chat, once however often the notice is retried', async () => {
  const n = notice(PRIYA_ID, 'notice-priya-1');
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'teams' });
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'teams' });
  const sent = toConversation(PRIYA_ID);
  expect(sent).toHaveLength(1);
  const card = sent[0].activity.attachments?.[0].content as Record<string, unknown>;
  expect(JSON.stringify(card)).toContain(`l/entity/${TEAMS_APP_ID}/reviews`);
  expect(JSON.stringify(card)).toContain('"verb":"review.keep"');
  expect(sent[0].activity.summary).toBe(n.text);
  expect(kept.filter((k) => k.id === n.id)).toHaveLength(2);
  expect(await deliveries.get(reviewDeliveryKey(CAMPAIGN_ID), n.id, PRIYA_ID)).toMatchObject({
    status: 'sent',
    conversationId: `a:${PRIYA_ID}`,
  });
});

test('a reviewer with no conversation reference gets the review by e-mail, once, with a link to the tab', async () => {
  const n = notice(ALEX_ID, 'notice-alex-1');
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'email' });
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'email' });
  const mail = mailbox().filter((m) => m.toRecipients.includes('alex.chen@contoso.example'));
  expect(mail).toHaveLength(1);
  const [m] = mail;
  expect(m.toRecipients).toEqual(['alex.chen@contoso.example']);
  expect(m.from).toEqual({ emailAddress: { name: 'Tomasz Nowak', address: SENDER } });
  expect(m.subject).toBe(
    'Access review: Payments & production access <PCI DSS 7.2.4> (3 items waiting on you)',
  );
  expect(m.body.contentType).toBe('HTML');
  expect(m.body.content).toContain(
    `href="${reviewsTabUrl(TEAMS_APP_ID, CAMPAIGN_ID).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`,
  );
  // User text is escaped, never markup.
  expect(m.body.content).toContain('Payments &amp; production access &lt;PCI DSS 7.2.4&gt;');
  expect(m.body.content).toContain('Siobhan O&#39;Brien');
  expect(m.body.content).toContain('Recommendation: revoke (never signed in; added outside Attest)');
  expect(toConversation(ALEX_ID)).toEqual([]);
});

test('a reviewer who removed the app (Teams answers 403) gets e-mail instead, and later notices go straight there', async () => {
  connector.fail(`a:${SIOBHAN_ID}`, 403);
  try {
    expect(await notifier().notifyReviewer(notice(SIOBHAN_ID, 'notice-siobhan-1'))).toEqual({ via: 'email' });
    expect(await conversations.user(SIOBHAN_ID)).toBeUndefined();
    const tried = toConversation(SIOBHAN_ID).length;
    expect(await notifier().notifyReviewer(notice(SIOBHAN_ID, 'notice-siobhan-2'))).toEqual({ via: 'email' });
    expect(toConversation(SIOBHAN_ID)).toHaveLength(tried);
    const toSiobhan = mailbox().filter((m) => m.toRecipients.includes('siobhan.obrien@contoso.example'));
    expect(toSiobhan).toHaveLength(2);
  } finally {
    connector.fail(`a:${SIOBHAN_ID}`, undefined);
  }
});

test('a send that fails for now is kept in the outbox, unrecorded, and delivered once by the retry', async () => {
  const n = notice(MATEO_ID, 'notice-mateo-1');
  // 412 is retried by the queue, not inside botbuilder, so one attempt fails at once.
  connector.fail(`a:${MATEO_ID}`, 412);
  const before = mailbox().length;
  try {
    expect(await notifier().notifyReviewer(n)).toEqual({ via: 'outbox' });
  } finally {
    connector.fail(`a:${MATEO_ID}`, undefined);
  }
  expect(mailbox()).toHaveLength(before);
  expect(await deliveries.get(reviewDeliveryKey(CAMPAIGN_ID), n.id, MATEO_ID)).toBeUndefined();
  expect(logged.some((l) => l.includes('notice-mateo-1'))).toBe(true);
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'teams' });
  expect(await notifier().notifyReviewer(n)).toEqual({ via: 'teams' });
  expect(toConversation(MATEO_ID).map((a) => a.method)).toEqual(['POST']);
});

test('an e-mail Graph refuses (a sender mailbox that does not exist) leaves the notice in the outbox and says why', async () => {
  const before = mailbox().length;
  const n = notice(ALEX_ID, 'notice-alex-bad-sender');
  expect(await notifier('no-such-mailbox@contoso.example').notifyReviewer(n)).toEqual({ via: 'outbox' });
  expect(mailbox()).toHaveLength(before);
  expect(logged.find((l) => l.includes('notice-alex-bad-sender'))).toMatch(
    /the e-mail failed: .*no-such-mailbox@contoso\.example/,
  );
  expect(kept.some((k) => k.id === n.id)).toBe(true);
});
