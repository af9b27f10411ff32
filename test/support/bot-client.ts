/**
 * Test support: speaks the Bot Framework protocol to Attest's /api/messages as Teams does. Activities carry
 * the local connector's serviceUrl, so everything the bot sends (replies, proactive cards, updates) is
 * recorded there.
 */
import { randomUUID } from 'node:crypto';
import type { LocalConnector } from './connector';

/** A person as Teams names them on an activity. */
export interface TeamsUser {
  id: string;
  displayName: string;
}

/** The demo tenant (src/local/graph-sim/demo-tenant.ts). */
export const TENANT = '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6';

/** An Adaptive Card as the connector received it. */
export type Card = { body?: unknown[]; actions?: unknown[] } & Record<string, unknown>;

/** What /api/messages answered. */
export interface BotAnswer {
  status: number;
  /** For an invoke: the card that replaces the clicked one, or the message shown instead. */
  card?: Card;
  message?: string;
  ms: number;
}

/** The personal conversation of a user with the bot. */
export const personalConversation = (user: TeamsUser) => `a:personal-${user.id}`;

/** Sends activities to the bot as Teams would. */
export class BotClient {
  constructor(
    private readonly endpoint: string,
    private readonly connector: LocalConnector,
    private readonly tenant = TENANT,
  ) {}

  /** POSTs one activity from `user` in their personal chat (fields in `overrides` win). */
  async post(user: TeamsUser, overrides: Record<string, unknown>): Promise<BotAnswer> {
    const activity = {
      channelId: 'msteams',
      serviceUrl: this.connector.serviceUrl,
      id: `act-${randomUUID()}`,
      timestamp: new Date().toISOString(),
      from: { id: `29:${user.id}`, name: user.displayName, aadObjectId: user.id },
      recipient: { id: '28:attest-bot', name: 'Attest' },
      conversation: { id: personalConversation(user), conversationType: 'personal', tenantId: this.tenant },
      channelData: { tenant: { id: this.tenant } },
      ...overrides,
    };
    const started = performance.now();
    const res = await fetch(this.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(activity),
    });
    const text = await res.text();
    const ms = performance.now() - started;
    const body = text ? (JSON.parse(text) as { type?: string; value?: unknown }) : undefined;
    return {
      status: res.status,
      ms,
      card: body?.type === 'application/vnd.microsoft.card.adaptive' ? (body.value as Card) : undefined,
      message:
        body?.type === 'application/vnd.microsoft.activity.message' ? (body.value as string) : undefined,
    };
  }

  /** The user types `text`. */
  say(user: TeamsUser, text: string): Promise<BotAnswer> {
    return this.post(user, { type: 'message', text });
  }

  /** The user installs the app (Teams sends conversationUpdate with the user added). */
  install(user: TeamsUser): Promise<BotAnswer> {
    return this.post(user, {
      type: 'conversationUpdate',
      membersAdded: [{ id: `29:${user.id}`, name: user.displayName, aadObjectId: user.id }],
    });
  }

  /** The user clicks an Action.Execute button: `data` is the action's data merged with the card's inputs. */
  click(
    user: TeamsUser,
    verb: string,
    data: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): Promise<BotAnswer> {
    return this.post(user, {
      type: 'invoke',
      name: 'adaptiveCard/action',
      replyToId: `card-${randomUUID()}`,
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
      ...extra,
    });
  }
}

/** Every string in a card (TextBlock texts, fact values, titles), for assertions on what a person reads. */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (k !== '$schema' && k !== 'data') walk(x);
    }
  };
  walk(card);
  return out.join('\n');
}

/** The card of a recorded activity, if it has one. */
export function cardOf(a: { attachments?: { content: Record<string, unknown> }[] }): Card | undefined {
  return a.attachments?.[0]?.content as Card | undefined;
}
