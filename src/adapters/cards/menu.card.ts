/** The menu (help) card: every chat command, each also a button. */
import { CardInputIds, CardVerbs } from './card-verbs';
import { renderCard, type CardJson } from './card-template';
import template from './templates/menu.card.json';

/** What the menu card shows besides the commands. */
export interface MenuCardModel {
  /** Who the bot thinks is talking, so a person can check it. */
  readonly whoText: string;
}

/** Renders the menu card. */
export function renderMenuCard(model: MenuCardModel): CardJson {
  return renderCard(template, {
    inputs: CardInputIds,
    verbs: {
      request: CardVerbs.menuRequest,
      myAccess: CardVerbs.menuMyAccess,
      pending: CardVerbs.menuPending,
      status: CardVerbs.menuStatus,
    },
    whoText: model.whoText,
  });
}
