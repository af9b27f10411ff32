/**
 * The local sign-in page in Chromium: a person picks who they are, the page leaves the token where the tab
 * reads it (sessionStorage 'attest.tab.token') and returns to the tab's page; the token is that person's. The
 * page has no serious or critical accessibility violations.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser } from 'playwright-core';
import { tabStaticFunction } from '../../../src/functions/tab-static';
import { demoUserId } from '../../../src/local/graph-sim/demo-tenant';
import { ARTIFACTS, launchChromium } from '../../support/browser';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

const tabDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-tab-'));
let w: WorkflowHost;
let browser: Browser;

beforeAll(async () => {
  fs.writeFileSync(
    path.join(tabDir, 'index.html'),
    '<!doctype html><html lang="en"><title>Access reviews</title>',
  );
  w = await startWorkflowHost({ overrides: [tabStaticFunction({ root: tabDir })] });
  browser = await launchChromium();
}, 120000);

afterAll(async () => {
  await browser?.close();
  await w?.stop();
  fs.rmSync(tabDir, { recursive: true, force: true });
});

test('signing in as the auditor stores their token for the tab and returns to it', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${w.host.url}/api/tab/auth/signin`);
  expect(await page.locator('#current').textContent()).toBe(
    'Signed in as Alex Chen (alex.chen@contoso.example).',
  );

  const axe = await new AxeBuilder({ page }).analyze();
  const serious = axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious.map((v) => `${v.id}: ${v.help}`)).toEqual([]);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'tab-local-signin.png'), fullPage: true });

  // Keyboard only: the radio group and the button are reachable and work without a mouse.
  await page.getByRole('radio', { name: /Mei Lin/ }).check();
  await page.getByRole('button', { name: 'Sign in and open Access reviews' }).focus();
  await page.keyboard.press('Enter');
  await page.waitForURL(`${w.host.url}/api/tab/index.html`);
  expect(await page.title()).toBe('Access reviews');

  // NB. Expressions as strings: the tests compile without the DOM library.
  const token = await page.evaluate<string>("sessionStorage.getItem('attest.tab.token')");
  const expiresAt = Number(
    await page.evaluate<string>("sessionStorage.getItem('attest.tab.token.expiresAt')"),
  );
  expect(expiresAt).toBeGreaterThan(Date.now() + 50 * 60 * 1000);
  const who = await fetch(`${w.host.url}/api/tab/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  expect(await who.json()).toMatchObject({ objectId: demoUserId('mei.lin'), role: 'auditor' });
  await page.close();
});

test('a refused sign-in says why on the page, in the live status', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.route('**/api/tab/auth/token', (route) =>
    route.fulfill({
      status: 403,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'Nope: disabled.' }),
    }),
  );
  await page.goto(`${w.host.url}/api/tab/auth/signin`);
  await page.getByRole('button', { name: 'Sign in and open Access reviews' }).click();
  await page.getByRole('status').filter({ hasText: 'Nope' }).waitFor({ timeout: 10000 });
  expect(await page.getByRole('status').textContent()).toBe('Nope: disabled.');
  expect(page.url()).toBe(`${w.host.url}/api/tab/auth/signin`);
  await page.close();
});
