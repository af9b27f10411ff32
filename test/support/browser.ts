/**
 * Test support: Debian's Chromium driven by playwright-core (no browser download), headless, with the
 * background-networking features off (this machine has no internet). playwright-core gives every launch a
 * fresh temporary profile.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Where screenshots are kept as test artifacts. */
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-results');

/** Launches headless Chromium; a missing browser is a clear error, not a skip. */
export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install -y chromium).`,
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
