/**
 * The last good access catalog, kept in Table Storage: the exact YAML text that loaded, the file it came from
 * and its stamp. A host whose catalog file no longer loads (a bad edit, a missing file) goes on deciding,
 * revoking and digesting on this one; only new requests wait for a file that loads.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { CatalogStamp } from '../../domain/catalog/catalog.model';

/** A catalog that loaded, as kept. */
export interface CatalogSnapshot {
  readonly text: string;
  readonly file: string;
  readonly stamp: CatalogStamp;
  /** When it was saved (ISO 8601). */
  readonly savedAt: string;
}

const PARTITION = 'catalog';
const LAST_GOOD = 'last-good';
/** NB. A string property holds at most 64 KiB (32 K UTF-16 characters): longer text is split over several. */
const CHUNK = 30000;
const MAX_CHUNKS = 30; // an entity holds at most 1 MiB; 30 chunks is about 900 K characters

/** Reads and writes the last good catalog. */
export class CatalogSnapshotStore {
  constructor(private readonly table: TableClient) {}

  async init(): Promise<void> {
    await this.table.createTable();
  }

  /** The last good catalog, if one was ever saved. */
  async lastGood(): Promise<CatalogSnapshot | undefined> {
    let row: Record<string, unknown>;
    try {
      row = await this.table.getEntity<Record<string, unknown>>(PARTITION, LAST_GOOD);
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
    const chunks = Number(row.chunks);
    let text = '';
    for (let i = 0; i < chunks; i++) text += String(row[`text${i}`] ?? '');
    return {
      text,
      file: String(row.file),
      stamp: {
        catalogId: String(row.catalogId),
        version: String(row.version),
        contentHash: String(row.contentHash),
      },
      savedAt: String(row.savedAt),
    };
  }

  /** Saves `snapshot` as the last good catalog (unchanged content is not written again). */
  async save(snapshot: CatalogSnapshot): Promise<void> {
    const current = await this.lastGood();
    if (current?.stamp.contentHash === snapshot.stamp.contentHash && current.file === snapshot.file) return;
    const chunks: Record<string, string> = {};
    const n = Math.max(1, Math.ceil(snapshot.text.length / CHUNK));
    if (n > MAX_CHUNKS) {
      throw new Error(
        `The catalog ${snapshot.file} is too large to keep as the last good catalog (${snapshot.text.length} characters).`,
      );
    }
    for (let i = 0; i < n; i++) chunks[`text${i}`] = snapshot.text.slice(i * CHUNK, (i + 1) * CHUNK);
    await this.table.upsertEntity(
      {
        partitionKey: PARTITION,
        rowKey: LAST_GOOD,
        file: snapshot.file,
        catalogId: snapshot.stamp.catalogId,
        version: snapshot.stamp.version,
        contentHash: snapshot.stamp.contentHash,
        savedAt: snapshot.savedAt,
        chunks: n,
        ...chunks,
      },
      'Replace',
    );
  }
}
