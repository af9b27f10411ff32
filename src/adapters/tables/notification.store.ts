/**
 * Notifications kept in table Notifications (PartitionKey = request id, RowKey = notification id), for the
 * Teams adapter to deliver and for the CLI to show. Insert-only: a retried activity's second insert is a
 * 409 and changes nothing.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { Notification, Notifier } from '../../ports/notifier.port';
import type { Clock } from '../../ports/clock.port';

/** A Notifier that writes to a table. */
export class TableNotifier implements Notifier {
  constructor(
    private readonly table: TableClient,
    private readonly clock: Clock,
  ) {}

  /** Creates the table if needed. */
  async init(): Promise<void> {
    await this.table.createTable();
  }

  async notify(n: Notification): Promise<void> {
    try {
      await this.table.createEntity({
        partitionKey: n.requestId,
        rowKey: n.id,
        kind: n.kind,
        recipients: n.recipients.join(','),
        text: n.text,
        createdAt: this.clock.now(),
      });
    } catch (err) {
      if (err instanceof RestError && err.statusCode === 409) return;
      throw err;
    }
  }

  /** A request's notifications, oldest first. */
  async forRequest(requestId: string): Promise<(Notification & { createdAt: Date })[]> {
    const pk = requestId.replace(/'/g, "''");
    const out: (Notification & { createdAt: Date })[] = [];
    for await (const row of this.table.listEntities<{
      kind: string;
      recipients: string;
      text: string;
      createdAt: Date;
    }>({
      queryOptions: { filter: `PartitionKey eq '${pk}'` },
    })) {
      out.push({
        id: row.rowKey as string,
        requestId,
        kind: row.kind as Notification['kind'],
        recipients: row.recipients ? row.recipients.split(',') : [],
        text: row.text,
        createdAt: new Date(row.createdAt),
      });
    }
    return out.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}
