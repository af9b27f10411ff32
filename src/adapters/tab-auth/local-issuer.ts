/**
 * The local host's own token issuer for the review tab (ATTEST_TAB_AUTH=local, which configuration for Azure
 * refuses). teams-js never initialises outside Teams and the Agents Playground cannot host a tab, so locally
 * the host signs tokens shaped like Teams SSO tokens (same claims: iss, aud, azp, tid, scp, oid, exp, nbf)
 * with an RSA key generated at start, and the tab API checks them with the same validator as in Azure.
 *
 * NB. Anyone who can reach the local host can get a token for any demo person: that is the point of a local
 * seam, and why it exists only on 127.0.0.1 and never in Azure.
 */
import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { TabAuthConfig } from '../../config/config';
import type { Clock } from '../../ports/clock.port';
import type { DirectoryUser } from '../../ports/directory.port';
import { TAB_SCOPE, type TokenIssuer } from './tab-token.validator';

/** Lifetime of a local token: an hour, like Entra's. */
export const LOCAL_TOKEN_SECONDS = 3600;

/** A person the local sign-in page offers. */
export interface LocalSignInPerson {
  id: string;
  displayName: string;
  userPrincipalName: string;
  /** Why this person is offered (requester, manager, admin, auditor, ...). */
  role: string;
}

/** An issued token, as the token endpoint answers it. */
export interface IssuedToken {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
}

/**
 * The local issuer. Its URL is known once the local host's HTTP server is bound ({@link publish}); until then it
 * refuses to issue, and tokens cannot be validated (nobody can have one).
 */
export class LocalTabIssuer {
  private keys?: Promise<{ privateKey: CryptoKey; jwk: JWK }>;
  private published?: { url: string; defaultUserId?: string; people: LocalSignInPerson[] };

  constructor(
    private readonly config: Pick<
      TabAuthConfig,
      'clientId' | 'appIdUri' | 'allowedTenants' | 'allowedClients'
    >,
    private readonly clock: Clock,
  ) {}

  /**
   * Makes the issuer live at `hostUrl` (e.g. http://127.0.0.1:3978): its `iss` is `<hostUrl>/api/tab/auth`.
   * `defaultUserId` is who a token is for when the request names nobody (the `--as` person); `people` are the
   * ones the sign-in page offers.
   */
  publish(opts: { hostUrl: string; defaultUserId?: string; people: LocalSignInPerson[] }): void {
    this.published = {
      url: `${opts.hostUrl.replace(/\/+$/, '')}/api/tab/auth`,
      defaultUserId: opts.defaultUserId,
      people: opts.people,
    };
  }

  /** The issuer URL (the `iss` of its tokens), or undefined before {@link publish}. */
  get url(): string | undefined {
    return this.published?.url;
  }

  /** Who a token is for by default, and whom the sign-in page offers. */
  get signIn(): { defaultUserId?: string; people: LocalSignInPerson[] } {
    return { defaultUserId: this.published?.defaultUserId, people: this.published?.people ?? [] };
  }

  /** The public key set, as served at api/tab/auth/jwks. */
  async jwks(): Promise<{ keys: JWK[] }> {
    return { keys: [(await this.keyPair()).jwk] };
  }

  /** A token for `user`, signed like a Teams SSO access token. */
  async issue(user: DirectoryUser): Promise<IssuedToken> {
    const iss = this.url;
    if (!iss) throw new Error('The local issuer is not published yet: the HTTP server is still starting.');
    const { privateKey, jwk } = await this.keyPair();
    const now = Math.floor(this.clock.now().getTime() / 1000);
    const token = await new SignJWT({
      tid: this.config.allowedTenants[0],
      oid: user.id,
      preferred_username: user.userPrincipalName,
      name: user.displayName,
      azp: this.config.allowedClients[0],
      scp: TAB_SCOPE,
      ver: '2.0',
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: jwk.kid })
      .setIssuer(iss)
      .setAudience(this.config.appIdUri)
      .setSubject(user.id)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + LOCAL_TOKEN_SECONDS)
      .setJti(randomUUID())
      .sign(privateKey);
    return { access_token: token, token_type: 'Bearer', expires_in: LOCAL_TOKEN_SECONDS };
  }

  /** This issuer as the validator sees it: its URL and its in-memory public key. */
  asTokenIssuer(): TokenIssuer {
    let set: ReturnType<typeof createLocalJWKSet> | undefined;
    return {
      describe: 'the local sign-in',
      issuerFor: () => this.url ?? '(the local issuer is not published yet)',
      keysFor: () => async (header, token) => {
        set ??= createLocalJWKSet(await this.jwks());
        return set(header, token);
      },
    };
  }

  private keyPair(): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
    // NB. Generated once per host start and kept in memory: tokens from a previous start fail the signature
    // check, and the sign-in page simply issues a new one.
    this.keys ??= (async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: false });
      const jwk = { ...(await exportJWK(publicKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
      return { privateKey, jwk };
    })();
    return this.keys;
  }
}
