/**
 * Review tab figures (issue 9): time to first render of *My reviews* for a reviewer with 1,000 items, in
 * Chromium; and the tab API's p99 for a page of items against the local host as `npm start` runs it.
 *
 * The render figure isolates the page: the built tab (dist/tab) is served as the host serves it, and the
 * API's answers are the recorded shape of 1,000 items (Playwright answers `/api/tabapi/v1/*`), so the number
 * is React + Fluent work in the browser, not the network or storage. The API figure is the whole path: token
 * validation, the review service over Azurite, JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../src/adapters/system-clock';
import { createTableFactory } from '../src/adapters/tables/table-client-factory';
import { TableReviewStore } from '../src/adapters/tables/review.store';
import { stopLeftoverAzurite } from '../src/local/azurite';
import { demoUserId } from '../src/local/graph-sim/demo-tenant';
import type { Campaign, ReviewItem } from '../src/domain/review/review.model';
import type { ItemPage } from '../src/ports/review-api.port';
import { launchChromium } from '../test/support/browser';
import { ROOT, percentile, type BenchRow } from './bench-kit';

const TAB = path.join(ROOT, 'dist', 'tab');

/** `n` items as the API returns them, for one reviewer. */
export function syntheticItems(n: number, campaignId = 'bench'): ReviewItem[] {
  return Array.from({ length: n }, (_, i) => ({
    campaignId,
    itemId: `g${i % 50}:u${i}`,
    groupId: `g${i % 50}`,
    groupName: `Group ${i % 50}`,
    roleRef: `app${i % 5}/role${i % 50}` as `${string}/${string}`,
    userId: `u${i}`,
    userDisplayName: `Person ${String(i).padStart(4, '0')}`,
    userPrincipalName: `person${i}@contoso.example`,
    accountEnabled: i % 97 !== 0,
    lastSignIn: i % 7 === 0 ? null : new Date(Date.UTC(2026, 9, 1 + (i % 60))).toISOString(),
    recommendation:
      i % 7 === 0
        ? { value: 'revoke', reasons: [{ kind: 'inactive', days: 90, lastSignIn: null }] }
        : { value: 'keep', reasons: [] },
    grantRequestIds: [],
    outsideAttest: i % 11 === 0,
    stage: 1,
    reviewerIds: ['bench-reviewer'],
    decisions: [],
    delegations: [],
  }));
}

/** Serves dist/tab at /api/tab/ on 127.0.0.1 (port 0), as the host's static route does. */
async function serveTab(): Promise<{ url: string; close: () => Promise<void> }> {
  if (!fs.existsSync(path.join(TAB, 'index.html'))) throw new Error('dist/tab is missing: run npm run build');
  const server = http.createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0].replace(/^\/api\/tab\//, '');
    const file = path.join(TAB, path.normalize(name || 'index.html'));
    if (!file.startsWith(TAB) || !fs.existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.js')
      ? 'text/javascript'
      : file.endsWith('.html')
        ? 'text/html'
        : 'text/plain';
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Milliseconds from navigation to the first page of *My reviews* on screen (its rows rendered), for a reviewer
 * with `items` items, median of `runs` cold loads (a fresh browser context each).
 */
export async function myReviewsFirstRender(
  items = 1000,
  runs = 5,
): Promise<{ medianMs: number; rows: number }> {
  const all = syntheticItems(items);
  const campaign = { id: 'bench', definition: { name: 'Bench review' } } as unknown as Campaign;
  const tab = await serveTab();
  const browser = await launchChromium();
  const times: number[] = [];
  let rows = 0;
  try {
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      await context.addInitScript({ content: `sessionStorage.setItem('attest.tab.token', 'bench');` });
      await context.route('**/api/tabapi/v1/**', async (route) => {
        const url = new URL(route.request().url());
        const what = url.pathname.replace('/api/tabapi/v1/', '');
        let body: unknown = {};
        if (what === 'me')
          body = { objectId: 'bench-reviewer', role: 'member', displayName: 'Bench Reviewer' };
        if (what === 'campaigns') body = [campaign];
        if (what === 'items') {
          const size = Number(url.searchParams.get('pageSize') ?? 100);
          const from = Number(url.searchParams.get('cursor') ?? 0);
          const page: ItemPage = {
            items: all.slice(from, from + size),
            total: all.length,
            ...(from + size < all.length ? { next: String(from + size) } : {}),
          };
          body = page;
        }
        await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(body) });
      });
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`${tab.url}/api/tab/index.html`);
      await page.getByText(new RegExp(` of ${items} items$`)).waitFor({ timeout: 60000 });
      await page.getByRole('grid', { name: 'Review items' }).getByRole('row').nth(1).waitFor();
      times.push(Date.now() - t0);
      rows = (await page.getByRole('grid', { name: 'Review items' }).getByRole('row').count()) - 1;
      await context.close();
    }
  } finally {
    await browser.close();
    await tab.close();
  }
  times.sort((a, b) => a - b);
  return { medianMs: percentile(times, 50), rows };
}

/** p50 and p99 of `requests` sequential GETs of `url` with `token` (after 10 warm-up requests). */
export async function apiPageLatency(
  url: string,
  token: string,
  requests = 300,
): Promise<{ p50: number; p99: number; items: number }> {
  const get = async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
    return (await res.json()) as ItemPage;
  };
  for (let i = 0; i < 10; i++) await get();
  const times: number[] = [];
  let items = 0;
  for (let i = 0; i < requests; i++) {
    const t0 = performance.now();
    items = (await get()).items.length;
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), items };
}

/** `npm start`'s entry on fresh data, all ports 0; resolves once its /healthz answers. */
async function startHost(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const env = {
    ...process.env,
    ATTEST_HTTP_PORT: '0',
    ATTEST_GRAPH_SIM_PORT: '0',
    ATTEST_AZURITE_TABLE_PORT: '0',
    ATTEST_AZURITE_BLOB_PORT: '0',
    ATTEST_PLAYGROUND_PORT: '0',
  };
  const main = path.join(ROOT, 'dist', 'src', 'local', 'main.js');
  const child = spawn(process.execPath, [main, '--data', dataDir, '--fresh', '--no-playground'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (Date.now() - t0 < 60000) {
    if (child.exitCode !== null) throw new Error(`the host exited:\n${out}`);
    try {
      const record = JSON.parse(fs.readFileSync(path.join(dataDir, 'host.json'), 'utf8')) as {
        pid?: number;
        url: string;
      };
      if (record.pid === child.pid && (await fetch(`${record.url}/healthz`)).ok)
        return { url: record.url, child };
    } catch {
      // not serving yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`the host did not become healthy within 60 s:\n${out}`);
}

/**
 * Against the local host as `npm start` runs it (fresh data): an admin starts the demo catalog's review through
 * the tab API, the campaign gets `items` more snapshot items for Priya Raman (written with the review store, as
 * the snapshot writes them), and then: the tab API's p50/p99 for a page of her items, and the time to first
 * render of My reviews signed in as her, median of `runs` cold loads.
 */
export async function tabOnLocalHost(
  items = 1000,
  runs = 5,
): Promise<{ p50: number; p99: number; pageItems: number; renderMs: number; total: number }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-tab-'));
  const host = await startHost(dataDir);
  const browser = await launchChromium();
  try {
    const token = async (user: string) => {
      const res = await fetch(`${host.url}/api/tab/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user }),
      });
      if (!res.ok) throw new Error(`token for ${user}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    const call = async <T>(t: string, method: string, route: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${host.url}/api/tabapi/v1/${route}`, {
        method,
        headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${await res.text()}`);
      return (await res.json()) as T;
    };
    const admin = await token('ravi.patel');
    const started = await call<Campaign>(admin, 'POST', 'campaigns', { definitionId: 'pci-quarterly' });
    let campaign: Campaign | undefined;
    for (let i = 0; i < 600 && campaign?.status !== 'active'; i++) {
      campaign = (await call<Campaign[]>(admin, 'GET', 'campaigns')).find((c) => c.id === started.id);
      if (campaign?.status !== 'active') await new Promise((r) => setTimeout(r, 100));
    }
    if (campaign?.status !== 'active') throw new Error(`campaign ${started.id} did not open`);

    const record = JSON.parse(fs.readFileSync(path.join(dataDir, 'host.json'), 'utf8')) as {
      ports: { azuriteTable: number; azuriteBlob: number };
    };
    const tables = createTableFactory({
      mode: 'embedded',
      tablePort: record.ports.azuriteTable,
      blobPort: record.ports.azuriteBlob,
    });
    const priya = demoUserId('priya.raman');
    const extra = syntheticItems(items, campaign.id).map((item) => ({
      ...item,
      itemId: `bench-${item.itemId}`,
      stage: campaign.stage,
      reviewerIds: [priya],
    }));
    await TableReviewStore.on(tables, systemClock).putSnapshotItems(extra);

    const reviewer = await token('priya.raman');
    const latency = await apiPageLatency(
      `${host.url}/api/tabapi/v1/items?campaignId=${encodeURIComponent(campaign.id)}&pageSize=100`,
      reviewer,
    );
    const times: number[] = [];
    let total = 0;
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      await context.addInitScript({
        content: `sessionStorage.setItem('attest.tab.token', ${JSON.stringify(reviewer)});`,
      });
      const page = await context.newPage();
      const t0 = Date.now();
      await page.goto(`${host.url}/api/tab/index.html`);
      const count = page.getByText(/ of \d+ items$/);
      await count.waitFor({ timeout: 60000 });
      await page.getByRole('grid', { name: 'Review items' }).getByRole('row').nth(1).waitFor();
      times.push(Date.now() - t0);
      total = Number((await count.textContent())?.match(/of (\d+)/)?.[1] ?? 0);
      await context.close();
    }
    times.sort((a, b) => a - b);
    return { ...latency, pageItems: latency.items, renderMs: percentile(times, 50), total };
  } finally {
    await browser.close();
    host.child.kill('SIGTERM');
    await new Promise((r) => (host.child.exitCode !== null ? r(undefined) : host.child.once('exit', r)));
    await stopLeftoverAzurite(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const isolated = await myReviewsFirstRender(1000, 5);
  const live = await tabOnLocalHost(1000, 5);
  return [
    {
      figure: 'tab: first render of My reviews, 1,000 items (local host)',
      value: `${live.renderMs} ms`,
      note: `Chromium headless, median of 5 cold loads, navigation to the first page of rows on screen (reviewer with ${live.total} items; token validation, review service over Azurite)`,
    },
    {
      figure: 'tab: first render of My reviews, 1,000 items (page only)',
      value: `${isolated.medianMs} ms`,
      note: `the same page with the API's answers served by Playwright: React + Fluent only (${isolated.rows} rows on the first page)`,
    },
    {
      figure: 'tab API: page of items, p99',
      value: `${live.p99.toFixed(1)} ms`,
      note: `GET items, pageSize 100 (${live.pageItems} returned) of a reviewer's ${live.total}; 300 sequential requests after 10 warm-ups, p50 ${live.p50.toFixed(1)} ms`,
    },
  ];
}
