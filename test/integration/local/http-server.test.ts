import type { FunctionContext, HttpFunction } from '../../../src/functions/function-types';
import { startHttpServer, type LocalHttpServer } from '../../../src/local/http-server';
import { PortInUseError } from '../../../src/local/port-check';

let server: LocalHttpServer;
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

/** A catch-all, as Azure writes it (`{*path}`), listed before a literal route under it. */
const files: HttpFunction = {
  kind: 'http',
  name: 'files',
  route: 'files/{*path}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request) => ({ status: 200, jsonBody: { path: request.params.path } }),
};
const special: HttpFunction = {
  kind: 'http',
  name: 'special',
  route: 'files/auth/{what}',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request) => ({ status: 200, jsonBody: { special: request.params.what } }),
};

beforeAll(async () => {
  server = await startHttpServer({
    port: 0,
    functions: [echo, files, special],
    contextFor: (invocation) => ({ invocation }) as unknown as FunctionContext,
    health: async () => ({ status: 'ok' }),
    log: () => undefined,
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(async () => {
  await server.close();
});

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

test('a catch-all {*path} takes the rest of the path, slashes and all, still percent-encoded', async () => {
  const get = async (p: string) => (await (await fetch(`${base}${p}`)).json()) as Record<string, unknown>;
  expect(await get('/api/files/a/b/index.html')).toEqual({ path: 'a/b/index.html' });
  expect(await get('/api/files/x%2Fy%20z')).toEqual({ path: 'x%2Fy%20z' });
  expect(await get('/api/files/')).toEqual({ path: '' });
  expect(await get('/api/files')).toEqual({ path: '' });
  expect((await fetch(`${base}/api/filesystem`)).status).toBe(404);
});

test('a literal route wins over a catch-all listed before it, as in the Functions host', async () => {
  expect(await (await fetch(`${base}/api/files/auth/me`)).json()).toEqual({ special: 'me' });
  expect(await (await fetch(`${base}/api/files/auth/me/more`)).json()).toEqual({ path: 'auth/me/more' });
});

test('/healthz answers JSON', async () => {
  const res = await fetch(`${base}/healthz`);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(await res.json()).toEqual({ status: 'ok' });
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
