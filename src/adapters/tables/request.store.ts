/**
 * The request projection in Table Storage: table AccessRequests, PartitionKey = requester object id (so
 * "my requests" is one partition), RowKey = request id; plus an index row per request id for lookups by id.
 *
 * Each row holds the request as JSON. NB. Table Storage holds at most 64 KiB in a string property (32K UTF-16
 * code units) and 1 MiB in an entity, and a request can outgrow one property (a stage resolved to a few
 * hundred approvers): a document longer than one part is split over `doc`, `doc1`, `doc2`, … with `docParts`
 * saying how many. A document of one part is written as rows always were (`doc` alone), and such rows read
 * as they are.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { awaitsDecision, waitsOn, type AccessRequest } from '../../domain/request/access-request';
import type { RequestStore } from '../../ports/request-store.port';

const BY_ID = 'by-id';
/** Characters in one property, under the 32,768 UTF-16 code units Table Storage allows. */
const PART_CHARS = 30_000;
/** Parts in one row: 15 × 30,000 UTF-16 characters is 900,000 bytes, under the 1 MiB entity with the rest. */
const MAX_PARTS = 15;

/** The row properties that hold `doc`. */
type DocProperties = { doc: string; docParts?: number } & Record<string, string | number>;

/** Splits a document into parts, never between the two halves of a surrogate pair. */
function docProperties(id: string, doc: string): DocProperties {
  const parts: string[] = [];
  for (let at = 0; at < doc.length;) {
    let end = Math.min(at + PART_CHARS, doc.length);
    const last = doc.charCodeAt(end - 1);
    if (end < doc.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    parts.push(doc.slice(at, end));
    at = end;
  }
  if (parts.length > MAX_PARTS) {
    throw new Error(
      `Request ${id} is too large to store (${doc.length} characters; at most about ${PART_CHARS * MAX_PARTS}).`,
    );
  }
  if (parts.length <= 1) return { doc };
  const props: DocProperties = { doc: parts[0] as string, docParts: parts.length };
  parts.forEach((part, i) => {
    if (i > 0) props[`doc${i}`] = part;
  });
  return props;
}

/** The request a row holds, in either format. */
function requestOf(row: Record<string, unknown>): AccessRequest {
  const parts = typeof row.docParts === 'number' ? row.docParts : 1;
  let doc = row.doc as string;
  for (let i = 1; i < parts; i++) {
    const part = row[`doc${i}`];
    if (typeof part !== 'string') throw new Error(`Stored request ${String(row.rowKey)} lacks part ${i}.`);
    doc += part;
  }
  return JSON.parse(doc) as AccessRequest;
}

/** The AccessRequests table. */
export class TableRequestStore implements RequestStore {
  constructor(private readonly table: TableClient) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  async save(request: AccessRequest): Promise<void> {
    const doc = docProperties(request.id, JSON.stringify(request));
    const requester = request.requester.id.toLowerCase();
    // Two partitions, so not one transaction: the by-id row is written last and both are idempotent upserts.
    // NB. 'Replace', so the parts of a longer earlier version do not linger.
    await this.table.upsertEntity(
      { partitionKey: requester, rowKey: request.id, ...doc, status: request.status },
      'Replace',
    );
    await this.table.upsertEntity(
      {
        partitionKey: BY_ID,
        rowKey: request.id,
        requester,
        ...doc,
        status: request.status,
        awaiting: awaitsDecision(request),
      },
      'Replace',
    );
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    try {
      return requestOf(await this.table.getEntity<Record<string, unknown>>(BY_ID, id));
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async awaitingDecisionBy(approverId: string): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${BY_ID}' and awaiting eq true` },
    })) {
      const r = requestOf(row);
      if (waitsOn(r, approverId)) out.push(r);
    }
    return out.sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
  }

  async byRequester(requesterId: string): Promise<AccessRequest[]> {
    const pk = requesterId.toLowerCase().replace(/'/g, "''");
    const out: AccessRequest[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: `PartitionKey eq '${pk}'` },
    })) {
      out.push(requestOf(row));
    }
    return out.sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
  }
}
