/**
 * What the Teams adapter keeps in Table Storage: conversation references (how to reach a person or a channel
 * proactively) and deliveries (which card went to which conversation, so a retried delivery sends nothing
 * twice and every copy of an approval card can be updated once the request moves on).
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { ConversationReference } from 'botbuilder';

const USER = 'user';
const CHANNEL = 'channel';

/** Table keys may not contain / \ # ? or control characters; conversation ids can contain some of them. */
function rowKey(value: string): string {
  return encodeURIComponent(value.toLowerCase()).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16)}`,
  );
}

const odata = (value: string) => value.replace(/'/g, "''");

/** Conversation references by person (Entra object id) and by channel id. */
export class ConversationStore {
  /** The last reference written per key, so an unchanged reference is not written on every turn. */
  private readonly written = new Map<string, string>();

  constructor(private readonly table: TableClient) {}

  async init(): Promise<void> {
    await this.table.createTable();
  }

  /** Remembers how to reach `userId` in personal chat. */
  async rememberUser(userId: string, reference: Partial<ConversationReference>): Promise<void> {
    await this.put(USER, userId, reference);
  }

  /** Remembers how to post to channel `channelId` of a team the app was added to. */
  async rememberChannel(channelId: string, reference: Partial<ConversationReference>): Promise<void> {
    await this.put(CHANNEL, channelId, reference);
  }

  /** The personal-chat reference of `userId`, if the person installed the app or wrote to the bot. */
  user(userId: string): Promise<Partial<ConversationReference> | undefined> {
    return this.get(USER, userId);
  }

  /** The reference of channel `channelId`, if the app was added to its team. */
  channel(channelId: string): Promise<Partial<ConversationReference> | undefined> {
    return this.get(CHANNEL, channelId);
  }

  /**
   * Any person's stored reference: what every conversation with the bot in this tenant shares (the Teams
   * serviceUrl of the tenant's region, the bot's account), to reach a person who never wrote to the bot.
   */
  async anyUser(): Promise<Partial<ConversationReference> | undefined> {
    for await (const row of this.table.listEntities<{ reference: string }>({
      queryOptions: { filter: `PartitionKey eq '${USER}'`, select: ['reference'] },
    })) {
      return JSON.parse(row.reference) as Partial<ConversationReference>;
    }
    return undefined;
  }

  /** Forgets a person the bot can no longer reach (Teams answered 403 or 404: app removed, user gone). */
  async forgetUser(userId: string): Promise<void> {
    this.written.delete(`${USER}/${rowKey(userId)}`);
    try {
      await this.table.deleteEntity(USER, rowKey(userId));
    } catch (err) {
      if (!(err instanceof RestError && err.statusCode === 404)) throw err;
    }
  }

  private async put(kind: string, key: string, reference: Partial<ConversationReference>): Promise<void> {
    const rk = rowKey(key);
    const json = JSON.stringify(reference);
    if (this.written.get(`${kind}/${rk}`) === json) return;
    await this.table.upsertEntity({ partitionKey: kind, rowKey: rk, reference: json }, 'Replace');
    this.written.set(`${kind}/${rk}`, json);
  }

  private async get(kind: string, key: string): Promise<Partial<ConversationReference> | undefined> {
    try {
      const row = await this.table.getEntity<{ reference: string }>(kind, rowKey(key));
      return JSON.parse(row.reference) as Partial<ConversationReference>;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
}

/** One card or message delivered for a notification. */
export interface Delivery {
  requestId: string;
  notificationId: string;
  /** Entra object id, or `channel:<id>` for the approvers' channel. */
  recipient: string;
  kind: string;
  /** For approval cards: the stage the card asks about. */
  stage?: number;
  /** `emailed`: the bot could not reach the person, so the notice went by e-mail (access reviews). */
  status: 'sent' | 'unreachable' | 'emailed';
  conversationId?: string;
  activityId?: string;
  /** The reference used, so the card can be updated in place later. */
  reference?: Partial<ConversationReference>;
  /** True once an approval card was replaced by its final state (it is not updated again). */
  closed?: boolean;
  /** For `unreachable`: why (e.g. Graph refused to install the app for them), for an admin to act on. */
  reason?: string;
}

interface DeliveryRow {
  notificationId: string;
  recipient: string;
  kind: string;
  stage?: number;
  status: Delivery['status'];
  conversationId?: string;
  activityId?: string;
  reference?: string;
  closed?: boolean;
  reason?: string;
}

/** Deliveries by request. */
export class DeliveryStore {
  constructor(private readonly table: TableClient) {}

  async init(): Promise<void> {
    await this.table.createTable();
  }

  /** The delivery of `notificationId` to `recipient`, if it happened. */
  async get(requestId: string, notificationId: string, recipient: string): Promise<Delivery | undefined> {
    try {
      const row = await this.table.getEntity<DeliveryRow>(
        rowKey(requestId),
        rowKey(`${notificationId}|${recipient}`),
      );
      return fromRow(requestId, row);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  /** Records a delivery (replacing an earlier record of the same one). */
  async put(d: Delivery): Promise<void> {
    await this.table.upsertEntity(
      {
        partitionKey: rowKey(d.requestId),
        rowKey: rowKey(`${d.notificationId}|${d.recipient}`),
        notificationId: d.notificationId,
        recipient: d.recipient,
        kind: d.kind,
        stage: d.stage,
        status: d.status,
        conversationId: d.conversationId,
        activityId: d.activityId,
        reference: d.reference ? JSON.stringify(d.reference) : undefined,
        closed: d.closed ?? false,
        reason: d.reason,
      },
      'Replace',
    );
  }

  /** Every delivery of one request. */
  async forRequest(requestId: string): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for await (const row of this.table.listEntities<DeliveryRow>({
      queryOptions: { filter: `PartitionKey eq '${odata(rowKey(requestId))}'` },
    })) {
      out.push(fromRow(requestId, row));
    }
    return out;
  }
}

function fromRow(requestId: string, row: DeliveryRow): Delivery {
  return {
    requestId,
    notificationId: row.notificationId,
    recipient: row.recipient,
    kind: row.kind,
    stage: typeof row.stage === 'number' ? row.stage : undefined,
    status: row.status,
    conversationId: row.conversationId || undefined,
    activityId: row.activityId || undefined,
    reference: row.reference ? (JSON.parse(row.reference) as Partial<ConversationReference>) : undefined,
    closed: row.closed === true,
    ...(row.reason ? { reason: row.reason } : {}),
  };
}
