/**
 * End to end in a real browser: headless Chromium drives the Agents Playground against `npm start`.
 *
 * NB. The Playground chats as one person per run (its `.m365agentsplayground.yml` `currentUser`; it cannot be
 * switched while it runs), so acting as another person means restarting with `npm start -- --as <user>`, as a
 * person trying Attest locally would. State lives in the data folder and survives the restarts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { stopLeftoverAzurite } from '../../src/local/azurite';
import { PLAYGROUND_USERS } from '../../src/local/graph-sim/demo-tenant';
import { ARTIFACTS, launchChromium } from '../support/browser';
import {
  ENTRY,
  ANY_PORTS,
  runToExit,
  startHostProcess,
  type HostPorts,
  type HostProcess,
} from '../support/host-process';
import { eventually } from '../support/storage';

jest.setTimeout(300_000);

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const [alex, priya] = PLAYGROUND_USERS;
/** sg-snowflake-analysts, the group behind the Snowflake Analyst role (catalog/demo-catalog.yaml). */
const SNOWFLAKE_ANALYSTS = '90a07bb0-22a6-555f-905e-b5705afe489c';

let dataDir: string;
let ports: HostPorts;
let host: HostProcess | undefined;
let browser: Browser;

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-e2e-approve-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  ports = ANY_PORTS;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await stopHost();
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function stopHost(): Promise<void> {
  if (!host) return;
  host.child.kill('SIGTERM');
  await host.exited;
  host = undefined;
}

/** `npm start` (the same entry) chatting as `as`, then the Playground open in a fresh page. */
async function startAs(as: string, fresh = false): Promise<Page> {
  await stopHost();
  host = await startHostProcess(
    ENTRY.main,
    ['--data', dataDir, '--as', as, ...(fresh ? ['--fresh'] : [])],
    { ...ports },
    30000,
  );
  const running = host;
  await eventually(
    async () => (running.output().includes('Press Ctrl+C to stop.') ? true : undefined),
    45000,
    'the start-up banner',
  );
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const { playground } = await running.currentPorts();
  await page.goto(`http://127.0.0.1:${playground}`, { waitUntil: 'networkidle' });
  // Opening the chat installs the app for this person: the bot welcomes them and remembers the conversation.
  await page.getByText('Welcome to Attest').first().waitFor({ timeout: 30000 });
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.locator('[contenteditable="true"]').first().click();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
}

/** The newest card on the page with `text` in it. */
function card(page: Page, text: string) {
  return page.locator('.ac-adaptiveCard').filter({ hasText: text }).last();
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

test('a requester asks on the card, the manager approves on theirs, and the grant is real and audited', async () => {
  // On a fresh start the manager never opened Attest: the bot installs the app for her through Graph (the
  // simulator's org catalog) when her approval card is due, instead of escalating past her.
  // The requester asks in their own words and completes the prefilled card.
  let page = await startAs('alex.chen', true);
  await say(page, 'I need Snowflake analyst for 3 days');
  const form = card(page, 'Request access');
  await form.waitFor({ timeout: 20000 });
  await form.locator('textarea').first().fill('Quarterly revenue analysis for the finance review');
  await shot(page, 'e2e-2-request-card');
  await form.getByRole('button', { name: 'Submit request' }).click();
  const submitted = card(page, 'Request submitted');
  await submitted.waitFor({ timeout: 20000 });
  const requestId = /Request ([0-9a-f-]{36})/.exec(await submitted.innerText())?.[1] as string;
  expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
  await shot(page, 'e2e-3-submitted');
  await page.close();

  // The manager sees the request waiting on her and approves it on the card.
  page = await startAs('priya.raman');
  await say(page, 'pending');
  const approval = card(page, 'Stage 1 of 1');
  await approval.waitFor({ timeout: 20000 });
  const text = await approval.innerText();
  expect(text).toContain(`${alex.displayName} (${alex.userPrincipalName})`);
  expect(text).toContain('Snowflake · Analyst');
  expect(text).toContain('Quarterly revenue analysis for the finance review');
  await shot(page, 'e2e-4-approval-card');
  await approval.getByRole('button', { name: 'Approve' }).click();
  await card(page, `Approved by ${priya.displayName}`).waitFor({ timeout: 20000 });
  await shot(page, 'e2e-5-approved');

  // The membership is in the directory (the Graph simulator the host runs).
  const live = JSON.parse(fs.readFileSync(path.join(dataDir, 'host.json'), 'utf8')) as {
    graph: { url: string; token: string };
  };
  await eventually(
    async () => {
      const res = await fetch(`${live.graph.url}/groups/${SNOWFLAKE_ANALYSTS}/members?$select=id&$top=999`, {
        headers: { authorization: `Bearer ${live.graph.token}` },
      });
      const body = (await res.json()) as { value: { id: string }[] };
      return body.value.some((m) => m.id === alex.id) ? true : undefined;
    },
    30000,
    'Alex to be a member of the Snowflake analysts group',
  );
  await page.close();

  // The requester sees the access he now holds.
  page = await startAs('alex.chen');
  await say(page, 'my access');
  const mine = card(page, 'Snowflake · Analyst');
  await mine.waitFor({ timeout: 20000 });
  await shot(page, 'e2e-6-my-access');
  await say(page, `status ${requestId}`);
  await page.getByText('access was granted').first().waitFor({ timeout: 20000 });
  await page.close();
  await stopHost();

  // Every step is in the audit log, and the chain verifies.
  const verify = await runToExit(CLI, ['verify', '--data', dataDir], { ...ports });
  expect(verify.stderr).toBe('');
  expect(verify.code).toBe(0);
  expect(verify.stdout).toMatch(/ok/i);
  const log = await runToExit(CLI, ['log', requestId, '--data', dataDir], { ...ports });
  expect(log.stdout).not.toContain('approval.escalated');
  // The app was installed for Priya in the simulated tenant, and that is on record.
  const tenant = JSON.parse(fs.readFileSync(path.join(dataDir, 'graph-sim', 'tenant.json'), 'utf8')) as {
    tenant: { appInstallations?: { userId: string }[] };
  };
  expect(tenant.tenant.appInstallations?.map((i) => i.userId)).toEqual([priya.id]);
  const installed = await runToExit(CLI, ['log', `teams:${priya.id}`, '--data', dataDir], { ...ports });
  expect(installed.stdout).toContain('teams.app-installed');
  expect(log.stdout).toContain('approval.decided by priya.raman@contoso.example (teams)');
  expect(log.stdout).toContain('access.granted');
});
