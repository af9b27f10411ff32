/**
 * Attest's functions, as one declarative list. Both hosts mount exactly this list: Azure through
 * `index.ts`, the local host through `src/local`. Names come from `src/workflows/names.ts`.
 */
import { createBotEndpoint } from '../adapters/teams/bot-endpoint';
import type { AttestConfig } from '../config/config';
import { FunctionNames } from '../workflows/names';
import type { FunctionDefinition } from './function-types';

/** Builds the list for one configuration (the bot's authentication depends on it). */
export function buildFunctionList(config: AttestConfig): FunctionDefinition[] {
  const bot = createBotEndpoint(config.bot);
  return [
    {
      kind: 'http',
      name: FunctionNames.botMessages,
      route: 'messages',
      methods: ['POST'],
      authLevel: 'anonymous', // the Bot Framework token is validated by the CloudAdapter
      handler: (request) => bot(request),
    },
  ];
}
