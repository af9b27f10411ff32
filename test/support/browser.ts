/**
 * Test support: Debian's Chromium driven by playwright-core (no browser download), headless, with the
 * background-networking features off (this machine has no internet). playwright-core gives every launch a
 * fresh temporary profile. `npm test` installs it first when missing (scripts/ensure-chromium.mjs, which looks
 * in the same place: CHROMIUM_PATH, else /usr/bin/chromium).
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Where screenshots are kept as test artifacts. */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-results');

/** Launches headless Chromium; a missing browser is a clear error, not a skip. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's Chromium (npm test installs it as root; else sudo apt-get install -y chromium, or set CHROMIUM_PATH).`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
