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

beforeAll(async () => {
  server = await startHttpServer({
    port: 0,
    functions: [echo],
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
