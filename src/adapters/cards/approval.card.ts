/**
 * The approval card an approver of one stage receives. NB. Its action data is the request id and the stage
 * number and nothing else: whoever clicks, the server reloads the request and checks that person may decide.
 */
import type { DurationValue } from '../../domain/catalog/catalog.model';
import type { AccessRequest } from '../../domain/request/access-request';
import { CardInputIds, CardVerbs } from './card-verbs';
import { cardTimestamp, describeDuration, renderCard, type CardJson } from './card-template';
import template from './templates/approval.card.json';

/** A person as a card names them. */
export interface CardPerson {
  readonly displayName: string;
  readonly upn: string;
}

/** One role a person holds now. */
export interface CurrentAccess {
  readonly appName: string;
  readonly roleName: string;
  /** ISO timestamp; absent for access with no end date. */
  readonly expiresAt?: string;
}

/** What the approval card shows. */
export interface ApprovalCardModel {
  readonly requestId: string;
  readonly requester: CardPerson;
  /** The requester's manager from the directory; absent when the directory has none. */
  readonly manager?: CardPerson;
  readonly appName: string;
  readonly roleName: string;
  readonly durationMs: DurationValue;
  readonly justification: string;
  readonly ticketReference?: string;
  readonly policy: Pick<AccessRequest['policy'], 'id' | 'version'>;
  /** The stage being decided: `number` of `of`, with the catalog's name for it when it has one. */
  readonly stage: { readonly number: number; readonly of: number; readonly name?: string };
  readonly submittedAt: string;
  /** When the stage stops waiting (then it escalates). */
  readonly dueAt?: string;
  /** True when the requester asks to extend access they hold, rather than for new access. */
  readonly extension?: boolean;
  readonly currentAccess: readonly CurrentAccess[];
  /** Why the last click was refused, worded for the person who clicked; shown in attention colour. */
  readonly errors?: readonly string[];
}

/** Renders the approval card for one stage. */
export function renderApprovalCard(model: ApprovalCardModel): CardJson {
  const person = (p: CardPerson): string => `${p.displayName} (${p.upn})`;
  return renderCard(template, {
    inputs: CardInputIds,
    verbs: { approve: CardVerbs.requestApprove, deny: CardVerbs.requestDeny },
    requestId: model.requestId,
    stage: model.stage.number,
    errors: model.errors ?? [],
    heading: model.extension ? 'Extension request' : 'Access request',
    stageText:
      `Stage ${model.stage.number} of ${model.stage.of}` + (model.stage.name ? `: ${model.stage.name}` : ''),
    requesterText: person(model.requester),
    managerText: model.manager ? person(model.manager) : 'None in the directory',
    accessText: `${model.appName} · ${model.roleName}`,
    durationText: describeDuration(model.durationMs),
    policyText: `${model.policy.id}, version ${model.policy.version}`,
    submittedAt: cardTimestamp(model.submittedAt),
    hasDueAt: model.dueAt !== undefined,
    dueAt: model.dueAt !== undefined ? cardTimestamp(model.dueAt) : '',
    hasJustification: model.justification.trim() !== '',
    justification: model.justification,
    hasTicket: Boolean(model.ticketReference),
    ticketReference: model.ticketReference ?? '',
    noCurrentAccess: model.currentAccess.length === 0,
    currentAccess: model.currentAccess.map((a) => ({
      access: `${a.appName} · ${a.roleName}`,
      hasExpiry: a.expiresAt !== undefined,
      expiresAt: a.expiresAt !== undefined ? cardTimestamp(a.expiresAt) : '',
    })),
  });
}
