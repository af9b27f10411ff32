import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { stopLeftoverAzurite } from '../../src/local/azurite';
import { PLAYGROUND_USERS } from '../../src/local/graph-sim/demo-tenant';
import { ARTIFACTS, launchChromium } from '../support/browser';
import { ENTRY, ANY_PORTS, startHostProcess, type HostProcess } from '../support/host-process';

let dataDir: string;
let host: HostProcess | undefined;
let browser: Browser | undefined;

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-e2e-start-'));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  host?.child.kill('SIGTERM');
  if (host) await host.exited;
  await stopLeftoverAzurite(dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('npm start on fresh data is healthy within 15 s, and the bot answers in the Agents Playground', async () => {
  // The same entry `npm start` runs, with the Playground; healthy within 15 s or the test fails.
  host = await startHostProcess(ENTRY.main, ['--data', dataDir, '--fresh'], { ...ANY_PORTS }, 15000);

  const health = (await (await fetch(`${host.url}/healthz`)).json()) as {
    status: string;
    modes: Record<string, string>;
  };
  expect(health.status).toBe('ok');
  expect(health.modes).toEqual({
    storage: 'embedded',
    directory: 'simulator',
    tickets: 'none',
    mail: 'simulator',
    bot: 'anonymous',
    tab: 'local',
    orchestrations: 'local-replay-host',
  });

  const running = host;
  await new Promise<void>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`no banner:\n${running.output()}`)), 45000);
    const poll = setInterval(() => {
      if (running.output().includes('Press Ctrl+C to stop.')) {
        clearTimeout(deadline);
        clearInterval(poll);
        resolve();
      }
    }, 100);
  });
  const { playground } = await host.currentPorts();
  expect(host.output()).toContain(`Open http://127.0.0.1:${playground}`);

  browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(`http://127.0.0.1:${playground}`, { waitUntil: 'networkidle' });
  await expect(page.title()).resolves.toBe('Microsoft 365 Agents Playground');
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground-loaded.png') });

  // A round trip through the Bot Framework protocol: the Playground posts to /api/messages, the bot replies
  // through the Playground's connector, and knows who is chatting (the demo tenant's default user).
  const editor = page.locator('[contenteditable="true"]').first();
  await editor.click();
  await page.keyboard.type('help');
  await page.keyboard.press('Enter');
  const me = PLAYGROUND_USERS[0];
  await page.getByText(`Signed in as ${me.displayName} (${me.id})`).first().waitFor({ timeout: 20000 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'playground-bot-reply.png') });
});
