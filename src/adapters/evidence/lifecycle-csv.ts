/**
 * The evidence export's CSV, shared by `attest export` (streamed to a file) and the tab's Evidence view
 * (one response): one row per access lifecycle (docs/evidence.md), cells formula-neutralised by the model.
 */
import { Readable } from 'node:stream';
import { stringify, type Options } from 'csv-stringify';
import { lifecycleRows } from '../../domain/evidence/lifecycle-rows.projection';
import { LIFECYCLE_HEADER, toCsvCells } from '../../domain/evidence/lifecycle-row.model';
import type { AuditEvent } from '../../domain/audit/audit-event.model';

/** csv-stringify's options for the lifecycle export. */
export const LIFECYCLE_CSV_OPTIONS: Options = {
  header: true,
  columns: [...LIFECYCLE_HEADER],
  record_delimiter: 'windows',
  // NB. quote bare CR and LF too: csv-stringify only quotes the record delimiter (CRLF) by itself.
  quoted_match: /[\r\n]/,
};

/**
 * The lifecycle CSV of `events` (every stream, each in seq order) for lifecycles requested in [from, to), in
 * memory: what one HTTP answer carries. The CLI streams the same rows to a file instead.
 */
export async function lifecycleCsv(
  events: AsyncIterable<AuditEvent>,
  window: { from: string; to: string },
): Promise<{ csv: string; rows: number }> {
  let rows = 0;
  async function* cells(): AsyncIterable<string[]> {
    for await (const row of lifecycleRows(events, window)) {
      rows++;
      yield toCsvCells(row);
    }
  }
  const chunks: string[] = [];
  for await (const chunk of Readable.from(cells()).pipe(stringify(LIFECYCLE_CSV_OPTIONS)))
    chunks.push(String(chunk));
  return { csv: chunks.join(''), rows };
}
