/**
 * What replaces a card when the person who clicked may not see the request it names: the refusal and nothing
 * else. NB. It carries no request details on purpose (no requester, role, justification, approvers or
 * outcome), so a click on a forwarded card, or a crafted invoke with a guessed id, learns nothing.
 */
import { renderCard, type CardJson } from './card-template';
import template from './templates/refusal.card.json';

/** The refusal, in words that name nothing of the request. */
export interface RefusalCardModel {
  readonly message: string;
  /** What the refused card was (default "Access request"). */
  readonly heading?: string;
}

/** Renders the refusal card. */
export function renderRefusalCard(model: RefusalCardModel): CardJson {
  return renderCard(template, { heading: model.heading ?? 'Access request', message: model.message });
}
