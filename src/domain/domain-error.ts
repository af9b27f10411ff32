/**
 * A failure a person can act on, with a stable code (`REQUEST.ALREADY_DECIDED`, `CATALOG.UNKNOWN_GROUP`,
 * `AUDIT.CHAIN_BROKEN`, ...). The bot, the tab API and the CLI map codes to what the user sees.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
