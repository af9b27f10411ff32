/**
 * The request projection in Table Storage: table AccessRequests, PartitionKey = requester object id (so
 * "my requests" is one partition), RowKey = request id; plus an index row per request id for lookups by id.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { awaitsDecision, waitsOn, type AccessRequest } from '../../domain/request/access-request';
import type { RequestStore } from '../../ports/request-store.port';

const BY_ID = 'by-id';
const MAX_DOC_CHARS = 30000;

/** The AccessRequests table. */
export class TableRequestStore implements RequestStore {
  constructor(private readonly table: TableClient) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  async save(request: AccessRequest): Promise<void> {
    const doc = JSON.stringify(request);
    if (doc.length > MAX_DOC_CHARS)
      throw new Error(`Request ${request.id} is too large to store (${doc.length} characters).`);
    const requester = request.requester.id.toLowerCase();
    // Two partitions, so not one transaction: the by-id row is written last and both are idempotent upserts.
    await this.table.upsertEntity(
      { partitionKey: requester, rowKey: request.id, doc, status: request.status },
      'Replace',
    );
    await this.table.upsertEntity(
      {
        partitionKey: BY_ID,
        rowKey: request.id,
        requester,
        doc,
        status: request.status,
        awaiting: awaitsDecision(request),
      },
      'Replace',
    );
  }

  async get(id: string): Promise<AccessRequest | undefined> {
    try {
      const row = await this.table.getEntity<{ doc: string }>(BY_ID, id);
      return JSON.parse(row.doc) as AccessRequest;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async awaitingDecisionBy(approverId: string): Promise<AccessRequest[]> {
    const out: AccessRequest[] = [];
    for await (const row of this.table.listEntities<{ doc: string }>({
      queryOptions: { filter: `PartitionKey eq '${BY_ID}' and awaiting eq true` },
    })) {
      const r = JSON.parse(row.doc) as AccessRequest;
      if (waitsOn(r, approverId)) out.push(r);
    }
    return out.sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
  }

  async byRequester(requesterId: string): Promise<AccessRequest[]> {
    const pk = requesterId.toLowerCase().replace(/'/g, "''");
    const out: AccessRequest[] = [];
    for await (const row of this.table.listEntities<{ doc: string }>({
      queryOptions: { filter: `PartitionKey eq '${pk}'` },
    })) {
      out.push(JSON.parse(row.doc) as AccessRequest);
    }
    return out.sort((a, b) => b.submittedAt.localeCompare(a.submittedAt));
  }
}
