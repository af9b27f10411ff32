/**
 * From a stored request to the card that shows it: the one mapping the bot's replies and the proactive
 * notifications share. Names come from the catalog; people from the request (as resolved when its stages
 * opened) and, for the approval card, the directory.
 */
import { CardFactory, type Activity } from 'botbuilder';
import type { Catalog, CatalogRole } from '../../domain/catalog/catalog.model';
import {
  personName,
  type AccessRequest,
  type Decision,
  type Person,
  type StageState,
} from '../../domain/request/access-request';
import type { Directory } from '../../ports/directory.port';
import type { RequestStore } from '../../ports/request-store.port';
import { renderApprovalCard } from '../cards/approval.card';
import type { CardJson } from '../cards/card-template';
import { renderDecidedCard, type DecidedCardSubject } from '../cards/decided.card';
import { renderMyAccessCard } from '../cards/my-access.card';

/** A message activity carrying one card, with `summary` as the text Teams shows in notifications. */
export function cardActivity(card: CardJson, summary: string): Partial<Activity> {
  return { type: 'message', summary, attachments: [CardFactory.adaptiveCard(card)] };
}

/** The app and role names of a request, from the catalog (ids when the role has left the catalog). */
export function namesOf(catalog: Catalog, r: Pick<AccessRequest, 'appId' | 'roleId'>) {
  const app = catalog.apps.find((a) => a.id === r.appId);
  const role = app?.roles.find((x) => x.id === r.roleId);
  return { appName: app?.name ?? r.appId, roleName: role?.name ?? r.roleId, role };
}

/** The role's stages in one approval round, and where `stage` falls in it ("stage k of n"). */
export function stagePosition(
  request: AccessRequest,
  role: CatalogRole | undefined,
  stage: StageState,
): { number: number; of: number; name?: string } {
  const of = Math.max(1, role?.approval.stages.length ?? request.stages.length);
  // Extensions append their stages after the earlier rounds' (numbers go on), so count within the round.
  const k = ((stage.number - 1) % of) + 1;
  return { number: k, of, name: role?.approval.stages[k - 1]?.name };
}

const person = (p: Person) => ({ displayName: personName(p), upn: p.upn ?? p.id });

/** The name of whoever made `decision` on `stage`, as the stage resolved them (never from card data). */
export function deciderName(stage: StageState, decision: Decision): string {
  const by = stage.approvers.find((a) => a.id.toLowerCase() === decision.approverId.toLowerCase());
  return by ? personName(by) : decision.approverId;
}

/** The line under a decided card's heading: who asked for what, and which stage the card was about. */
export function decidedSubject(
  request: AccessRequest,
  catalog: Catalog,
  stageNumber: number,
  errors?: readonly string[],
): DecidedCardSubject {
  const stage = request.stages.find((s) => s.number === stageNumber);
  const { appName, roleName, role } = namesOf(catalog, request);
  return {
    requestId: request.id,
    requesterName: personName(request.requester),
    appName,
    roleName,
    stage: stage ? stagePosition(request, role, stage) : { number: stageNumber, of: stageNumber },
    errors,
  };
}

/** The approval card for the request's current stage, with the requester's manager and current access. */
export async function approvalCardFor(
  request: AccessRequest,
  deps: { catalog: Catalog; directory: Directory; requests: RequestStore },
  errors?: readonly string[],
): Promise<CardJson> {
  const stage = request.stages[request.currentStage];
  const { appName, roleName, role } = namesOf(deps.catalog, request);
  const [manager] = await deps.directory.managerChain(request.requester.id, 1).catch(() => []);
  const held = (await deps.requests.byRequester(request.requester.id)).filter(
    (r) => r.status === 'Active' && r.id !== request.id,
  );
  const extension = request.pendingExtension !== undefined;
  return renderApprovalCard({
    requestId: request.id,
    requester: person(request.requester),
    manager: manager ? { displayName: manager.displayName, upn: manager.userPrincipalName } : undefined,
    appName,
    roleName,
    durationMs: extension ? (request.pendingExtension?.durationMs ?? 0) : request.durationMs,
    justification: request.pendingExtension?.justification ?? request.justification,
    ticketReference: request.ticketReference,
    policy: request.policy,
    stage: stage ? stagePosition(request, role, stage) : { number: 1, of: 1 },
    submittedAt: request.pendingExtension?.requestedAt ?? request.submittedAt,
    dueAt: stage?.dueAt,
    extension,
    currentAccess: held.map((r) => ({ ...namesOf(deps.catalog, r), expiresAt: r.expiresAt })),
    errors,
  });
}

/**
 * What an approval card for `stageNumber` shows once that stage no longer waits on anyone: who decided and
 * when, or where the request went instead.
 */
export function decidedCardFor(
  request: AccessRequest,
  catalog: Catalog,
  stageNumber: number,
  errors?: readonly string[],
): CardJson {
  const stage = request.stages.find((s) => s.number === stageNumber);
  const subject = decidedSubject(request, catalog, stageNumber, errors);
  const deciding = stage?.decisions.filter(
    (d) => d.decision === (stage.outcome === 'denied' ? 'deny' : 'approve'),
  );
  const last = deciding?.[deciding.length - 1];
  if (stage && stage.outcome !== 'pending' && last) {
    return renderDecidedCard({
      ...subject,
      outcome: stage.outcome,
      by: deciderName(stage, last),
      at: last.at,
      comment: last.comment,
    });
  }
  return renderDecidedCard({ ...subject, outcome: 'no-longer-waiting', status: request.status });
}

/** The my-access card: the person's active grants, soonest expiry first. */
export async function myAccessCardFor(
  userId: string,
  deps: { catalog: Catalog; requests: RequestStore },
): Promise<CardJson> {
  const active = (await deps.requests.byRequester(userId))
    .filter((r) => r.status === 'Active')
    .sort((a, b) => (a.expiresAt ?? '9999').localeCompare(b.expiresAt ?? '9999'));
  return renderMyAccessCard({
    grants: active.map((r) => {
      const { appName, roleName, role } = namesOf(deps.catalog, r);
      return {
        requestId: r.id,
        appName,
        roleName,
        expiresAt: r.expiresAt,
        duration: role?.duration ?? { defaultMs: 0, maxMs: 0, permanentAllowed: false },
        extensionPending: r.pendingExtension !== undefined,
      };
    }),
  });
}
