/**
 * The bot's /api/messages endpoint as a registered http function: Bot Framework authentication through the
 * teams-ai TeamsAdapter (a botbuilder CloudAdapter: validated tokens in Azure, anonymous only on the local
 * host), the tenant allow-list, remembering how to reach each person, and the teams-ai application.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ConversationReference, TurnContext } from 'botbuilder';
import { Channels, TurnContext as Turn } from 'botbuilder';
import type { Directory } from '../../ports/directory.port';
import type { AccessRequestService } from '../../workflows/access-request.service';
import type { WorkflowDeps } from '../../workflows/workflow-deps';
import { setTurnServices, type BotReviews } from './attest-bot';
import type { TeamsChannel } from './teams-channel';

/**
 * The one Bot Service channel Attest serves. NB. An Azure Bot also has Web Chat and Direct Line, whose client
 * chooses `from` (with any `aadObjectId`) and `channelData`: only Teams vouches for who the sender is.
 */
const SERVED_CHANNEL = Channels.Msteams;

/** The tenant an activity comes from, as Teams reports it. */
function tenantOf(context: TurnContext): string | undefined {
  const a = context.activity;
  const fromChannel = (a.channelData as { tenant?: { id?: string } } | undefined)?.tenant?.id;
  return (fromChannel ?? a.conversation?.tenantId)?.toLowerCase();
}

/**
 * Remembers how to reach the sender (personal chat) or the channel (a team the app is in), so approval
 * cards and notifications can be sent proactively later.
 */
async function remember(channel: TeamsChannel, context: TurnContext, tenant: string): Promise<void> {
  const a = context.activity;
  // A reference to the conversation, not to this activity: proactive sends start a new message.
  const { activityId: _activity, ...reference }: Partial<ConversationReference> =
    Turn.getConversationReference(a);
  reference.conversation = {
    ...(reference.conversation as ConversationReference['conversation']),
    tenantId: tenant,
  };
  const kind = a.conversation?.conversationType;
  const teamsChannel = (a.channelData as { channel?: { id?: string } } | undefined)?.channel?.id;
  if (kind === 'channel' && teamsChannel) {
    // Post to the channel itself, not into the thread this activity came from.
    await channel.conversations.rememberChannel(teamsChannel, {
      ...reference,
      conversation: { ...reference.conversation, id: teamsChannel },
    } as Partial<ConversationReference>);
    return;
  }
  const userId = a.from?.aadObjectId;
  if ((kind === undefined || kind === 'personal') && userId) {
    await channel.conversations.rememberUser(userId, reference);
  }
}

/** The parts of a Node response botbuilder's CloudAdapter writes to. */
interface CapturedResponse {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  ended: boolean;
}

/** What one POST needs besides the request: the channel, and the workflow's ports and service. */
export interface BotEndpointContext {
  channel: TeamsChannel;
  deps: WorkflowDeps;
  /**
   * The service on the workflow's ports (the live directory), with `requesterFacts` (the requester cache) for
   * the checks a click may make on cached facts.
   */
  service: (deps: WorkflowDeps, requesterFacts: Directory) => AccessRequestService;
  /** Access reviews (the review card's Keep and Revoke); absent where the installation does not run them. */
  reviews?: BotReviews;
}

/** Handles one POST to /api/messages. */
export async function handleBotRequest(
  request: HttpRequest,
  ctx: () => Promise<BotEndpointContext>,
): Promise<HttpResponseInit> {
  let body: Record<string, unknown>;
  try {
    body = (await request.json()) as Record<string, unknown>;
  } catch {
    return { status: 400, jsonBody: { error: 'The request body must be a Bot Framework activity in JSON.' } };
  }
  // Refused before authentication and before anything is read or written: a 4xx tells the Bot Service the
  // activity was not taken, and is not retried.
  if (body.channelId !== SERVED_CHANNEL) {
    return {
      status: 403,
      jsonBody: { error: `Attest serves Microsoft Teams only, not '${String(body.channelId)}'.` },
    };
  }
  const { channel, deps, service, reviews } = await ctx();
  const allowed = new Set(channel.bot.allowedTenants);
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
  await channel.adapter.process(nodeReq, nodeRes, async (context) => {
    // NB. Checked again on the activity the adapter built, so no later change to the parsing can bypass it.
    if (context.activity.channelId !== SERVED_CHANNEL) return;
    const tenant = tenantOf(context);
    if (!tenant || !allowed.has(tenant)) {
      if (context.activity.type === 'message') {
        await context.sendActivity('This Attest installation does not serve your organisation.');
      }
      return;
    }
    await remember(channel, context, tenant);
    const userId = context.activity.from?.aadObjectId;
    // Fetch what the request card needs now (in the background), so a click does not wait on Graph.
    if (userId) channel.requesters.warm(userId);
    // Cards are built from the cache; the service decides on the live directory where it matters (auto-approval).
    const turnDeps = { ...deps, directory: channel.requesters };
    setTurnServices(context, {
      deps: turnDeps,
      service: service(deps, channel.requesters),
      requesters: channel.requesters,
      ...(reviews && { reviews }),
    });
    await channel.app.run(context);
  });
  return res.body === undefined
    ? { status: res.status, headers: res.headers }
    : typeof res.body === 'string'
      ? { status: res.status, headers: res.headers, body: res.body }
      : { status: res.status, headers: res.headers, jsonBody: res.body };
}
