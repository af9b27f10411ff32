/**
 * Why a tab request is refused before its handler runs. Each reason is one sentence a person can act on; the
 * tab API answers 401 with it in `WWW-Authenticate` (RFC 6750) and in the JSON body.
 */
import { DomainError } from '../../domain/domain-error';

/** The stable codes of a refused tab token. */
export type TabTokenErrorCode =
  /** No `Authorization: Bearer` header at all. */
  | 'TAB.NO_TOKEN'
  /** A token that is not a signed JWT Attest accepts (malformed, `alg: none`, another algorithm). */
  | 'TAB.TOKEN_MALFORMED'
  /** The signature does not verify with the issuer's published keys. */
  | 'TAB.TOKEN_SIGNATURE'
  /** `exp` is past (allowing the clock skew). */
  | 'TAB.TOKEN_EXPIRED'
  /** `nbf` (or `iat`) is in the future (allowing the clock skew). */
  | 'TAB.TOKEN_NOT_YET_VALID'
  /** `aud` is not the tab's app registration. */
  | 'TAB.TOKEN_AUDIENCE'
  /** `iss` is not the issuer for the token's tenant. */
  | 'TAB.TOKEN_ISSUER'
  /** `azp` is not one of the allowed clients (the Teams clients, or the local sign-in page). */
  | 'TAB.TOKEN_CLIENT'
  /** `tid` is not an allowed tenant. */
  | 'TAB.TOKEN_TENANT'
  /** `scp` does not contain `access_as_user`. */
  | 'TAB.TOKEN_SCOPE'
  /** A claim Attest needs (`oid`, `tid`, `azp`, `scp`, `exp`) is absent or malformed. */
  | 'TAB.TOKEN_CLAIMS';

/** A token the tab API refuses: HTTP 401. */
export class TabTokenError extends DomainError {
  constructor(
    override readonly code: TabTokenErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'TabTokenError';
  }
}

/**
 * The token could not be checked for a reason that is not the token's fault (the issuer's keys could not be
 * fetched, the directory did not answer): HTTP 503, try again.
 */
export class TabAuthUnavailableError extends DomainError {
  constructor(
    message: string,
    readonly retryAfterSeconds = 30,
  ) {
    super('TAB.AUTH_UNAVAILABLE', message);
    this.name = 'TabAuthUnavailableError';
  }
}
