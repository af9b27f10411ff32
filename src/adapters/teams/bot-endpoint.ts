/**
 * The bot's /api/messages endpoint as a registered http function: Bot Framework authentication through
 * botbuilder's CloudAdapter (validated tokens in Azure, anonymous only on the local host), the tenant
 * allow-list, and the conversation handler.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import {
  ActivityHandler,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from 'botbuilder';
import type { BotConfig } from '../../config/config';

/** The Bot Framework settings botbuilder reads, from our validated configuration. */
export function botAuthentication(bot: BotConfig): ConfigurationBotFrameworkAuthentication {
  const options: ConfigurationBotFrameworkAuthenticationOptions =
    bot.auth === 'anonymous'
      ? {}
      : bot.auth === 'managed-identity'
        ? {
            MicrosoftAppId: bot.appId,
            MicrosoftAppType: 'UserAssignedMSI',
            MicrosoftAppTenantId: bot.tenantId,
          }
        : {
            MicrosoftAppId: bot.appId,
            MicrosoftAppType: 'SingleTenant',
            MicrosoftAppTenantId: bot.tenantId,
            MicrosoftAppPassword: bot.password,
          };
  return new ConfigurationBotFrameworkAuthentication(options);
}

/** The tenant an activity comes from, as Teams reports it. */
function tenantOf(context: TurnContext): string | undefined {
  const a = context.activity;
  const fromChannel = (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
  return (fromChannel ?? a.conversation?.tenantId)?.toLowerCase();
}

/**
 * Attest's conversation. This is the foundation's bot: it greets, answers `help`, and proves the round
 * trip (who the bot thinks you are). Requests and approvals in chat are built on it by the Teams issue.
 */
export class AttestBot extends ActivityHandler {
  constructor() {
    super();
    this.onMembersAdded(async (context, next) => {
      for (const member of context.activity.membersAdded ?? []) {
        if (member.id !== context.activity.recipient.id) {
          await context.sendActivity(
            `Welcome to Attest, ${member.name ?? 'there'}. I help you ask for, approve and prove access. Type help to see what I can do.`,
          );
        }
      }
      await next();
    });
    this.onMessage(async (context, next) => {
      await context.sendActivity(help(context));
      await next();
    });
  }
}

/** The help text; it also proves the round trip by saying who the bot thinks is talking. */
function help(context: TurnContext): string {
  const from = context.activity.from;
  return [
    'I am Attest, the access-governance bot.',
    `I see you as ${from?.name ?? 'an unknown user'} (${from?.aadObjectId ?? 'no Entra object id'}) in tenant ${tenantOf(context) ?? 'unknown'}.`,
    'Asking for and approving access in chat is not available in this version yet.',
  ].join('\n\n');
}

/** The parts of a Node response botbuilder's CloudAdapter writes to. */
interface CapturedResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  ended: boolean;
}

/** Handles one POST to /api/messages. */
export function createBotEndpoint(bot: BotConfig): (request: HttpRequest) => Promise<HttpResponseInit> {
  const adapter = new CloudAdapter(botAuthentication(bot));
  const handler = new AttestBot();
  const allowed = new Set(bot.allowedTenants);
  adapter.onTurnError = async (context, error) => {
    console.error(`bot: turn failed: ${error.message}`);
    await context.sendActivity('Sorry, something went wrong on our side. Try again in a minute.');
  };
  return async (request) => {
    let body: Record<string, unknown>;
    try {
      body = (await request.json()) as Record<string, unknown>;
    } catch {
      return {
        status: 400,
        jsonBody: { error: 'The request body must be a Bot Framework activity in JSON.' },
      };
    }
    const res: CapturedResponse = { status: 200, headers: {}, ended: false };
    const nodeRes = {
      socket: undefined,
      status(code: number) {
        res.status = code;
        return nodeRes;
      },
      header(name: string, value: unknown) {
        res.headers[name] = String(value);
        return nodeRes;
      },
      send(payload?: unknown) {
        res.body = payload;
        return nodeRes;
      },
      end() {
        res.ended = true;
        return nodeRes;
      },
    };
    const nodeReq = { body, headers: Object.fromEntries(request.headers.entries()), method: request.method };
    await adapter.process(nodeReq, nodeRes, async (context) => {
      const tenant = tenantOf(context);
      if (!tenant || !allowed.has(tenant)) {
        if (context.activity.type === 'message') {
          await context.sendActivity('This Attest installation does not serve your organisation.');
        }
        return;
      }
      await handler.run(context);
    });
    return res.body === undefined
      ? { status: res.status, headers: res.headers }
      : typeof res.body === 'string'
        ? { status: res.status, headers: res.headers, body: res.body }
        : { status: res.status, headers: res.headers, jsonBody: res.body };
  };
}
