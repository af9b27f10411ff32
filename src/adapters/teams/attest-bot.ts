/**
 * Attest in Teams chat, on @microsoft/teams-ai: the personal-chat commands (`request`, `my access`, `pending`,
 * `status <id>`, `help`, and free text matched against the catalog) and one handler per Action.Execute verb,
 * registered from one list.
 *
 * NB. Every handler takes the actor from the authenticated activity (`from.aadObjectId`), never from card
 * data: card data is an id to reload, and the application service decides whether this person may act.
 * NB. An invoke must answer within seconds however slow Graph is: handlers touch only Table Storage and the
 * requester cache (see requester-cache.ts); the orchestration does the slow work.
 */
import { annotateWork } from '../telemetry/work-context';
import { ActivityTypes, type TurnContext } from 'botbuilder';
import type { AdaptiveCard } from '@microsoft/teams-ai/lib/AdaptiveCards';
import { Application, type TeamsAdapter, type TurnState } from '@microsoft/teams-ai';
import { z } from 'zod';
import type { AuditActor } from '../../domain/audit/audit-event.model';
import type { Catalog, CatalogRole, DurationValue } from '../../domain/catalog/catalog.model';
import { catalogPolicyGroupIds, findRoleByRef, rolesEligibleFor } from '../../domain/catalog/catalog.policy';
import { formatDuration, tryParseDuration } from '../../domain/catalog/duration.parser';
import { matchText } from '../../domain/catalog/role-matcher';
import { DomainError } from '../../domain/domain-error';
import { awaitsDecision, personName, type AccessRequest } from '../../domain/request/access-request';
import type { AccessRequestService } from '../../workflows/access-request.service';
import type { WorkflowDeps } from '../../workflows/workflow-deps';
import {
  CardInputIds,
  CardVerbs,
  extendDurationInputId,
  extendReasonInputId,
  type CardVerb,
} from '../cards/card-verbs';
import { reviewVerbHandlers, type BotReviews } from './review-card-handlers';
import type { CardJson } from '../cards/card-template';
import { describeDuration } from '../cards/card-template';
import { renderMenuCard } from '../cards/menu.card';
import { renderNotificationCard } from '../cards/notification.card';
import { renderRefusalCard } from '../cards/refusal.card';
import { renderRequestCard, type RequestCardModel } from '../cards/request.card';
import { describeRequestStatus, renderDecidedCard } from '../cards/decided.card';
import type { RequesterCache } from './requester-cache';
import {
  approvalCardFor,
  cardActivity,
  decidedCardFor,
  decidedSubject,
  myAccessCardFor,
  namesOf,
} from './request-cards';

/** What one turn's handlers work with; set on the turn by the endpoint. */
export interface BotTurnServices {
  /** The workflow's ports, with the directory behind the requester cache. */
  deps: WorkflowDeps;
  service: AccessRequestService;
  requesters: RequesterCache;
  /** Access reviews, when this installation runs them (the review card's Keep and Revoke need it). */
  reviews?: BotReviews;
}

export type { BotReviews };

const TURN_KEY = Symbol('attest.turn');

/** Hands the turn's services to the handlers. */
export function setTurnServices(context: TurnContext, services: BotTurnServices): void {
  context.turnState.set(TURN_KEY, services);
}

function turn(context: TurnContext): BotTurnServices {
  const s = context.turnState.get(TURN_KEY) as BotTurnServices | undefined;
  if (!s) throw new Error('The bot endpoint did not set the turn services.');
  return s;
}

/** The ports the card builders read. */
function cardDeps(deps: WorkflowDeps) {
  return { catalog: deps.catalog.catalog, directory: deps.directory, requests: deps.requests };
}

/** The person acting, from the authenticated activity; undefined when Teams did not say (not an Entra user). */
function actorOf(context: TurnContext): AuditActor | undefined {
  const id = context.activity.from?.aadObjectId;
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return { objectId: id.toLowerCase(), channel: 'teams' };
}

const NO_ACTOR =
  'I cannot tell who you are: Teams did not send your Microsoft Entra identity. Open Attest from Teams signed in with your work account.';

/** A refusal a person can act on, from a coded error. */
function refusalText(err: DomainError): string {
  switch (err.code) {
    case 'REQUEST.SELF_APPROVAL':
      return 'You cannot approve or deny your own request.';
    case 'REQUEST.NOT_AN_APPROVER':
      return `You are not an approver of this stage. ${err.message}`;
    default:
      return err.message;
  }
}

// ---- card data: untrusted, so parsed strictly ----

const requestIdSchema = z.string().regex(/^[0-9a-f-]{36}$/i, 'is not a request id');
const decisionData = z.object({
  requestId: requestIdSchema,
  stage: z.coerce.number().int().min(1).max(1000),
  [CardInputIds.comment]: z.string().max(2000).optional(),
});
const submitData = z.object({
  [CardInputIds.roleRef]: z.string().min(1).max(200),
  [CardInputIds.duration]: z.string().max(40).optional(),
  [CardInputIds.justification]: z.string().max(2000).optional(),
  [CardInputIds.ticketReference]: z.string().max(200).optional(),
});
const requestOnly = z.object({ requestId: requestIdSchema });

/** Parses card data; a problem is a DomainError saying the card was not what Attest sent. */
function parseCard<T>(schema: z.ZodType<T>, data: unknown): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new DomainError(
    'CARD.INVALID_DATA',
    `This card's data is not what Attest sent (${issue?.path.join('.') || 'data'} ${issue?.message ?? 'is invalid'}). Type "pending" or "my access" for a fresh card.`,
  );
}

// ---- what the handlers answer with ----

/** The roles this person may ask for, from the cached directory facts. */
async function eligibleRoles(context: TurnContext, actor: AuditActor): Promise<CatalogRole[]> {
  const { deps, requesters } = turn(context);
  const user = await requesters.getUser(actor.objectId);
  if (!user) return [];
  const catalog = deps.catalog.catalog;
  const groupIds = await requesters.memberGroupIds(user.id, catalogPolicyGroupIds(catalog));
  return rolesEligibleFor(catalog, { groupIds, department: user.department });
}

function requestCard(
  catalog: Catalog,
  roles: readonly CatalogRole[],
  extra: Omit<RequestCardModel, 'roles'> = {},
): CardJson {
  return renderRequestCard({
    roles: roles.map((role) => ({
      appName: namesOf(catalog, { appId: role.appId, roleId: role.id }).appName,
      role,
    })),
    ...extra,
  });
}

/**
 * The person's name: as Teams sent it, else from the directory (Teams leaves it out of conversationUpdate).
 * NB. For greeting only; no decision rests on it.
 */
async function nameOf(context: TurnContext, member = context.activity.from): Promise<string | undefined> {
  if (member?.name) return member.name;
  const id = member?.aadObjectId;
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return undefined;
  return (
    await turn(context)
      .requesters.getUser(id)
      .catch(() => undefined)
  )?.displayName;
}

async function menuCard(context: TurnContext): Promise<CardJson> {
  const from = context.activity.from;
  return renderMenuCard({
    whoText: `Signed in as ${(await nameOf(context)) ?? 'an unknown user'} (${from?.aadObjectId ?? 'no Entra object id'}).`,
  });
}

/** One line per request for `status`. */
function statusText(request: AccessRequest, catalog: Catalog): string {
  const { appName, roleName } = namesOf(catalog, request);
  const lines = [
    `**${appName} · ${roleName}** for ${personName(request.requester)}: ${describeRequestStatus(request.status)}.`,
    `Request ${request.id}, submitted ${request.submittedAt}.`,
  ];
  const stage = request.stages[request.currentStage];
  if (awaitsDecision(request) && stage) {
    lines.push(
      `Waiting on stage ${stage.number}: ${stage.approvers.map(personName).join(', ')}${stage.dueAt ? ` (until ${stage.dueAt})` : ''}.`,
    );
  }
  if (request.expiresAt && request.status === 'Active') lines.push(`Access until ${request.expiresAt}.`);
  if (request.pendingExtension) lines.push('An extension is waiting for approval.');
  return lines.join('\n\n');
}

/** Who may see a request's status: the requester, its approvers, and Attest admins. */
async function maySee(deps: WorkflowDeps, actor: AuditActor, r: AccessRequest): Promise<boolean> {
  const me = actor.objectId;
  if (r.requester.id.toLowerCase() === me) return true;
  if (r.stages.some((s) => s.approvers.some((a) => a.id.toLowerCase() === me))) return true;
  return deps.adminGroupId ? deps.directory.isTransitiveMember(deps.adminGroupId, me) : false;
}

async function status(context: TurnContext, actor: AuditActor, id: string): Promise<string> {
  const { deps } = turn(context);
  const parsed = requestIdSchema.safeParse(id.trim());
  if (!parsed.success)
    return `"${id.trim()}" is not a request id. Request ids look like 3f2a9c1e-…; you find them on every Attest card.`;
  const r = await deps.requests.get(parsed.data);
  // Not found and not yours read the same, so ids cannot be probed.
  if (!r || !(await maySee(deps, actor, r))) return `I know of no request ${parsed.data} that you can see.`;
  return statusText(r, deps.catalog.catalog);
}

async function pendingCards(context: TurnContext, actor: AuditActor): Promise<CardJson[]> {
  const { deps } = turn(context);
  const waiting = await deps.requests.awaitingDecisionBy(actor.objectId);
  return Promise.all(waiting.slice(0, 10).map((r) => approvalCardFor(r, cardDeps(deps))));
}

async function sendPending(context: TurnContext, actor: AuditActor): Promise<string> {
  const cards = await pendingCards(context, actor);
  if (cards.length === 0) return 'Nothing is waiting for your decision.';
  for (const card of cards) await context.sendActivity(cardActivity(card, 'Access request waiting for you'));
  return `${cards.length} request${cards.length === 1 ? ' is' : 's are'} waiting for your decision.`;
}

// ---- Action.Execute handlers, one per verb ----

type VerbHandler = (
  context: TurnContext,
  actor: AuditActor,
  data: Record<string, unknown>,
) => Promise<CardJson | string>;

async function submit(
  context: TurnContext,
  actor: AuditActor,
  data: Record<string, unknown>,
): Promise<CardJson | string> {
  const { deps, service } = turn(context);
  const catalog = deps.catalog.catalog;
  const input = parseCard(submitData, data);
  const roles = await eligibleRoles(context, actor);
  const values = {
    duration: input.duration,
    justification: input.justification,
    ticketReference: input.ticketReference,
  };
  const again = (errors: string[]) =>
    requestCard(catalog, roles, { selectedRoleRef: input.roleRef as CatalogRole['ref'], values, errors });
  const role = findRoleByRef(catalog, input.roleRef);
  if (!role) return again([`There is no role ${input.roleRef} in the catalog any more. Choose another.`]);
  let durationMs: DurationValue;
  if (input.duration === 'permanent') durationMs = 'permanent';
  else {
    const d = tryParseDuration(input.duration ?? '');
    if (!d.ok) return again(['Choose how long you need the access.']);
    durationMs = d.ms;
  }
  try {
    const { requestId, extended, autoApproved } = await service.submit({
      actor,
      appId: role.appId,
      roleId: role.id,
      durationMs,
      justification: (input.justification ?? '').trim(),
      ticketReference: input.ticketReference?.trim() || undefined,
    });
    const { appName, roleName } = namesOf(catalog, { appId: role.appId, roleId: role.id });
    if (extended) {
      return `You already hold ${appName} · ${roleName}, so I asked to extend it by ${describeDuration(durationMs)} (request ${requestId}). Its approvers decide.`;
    }
    return renderNotificationCard({
      kind: 'submitted',
      requestId,
      appName,
      roleName,
      at: deps.clock.now().toISOString(),
      durationMs,
      stageCount: autoApproved ? 0 : role.approval.stages.length,
    });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    const problems = (err.details?.problems as { message: string }[] | undefined) ?? [
      { message: err.message },
    ];
    return again(problems.map((p) => p.message));
  }
}

function decide(decision: 'approve' | 'deny'): VerbHandler {
  return async (context, actor, data) => {
    const { deps, service } = turn(context);
    const catalog = deps.catalog.catalog;
    const input = parseCard(decisionData, data);
    const comment = input.comment?.trim() || undefined;
    let checked: AccessRequest;
    try {
      if (decision === 'deny' && !comment) {
        // Authorised before the card is shown again: it holds everything about the request.
        const r = await service.checkDecision({ actor, requestId: input.requestId, stage: input.stage });
        return approvalCardFor(r, cardDeps(deps), ['Say why you deny the request: the requester sees it.']);
      }
      checked = await service.decide({
        actor,
        requestId: input.requestId,
        decision,
        comment,
        stage: input.stage,
        // A replayed invoke (same activity) raises the same event, which the orchestration takes once.
        decisionId: context.activity.id ? `teams:${context.activity.id}` : undefined,
      });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const r = await deps.requests.get(input.requestId);
      if (!r) throw err;
      // NB. The same rule as `status`: only its requester, its approvers and Attest admins see a request.
      if (!(await maySee(deps, actor, r))) {
        return renderRefusalCard({
          message: `You are not an approver of request ${r.id}, so Attest shows you nothing of it.`,
        });
      }
      const errors = [refusalText(err)];
      const stage = r.stages[r.currentStage];
      return awaitsDecision(r) && stage?.number === input.stage && err.code !== 'REQUEST.ALREADY_DECIDED'
        ? approvalCardFor(r, cardDeps(deps), errors)
        : decidedCardFor(r, catalog, input.stage, errors);
    }
    // The decision is not recorded yet (the orchestration does that): the card says what this click did.
    return renderDecidedCard({
      ...decidedSubject(checked, catalog, input.stage),
      outcome: decision === 'approve' ? 'approved' : 'denied',
      by: context.activity.from?.name ?? actor.objectId,
      at: deps.clock.now().toISOString(),
      comment,
    });
  };
}

async function extend(
  context: TurnContext,
  actor: AuditActor,
  data: Record<string, unknown>,
): Promise<CardJson | string> {
  const { service } = turn(context);
  const { requestId } = parseCard(requestOnly, data);
  const by = data[extendDurationInputId(requestId)];
  const why = data[extendReasonInputId(requestId)];
  const d = tryParseDuration(typeof by === 'string' ? by : '');
  if (!d.ok) return 'Choose how much longer you need the access.';
  try {
    await service.extend({
      actor,
      requestId,
      durationMs: d.ms,
      justification: typeof why === 'string' ? why.trim().slice(0, 1000) : '',
    });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return refusalText(err);
  }
  return `I asked to extend your access by ${describeDuration(d.ms)} (${formatDuration(d.ms)}). Its approvers decide; I will tell you the outcome.`;
}

async function revoke(
  context: TurnContext,
  actor: AuditActor,
  data: Record<string, unknown>,
): Promise<CardJson | string> {
  const { service } = turn(context);
  const { requestId } = parseCard(requestOnly, data);
  try {
    await service.revoke({ actor, requestId, reason: 'revoked' });
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    return refusalText(err);
  }
  return 'Your access is being removed. I will confirm when it is gone.';
}

/** Every Action.Execute verb and its handler. */
const VERB_HANDLERS: Record<CardVerb, VerbHandler> = {
  [CardVerbs.requestSelectRole]: async (context, actor, data) => {
    const roleRef =
      typeof data[CardInputIds.roleRef] === 'string' ? (data[CardInputIds.roleRef] as string) : '';
    const roles = await eligibleRoles(context, actor);
    const errors = roles.some((r) => r.ref === roleRef) ? [] : ['Choose one of the roles in the list.'];
    return requestCard(turn(context).deps.catalog.catalog, roles, {
      selectedRoleRef: roleRef as CatalogRole['ref'],
      errors,
    });
  },
  [CardVerbs.requestSubmit]: submit,
  [CardVerbs.requestApprove]: decide('approve'),
  [CardVerbs.requestDeny]: decide('deny'),
  [CardVerbs.accessExtend]: extend,
  [CardVerbs.accessRevoke]: revoke,
  [CardVerbs.menuRequest]: async (context, actor) =>
    requestCard(turn(context).deps.catalog.catalog, await eligibleRoles(context, actor)),
  [CardVerbs.menuMyAccess]: async (context, actor) =>
    myAccessCardFor(actor.objectId, cardDeps(turn(context).deps)),
  [CardVerbs.menuPending]: async (context, actor) => sendPending(context, actor),
  [CardVerbs.menuStatus]: async (context, actor, data) =>
    status(
      context,
      actor,
      typeof data[CardInputIds.requestId] === 'string' ? (data[CardInputIds.requestId] as string) : '',
    ),
  ...reviewVerbHandlers((context) => turn(context).reviews),
};

/** Runs a verb handler: the actor checked, refusals audited and answered on the card. */
async function runVerb(verb: CardVerb, context: TurnContext, data: unknown): Promise<CardJson | string> {
  const actor = actorOf(context);
  const record = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
  if (!actor) return NO_ACTOR;
  // The turn's spans and log lines from here on carry the request or campaign the card names (ids only, and
  // only when they look like ids: the card's data is not trusted for anything else).
  annotateWork({
    requestId: requestIdSchema.safeParse(record.requestId).data,
    campaignId:
      typeof record.campaignId === 'string' && /^[\w.:|-]{1,120}$/.test(record.campaignId)
        ? record.campaignId
        : undefined,
  });
  try {
    return await VERB_HANDLERS[verb](context, actor, record);
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
    // Refusals the service did not audit itself (the card named no request, or one that does not exist).
    if (err.code === 'CARD.INVALID_DATA' || err.code === 'REQUEST.NOT_FOUND') {
      const requestId = typeof record.requestId === 'string' ? record.requestId : undefined;
      await turn(context).service.refuse(actor, requestId, err.code, `${verb}: ${err.message}`);
    }
    return refusalText(err);
  }
}

/** Sends the request card, prefilled from what the person typed when it names a role they may ask for. */
async function answerFreeText(context: TurnContext, actor: AuditActor, text: string): Promise<void> {
  const { deps } = turn(context);
  const catalog = deps.catalog.catalog;
  const roles = await eligibleRoles(context, actor);
  const match = matchText(text, catalog.apps, roles);
  if (match.roles.length === 0) {
    await context.sendActivity(
      `I did not find an app or role you can ask for in "${text.slice(0, 80)}". Type **request** to choose from the catalog, or **help**.`,
    );
    return;
  }
  const offered = match.roles.length === 1 ? match.roles : roles.filter((r) => match.roles.includes(r));
  const selected = offered.length === 1 ? offered[0] : undefined;
  await context.sendActivity(
    cardActivity(
      requestCard(catalog, offered, {
        selectedRoleRef: selected?.ref,
        values: match.durationMs ? { duration: formatDuration(match.durationMs) } : undefined,
      }),
      'Request access',
    ),
  );
}

/** Builds the teams-ai Application: the commands and the verbs. */
export function createAttestApplication(
  adapter: TeamsAdapter,
  botAppId: string | undefined,
): Application<TurnState> {
  const app = new Application<TurnState>({
    adapter,
    botAppId,
    removeRecipientMention: true,
    startTypingTimer: false,
    longRunningMessages: false,
  });

  app.conversationUpdate('membersAdded', async (context) => {
    for (const member of context.activity.membersAdded ?? []) {
      if (member.id === context.activity.recipient.id) continue;
      const name = await nameOf(context, member);
      await context.sendActivity(
        `Welcome to Attest, ${name ?? 'there'}. I help you ask for, approve and prove access.`,
      );
      await context.sendActivity(cardActivity(await menuCard(context), 'What Attest can do'));
    }
  });

  const withActor =
    (handler: (context: TurnContext, actor: AuditActor) => Promise<void>) =>
    async (context: TurnContext): Promise<void> => {
      const actor = actorOf(context);
      if (!actor) {
        await context.sendActivity(NO_ACTOR);
        return;
      }
      await handler(context, actor);
    };

  app.message(/^\s*(help|\?|menu|hi|hello)\s*$/i, async (context) => {
    await context.sendActivity(cardActivity(await menuCard(context), 'What Attest can do'));
  });
  app.message(
    /^\s*request\s*$/i,
    withActor(async (context, actor) => {
      const card = requestCard(turn(context).deps.catalog.catalog, await eligibleRoles(context, actor));
      await context.sendActivity(cardActivity(card, 'Request access'));
    }),
  );
  app.message(
    /^\s*my\s+access\s*$/i,
    withActor(async (context, actor) => {
      await context.sendActivity(
        cardActivity(await myAccessCardFor(actor.objectId, cardDeps(turn(context).deps)), 'My access'),
      );
    }),
  );
  app.message(
    /^\s*pending\s*$/i,
    withActor(async (context, actor) => {
      await context.sendActivity(await sendPending(context, actor));
    }),
  );
  app.message(
    /^\s*status\b/i,
    withActor(async (context, actor) => {
      const id = (context.activity.text ?? '').replace(/^\s*status\b/i, '');
      await context.sendActivity(
        id.trim() ? await status(context, actor, id) : 'Say which request: **status** followed by its id.',
      );
    }),
  );
  app.activity(
    ActivityTypes.Message,
    withActor(async (context, actor) => {
      const text = (context.activity.text ?? '').trim();
      if (!text) {
        await context.sendActivity(cardActivity(await menuCard(context), 'What Attest can do'));
        return;
      }
      await answerFreeText(context, actor, text);
    }),
  );

  for (const verb of Object.values(CardVerbs)) {
    app.adaptiveCards.actionExecute(
      verb,
      async (context, _state, data) => (await runVerb(verb, context, data)) as AdaptiveCard | string,
    );
  }
  return app;
}
