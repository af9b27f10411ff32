/**
 * Storage for a CLI command: the configured account, or — in embedded mode — the Azurite of a data folder
 * (`--data DIR`, default `.attest`, the same option as `npm start`). A running `npm start` on that folder is
 * adopted and left running; otherwise the CLI starts Azurite for the command and stops it afterwards.
 */
import path from 'node:path';
import { BlobAnchorStore } from '../adapters/blobs/blob-anchor.store';
import { systemClock } from '../adapters/system-clock';
import { createTableFactory, type TableFactory } from '../adapters/tables/table-client-factory';
import type { AttestConfig } from '../config/config';
import { startAzurite } from '../local/azurite';
import type { AnchorStore } from '../ports/anchor-store.port';

/** Tables and the anchor store for one command, and how to let go of them. */
export interface CliStorage {
  tables: TableFactory;
  /** The digest anchors and evidence bundles (ATTEST_EVIDENCE_CONTAINER on the same account). */
  anchors: AnchorStore;
  close(): Promise<void>;
}

/** Opens the configured storage for a command run against `dataDir`. */
export async function openCliStorage(config: AttestConfig, dataDir: string): Promise<CliStorage> {
  const anchorsOn = (tables: TableFactory) =>
    BlobAnchorStore.on(tables.storage, config.evidence.container, systemClock);
  if (config.storage.mode !== 'embedded') {
    const tables = createTableFactory(config.storage);
    return { tables, anchors: anchorsOn(tables), close: async () => undefined };
  }
  const azurite = await startAzurite({
    dataDir: path.resolve(dataDir),
    tablePort: config.storage.tablePort,
    blobPort: config.storage.blobPort,
  });
  const tables = createTableFactory({
    mode: 'embedded',
    tablePort: azurite.tablePort,
    blobPort: azurite.blobPort,
  });
  return {
    tables,
    anchors: anchorsOn(tables),
    // NB. an adopted Azurite belongs to a running `npm start`: leave it alone.
    close: async () => (azurite.adopted ? undefined : azurite.stop()),
  };
}
