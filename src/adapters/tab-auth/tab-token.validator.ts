/**
 * Validates the bearer tokens the review tab sends: Teams SSO access tokens from Microsoft Entra ID (v2.0), or
 * locally those of the local host's own issuer. The same checks run in both modes; only the issuer and its
 * keys differ. Order matters: the tenant is checked before any key is fetched (no key download for a tenant
 * nobody allowed), the signature and lifetime before any other claim is believed.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { TabAuthConfig } from '../../config/config';
import type { Clock } from '../../ports/clock.port';
import { TabAuthUnavailableError, TabTokenError } from './tab-token.errors';

/** The scope the tab app registration exposes and the tab asks for. */
export const TAB_SCOPE = 'access_as_user';

/** Seconds of clock difference tolerated on `exp`, `nbf` and `iat`. */
export const CLOCK_SKEW_SECONDS = 120;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who a valid token says is calling. */
export interface TabIdentity {
  /** Entra object id (`oid`), lowercase. */
  objectId: string;
  tenantId: string;
  /** `preferred_username` (the UPN, usually). */
  upn?: string;
  /** `name`. */
  name?: string;
  /** The client the token was issued to (`azp`). */
  clientId: string;
  /** `exp`, as a date. */
  expiresAt: Date;
}

/** Where a tenant's tokens come from: the issuer string and the keys they are signed with. */
export interface TokenIssuer {
  /** The `iss` a token of tenant `tid` must carry. */
  issuerFor(tid: string): string;
  /** The keys to verify a token of tenant `tid` with. */
  keysFor(tid: string): JWTVerifyGetKey;
  /** What to call this issuer in messages. */
  describe: string;
}

/** Microsoft Entra ID's v2.0 endpoints; `jwksUrl` may point elsewhere (tests serve their own keys). */
export function entraIssuer(opts: { jwksUrl?: (tid: string) => URL } = {}): TokenIssuer {
  const jwksUrl =
    opts.jwksUrl ??
    ((tid: string) => new URL(`https://login.microsoftonline.com/${tid}/discovery/v2.0/keys`));
  // One key set per tenant, built once: jose caches the keys (10 minutes) and refetches on an unknown kid
  // (at most every 30 s). NB. Only allowed tenants reach here, so the map stays as small as the allow-list.
  const sets = new Map<string, JWTVerifyGetKey>();
  return {
    describe: 'Microsoft Entra ID',
    issuerFor: (tid) => `https://login.microsoftonline.com/${tid}/v2.0`,
    keysFor: (tid) => {
      let set = sets.get(tid);
      if (!set) {
        set = createRemoteJWKSet(jwksUrl(tid), { timeoutDuration: 5000 });
        sets.set(tid, set);
      }
      return set;
    },
  };
}

/** Checks tab tokens against one configuration and issuer. */
export class TabTokenValidator {
  constructor(
    private readonly config: Pick<
      TabAuthConfig,
      'clientId' | 'appIdUri' | 'allowedTenants' | 'allowedClients'
    >,
    private readonly issuer: TokenIssuer,
    private readonly clock: Clock,
  ) {}

  /**
   * The identity in the `Authorization` header's bearer token. Throws {@link TabTokenError} (401) for every
   * defect, {@link TabAuthUnavailableError} (503) when the issuer's keys cannot be fetched.
   */
  async fromAuthorization(header: string | null | undefined): Promise<TabIdentity> {
    if (!header || header.trim() === '') {
      throw new TabTokenError(
        'TAB.NO_TOKEN',
        'No bearer token: the tab sends "Authorization: Bearer <token>" from Teams sign-in (or, locally, the sign-in page at api/tab/auth/signin).',
      );
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
    if (!m) {
      throw new TabTokenError(
        'TAB.TOKEN_MALFORMED',
        'The Authorization header is not "Bearer <token>": send the access token Teams sign-in returned.',
      );
    }
    return this.validate(m[1]);
  }

  /** The identity in `token`; see {@link fromAuthorization}. */
  async validate(token: string): Promise<TabIdentity> {
    const { unverified, tid } = this.precheck(token);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.issuer.keysFor(tid), {
        algorithms: ['RS256'],
        currentDate: this.clock.now(),
        clockTolerance: CLOCK_SKEW_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw this.explain(err, unverified);
    }
    return this.checkClaims(payload, tid);
  }

  /** Shape, algorithm and tenant, read without trusting anything: they decide which keys to fetch. */
  private precheck(token: string): { unverified: JWTPayload; tid: string } {
    let alg: unknown;
    let unverified: JWTPayload;
    try {
      if (token.split('.').length !== 3) throw new Error('not three parts');
      alg = decodeProtectedHeader(token).alg;
      unverified = decodeJwt(token);
    } catch {
      throw new TabTokenError(
        'TAB.TOKEN_MALFORMED',
        'The bearer token is not a signed JSON Web Token: send the access token Teams sign-in returned, not an ID token or a cookie.',
      );
    }
    if (alg !== 'RS256') {
      throw new TabTokenError(
        'TAB.TOKEN_MALFORMED',
        `The token is signed with "${String(alg)}"; Attest accepts only RS256-signed tokens from ${this.issuer.describe}.`,
      );
    }
    const tid = typeof unverified.tid === 'string' ? unverified.tid.toLowerCase() : undefined;
    if (!tid || !GUID.test(tid)) {
      throw new TabTokenError(
        'TAB.TOKEN_CLAIMS',
        'The token names no tenant (tid): it is not a Microsoft Entra access token for the tab.',
      );
    }
    if (!this.config.allowedTenants.includes(tid)) {
      throw new TabTokenError(
        'TAB.TOKEN_TENANT',
        `Your organisation (tenant ${tid}) is not allowed to use this Attest; an administrator adds it to ATTEST_ALLOWED_TENANTS.`,
      );
    }
    return { unverified, tid };
  }

  /** A jose failure, as what a person would do about it. */
  private explain(err: unknown, unverified: JWTPayload): Error {
    const code = (err as { code?: string }).code;
    const when = (seconds: unknown) =>
      typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : 'an unknown time';
    switch (code) {
      case 'ERR_JWT_EXPIRED':
        return new TabTokenError(
          'TAB.TOKEN_EXPIRED',
          `The token expired at ${when(unverified.exp)}: reload the tab to sign in again.`,
        );
      case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
        const claim = (err as errors.JWTClaimValidationFailed).claim;
        if (claim === 'nbf' || claim === 'iat') {
          return new TabTokenError(
            'TAB.TOKEN_NOT_YET_VALID',
            `The token is not valid until ${when(unverified[claim])}: check that this computer's clock and the server's agree.`,
          );
        }
        return new TabTokenError(
          'TAB.TOKEN_CLAIMS',
          `The token's "${claim}" claim is missing or malformed: it is not an access token for the tab.`,
        );
      }
      case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
        return new TabTokenError(
          'TAB.TOKEN_SIGNATURE',
          `The token's signature does not verify with ${this.issuer.describe}'s keys: it was altered or signed by someone else.`,
        );
      case 'ERR_JWKS_NO_MATCHING_KEY':
      case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
        return new TabTokenError(
          'TAB.TOKEN_SIGNATURE',
          `The token is signed with a key ${this.issuer.describe} does not publish: sign in again.`,
        );
      case 'ERR_JOSE_ALG_NOT_ALLOWED':
      case 'ERR_JWS_INVALID':
      case 'ERR_JWT_INVALID':
        return new TabTokenError(
          'TAB.TOKEN_MALFORMED',
          `The bearer token is not a valid RS256-signed JSON Web Token (${(err as Error).message}).`,
        );
      default:
        // The keys could not be fetched (timeout, network, a non-JSON answer): not the caller's fault.
        return new TabAuthUnavailableError(
          `Attest could not fetch ${this.issuer.describe}'s signing keys to check your sign-in (${(err as Error).message}); try again in a minute.`,
        );
    }
  }

  /** Issuer, audience, client, scope and caller, once the signature and lifetime hold. */
  private checkClaims(payload: JWTPayload, tid: string): TabIdentity {
    const expected = this.issuer.issuerFor(tid);
    if (payload.iss !== expected) {
      const v1 = typeof payload.iss === 'string' && payload.iss.startsWith('https://sts.windows.net/');
      throw new TabTokenError(
        'TAB.TOKEN_ISSUER',
        v1
          ? 'The token is a v1.0 token (issuer sts.windows.net): set "accessTokenAcceptedVersion": 2 in the tab app registration\'s manifest.'
          : `The token was issued by "${String(payload.iss)}", not ${expected}: sign in to the tenant that uses Attest.`,
      );
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    const accepted = [this.config.appIdUri, this.config.clientId];
    if (!audiences.some((a) => typeof a === 'string' && accepted.includes(a))) {
      throw new TabTokenError(
        'TAB.TOKEN_AUDIENCE',
        `The token is for "${audiences.join(', ')}", not for Attest's tab (${this.config.appIdUri}): check ATTEST_TAB_APP_ID_URI and ATTEST_TAB_CLIENT_ID against the manifest's webApplicationInfo.`,
      );
    }
    const azp = typeof payload.azp === 'string' ? payload.azp.toLowerCase() : undefined;
    if (!azp || !this.config.allowedClients.includes(azp)) {
      throw new TabTokenError(
        'TAB.TOKEN_CLIENT',
        `The token was issued to the client ${azp ?? '(none)'}, which is not Teams: open Attest from Microsoft Teams.`,
      );
    }
    const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [];
    if (!scopes.includes(TAB_SCOPE)) {
      throw new TabTokenError(
        'TAB.TOKEN_SCOPE',
        `The token does not grant the ${TAB_SCOPE} scope: the tab app registration must expose it and pre-authorise the Teams clients.`,
      );
    }
    const oid = typeof payload.oid === 'string' ? payload.oid.toLowerCase() : undefined;
    if (!oid || !GUID.test(oid)) {
      throw new TabTokenError(
        'TAB.TOKEN_CLAIMS',
        'The token names no user (oid): it is an app-only token, not a person signed in to Teams.',
      );
    }
    return {
      objectId: oid,
      tenantId: tid,
      upn: typeof payload.preferred_username === 'string' ? payload.preferred_username : undefined,
      name: typeof payload.name === 'string' ? payload.name : undefined,
      clientId: azp,
      expiresAt: new Date((payload.exp as number) * 1000),
    };
  }
}
