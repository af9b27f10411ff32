/**
 * Every function, orchestration, activity and external event name, in one place. Call sites never spell
 * them as strings.
 */
export const FunctionNames = {
  /** POST /api/messages: the Teams bot. */
  botMessages: 'bot-messages',
} as const;
