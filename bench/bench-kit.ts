/** What every bench section shares: the row shape, percentiles, and an Azurite of its own. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createTableFactory, type TableFactory } from '../src/adapters/tables/table-client-factory';
import { startAzurite } from '../src/local/azurite';

/** One printed figure. */
export interface BenchRow {
  figure: string;
  value: string;
  /** The figure the issue asks for, when it names one (e.g. `5 s`). */
  goal?: string;
  note: string;
}

/** A bench section: `bench/<name>.bench.ts` exports `run` returning its rows. */
export type BenchSection = () => Promise<BenchRow[]>;

/** The repository root (bench files run from dist/bench). */
export const ROOT = path.resolve(__dirname, '..', '..');

/** The p-th percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs `fn` with a fresh Azurite (own folder, free ports), stopped afterwards. */
export async function withStorage<T>(fn: (tables: TableFactory, dataDir: string) => Promise<T>): Promise<T> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-bench-'));
  const azurite = await startAzurite({ dataDir, tablePort: 0, blobPort: 0 });
  try {
    return await fn(
      createTableFactory({ mode: 'embedded', tablePort: azurite.tablePort, blobPort: azurite.blobPort }),
      dataDir,
    );
  } finally {
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
