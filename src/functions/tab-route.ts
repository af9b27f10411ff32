/**
 * The door of every tab API route: `tabRoute(handler)` validates the bearer token (Teams SSO, or locally the
 * local issuer's), resolves the caller's role from the directory, and only then calls the handler with the
 * caller. Refusals answer 401 with `WWW-Authenticate` (RFC 6750) and a JSON body saying why; a directory or key
 * endpoint that does not answer is 503 with Retry-After; `forbidden()` is the 403 a handler gives, saying why.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { CallerRoleResolver } from '../adapters/tab-auth/caller-roles';
import { LocalTabIssuer } from '../adapters/tab-auth/local-issuer';
import { TabAuthUnavailableError, TabTokenError } from '../adapters/tab-auth/tab-token.errors';
import { TabTokenValidator, entraIssuer } from '../adapters/tab-auth/tab-token.validator';
import type { AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import type { Clock } from '../ports/clock.port';
import type { Directory } from '../ports/directory.port';
import type { ReviewCaller } from '../ports/review-api.port';
import type { FunctionContext, HttpFunction, TabAuthServices } from './function-types';

/** The caller a tab handler gets: a ReviewCaller (role resolved on the server) with the token's details. */
export interface TabCaller extends ReviewCaller {
  channel: 'tab';
  tenantId: string;
  /** The token's `name`. */
  displayName?: string;
}

/** A tab API handler: runs only for a caller whose token held. */
export type TabHandler = (
  request: HttpRequest,
  context: FunctionContext,
  caller: TabCaller,
) => Promise<HttpResponseInit>;

/** Builds the tab's token validator and role resolver for a configuration (and, locally, the local issuer). */
export function tabAuthServices(
  config: AttestConfig,
  clock: Clock,
  directory: () => Promise<Directory>,
): TabAuthServices {
  const roles = new CallerRoleResolver(
    { adminGroupId: config.adminGroupId, auditorGroupId: config.tab.auditorGroupId },
    directory,
    clock,
  );
  if (config.tab.auth === 'local') {
    const localIssuer = new LocalTabIssuer(config.tab, clock);
    return {
      validator: new TabTokenValidator(config.tab, localIssuer.asTokenIssuer(), clock),
      roles,
      localIssuer,
    };
  }
  return { validator: new TabTokenValidator(config.tab, entraIssuer(), clock), roles };
}

/** RFC 6750's error_description allows printable ASCII except `"` and `\`. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "'");
}

/** A JSON error answer: `{ error: <sentence>, code }`, the shape every Attest route answers errors with. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): HttpResponseInit {
  return {
    status,
    headers: { 'cache-control': 'no-store', ...headers },
    jsonBody: { error: message, code },
  };
}

/** 401 for a refused token, with the reason in WWW-Authenticate. */
export function unauthorized(err: TabTokenError): HttpResponseInit {
  // NB. RFC 6750 3.1: a request with no credentials at all gets no error code, only the challenge.
  const challenge =
    err.code === 'TAB.NO_TOKEN'
      ? 'Bearer realm="attest"'
      : `Bearer realm="attest", error="invalid_token", error_description="${quoted(err.message)}"`;
  return errorResponse(401, err.code, err.message, { 'www-authenticate': challenge });
}

/**
 * 403 for a caller the token identified but who may not do this; `reason` says why and what would allow it
 * (e.g. "Auditors see every review but cannot decide items; ask an Attest admin.").
 */
export function forbidden(reason: string, code = 'REVIEW.FORBIDDEN'): HttpResponseInit {
  return errorResponse(403, code, reason, {
    'www-authenticate': `Bearer realm="attest", error="insufficient_scope", error_description="${quoted(reason)}"`,
  });
}

/** HTTP status of the review and tab error codes (ReviewApi's codes, see review-api.port.ts). */
const STATUS: Record<string, number> = {
  'REVIEW.NOT_FOUND': 404,
  'REVIEW.FORBIDDEN': 403,
  'REVIEW.INVALID': 400,
  'REVIEW.CLOSED': 409,
  'REVIEW.CONFLICT': 409,
};

/**
 * The answer for an error a tab handler threw: token and availability errors as 401 / 503, DomainErrors by
 * their code (REVIEW.FORBIDDEN → 403 saying why, ...), anything else 500 without internals.
 */
export function tabErrorResponse(err: unknown, context?: FunctionContext): HttpResponseInit {
  if (err instanceof TabTokenError) return unauthorized(err);
  if (err instanceof TabAuthUnavailableError)
    return errorResponse(503, err.code, err.message, { 'retry-after': String(err.retryAfterSeconds) });
  if (err instanceof DomainError && STATUS[err.code] !== undefined) {
    return err.code === 'REVIEW.FORBIDDEN'
      ? forbidden(err.message)
      : errorResponse(STATUS[err.code], err.code, err.message);
  }
  context?.invocation.error(`tab: ${(err as Error)?.stack ?? String(err)}`);
  return errorResponse(
    500,
    'TAB.INTERNAL',
    `Attest failed to answer: ${err instanceof DomainError ? err.message : 'an internal error, recorded in the host log'}.`,
  );
}

/** Validates the request's token and resolves the caller; throws TabTokenError / TabAuthUnavailableError. */
export async function authenticateTabRequest(
  request: HttpRequest,
  context: FunctionContext,
): Promise<TabCaller> {
  const tab = context.services.tab;
  if (!tab) throw new Error('This host was built without the tab SSO services.');
  const identity = await tab.validator.fromAuthorization(request.headers.get('authorization'));
  const role = await tab.roles.roleOf(identity.objectId);
  return {
    objectId: identity.objectId,
    upn: identity.upn,
    displayName: identity.name,
    tenantId: identity.tenantId,
    role,
    channel: 'tab',
  };
}

/**
 * Wraps a tab API handler: the handler runs only for an authenticated caller, and whatever it throws becomes an
 * answer a person can act on (see {@link tabErrorResponse}).
 */
export function tabRoute(handler: TabHandler): HttpFunction['handler'] {
  return async (request, context) => {
    try {
      const caller = await authenticateTabRequest(request, context);
      return await handler(request, context, caller);
    } catch (err) {
      return tabErrorResponse(err, context);
    }
  };
}
