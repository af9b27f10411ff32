/**
 * The evidence e-mail's delivery records in table EvidenceMail (PartitionKey `period`, RowKey the period key),
 * the record as JSON in `doc`. One row per period: what the bundle came to, and whether its mail was sent.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { EvidenceDelivery, EvidenceDeliveryStore } from '../../ports/evidence-mail.port';

const PARTITION = 'period';

/** An {@link EvidenceDeliveryStore} on Table Storage. */
export class TableEvidenceDeliveryStore implements EvidenceDeliveryStore {
  constructor(private readonly table: TableClient) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  async get(key: string): Promise<EvidenceDelivery | undefined> {
    try {
      const row = await this.table.getEntity<{ doc: string }>(PARTITION, key);
      return JSON.parse(row.doc) as EvidenceDelivery;
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 404) return undefined;
      throw err;
    }
  }

  async put(delivery: EvidenceDelivery): Promise<void> {
    await this.table.upsertEntity(
      { partitionKey: PARTITION, rowKey: delivery.key, state: delivery.state, doc: JSON.stringify(delivery) },
      'Replace',
    );
  }

  async owed(): Promise<EvidenceDelivery[]> {
    const out: EvidenceDelivery[] = [];
    const rows = this.table.listEntities<{ doc: string }>({
      queryOptions: { filter: `PartitionKey eq '${PARTITION}' and state ne 'sent'` },
    });
    for await (const row of rows) out.push(JSON.parse(row.doc) as EvidenceDelivery);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
}
