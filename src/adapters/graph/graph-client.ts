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
import type { Span } from '@opentelemetry/api';
import { noteStatus, traced } from '../telemetry/tracing';

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
 * The path of a Graph URL with ids replaced by `{id}` (object ids, UPNs, opaque tokens), without the version
 * and query: a span name that groups calls and names no person. `/v1.0/users/<guid>/memberOf` → `/users/{id}/memberOf`.
 */
export function graphPathTemplate(url: string, serviceRoot: string): string {
  let path: string;
  try {
    path = new URL(url, `${serviceRoot.replace(/\/+$/, '')}/`).pathname;
  } catch {
    return '/';
  }
  const version = new URL(serviceRoot).pathname.replace(/\/+$/, '');
  if (version && path.startsWith(`${version}/`)) path = path.slice(version.length);
  return (
    path
      .split('/')
      .map((seg) => {
        const s = decodeURIComponent(seg);
        if (s === '' || s.startsWith('$') || s === 'microsoft.graph.delta()') return seg;
        return /^[a-z][a-zA-Z.]*(\(\))?$/.test(s) ? seg : '{id}';
      })
      .join('/') || '/'
  );
}

/** The span and attempt count of one Graph call, shared by the two telemetry middlewares. */
const graphCalls = new WeakMap<Context, { span: Span; attempts: number }>();

/**
 * Opens one span per Graph call (`graph <METHOD> <path template>`) around the retry handler, so a call retried
 * after a 429 is one span with `attest.retries` and an event per attempt. Status codes only: no tokens, no
 * bodies, no query strings (a `$filter` can name a person).
 */
class GraphSpanMiddleware implements Middleware {
  private next: Middleware | undefined;

  constructor(private readonly serviceRoot: string) {}

  async execute(context: Context): Promise<void> {
    const method = (context.options?.method ?? 'GET').toUpperCase();
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const template = graphPathTemplate(absoluteNextLink(url, this.serviceRoot), this.serviceRoot);
    await traced(
      `graph ${method} ${template}`,
      {
        'http.request.method': method,
        'url.template': template,
        'server.address': new URL(this.serviceRoot).host,
      },
      async (span) => {
        const call = { span, attempts: 0 };
        graphCalls.set(context, call);
        try {
          if (!this.next) throw new Error('GraphSpanMiddleware has no next middleware');
          await this.next.execute(context);
          noteStatus(span, context.response?.status);
        } finally {
          span.setAttribute('attest.retries', Math.max(0, call.attempts - 1));
          graphCalls.delete(context);
        }
      },
    );
  }

  setNext(next: Middleware): void {
    this.next = next;
  }
}

/** Counts the attempts the retry handler makes, noting each answer that was retried (status, Retry-After). */
class GraphAttemptMiddleware implements Middleware {
  private next: Middleware | undefined;

  async execute(context: Context): Promise<void> {
    const call = graphCalls.get(context);
    if (!this.next) throw new Error('GraphAttemptMiddleware has no next middleware');
    await this.next.execute(context);
    if (!call) return;
    call.attempts++;
    const status = context.response?.status;
    if (status === 429 || status === 503 || status === 504) {
      call.span.addEvent('graph.retryable_response', {
        'http.response.status_code': status,
        'attest.retry_after': context.response?.headers.get('Retry-After') ?? '',
        'attest.attempt': call.attempts,
      });
    }
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
    new GraphSpanMiddleware(`${origin}/${version}`),
    new BearerTokenMiddleware(opts.getToken, `${origin}/${version}`),
    new RetryHandler(retryOptions),
    new GraphAttemptMiddleware(),
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
