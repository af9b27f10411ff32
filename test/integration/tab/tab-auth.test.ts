/**
 * The tab's door, over HTTP: every defect of a Teams SSO token is a 401 that says why, a good token is the
 * caller with the role the directory gives them (admins, auditors, members of the demo tenant through the Graph
 * simulator), and the local issuer's sign-in seam issues tokens the same validator accepts.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  SignJWT,
  UnsecuredJWT,
  createRemoteJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { CallerRoleResolver, ROLE_CACHE_MS } from '../../../src/adapters/tab-auth/caller-roles';
import { TabTokenValidator, entraIssuer } from '../../../src/adapters/tab-auth/tab-token.validator';
import { TEAMS_CLIENT_IDS, loadConfig } from '../../../src/config/config';
import type { AppServices, HttpFunction, TabAuthServices } from '../../../src/functions/function-types';
import { tabAuthFunctions } from '../../../src/functions/tab-auth.functions';
import {
  DEMO_ATTEST_ADMINS_GROUP_ID,
  DEMO_ATTEST_AUDITORS_GROUP_ID,
  DEMO_TENANT_ID,
  demoUserId,
} from '../../../src/local/graph-sim/demo-tenant';
import { startHttpServer, type LocalHttpServer } from '../../../src/local/http-server';
import { TestClock } from '../../support/test-clock';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const ALEX = demoUserId('alex.chen');
const RAVI = demoUserId('ravi.patel'); // Attest admins
const MEI = demoUserId('mei.lin'); // Attest auditors
const OTHER_TENANT = '11111111-2222-4333-8444-555555555555';

/** The tab SSO settings of an Entra deployment, over the demo tenant. */
const entraTab = loadConfig({ ATTEST_TAB_AUTH: 'entra' }, 'local').tab;
const ISSUER = `https://login.microsoftonline.com/${DEMO_TENANT_ID}/v2.0`;

let w: WorkflowHost;
let signer: { privateKey: CryptoKey; jwk: JWK };
let attacker: { privateKey: CryptoKey };
let jwksServer: http.Server;
let jwksFetches = 0;
let jwksBase: string;
let api: LocalHttpServer;
let apiBase: string;
const clock = new TestClock(new Date('2026-06-01T09:00:00Z'));

function listen(server: http.Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** Serves `me` on its own server with a tab door built from `tab` (the rest of the services: the host's). */
async function serveMe(tab: TabAuthServices): Promise<LocalHttpServer> {
  const me = tabAuthFunctions(loadConfig({ ATTEST_TAB_AUTH: 'entra' }, 'local')).find(
    (f) => f.route === 'tab/auth/me',
  ) as HttpFunction;
  const services: AppServices = { ...w.host.services, tab };
  return startHttpServer({
    port: 0,
    functions: [me],
    contextFor: (invocation) => ({ invocation, services, durable: w.host.durable }),
    health: async () => ({}),
    log: () => undefined,
  });
}

beforeAll(async () => {
  w = await startWorkflowHost();
  const pair = await generateKeyPair('RS256');
  signer = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: 'test-key-1' } };
  attacker = { privateKey: (await generateKeyPair('RS256')).privateKey };
  // Entra's JWKS endpoint, played by a local server with the test key.
  jwksServer = http.createServer((req, res) => {
    jwksFetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [signer.jwk] }));
  });
  jwksBase = await listen(jwksServer);
  const validator = new TabTokenValidator(
    entraTab,
    entraIssuer({ jwksUrl: (tid) => new URL(`${jwksBase}/${tid}/discovery/v2.0/keys`) }),
    clock,
  );
  const roles = new CallerRoleResolver(
    { adminGroupId: DEMO_ATTEST_ADMINS_GROUP_ID, auditorGroupId: DEMO_ATTEST_AUDITORS_GROUP_ID },
    async () => w.deps.directory,
    clock,
  );
  api = await serveMe({ validator, roles });
  apiBase = `http://127.0.0.1:${api.port}`;
}, 120000);

afterAll(async () => {
  await api?.close();
  await new Promise((resolve) => jwksServer?.close(resolve));
  await w?.stop();
});

/** A Teams SSO access token as Entra issues it (v2.0), with `change` applied. */
async function token(
  change: JWTPayload = {},
  opts: { key?: CryptoKey; alg?: string; kid?: string } = {},
): Promise<string> {
  const now = Math.floor(clock.now().getTime() / 1000);
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: entraTab.appIdUri,
    azp: TEAMS_CLIENT_IDS[0],
    tid: DEMO_TENANT_ID,
    scp: 'access_as_user',
    oid: ALEX,
    preferred_username: 'alex.chen@contoso.example',
    name: 'Alex Chen',
    ver: '2.0',
    iat: now - 60,
    nbf: now - 60,
    exp: now + 3600,
    ...change,
  };
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'RS256', typ: 'JWT', kid: opts.kid ?? 'test-key-1' })
    .sign(opts.key ?? signer.privateKey);
}

async function me(
  bearer?: string,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const res = await fetch(`${apiBase}/api/tab/auth/me`, {
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    challenge: res.headers.get('www-authenticate'),
  };
}

describe('a Teams SSO token', () => {
  test('that holds is the caller: object id, name, tenant and the role the directory gives', async () => {
    const res = await me(await token());
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      objectId: ALEX,
      upn: 'alex.chen@contoso.example',
      displayName: 'Alex Chen',
      tenantId: DEMO_TENANT_ID,
      role: 'member',
    });
    // From Teams on the web too, and with the client id as the audience (Entra may put either).
    expect((await me(await token({ azp: TEAMS_CLIENT_IDS[1], aud: entraTab.clientId }))).status).toBe(200);
  });

  const defects: [string, () => Promise<string>, string, RegExp][] = [
    [
      'a bad signature',
      () => token({}, { key: attacker.privateKey }),
      'TAB.TOKEN_SIGNATURE',
      /signature does not verify/,
    ],
    [
      'alg: none',
      async () => new UnsecuredJWT({ ...(await claimsOf(await token())) }).encode(),
      'TAB.TOKEN_MALFORMED',
      /signed with "none"; Attest accepts only RS256/,
    ],
    [
      'HS256 keyed with the public key (algorithm confusion)',
      async () =>
        new SignJWT(await claimsOf(await token()))
          .setProtectedHeader({ alg: 'HS256' })
          .sign(new TextEncoder().encode(JSON.stringify(signer.jwk))),
      'TAB.TOKEN_MALFORMED',
      /signed with "HS256"/,
    ],
    [
      'a wrong audience',
      () => token({ aud: 'api://evil.example/0000' }),
      'TAB.TOKEN_AUDIENCE',
      /not for Attest's tab/,
    ],
    [
      'a wrong issuer',
      () => token({ iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }),
      'TAB.TOKEN_ISSUER',
      /was issued by .*not https:\/\/login\.microsoftonline\.com/,
    ],
    [
      'a v1.0 issuer',
      () => token({ iss: `https://sts.windows.net/${DEMO_TENANT_ID}/` }),
      'TAB.TOKEN_ISSUER',
      /accessTokenAcceptedVersion/,
    ],
    [
      'a wrong azp (not a Teams client)',
      () => token({ azp: '00000000-0000-4000-8000-000000000abc' }),
      'TAB.TOKEN_CLIENT',
      /not Teams: open Attest from Microsoft Teams/,
    ],
    [
      'another tenant',
      () => token({ tid: OTHER_TENANT, iss: `https://login.microsoftonline.com/${OTHER_TENANT}/v2.0` }),
      'TAB.TOKEN_TENANT',
      /tenant 11111111-2222-4333-8444-555555555555\) is not allowed .*ATTEST_ALLOWED_TENANTS/,
    ],
    [
      'an expiry past the clock skew',
      () => token({ exp: Math.floor(clock.now().getTime() / 1000) - 600 }),
      'TAB.TOKEN_EXPIRED',
      /expired at 2026-06-01T08:50:00\.000Z: reload the tab/,
    ],
    [
      'a not-before in the future',
      () => token({ nbf: Math.floor(clock.now().getTime() / 1000) + 3600 }),
      'TAB.TOKEN_NOT_YET_VALID',
      /not valid until 2026-06-01T10:00:00\.000Z/,
    ],
    ['a missing scope', () => token({ scp: 'User.Read' }), 'TAB.TOKEN_SCOPE', /access_as_user/],
    [
      'a scope that only contains the name',
      () => token({ scp: 'User.Read access_as_user_admin' }),
      'TAB.TOKEN_SCOPE',
      /access_as_user/,
    ],
    ['no user (an app-only token)', () => token({ oid: undefined }), 'TAB.TOKEN_CLAIMS', /no user \(oid\)/],
    ['no expiry', () => token({ exp: undefined }), 'TAB.TOKEN_CLAIMS', /"exp" claim/],
    ['garbage', async () => 'not.a.jwt', 'TAB.TOKEN_MALFORMED', /not a signed JSON Web Token/],
  ];

  test.each(defects)('with %s is a 401 that says why', async (_what, make, code, why) => {
    const res = await me(await make());
    expect(res.status).toBe(401);
    expect(res.body.code).toBe(code);
    expect(res.body.error).toMatch(why);
    expect(res.challenge).toMatch(
      /^Bearer realm="attest", error="invalid_token", error_description="[^"]+"$/,
    );
    expect(res.challenge).toContain(
      `error_description="${(res.body.error as string).replace(/["\\]/g, "'")}"`,
    );
  });

  test('from another tenant is refused before any key is fetched for it', async () => {
    const before = jwksFetches;
    await me(await token({ tid: OTHER_TENANT }));
    expect(jwksFetches).toBe(before);
  });

  test('within the clock skew still holds (two minutes), and the clock is the one injected', async () => {
    const now = Math.floor(clock.now().getTime() / 1000);
    expect((await me(await token({ exp: now - 60 }))).status).toBe(200);
    expect((await me(await token({ nbf: now + 60 }))).status).toBe(200);
  });

  test('missing is a 401 with the bare challenge and a sentence', async () => {
    const res = await me();
    expect(res.status).toBe(401);
    expect(res.challenge).toBe('Bearer realm="attest"');
    expect(res.body).toMatchObject({ code: 'TAB.NO_TOKEN', error: expect.stringMatching(/No bearer token/) });
    const basic = await fetch(`${apiBase}/api/tab/auth/me`, { headers: { authorization: 'Basic YTpi' } });
    expect(basic.status).toBe(401);
  });

  test('whose issuer keys cannot be fetched is a 503 to retry, not a 401', async () => {
    const closed = http.createServer();
    const url = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    const tab: TabAuthServices = {
      validator: new TabTokenValidator(
        entraTab,
        entraIssuer({ jwksUrl: () => new URL(`${url}/keys`) }),
        clock,
      ),
      roles: new CallerRoleResolver({}, async () => w.deps.directory, clock),
    };
    const down = await serveMe(tab);
    try {
      const res = await fetch(`http://127.0.0.1:${down.port}/api/tab/auth/me`, {
        headers: { authorization: `Bearer ${await token()}` },
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(((await res.json()) as { error: string }).error).toMatch(
        /could not fetch .*signing keys.*try again/,
      );
    } finally {
      await down.close();
    }
  });
});

/** The claims of a token, unverified (to re-sign them wrongly). */
async function claimsOf(jwt: string): Promise<JWTPayload> {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8')) as JWTPayload;
}

describe("the caller's role", () => {
  test('comes from the demo tenant: Attest admins are admin, Attest auditors auditor, others member', async () => {
    const role = async (oid: string) => (await me(await token({ oid }))).body.role;
    expect(await role(RAVI)).toBe('admin');
    expect(await role(MEI)).toBe('auditor');
    expect(await role(ALEX)).toBe('member');
  });

  test('is cached briefly: a removal from the admin group shows once the cache has aged', async () => {
    const zoe = demoUserId('zoe.martin');
    const role = async () => (await me(await token({ oid: zoe }))).body.role;
    expect(await role()).toBe('admin');
    await w.deps.directory.removeMember(DEMO_ATTEST_ADMINS_GROUP_ID, zoe);
    expect(await role()).toBe('admin');
    clock.advance(ROLE_CACHE_MS + 1000);
    expect(await role()).toBe('member');
  });
});

describe('the local issuer (ATTEST_TAB_AUTH=local)', () => {
  const post = (body: unknown) =>
    fetch(`${w.host.url}/api/tab/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  test('issues a token for the --as person that the same validator accepts, signed with its published keys', async () => {
    const res = await post({});
    expect(res.status).toBe(200);
    const issued = (await res.json()) as {
      access_token: string;
      expires_in: number;
      token_type: string;
      user: { id: string };
    };
    expect(issued).toMatchObject({ token_type: 'Bearer', expires_in: 3600, user: { id: ALEX } });

    const { payload } = await jwtVerify(
      issued.access_token,
      createRemoteJWKSet(new URL(`${w.host.url}/api/tab/auth/jwks`)),
      { algorithms: ['RS256'], issuer: `${w.host.url}/api/tab/auth` },
    );
    expect(payload).toMatchObject({ oid: ALEX, tid: DEMO_TENANT_ID, scp: 'access_as_user' });

    const who = await fetch(`${w.host.url}/api/tab/auth/me`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ objectId: ALEX, role: 'member' });
  });

  test('issues for a picked person, by alias or UPN; the auditor is an auditor', async () => {
    const issued = (await (await post({ user: 'mei.lin' })).json()) as { access_token: string };
    const who = await fetch(`${w.host.url}/api/tab/auth/me`, {
      headers: { authorization: `Bearer ${issued.access_token}` },
    });
    expect(await who.json()).toMatchObject({
      objectId: MEI,
      upn: 'mei.lin@contoso.example',
      role: 'auditor',
    });
    expect((await post({ user: 'ravi.patel@contoso.example' })).status).toBe(200);
  });

  test('refuses what it cannot issue, saying why', async () => {
    const unknown = await post({ user: 'nobody.here' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(
      /no person "nobody\.here".*alex\.chen/,
    );
    const disabled = await post({ user: 'hannah.lee' });
    expect(disabled.status).toBe(403);
    expect(((await disabled.json()) as { error: string }).error).toMatch(/Hannah Lee's account is disabled/);
    expect((await post('{not json')).status).toBe(400);
    expect((await post({ user: 42 })).status).toBe(400);
  });

  test("a token signed by the local issuer is refused by Entra's validator, and the reverse", async () => {
    const local = ((await (await post({})).json()) as { access_token: string }).access_token;
    const refused = await me(local);
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('TAB.TOKEN_SIGNATURE');
    const entra = await fetch(`${w.host.url}/api/tab/auth/me`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    expect(entra.status).toBe(401);
    expect(((await entra.json()) as { code: string }).code).toBe('TAB.TOKEN_SIGNATURE');
  });

  test('serves an accessible sign-in page that names who you are and offers the demo people', async () => {
    const res = await fetch(`${w.host.url}/api/tab/auth/signin?returnTo=https://evil.example/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/Signed in as <strong>Alex Chen<\/strong>/);
    expect(html).toContain('<legend>Sign in as</legend>');
    expect(html).toMatch(/Mei Lin <span class="muted">\(mei\.lin@contoso\.example, auditor\)/);
    expect(html).toContain('role="status"');
    expect(html).toContain('sessionStorage.setItem("attest.tab.token"');
    expect(html).toContain('location.assign("/api/tab/index.html")'); // not the foreign returnTo
    expect(html).not.toContain('evil.example');
  });
});
