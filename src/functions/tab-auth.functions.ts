/**
 * The tab's sign-in routes. `GET tab/auth/me` (every mode) says who the token is for and their role, so the
 * tab can show or hide admin controls (the server still authorises every action). The local issuer's routes
 * exist only with ATTEST_TAB_AUTH=local, which configuration for Azure refuses:
 *
 * - `GET  tab/auth/jwks`   its public keys;
 * - `GET  tab/auth/signin` a small page: who you are signed in as, a picker of demo people, a button that stores
 *   the token in `sessionStorage['attest.tab.token']` and returns to the tab;
 * - `POST tab/auth/token`  `{ user?: objectId | UPN | alias }` → `{ access_token, token_type, expires_in, user }`.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { LocalTabIssuer } from '../adapters/tab-auth/local-issuer';
import type { AttestConfig } from '../config/config';
import { escapeHtml } from '../domain/html-text';
import { FunctionNames } from '../workflows/names';
import type { FunctionContext, HttpFunction } from './function-types';
import { errorResponse, tabRoute } from './tab-route';

/** Where the tab's page is, relative to the host (host.json routePrefix `api` + the static route). */
export const TAB_INDEX_PATH = '/api/tab/index.html';

/** The sessionStorage key the local sign-in page leaves the token under. */
export const TAB_TOKEN_STORAGE_KEY = 'attest.tab.token';

function issuerOf(context: FunctionContext): LocalTabIssuer | undefined {
  return context.services.tab?.localIssuer;
}

const notLocal = (): HttpResponseInit =>
  errorResponse(
    404,
    'TAB.NO_LOCAL_SIGNIN',
    'This Attest signs in through Microsoft Teams only: open the Access reviews tab in Teams.',
  );

/** `GET tab/auth/me`: the caller as the server sees them. */
const me: HttpFunction = {
  kind: 'http',
  name: FunctionNames.tabAuthMe,
  route: 'tab/auth/me',
  methods: ['GET'],
  authLevel: 'anonymous', // the bearer token is validated by tabRoute
  handler: tabRoute(async (_request, _context, caller) => ({
    status: 200,
    headers: { 'cache-control': 'no-store' },
    jsonBody: {
      objectId: caller.objectId,
      upn: caller.upn,
      displayName: caller.displayName,
      tenantId: caller.tenantId,
      role: caller.role,
    },
  })),
};

/** The local issuer's routes (local mode only). */
function localIssuerFunctions(): HttpFunction[] {
  return [
    {
      kind: 'http',
      name: FunctionNames.tabAuthJwks,
      route: 'tab/auth/jwks',
      methods: ['GET'],
      authLevel: 'anonymous',
      handler: async (_request, context) => {
        const issuer = issuerOf(context);
        if (!issuer) return notLocal();
        return { status: 200, headers: { 'cache-control': 'no-cache' }, jsonBody: await issuer.jwks() };
      },
    },
    {
      kind: 'http',
      name: FunctionNames.tabAuthToken,
      route: 'tab/auth/token',
      methods: ['POST'],
      authLevel: 'anonymous',
      handler: async (request, context) => {
        const issuer = issuerOf(context);
        if (!issuer) return notLocal();
        if (!issuer.url)
          return errorResponse(503, 'TAB.AUTH_UNAVAILABLE', 'The local host is still starting; try again.', {
            'retry-after': '1',
          });
        const body = await readJson(request);
        if (body === undefined || typeof body !== 'object' || body === null || Array.isArray(body))
          return errorResponse(
            400,
            'TAB.INVALID',
            'Send a JSON object, e.g. {} for the person the host was started as (--as), or {"user": "priya.raman"}.',
          );
        const wanted = (body as { user?: unknown }).user;
        if (
          wanted !== undefined &&
          (typeof wanted !== 'string' || wanted.trim() === '' || wanted.length > 256)
        )
          return errorResponse(
            400,
            'TAB.INVALID',
            '"user" must be a demo person\'s object id, user principal name or alias such as priya.raman.',
          );
        const { defaultUserId, people } = issuer.signIn;
        const key = (typeof wanted === 'string' ? wanted : (defaultUserId ?? people[0]?.id ?? '')).trim();
        const directory = (await context.services.workflow()).directory;
        // An alias (priya.raman) means the demo person with that UPN; the directory decides who exists.
        const upnOrId =
          /^[^@\s]+$/.test(key) && !/^[0-9a-f-]{36}$/i.test(key) ? aliasToUpn(key, people) : key;
        const user = upnOrId ? await directory.getUser(upnOrId) : undefined;
        if (!user)
          return errorResponse(
            404,
            'TAB.UNKNOWN_USER',
            `The directory has no person "${key}": pick one on the sign-in page (${people.map((p) => p.userPrincipalName.split('@')[0]).join(', ')}).`,
          );
        if (!user.accountEnabled)
          return errorResponse(
            403,
            'TAB.ACCOUNT_DISABLED',
            `${user.displayName}'s account is disabled in the directory, so they cannot sign in.`,
          );
        const token = await issuer.issue(user);
        return {
          status: 200,
          headers: { 'cache-control': 'no-store' },
          jsonBody: {
            ...token,
            user: { id: user.id, userPrincipalName: user.userPrincipalName, displayName: user.displayName },
          },
        };
      },
    },
    {
      kind: 'http',
      name: FunctionNames.tabAuthSignIn,
      route: 'tab/auth/signin',
      methods: ['GET'],
      authLevel: 'anonymous',
      handler: async (request, context) => {
        const issuer = issuerOf(context);
        if (!issuer) return notLocal();
        const returnTo = safeReturnTo(new URL(request.url).searchParams.get('returnTo'));
        return {
          status: 200,
          headers: {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'x-content-type-options': 'nosniff',
          },
          body: signInPage(issuer, returnTo),
        };
      },
    },
  ];
}

/** The tab's sign-in functions for this configuration: the local issuer's only in local mode. */
export function tabAuthFunctions(config: AttestConfig): HttpFunction[] {
  return config.tab.auth === 'local' ? [me, ...localIssuerFunctions()] : [me];
}

function aliasToUpn(alias: string, people: { userPrincipalName: string }[]): string | undefined {
  const lower = alias.toLowerCase();
  const person = people.find((p) => p.userPrincipalName.toLowerCase().split('@')[0] === lower);
  // Not one of the offered people: try the alias at the offered people's domain (the demo tenant's).
  const domain = people[0]?.userPrincipalName.split('@')[1];
  return person?.userPrincipalName ?? (domain ? `${lower}@${domain}` : undefined);
}

async function readJson(request: HttpRequest): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Only a path on this host under /api/tab/ (no open redirect); anything else returns to the tab's page. */
function safeReturnTo(value: string | null): string {
  if (
    value &&
    /^\/api\/tab\/[A-Za-z0-9._~\-/]*(\?[A-Za-z0-9._~\-=&%]*)?(#[A-Za-z0-9._~\-=&%/]*)?$/.test(value)
  )
    return value;
  return TAB_INDEX_PATH;
}

/** The local sign-in page: accessible (labelled radio group, live status), no framework, no external files. */
function signInPage(issuer: LocalTabIssuer, returnTo: string): string {
  const { defaultUserId, people } = issuer.signIn;
  const current = people.find((p) => p.id === defaultUserId) ?? people[0];
  const options = people
    .map(
      (p) =>
        `      <li><label><input type="radio" name="user" value="${escapeHtml(p.id)}"${
          p.id === current?.id ? ' checked' : ''
        }> ${escapeHtml(p.displayName)} <span class="muted">(${escapeHtml(p.userPrincipalName)}, ${escapeHtml(p.role)})</span></label></li>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Sign in to Attest (local)</title>
  <style>
    body { font-family: "Segoe UI", system-ui, sans-serif; margin: 2rem auto; max-width: 40rem; padding: 0 1rem; color: #242424; background: #fff; }
    h1 { font-size: 1.5rem; }
    ul { list-style: none; padding: 0; }
    li { margin: .5rem 0; }
    .muted { color: #5c5c5c; }
    button { font: inherit; padding: .5rem 1.25rem; border-radius: 4px; border: 1px solid #0f548c; background: #0f6cbd; color: #fff; cursor: pointer; }
    button:focus-visible, input:focus-visible { outline: 3px solid #242424; outline-offset: 2px; }
    .note { border-left: 4px solid #bc4b09; padding: .25rem .75rem; background: #fdf6f3; }
  </style>
</head>
<body>
  <main>
    <h1>Sign in to Attest</h1>
    <p class="note">Local development only: this host issues its own tokens in place of Microsoft Teams sign-in.</p>
    <p id="current">Signed in as <strong>${escapeHtml(current?.displayName ?? 'nobody')}</strong>${
      current ? ` (${escapeHtml(current.userPrincipalName)})` : ''
    }.</p>
    <form id="signin">
      <fieldset>
        <legend>Sign in as</legend>
        <ul>
${options}
        </ul>
      </fieldset>
      <p><button type="submit">Sign in and open Access reviews</button></p>
      <p id="status" role="status" aria-live="polite"></p>
    </form>
  </main>
  <script>
    document.getElementById('signin').addEventListener('submit', async function (event) {
      event.preventDefault();
      var status = document.getElementById('status');
      var picked = document.querySelector('input[name="user"]:checked');
      status.textContent = 'Signing in...';
      try {
        var res = await fetch('token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(picked ? { user: picked.value } : {}),
        });
        var body = await res.json();
        if (!res.ok) { status.textContent = body.error || ('Sign-in failed (' + res.status + ').'); return; }
        sessionStorage.setItem(${JSON.stringify(TAB_TOKEN_STORAGE_KEY)}, body.access_token);
        sessionStorage.setItem(${JSON.stringify(`${TAB_TOKEN_STORAGE_KEY}.expiresAt`)}, String(Date.now() + body.expires_in * 1000));
        status.textContent = 'Signed in as ' + body.user.displayName + '. Opening Access reviews...';
        location.assign(${JSON.stringify(returnTo)});
      } catch (err) {
        status.textContent = 'Sign-in failed: ' + err.message;
      }
    });
  </script>
</body>
</html>
`;
}
