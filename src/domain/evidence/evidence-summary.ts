/**
 * The evidence bundle's figures (summary.json, and the charts of summary.html). Every figure is a count over
 * the events the bundle carries (events.jsonl), judged at the bundle's `asOf`, so an auditor's verifier can
 * recompute each one from the raw events alone and compare (docs/evidence.md, "The evidence bundle").
 */
import type { LifecycleOutcome } from './lifecycle-row.model';

/** The outcomes in the order the summary lists them. */
export const SUMMARY_OUTCOMES: readonly LifecycleOutcome[] = [
  'pending',
  'refused',
  'denied',
  'expired-undecided',
  'no-approver',
  'failed',
  'granted',
  'revoking',
  'revoked',
];

/** The revocation reasons the summary always lists (others the log may hold follow, sorted). */
export const SUMMARY_REVOCATION_REASONS: readonly string[] = ['expired', 'revoked', 'review', 'offboarded'];

/**
 * The bundle's figures. "In the period" means an event whose time is in [period.from, period.to); "open" means
 * as the stream stands at the bundle's head, judged at `asOf`.
 */
export interface EvidenceSummary {
  format: 'attest-evidence-summary/1';
  /** The bundle's period, ISO 8601 UTC; `to` exclusive. */
  period: { from: string; to: string };
  /** When the bundle was made: what "overdue" is measured against. */
  asOf: string;
  /** What the bundle carries: streams and events in events.jsonl. */
  bundle: { streams: number; events: number };
  /** `submitted`: requests submitted in the period; `lifecycles`: rows of lifecycles.csv, by outcome. */
  requests: { submitted: number; lifecycles: number; byOutcome: Record<LifecycleOutcome, number> };
  /** Approval decisions recorded in the period. */
  approvals: { approved: number; denied: number };
  /** Access grants in the period (members added). */
  grants: number;
  /** Revocations in the period, by reason. */
  revocations: { total: number; byReason: Record<string, number> };
  /**
   * `open`: lifecycles whose access outlived its expiry at `asOf` or whose removal keeps failing (`revoking`);
   * `carriedOut`: overdue removals the reconciler carried out in the period (`revocation.overdue`).
   */
  overdueRevocations: { open: number; carriedOut: number };
  /**
   * Campaigns started and completed in the period, item decisions in the period (kept / revoked), and
   * campaigns whose last stage closed before `asOf` without completing (`overdue`).
   */
  reviews: {
    started: number;
    decisions: number;
    kept: number;
    revoked: number;
    completed: number;
    overdue: number;
  };
  /** Drift found in the period: members nobody granted, and granted memberships removed outside Attest. */
  drift: { found: number; removedOutside: number };
  /** Refused attempts in the period (`attempt.refused`), by DomainError code. */
  refusedAttempts: { total: number; byCode: Record<string, number> };
}

/** A summary with every count at zero. */
export function emptySummary(period: { from: string; to: string }, asOf: string): EvidenceSummary {
  const byOutcome = {} as Record<LifecycleOutcome, number>;
  for (const o of SUMMARY_OUTCOMES) byOutcome[o] = 0;
  const byReason: Record<string, number> = {};
  for (const r of SUMMARY_REVOCATION_REASONS) byReason[r] = 0;
  return {
    format: 'attest-evidence-summary/1',
    period: { from: period.from, to: period.to },
    asOf,
    bundle: { streams: 0, events: 0 },
    requests: { submitted: 0, lifecycles: 0, byOutcome },
    approvals: { approved: 0, denied: 0 },
    grants: 0,
    revocations: { total: 0, byReason },
    overdueRevocations: { open: 0, carriedOut: 0 },
    reviews: { started: 0, decisions: 0, kept: 0, revoked: 0, completed: 0, overdue: 0 },
    drift: { found: 0, removedOutside: 0 },
    refusedAttempts: { total: 0, byCode: {} },
  };
}

function sortedRecord(record: Record<string, number>, fixed: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of fixed) out[key] = record[key] ?? 0;
  for (const key of Object.keys(record).sort()) if (!(key in out)) out[key] = record[key];
  return out;
}

/** The summary with its open-ended maps in a fixed key order, so its JSON text is the same wherever it is built. */
export function normaliseSummary(s: EvidenceSummary): EvidenceSummary {
  return {
    ...s,
    revocations: {
      total: s.revocations.total,
      byReason: sortedRecord(s.revocations.byReason, SUMMARY_REVOCATION_REASONS),
    },
    refusedAttempts: { total: s.refusedAttempts.total, byCode: sortedRecord(s.refusedAttempts.byCode) },
  };
}

/** summary.json's text: two-space indented JSON and a final newline. */
export function summaryJson(s: EvidenceSummary): string {
  return `${JSON.stringify(normaliseSummary(s), null, 2)}\n`;
}
