/**
 * Storage for a CLI command: the configured account, or — in embedded mode — the Azurite of a data folder
 * (`--data DIR`, default `.attest`, the same option as `npm start`). A running `npm start` on that folder is
 * adopted and left running; otherwise the CLI starts Azurite for the command and stops it afterwards.
 */
import path from 'node:path';
import { BlobAnchorStore } from '../adapters/blobs/blob-anchor.store';
import { systemClock } from '../adapters/system-clock';
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { createTableFactory, type TableFactory } from '../adapters/tables/table-client-factory';
import { loadConfigFromProcess, type AttestConfig } from '../config/config';
import { startAzurite } from '../local/azurite';
import type { AnchorStore } from '../ports/anchor-store.port';
import type { Clock } from '../ports/clock.port';

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

/** The audit log of a command's storage, anchored in its anchor store, its tables created if missing. */
export async function openAuditLog(storage: CliStorage, clock: Clock = systemClock): Promise<AuditLogStore> {
  const log = AuditLogStore.on(storage.tables, clock, storage.anchors);
  await log.init();
  return log;
}

/**
 * Runs `fn` on the audit log of `dataDir`'s storage (as configured) — anchored in the blob anchors and with the
 * touched-streams index, as every writer must be — and lets go of the storage after.
 */
export async function withAuditLog<T>(dataDir: string, fn: (log: AuditLogStore) => Promise<T>): Promise<T> {
  const storage = await openCliStorage(loadConfigFromProcess('local'), dataDir);
  try {
    return await fn(await openAuditLog(storage));
  } finally {
    await storage.close();
  }
}
