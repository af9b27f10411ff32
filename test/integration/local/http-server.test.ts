import { loadConfig } from '../../../src/config/config';
import { buildFunctionList } from '../../../src/functions/function-list';
import type { FunctionContext, HttpFunction } from '../../../src/functions/function-types';
import { startHttpServer, type LocalHttpServer } from '../../../src/local/http-server';
import { PortInUseError } from '../../../src/local/port-check';
import { startConnector, type LocalConnector } from '../../support/connector';

const TENANT = '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6';
let server: LocalHttpServer;
let connector: LocalConnector;
let base: string;

const echo: HttpFunction = {
  kind: 'http',
  name: 'echo',
  route: 'items/{id}/notes',
  methods: ['POST'],
  authLevel: 'function',
  handler: async (request) => ({
    status: 201,
    jsonBody: { id: request.params.id, body: await request.json(), q: request.query.get('q') },
  }),
};

beforeAll(async () => {
  const config = loadConfig({}, 'local');
  connector = await startConnector();
  server = await startHttpServer({
    port: 0,
    functions: [...(buildFunctionList(config).filter((f) => f.kind === 'http') as HttpFunction[]), echo],
    contextFor: (invocation) => ({ invocation }) as unknown as FunctionContext,
    health: async () => ({ status: 'ok' }),
    log: () => undefined,
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
  await connector.close();
});

function activity(overrides: Record<string, unknown> = {}) {
  return {
    type: 'message',
    id: 'act-1',
    text: 'help',
    channelId: 'msteams',
    serviceUrl: connector.serviceUrl,
    from: { id: 'user-1', name: 'Avery Chen', aadObjectId: '11111111-1111-4111-8111-111111111111' },
    recipient: { id: 'bot', name: 'Attest' },
    conversation: { id: 'conv-1', conversationType: 'personal', tenantId: TENANT },
    channelData: { tenant: { id: TENANT } },
    ...overrides,
  };
}

test('a registered route answers under /api with its params, query and JSON body', async () => {
  const res = await fetch(`${base}/api/items/42/notes?q=x`, {
    method: 'POST',
    body: JSON.stringify({ a: 1 }),
  });
  expect(res.status).toBe(201);
  expect(await res.json()).toEqual({ id: '42', body: { a: 1 }, q: 'x' });
});

test('an unknown path is 404 and a wrong method is 405 with Allow', async () => {
  expect((await fetch(`${base}/api/nothing`)).status).toBe(404);
  const wrong = await fetch(`${base}/api/items/42/notes`);
  expect(wrong.status).toBe(405);
  expect(wrong.headers.get('allow')).toBe('POST');
});

test('/healthz answers JSON', async () => {
  const res = await fetch(`${base}/healthz`);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(await res.json()).toEqual({ status: 'ok' });
});

test('the bot answers a message through the Bot Framework protocol, replying to the activity serviceUrl', async () => {
  const res = await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(activity()),
  });
  expect(res.status).toBe(200);
  const reply = connector.received.at(-1);
  expect(reply?.path).toBe('/v3/conversations/conv-1/activities/act-1');
  expect(reply?.activity.text).toContain('I see you as Avery Chen (11111111-1111-4111-8111-111111111111)');
});

test('the bot refuses a tenant that is not allowed', async () => {
  const before = connector.received.length;
  const other = '99999999-9999-4999-8999-999999999999';
  await fetch(`${base}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      activity({
        id: 'act-2',
        conversation: { id: 'conv-2', tenantId: other },
        channelData: { tenant: { id: other } },
      }),
    ),
  });
  expect(connector.received.length).toBe(before + 1);
  expect(connector.received.at(-1)?.activity.text).toBe(
    'This Attest installation does not serve your organisation.',
  );
});

test('the bot rejects a body that is not JSON', async () => {
  const res = await fetch(`${base}/api/messages`, { method: 'POST', body: 'not json' });
  expect(res.status).toBe(400);
});

test('a port already in use is a clear error', async () => {
  await expect(
    startHttpServer({
      port: server.port,
      functions: [],
      contextFor: () => ({}) as FunctionContext,
      health: async () => ({}),
      log: () => undefined,
    }),
  ).rejects.toThrow(new PortInUseError('Attest HTTP server', server.port, 'ATTEST_HTTP_PORT'));
});

test('outside local mode an activity without a Bot Framework token is refused with 401', async () => {
  const { createBotEndpoint } = await import('../../../src/adapters/teams/bot-endpoint');
  const endpoint = createBotEndpoint({
    auth: 'client-secret',
    appId: '1a2b3c4d-0000-4000-8000-000000000001',
    password: 'not-a-real-secret',
    tenantId: TENANT,
    allowedTenants: [TENANT],
  });
  const { HttpRequest } = await import('@azure/functions');
  const before = connector.received.length;
  const res = await endpoint(
    new HttpRequest({
      method: 'POST',
      url: 'http://127.0.0.1/api/messages',
      headers: { 'content-type': 'application/json' },
      body: { string: JSON.stringify(activity({ id: 'act-3' })) },
    }),
  );
  expect(res.status).toBe(401);
  expect(connector.received.length).toBe(before);
});
