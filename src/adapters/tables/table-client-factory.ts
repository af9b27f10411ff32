/**
 * Builds TableClients for whichever storage the configuration names: embedded Azurite (local host), a
 * connection string, or an account URL reached with a managed identity.
 */
import { TableClient, TableServiceClient } from '@azure/data-tables';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { StorageConfig } from '../../config/config';
import { tableSpanPolicies } from '../telemetry/storage-spans';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The connection string for an Azurite listening on loopback at these ports. */
export function azuriteConnectionString(tablePort: number, blobPort: number): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${AZURITE_KEY}`,
    `TableEndpoint=http://127.0.0.1:${tablePort}/${AZURITE_ACCOUNT}`,
    `BlobEndpoint=http://127.0.0.1:${blobPort}/${AZURITE_ACCOUNT}`,
  ].join(';');
}

/** Makes TableClients for one storage account; `ensureTable` creates a table once per factory. */
export interface TableFactory {
  /** The storage these tables are in (Azurite's bound ports when embedded): the blob factory uses it too. */
  readonly storage: StorageConfig;
  client(table: string): TableClient;
  ensureTable(table: string): Promise<TableClient>;
  service(): TableServiceClient;
}

/** A factory for the storage the configuration names. */
export function createTableFactory(storage: StorageConfig): TableFactory {
  let make: (table: string) => TableClient;
  let service: () => TableServiceClient;
  if (storage.mode === 'managed-identity') {
    const credential: TokenCredential = storage.clientId
      ? new ManagedIdentityCredential({ clientId: storage.clientId })
      : new DefaultAzureCredential();
    const options = { additionalPolicies: tableSpanPolicies };
    make = (table) => new TableClient(storage.tableUrl, table, credential, options);
    service = () => new TableServiceClient(storage.tableUrl, credential, options);
  } else {
    const cs =
      storage.mode === 'embedded'
        ? azuriteConnectionString(storage.tablePort, storage.blobPort)
        : storage.connectionString;
    const options = {
      allowInsecureConnection: storage.mode === 'embedded' || cs.includes('http://'),
      // Spans for every call (telemetry/storage-spans.ts): no-ops unless a tracer provider is registered.
      additionalPolicies: tableSpanPolicies,
    };
    make = (table) => TableClient.fromConnectionString(cs, table, options);
    service = () => TableServiceClient.fromConnectionString(cs, options);
  }
  const ensured = new Map<string, Promise<TableClient>>();
  return {
    storage,
    client: make,
    service,
    ensureTable(table) {
      let pending = ensured.get(table);
      if (!pending) {
        const client = make(table);
        pending = client.createTable().then(() => client);
        // NB. a failed create must not poison later attempts (storage may still be starting).
        pending.catch(() => ensured.delete(table));
        ensured.set(table, pending);
      }
      return pending;
    },
  };
}
