/**
 * Builds the BlobServiceClient for whichever storage the configuration names, as table-client-factory.ts
 * does for tables: embedded Azurite (the blob port of the same Azurite), a connection string, or the
 * account's blob endpoint reached with a managed identity (ATTEST_STORAGE_BLOB_URL, or — when unset — the
 * table endpoint's account with `.blob.` for `.table.`).
 */
import { BlobServiceClient, StorageSharedKeyCredential, newPipeline } from '@azure/storage-blob';
import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import type { StorageConfig } from '../../config/config';
import { azuriteConnectionString } from '../tables/table-client-factory';
import { blobSpanFactory } from '../telemetry/storage-spans';

/** The client with a span per call (telemetry/storage-spans.ts); no-op spans unless a tracer provider is set. */
function withSpans(service: BlobServiceClient): BlobServiceClient {
  const pipeline = newPipeline(service.credential);
  pipeline.factories.push(blobSpanFactory);
  return new BlobServiceClient(service.url, pipeline);
}

/**
 * How links to blobs are signed: with the account key (connection strings, Azurite), with a user delegation
 * key obtained through the managed identity, or not at all (a connection string holding a SAS, not a key).
 */
export type BlobSigning = 'account-key' | 'user-delegation' | 'none';

/** A blob service client and how it can sign read-only links. */
export interface BlobAccess {
  service: BlobServiceClient;
  signing: BlobSigning;
}

/**
 * The blob endpoint of a managed-identity configuration: ATTEST_STORAGE_BLOB_URL when set, else derived from
 * the table endpoint (`https://<account>.table.core.windows.net` → `https://<account>.blob.core.windows.net`,
 * any cloud's suffix). Throws with the setting to add when neither works.
 */
export function blobUrlOf(storage: Extract<StorageConfig, { mode: 'managed-identity' }>): string {
  if (storage.blobUrl) return storage.blobUrl;
  const url = new URL(storage.tableUrl);
  const [account, service, ...suffix] = url.hostname.split('.');
  if (service !== 'table' || !account || suffix.length === 0) {
    throw new Error(
      `config: ATTEST_STORAGE_BLOB_URL is missing and cannot be derived from ATTEST_STORAGE_TABLE_URL ` +
        `(${storage.tableUrl} is not https://<account>.table.<suffix>). Set ATTEST_STORAGE_BLOB_URL to the ` +
        'blob endpoint, e.g. https://<account>.blob.core.windows.net',
    );
  }
  return `https://${[account, 'blob', ...suffix].join('.')}`;
}

/** The blob service for the storage the configuration names. */
export function createBlobAccess(storage: StorageConfig): BlobAccess {
  if (storage.mode === 'managed-identity') {
    const credential: TokenCredential = storage.clientId
      ? new ManagedIdentityCredential({ clientId: storage.clientId })
      : new DefaultAzureCredential();
    return {
      service: withSpans(new BlobServiceClient(blobUrlOf(storage), credential)),
      signing: 'user-delegation',
    };
  }
  const cs =
    storage.mode === 'embedded'
      ? azuriteConnectionString(storage.tablePort, storage.blobPort)
      : storage.connectionString;
  const service = withSpans(BlobServiceClient.fromConnectionString(cs));
  // NB. a connection string with a SAS instead of a key can write blobs but sign no links; bundleFileUrl says so.
  return {
    service,
    signing: service.credential instanceof StorageSharedKeyCredential ? 'account-key' : 'none',
  };
}
