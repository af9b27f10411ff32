/**
 * Where the tab is served: the Teams manifest's contentUrl, the Azure registration (the function list's route
 * under host.json's routePrefix) and the local host's served route name the same URL, and what is served there
 * is the built tab with sensible headers, never a file outside it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../src/config/config';
import { buildFunctionList } from '../../../src/functions/function-list';
import type { HttpFunction } from '../../../src/functions/function-types';
import { TAB_INDEX_PATH } from '../../../src/functions/tab-auth.functions';
import { TAB_STATIC_ROUTE, defaultTabRoot, tabStaticFunction } from '../../../src/functions/tab-static';
import { FunctionNames } from '../../../src/workflows/names';
import { AZURE_ENV } from '../../support/azure-env';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const root = path.resolve(__dirname, '..', '..', '..');
const tabDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-tab-'));
let w: WorkflowHost;

beforeAll(async () => {
  // A stand-in for esbuild's output (the tab's own build is not this test's subject).
  fs.writeFileSync(path.join(tabDir, 'index.html'), '<!doctype html><title>Access reviews</title>');
  fs.writeFileSync(path.join(tabDir, 'main-5QKJ2ZJ4.js'), 'console.log("tab")');
  fs.mkdirSync(path.join(tabDir, 'assets'));
  fs.writeFileSync(path.join(tabDir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(tabDir, '.env'), 'SECRET=1');
  fs.writeFileSync(path.join(os.tmpdir(), 'attest-tab-outside.txt'), 'OUTSIDE-CONTENT');
  w = await startWorkflowHost({ overrides: [tabStaticFunction({ root: tabDir })] });
}, 120000);

afterAll(async () => {
  await w?.stop();
  fs.rmSync(tabDir, { recursive: true, force: true });
  fs.rmSync(path.join(os.tmpdir(), 'attest-tab-outside.txt'), { force: true });
});

const get = (p: string, headers: Record<string, string> = {}) => fetch(`${w.host.url}${p}`, { headers });

test("the manifest's contentUrl, the Azure registration and the local host agree on where the tab is", async () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'appPackage/manifest.json'), 'utf8')) as {
    staticTabs: { entityId: string; contentUrl?: string; websiteUrl?: string }[];
  };
  const tab = manifest.staticTabs.find((t) => t.entityId === 'reviews');
  const contentPath = new URL((tab?.contentUrl ?? '').replace('${{BOT_DOMAIN}}', 'attest.example')).pathname;
  expect(contentPath).toBe(TAB_INDEX_PATH);
  expect(new URL((tab?.websiteUrl ?? '').replace('${{BOT_DOMAIN}}', 'attest.example')).pathname).toBe(
    contentPath,
  );

  // Azure: the function list registers the static route under host.json's routePrefix.
  const hostJson = JSON.parse(fs.readFileSync(path.join(root, 'host.json'), 'utf8')) as {
    extensions: { http: { routePrefix: string } };
  };
  const registered = buildFunctionList(loadConfig(AZURE_ENV, 'azure')).find(
    (f): f is HttpFunction => f.kind === 'http' && f.name === FunctionNames.tabStatic,
  );
  expect(registered).toMatchObject({ route: TAB_STATIC_ROUTE, methods: ['GET'], authLevel: 'anonymous' });
  const azurePrefix = `/${hostJson.extensions.http.routePrefix}/${TAB_STATIC_ROUTE.replace('{*path}', '')}`;
  expect(contentPath.startsWith(azurePrefix)).toBe(true);
  expect(contentPath.slice(azurePrefix.length)).toBe('index.html');

  // Locally: the same list, mounted by the local host, answers that path with the page.
  const res = await get(contentPath);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expect(await res.text()).toContain('<title>Access reviews</title>');
});

test('the built tab is found from the compiled module, in the package root next to host.json', () => {
  expect(defaultTabRoot()).toBe(path.join(root, 'dist', 'tab'));
  expect(defaultTabRoot(path.join(root, 'dist', 'src', 'functions'))).toBe(path.join(root, 'dist', 'tab'));
});

test('index.html is the default and is revalidated on every load; hashed bundles are cached for good', async () => {
  for (const p of ['/api/tab', '/api/tab/']) {
    const res = await get(p);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
  }
  const page = await get('/api/tab/index.html');
  expect(page.headers.get('cache-control')).toBe('no-cache');
  expect(page.headers.get('content-security-policy')).toMatch(
    /^frame-ancestors 'self' https:\/\/teams\.microsoft\.com /,
  );
  expect(page.headers.get('x-content-type-options')).toBe('nosniff');
  const etag = page.headers.get('etag') as string;
  expect((await get('/api/tab/index.html', { 'if-none-match': etag })).status).toBe(304);

  const bundle = await get('/api/tab/main-5QKJ2ZJ4.js');
  expect(bundle.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  expect(bundle.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  const svg = await get('/api/tab/assets/logo.svg');
  expect(svg.status).toBe(200);
  expect(svg.headers.get('content-type')).toBe('image/svg+xml');
});

test('the sign-in routes under tab/auth are not shadowed by the catch-all', async () => {
  const res = await get('/api/tab/auth/signin');
  expect(res.status).toBe(200);
  expect(await res.text()).toContain('Sign in to Attest');
});

test.each([
  '/api/tab/..%2f..%2fpackage.json',
  '/api/tab/%2e%2e/attest-tab-outside.txt',
  '/api/tab/assets/..%2f..%2fattest-tab-outside.txt',
  '/api/tab/.env',
  '/api/tab/assets%5c..%5c.env',
  '/api/tab/index.html%00.js',
])('%s is refused with 404', async (p) => {
  const res = await get(p);
  expect(res.status).toBe(404);
  expect(await res.text()).not.toMatch(/OUTSIDE-CONTENT|SECRET=1|"name": "attest"/);
});

test('a missing file is 404 saying what to open; an unbuilt tab says to build it', async () => {
  const missing = await get('/api/tab/nothing.js');
  expect(missing.status).toBe(404);
  expect(((await missing.json()) as { error: string }).error).toBe(
    'The tab has no file "nothing.js". Open /api/tab/index.html.',
  );
  const unbuilt = tabStaticFunction({ root: path.join(tabDir, 'not-built') });
  const { HttpRequest, InvocationContext } = await import('@azure/functions');
  const answer = await unbuilt.handler(
    new HttpRequest({ method: 'GET', url: 'http://x/api/tab/index.html', params: { path: 'index.html' } }),
    { invocation: new InvocationContext(), services: w.host.services, durable: w.host.durable },
  );
  expect(answer.status).toBe(404);
  expect((answer.jsonBody as { error: string }).error).toMatch(
    /The tab is not built: .*not-built has no index\.html/,
  );
});
