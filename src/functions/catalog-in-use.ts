/**
 * Which catalog a host runs on: the configured file when it loads (syntax and schema; no directory needed),
 * otherwise the last good one kept in Table Storage, with the file's problem so new requests can be refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadCatalogFile, parseCatalog, type LoadedCatalog } from '../adapters/catalog/catalog-file.loader';
import type { CatalogSnapshotStore } from '../adapters/tables/catalog-snapshot.store';
import { ConfigError, type AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import type { Clock } from '../ports/clock.port';
import { appRoot } from './app-root';

/**
 * The catalog file a host loads, from ATTEST_CATALOG_PATH: in Azure a relative path is resolved against the app
 * root (the deployed package, where `npm run package` puts the admin's catalog at catalog/catalog.yaml), because
 * the Functions worker's working directory is not the app's; locally against the working directory, as every
 * other path a person types.
 */
export function catalogFilePath(
  config: Pick<AttestConfig, 'host' | 'catalogPath'>,
  root: string = appRoot(),
): string {
  return config.host === 'azure' ? path.resolve(root, config.catalogPath) : path.resolve(config.catalogPath);
}

/**
 * Start-up check in Azure: the configured catalog file is there (its content is validated when the services
 * are built, with the last good catalog as the fallback). Throws a ConfigError naming the setting, its value and
 * the resolved path.
 */
export function requireCatalogFile(
  config: Pick<AttestConfig, 'host' | 'catalogPath'>,
  root: string = appRoot(),
): string {
  const file = catalogFilePath(config, root);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new ConfigError(
      'ATTEST_CATALOG_PATH',
      `is "${config.catalogPath}", which resolves to ${file}, and there is no file there`,
      config.host === 'azure'
        ? 'Deploy the package `npm run package` builds (it holds the catalog at catalog/catalog.yaml, the default), or set ATTEST_CATALOG_PATH to a file inside the package, relative to its root'
        : 'Set ATTEST_CATALOG_PATH to the catalog file (format: docs/catalog.md)',
    );
  }
  return file;
}

/** The catalog a host runs on, and where it came from. */
export interface CatalogInUse {
  loaded: LoadedCatalog;
  /** `file`: the configured file loaded; `last-good`: it did not, and the last good one (from storage) is used. */
  source: 'file' | 'last-good';
  /** Why the file is not used (a CATALOG.INVALID or CATALOG.NOT_FOUND error), when `source` is `last-good`. */
  fileProblem?: DomainError;
  /** When the last good catalog was saved, when `source` is `last-good`. */
  savedAt?: string;
}

/**
 * Loads the catalog file (syntax and schema, no directory) and keeps it as the last good catalog. When the file
 * does not load, the last good catalog from storage is used instead and the file's problem is returned with it;
 * with no last good catalog (a first start) the file's error is thrown: there is nothing to run on.
 */
export async function loadCatalogOrLastGood(
  file: string,
  snapshots: CatalogSnapshotStore,
  clock: Clock,
): Promise<CatalogInUse> {
  try {
    const loaded = await loadCatalogFile(file);
    await snapshots.save({
      text: loaded.text,
      file: loaded.file,
      stamp: loaded.stamp,
      savedAt: clock.now().toISOString(),
    });
    return { loaded, source: 'file' };
  } catch (err) {
    if (!(err instanceof DomainError && err.code.startsWith('CATALOG.'))) throw err;
    const last = await snapshots.lastGood();
    if (!last) throw err;
    let loaded: LoadedCatalog;
    try {
      loaded = parseCatalog(last.text, last.file);
    } catch {
      throw err; // the kept one no longer validates either (a newer validator): the file's problem is the news
    }
    return { loaded, source: 'last-good', fileProblem: err, savedAt: last.savedAt };
  }
}

/** What a submission is told while the catalog file does not load. */
export function newRequestsPaused(inUse: CatalogInUse): string {
  const { stamp, file } = inUse.loaded;
  return [
    `New requests are paused: the access catalog does not load (${inUse.fileProblem?.code}).`,
    inUse.fileProblem?.message ?? '',
    `Requests already made, revocations and reviews go on under the last good catalog, ${stamp.catalogId} v${stamp.version} from ${file} (saved ${inUse.savedAt}). An admin fixes the file and restarts Attest.`,
  ].join('\n');
}
