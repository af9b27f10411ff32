/**
 * Every Action.Execute verb and input id the Attest cards use, in one place: the cards name them here and the
 * bot registers one handler per verb from {@link CardVerbs}. Call sites never spell them as strings.
 */

/** Action.Execute verbs. NB. Card data carries ids only; a handler reloads the request and checks the actor. */
export const CardVerbs = {
  /** Request card, no role chosen yet: show the form for the chosen role. Inputs: `roleRef`. */
  requestSelectRole: 'request.select-role',
  /** Request card: ask for access. Inputs: `roleRef`, `duration`, `justification`, `ticketReference`. */
  requestSubmit: 'request.submit',
  /** Approval card: approve the stage. Data: `requestId`, `stage`. */
  requestApprove: 'request.approve',
  /** Approval card: deny the stage. Data: `requestId`, `stage`; input: `comment`. */
  requestDeny: 'request.deny',
  /** My-access and expiry-reminder cards: keep access longer. Data: `requestId`; input: {@link extendDurationInputId}. */
  accessExtend: 'access.extend',
  /** My-access card: give access back now. Data: `requestId`. */
  accessRevoke: 'access.revoke',
  /** Menu (help) card: the request card. */
  menuRequest: 'menu.request',
  /** Menu card: the my-access card. */
  menuMyAccess: 'menu.my-access',
  /** Menu card: the approval cards waiting on me. */
  menuPending: 'menu.pending',
  /** Menu card: one request's status. Input: `requestId`. */
  menuStatus: 'menu.status',
  /** Review card: keep one membership. Data: `campaignId`, `itemId`; input {@link reviewKeepReasonInputId} (self-review). */
  reviewKeep: 'review.keep',
  /** Review card: revoke one membership. Data: `campaignId`, `itemId`; input {@link reviewRevokeReasonInputId}. */
  reviewRevoke: 'review.revoke',
} as const;

/** One of {@link CardVerbs}' values. */
export type CardVerb = (typeof CardVerbs)[keyof typeof CardVerbs];

/** Ids of the inputs whose values come back merged into an Action.Execute's data. */
export const CardInputIds = {
  roleRef: 'roleRef',
  duration: 'duration',
  justification: 'justification',
  ticketReference: 'ticketReference',
  comment: 'comment',
  requestId: 'requestId',
} as const;

/** The id of the "why longer" text of one grant's extend form (unique per card, like the choice). */
export function extendReasonInputId(requestId: string): string {
  return `extendWhy.${requestId}`;
}

/**
 * The id of the "extend by" choice for one grant. NB. Input ids must be unique across a card, and the
 * my-access card has one such choice per grant, so the id names the request.
 */
export function extendDurationInputId(requestId: string): string {
  return `extendBy.${requestId}`;
}

/** The id of the "why keep it" text of one review item (required when the member reviews themself). */
export function reviewKeepReasonInputId(itemId: string): string {
  return `keepWhy.${itemId}`;
}

/** The id of the "why revoke it" text of one review item (unique per card, like the item). */
export function reviewRevokeReasonInputId(itemId: string): string {
  return `revokeWhy.${itemId}`;
}
