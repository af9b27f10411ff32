/** Test support: an embedded Azurite of its own for a test file, on ports the OS assigns, and a temporary folder. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTableFactory, type TableFactory } from '../../src/adapters/tables/table-client-factory';
import { startAzurite, type EmbeddedAzurite } from '../../src/local/azurite';

/** A running Azurite and a factory for its tables. */
export interface TestStorage {
  dataDir: string;
  azurite: EmbeddedAzurite;
  tables: TableFactory;
  stop(): Promise<void>;
}

/** Starts Azurite for one test file; `stop` shuts it down and removes its folder. */
export async function startTestStorage(prefix = 'attest-test-'): Promise<TestStorage> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const azurite = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  const tables = createTableFactory({
    mode: 'embedded',
    tablePort: azurite.tablePort,
    blobPort: azurite.blobPort,
  });
  return {
    dataDir,
    azurite,
    tables,
    async stop() {
      await azurite.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 20000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`,
  );
}
