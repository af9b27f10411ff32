/** The my-access card: the requester's active grants, each with Extend and Revoke now. */
import type { DurationPolicy } from '../../domain/catalog/catalog.model';
import { CardVerbs, extendDurationInputId, extendReasonInputId } from './card-verbs';
import {
  cardTimestamp,
  durationChoices,
  preselectedDuration,
  renderCard,
  type CardJson,
} from './card-template';
import template from './templates/my-access.card.json';

/** One active grant. */
export interface MyAccessGrant {
  readonly requestId: string;
  readonly appName: string;
  readonly roleName: string;
  /** ISO timestamp; absent for access with no end date (which has nothing to extend). */
  readonly expiresAt?: string;
  /** The role's duration policy, which caps the extension choices. */
  readonly duration: DurationPolicy;
  /** True while an extension waits on its approvers (no second one is offered). */
  readonly extensionPending?: boolean;
}

/** What the my-access card shows. */
export interface MyAccessCardModel {
  /** Soonest expiry first reads best; the card keeps the order given. */
  readonly grants: readonly MyAccessGrant[];
}

/** Renders the my-access card. NB. Each action's data is the request id only. */
export function renderMyAccessCard(model: MyAccessCardModel): CardJson {
  return renderCard(template, {
    verbs: { extend: CardVerbs.accessExtend, revoke: CardVerbs.accessRevoke },
    noGrants: model.grants.length === 0,
    grants: model.grants.map((g) => {
      const choices = durationChoices(g.duration);
      return {
        requestId: g.requestId,
        access: `${g.appName} · ${g.roleName}`,
        hasExpiry: g.expiresAt !== undefined,
        expiresAt: g.expiresAt !== undefined ? cardTimestamp(g.expiresAt) : '',
        extensionPending: g.extensionPending === true,
        canExtend: g.expiresAt !== undefined && g.extensionPending !== true && choices.length > 0,
        extendInputId: extendDurationInputId(g.requestId),
        extendReasonInputId: extendReasonInputId(g.requestId),
        extendChoices: choices,
        extendDefault: preselectedDuration(choices, g.duration),
      };
    }),
  });
}
