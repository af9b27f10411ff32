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
import { ConfigError, loadConfigFromProcess, type AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import { PortInUseError } from '../local/port-check';
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

/**
 * Runs a command body on the configured storage of `dataDir` and lets go of it after: a configuration or port
 * problem opening it is printed and exit 2, a DomainError from the body `attest: <code>: <message>` and exit 1.
 */
export async function withCommandStorage(
  options: { dataDir: string; config?: AttestConfig },
  err: (line: string) => void,
  body: (storage: CliStorage, config: AttestConfig) => Promise<number>,
): Promise<number> {
  let config: AttestConfig;
  let storage: CliStorage;
  try {
    config = options.config ?? loadConfigFromProcess('local');
    storage = await openCliStorage(config, options.dataDir);
  } catch (e) {
    if (e instanceof ConfigError || e instanceof PortInUseError) {
      err(e.message);
      return 2;
    }
    throw e;
  }
  try {
    return await body(storage, config);
  } catch (e) {
    if (e instanceof DomainError) {
      err(`attest: ${e.code}: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await storage.close();
  }
}
