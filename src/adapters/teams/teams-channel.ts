/**
 * Everything Attest needs to talk in Teams, built once per host: the Bot Framework adapter (with the
 * configured authentication), the teams-ai application, the conversation and delivery stores, the proactive
 * queue, and the requester cache.
 */
import { writeLog } from '../telemetry/logger';
import type { ConfigurationBotFrameworkAuthenticationOptions, ConversationReference } from 'botbuilder';
import { TeamsAdapter, type Application, type TurnState } from '@microsoft/teams-ai';
import type { BotConfig } from '../../config/config';
import type { Catalog } from '../../domain/catalog/catalog.model';
import type { Clock } from '../../ports/clock.port';
import type { Directory } from '../../ports/directory.port';
import type { TableFactory } from '../tables/table-client-factory';
import { TableNames } from '../tables/table-names';
import { ConversationStore, DeliveryStore } from '../tables/teams.store';
import { createAttestApplication } from './attest-bot';
import { botbuilderSender, ProactiveQueue } from './proactive-queue';
import { RequesterCache } from './requester-cache';

/** The Bot Framework settings botbuilder reads, from our validated configuration. */
export function botFrameworkOptions(bot: BotConfig): ConfigurationBotFrameworkAuthenticationOptions {
  return bot.auth === 'anonymous'
    ? {}
    : bot.auth === 'managed-identity'
      ? { MicrosoftAppId: bot.appId, MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: bot.tenantId }
      : {
          MicrosoftAppId: bot.appId,
          MicrosoftAppType: 'SingleTenant',
          MicrosoftAppTenantId: bot.tenantId,
          MicrosoftAppPassword: bot.password,
        };
}

/** Attest's Teams channel. */
export interface TeamsChannel {
  bot: BotConfig;
  adapter: TeamsAdapter;
  app: Application<TurnState>;
  conversations: ConversationStore;
  deliveries: DeliveryStore;
  queue: ProactiveQueue;
  /** Conversation id → the reference the queue's sender continues. */
  references: Map<string, Partial<ConversationReference>>;
  requesters: RequesterCache;
}

/** Builds the channel and creates its tables. */
export async function createTeamsChannel(opts: {
  bot: BotConfig;
  tables: TableFactory;
  directory: Directory;
  catalog: Catalog;
  clock: Clock;
}): Promise<TeamsChannel> {
  const adapter = new TeamsAdapter(botFrameworkOptions(opts.bot));
  const appId = opts.bot.auth === 'anonymous' ? undefined : opts.bot.appId;
  const conversations = new ConversationStore(opts.tables.client(TableNames.teamsConversations));
  const deliveries = new DeliveryStore(opts.tables.client(TableNames.teamsDeliveries));
  await Promise.all([conversations.init(), deliveries.init()]);
  const references = new Map<string, Partial<ConversationReference>>();
  // NB. Proactive sends get an adapter of their own: a failed send must reach the queue as an error (to retry
  // or report the person unreachable), and an adapter with onTurnError would swallow it there.
  const proactive = new TeamsAdapter(botFrameworkOptions(opts.bot));
  const queue = new ProactiveQueue({
    send: botbuilderSender(proactive, appId ?? '', (id) => references.get(id)),
  });
  adapter.onTurnError = async (context, error) => {
    writeLog('error', 'bot', `bot: turn failed: ${error.message}`);
    if (context.activity.type === 'message') {
      await context.sendActivity('Sorry, something went wrong on our side. Try again in a minute.');
    }
  };
  return {
    bot: opts.bot,
    adapter,
    app: createAttestApplication(adapter, appId),
    conversations,
    deliveries,
    queue,
    references,
    requesters: new RequesterCache(opts.directory, opts.catalog, opts.clock),
  };
}
