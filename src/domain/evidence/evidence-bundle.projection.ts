/**
 * What an evidence bundle derives from its raw events: which streams it carries, their lifecycle rows, review
 * decisions, drift findings and refused attempts as CSV text, and the summary's figures. The bundle writer and
 * the offline verifier both run this one fold over the same events, which is why a verifier can recompute every
 * derived file and compare it byte for byte (an edited CSV whose manifest entry was updated too is still caught).
 *
 * Streams are fed whole, one at a time (events from seq 1, in order, chain already checked by the caller):
 * memory holds one stream.
 */
import type { AuditEvent, JsonObject, JsonValue } from '../audit/audit-event.model';
import { DomainError } from '../domain-error';
import { neutraliseCell } from './csv-cell.neutraliser';
import { EvidenceErrorCodes } from './evidence.errors';
import { emptySummary, type EvidenceSummary } from './evidence-summary';
import { LIFECYCLE_HEADER, toCsvCells, type LifecycleRow } from './lifecycle-row.model';
import { lifecycleRowOf } from './lifecycle-rows.projection';

/** The bundle's period (`to` exclusive) and the instant it is judged at, all ISO 8601 UTC. */
export interface BundleWindow {
  from: string;
  to: string;
  asOf: string;
}

/** The derived CSV files of a bundle, by file name; `optional` ones are written only when they have rows. */
export const BUNDLE_CSV_FILES = {
  lifecycles: { name: 'lifecycles.csv', optional: false },
  reviewDecisions: { name: 'review-decisions.csv', optional: true },
  driftFindings: { name: 'drift-findings.csv', optional: true },
  refusedAttempts: { name: 'refused-attempts.csv', optional: false },
} as const;

/** One of the derived CSV files. */
export type BundleCsvKey = keyof typeof BUNDLE_CSV_FILES;

/** Header rows of the derived CSV files. NB. auditors' spreadsheets key on these names: add, never rename. */
export const BUNDLE_CSV_HEADERS: Record<BundleCsvKey, readonly string[]> = {
  lifecycles: LIFECYCLE_HEADER,
  reviewDecisions: [
    'stream',
    'seq',
    'time',
    'stage',
    'source',
    'reviewer_id',
    'reviewer_upn',
    'item_id',
    'decision',
    'reason',
    'final',
    'event_hash',
  ],
  driftFindings: [
    'stream',
    'seq',
    'time',
    'finding',
    'group',
    'user_id',
    'request_ids',
    'detail',
    'event_hash',
  ],
  refusedAttempts: [
    'stream',
    'seq',
    'time',
    'actor_id',
    'actor_upn',
    'channel',
    'subject',
    'request_id',
    'code',
    'reason',
    'event_hash',
  ],
};

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * One CSV record with its CRLF, as `attest export` writes them (RFC 4180: a cell holding a quote, comma, CR or
 * LF is quoted, quotes doubled). Cells must already be neutralised.
 */
export function csvRecord(cells: readonly string[]): string {
  let out = '';
  for (let i = 0; i < cells.length; i++) {
    const c = cells[i];
    if (i > 0) out += ',';
    out += NEEDS_QUOTES.test(c) ? `"${c.replace(/"/g, '""')}"` : c;
  }
  return `${out}\r\n`;
}

/** The header record of a derived CSV file. */
export function csvHeader(key: BundleCsvKey): string {
  return csvRecord(BUNDLE_CSV_HEADERS[key]);
}

/** What one stream adds to the derived files: CSV records (text, CRLF-terminated) per file. */
export type StreamRecords = Record<BundleCsvKey, string[]>;

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: JsonObject | undefined, key: string): string {
  const v = o?.[key];
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

function obj(o: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = o?.[key];
  return isObject(v) ? v : undefined;
}

function strings(o: JsonObject | undefined, key: string): string[] {
  const v = o?.[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function record(cells: string[]): string {
  return csvRecord(cells.map(neutraliseCell));
}

function instant(value: string, name: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new DomainError(EvidenceErrorCodes.badRange, `${name} '${value}' is not an ISO 8601 instant.`);
  return ms;
}

/** Open access past its expiry at `asOf`, or a removal that keeps failing. */
function overdueRevocation(row: LifecycleRow | undefined, asOf: number): boolean {
  if (!row) return false;
  if (row.outcome === 'revoking') return true;
  if (row.outcome !== 'granted' || row.expiresAt === undefined) return false;
  const expires = Date.parse(row.expiresAt);
  // NB. a permanent grant records no instant (NaN): it is never overdue.
  return !Number.isNaN(expires) && expires < asOf;
}

/** A campaign whose last stage closed before `asOf` and that never completed. */
function overdueReview(events: readonly AuditEvent[], asOf: number): boolean {
  let lastDeadline = -Infinity;
  let started = false;
  for (const e of events) {
    if (e.action === 'review.completed') return false;
    if (e.action === 'review.started') {
      started = true;
      for (const d of strings(e.details, 'deadlines')) {
        const ms = Date.parse(d);
        if (!Number.isNaN(ms) && ms > lastDeadline) lastDeadline = ms;
      }
    }
  }
  return started && lastDeadline < asOf;
}

/**
 * The fold over a bundle's streams. `include` decides whether a stream belongs in the bundle; `add` then
 * returns the stream's records and counts it in the summary.
 */
export class EvidenceProjection {
  private readonly from: number;
  private readonly to: number;
  private readonly asOf: number;
  private readonly figures: EvidenceSummary;

  constructor(readonly window: BundleWindow) {
    this.from = instant(window.from, 'from');
    this.to = instant(window.to, 'to');
    this.asOf = instant(window.asOf, 'asOf');
    if (this.from >= this.to) {
      throw new DomainError(
        EvidenceErrorCodes.badRange,
        `from (${window.from}) must be before to (${window.to}).`,
      );
    }
    this.figures = emptySummary({ from: window.from, to: window.to }, window.asOf);
  }

  private inPeriod(e: AuditEvent): boolean {
    const t = Date.parse(e.time);
    return t >= this.from && t < this.to;
  }

  /**
   * Whether a whole stream belongs in the bundle: it has an event in the period, or it is a lifecycle whose
   * revocation is overdue at `asOf`, or a campaign overdue at `asOf` (those matter most when nothing happened).
   */
  include(events: readonly AuditEvent[]): boolean {
    for (const e of events) if (this.inPeriod(e)) return true;
    return overdueRevocation(lifecycleRowOf(events), this.asOf) || overdueReview(events, this.asOf);
  }

  /** Counts a stream the bundle carries and returns its records for each derived file. */
  add(events: readonly AuditEvent[]): StreamRecords {
    const out: StreamRecords = {
      lifecycles: [],
      reviewDecisions: [],
      driftFindings: [],
      refusedAttempts: [],
    };
    if (events.length === 0) return out;
    const f = this.figures;
    f.bundle.streams++;
    f.bundle.events += events.length;
    const row = lifecycleRowOf(events);
    if (row) {
      out.lifecycles.push(csvRecord(toCsvCells(row)));
      f.requests.lifecycles++;
      f.requests.byOutcome[row.outcome]++;
      if (overdueRevocation(row, this.asOf)) f.overdueRevocations.open++;
    }
    if (overdueReview(events, this.asOf)) f.reviews.overdue++;
    for (const e of events) {
      if (!this.inPeriod(e)) continue;
      const d = e.details;
      const at = [e.stream, String(e.seq), e.time];
      switch (e.action) {
        case 'request.submitted':
          f.requests.submitted++;
          break;
        case 'approval.decided':
          if (str(d, 'decision') === 'denied') f.approvals.denied++;
          else f.approvals.approved++;
          break;
        case 'access.granted':
          f.grants++;
          break;
        case 'access.revoked': {
          const reason = str(d, 'reason') || '(none)';
          f.revocations.total++;
          f.revocations.byReason[reason] = (f.revocations.byReason[reason] ?? 0) + 1;
          break;
        }
        case 'revocation.overdue':
          f.overdueRevocations.carriedOut++;
          out.driftFindings.push(
            record([
              ...at,
              'revocation-overdue',
              str(obj(d, 'group'), 'id'),
              str(d, 'userId'),
              strings(d, 'requestIds').join(' '),
              `owed since ${str(d, 'owedSince')}; graph ${str(obj(d, 'graph'), 'status')}`,
              e.hash,
            ]),
          );
          break;
        case 'membership.drift':
          f.drift.found++;
          out.driftFindings.push(
            record([...at, 'drift', str(obj(d, 'group'), 'id'), str(d, 'userId'), '', '', e.hash]),
          );
          break;
        case 'membership.removed-outside':
          f.drift.removedOutside++;
          out.driftFindings.push(
            record([
              ...at,
              'removed-outside',
              str(obj(d, 'group'), 'id'),
              str(d, 'userId'),
              strings(d, 'requestIds').join(' '),
              '',
              e.hash,
            ]),
          );
          break;
        case 'review.started':
          f.reviews.started++;
          break;
        case 'review.decided': {
          const items = Array.isArray(d.items) ? d.items.filter(isObject) : [];
          for (const item of items) {
            const decision = str(item, 'decision');
            f.reviews.decisions++;
            if (decision === 'keep') f.reviews.kept++;
            if (decision === 'revoke') f.reviews.revoked++;
            out.reviewDecisions.push(
              record([
                ...at,
                str(d, 'stage'),
                str(d, 'source'),
                e.actor.objectId,
                e.actor.upn ?? '',
                str(item, 'itemId'),
                decision,
                str(item, 'reason'),
                str(item, 'final'),
                e.hash,
              ]),
            );
          }
          break;
        }
        case 'review.completed':
          f.reviews.completed++;
          break;
        case 'attempt.refused': {
          const code = str(d, 'code') || '(none)';
          f.refusedAttempts.total++;
          f.refusedAttempts.byCode[code] = (f.refusedAttempts.byCode[code] ?? 0) + 1;
          out.refusedAttempts.push(
            record([
              ...at,
              e.actor.objectId,
              e.actor.upn ?? '',
              e.actor.channel,
              e.subject,
              e.correlation.requestId ?? '',
              str(d, 'code'),
              str(d, 'reason'),
              e.hash,
            ]),
          );
          break;
        }
        default:
          break;
      }
    }
    return out;
  }

  /** The figures so far (a copy). */
  summary(): EvidenceSummary {
    return structuredCloneSummary(this.figures);
  }
}

function structuredCloneSummary(s: EvidenceSummary): EvidenceSummary {
  return JSON.parse(JSON.stringify(s)) as EvidenceSummary;
}
