/**
 * The one way Attest builds a Microsoft Graph client, for real Graph and for the local simulator alike:
 * our bearer-token middleware, then the library's RetryHandler, RedirectHandler and HTTPMessageHandler.
 */
import {
  Client,
  HTTPMessageHandler,
  RedirectHandler,
  RetryHandler,
  RetryHandlerOptions,
  type Context,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import type { TokenCredential } from '@azure/identity';

/** The scope for app-only tokens: every application permission granted to the app. */
export const GRAPH_DEFAULT_SCOPE = 'https://graph.microsoft.com/.default';

/** Refresh a cached token this long before it expires, so a request never leaves with a token about to lapse. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60 * 1000;

/** How to reach Graph and how hard to retry. */
export interface GraphClientOptions {
  /** Service root including the version, e.g. https://graph.microsoft.com/v1.0 or http://127.0.0.1:5780/v1.0. */
  baseUrl: string;
  /** Returns a bearer token for each request; cache inside it, the client calls it every time. */
  getToken: () => Promise<string>;
  /** Retries of 429/503/504 (Retry-After is honoured); library defaults are 3 retries, 3 s base delay. */
  retry?: { maxRetries?: number; delaySeconds?: number };
}

/**
 * Adds `Authorization: Bearer` to every request. The library's AuthenticationHandler only does so for
 * https Graph hosts (or configured https custom hosts), which leaves the local http simulator unauthenticated.
 */
class BearerTokenMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(
    private readonly getToken: () => Promise<string>,
    private readonly serviceRoot: string,
  ) {}

  async execute(context: Context): Promise<void> {
    if (typeof context.request === 'string')
      context.request = absoluteNextLink(context.request, this.serviceRoot);
    const token = await this.getToken();
    context.options = context.options ?? {};
    const headers = context.options.headers;
    if (headers instanceof Headers) headers.set('Authorization', `Bearer ${token}`);
    else if (Array.isArray(headers))
      context.options.headers = [...headers, ['Authorization', `Bearer ${token}`]];
    else context.options.headers = { ...(headers ?? {}), Authorization: `Bearer ${token}` };
    if (!this.next) throw new Error('BearerTokenMiddleware has no next middleware');
    await this.next.execute(context);
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

/**
 * NB. `client.api(nextLink)` only recognises absolute links that start with https://; an http link from the
 * simulator is glued after the service root (`http://h/v1.0/http://h/v1.0/users?...`). Undo that here so
 * paging over `@odata.nextLink` works the same against the simulator as against Graph.
 */
function absoluteNextLink(url: string, serviceRoot: string): string {
  const prefix = `${serviceRoot.replace(/\/+$/, '')}/`;
  if (!url.startsWith(prefix)) return url;
  const rest = url.slice(prefix.length);
  return /^https?:\/\//i.test(rest) ? rest : url;
}

/**
 * Creates a Graph client whose `client.api('/users/x')` calls `${baseUrl}/users/x` with a bearer token from
 * `getToken`, retrying throttled (429) and unavailable (503/504) answers after their Retry-After.
 */
export function createGraphClient(opts: GraphClientOptions): Client {
  const root = new URL(opts.baseUrl.replace(/\/+$/, ''));
  // The library joins host + version + path; split the service root the same way so both halves line up.
  const version = root.pathname.replace(/^\/+/, '');
  const origin = root.origin;
  const retryOptions = new RetryHandlerOptions(opts.retry?.delaySeconds, opts.retry?.maxRetries);
  const chain: Middleware[] = [
    new BearerTokenMiddleware(opts.getToken, `${origin}/${version}`),
    new RetryHandler(retryOptions),
    new RedirectHandler(),
    new HTTPMessageHandler(),
  ];
  for (let i = 0; i < chain.length - 1; i++) chain[i].setNext?.(chain[i + 1]);
  return Client.initWithMiddleware({ baseUrl: origin, defaultVersion: version, middleware: chain[0] });
}

/**
 * A token source for real Graph from any @azure/identity credential (ManagedIdentityCredential,
 * ClientSecretCredential, ClientCertificateCredential): one app-only token, reused until five minutes
 * before it expires, and one refresh in flight at a time so a burst of requests asks Entra once.
 */
export function tokenFromCredential(credential: TokenCredential): () => Promise<string> {
  let cached: { token: string; expiresOnTimestamp: number } | undefined;
  let inFlight: Promise<string> | undefined;
  return async () => {
    if (cached && cached.expiresOnTimestamp - TOKEN_REFRESH_MARGIN_MS > Date.now()) return cached.token;
    if (!inFlight) {
      inFlight = (async () => {
        try {
          const t = await credential.getToken(GRAPH_DEFAULT_SCOPE);
          if (!t) throw new Error(`No token was returned for ${GRAPH_DEFAULT_SCOPE}`);
          cached = { token: t.token, expiresOnTimestamp: t.expiresOnTimestamp };
          return t.token;
        } finally {
          inFlight = undefined;
        }
      })();
    }
    return inFlight;
  };
}
