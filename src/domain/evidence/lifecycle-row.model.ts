/**
 * The evidence row: one access lifecycle (one request stream) as an auditor reads it — who asked, for what,
 * under which policy, who approved, when access was granted, until when, and when and why it ended — plus
 * the stream's head so the row can be tied back to the verified audit log (docs/evidence.md).
 */
import { neutraliseCell } from './csv-cell.neutraliser';

/** One approver's decision on one stage. */
export interface ApprovalEntry {
  stage: number;
  /** The approver's UPN when the event recorded it, else their object id. */
  approver: string;
  decision: 'approve' | 'deny';
  /** When the decision was recorded (ISO 8601 UTC). */
  at: string;
  comment?: string;
}

/**
 * Where the lifecycle stands at the end of its stream: `granted` (and not revoked), `revoking` (the grant
 * ended and removing the member has failed so far: access may still be there), `revoked`, `denied` (an
 * approver said no), `refused` (the policy said no), `expired-undecided`, `no-approver` (nobody could decide
 * a stage), `failed` (provisioning failed, or the directory stayed down), or `pending`.
 */
export type LifecycleOutcome =
  | 'pending'
  | 'refused'
  | 'denied'
  | 'expired-undecided'
  | 'no-approver'
  | 'failed'
  | 'granted'
  | 'revoking'
  | 'revoked';

/** One access lifecycle. Absent fields are things the stream does not record (yet). */
export interface LifecycleRow {
  stream: string;
  requesterUpn?: string;
  requesterId: string;
  requestedAt: string;
  app?: string;
  role?: string;
  /** The Entra group's object id. */
  group?: string;
  policyId?: string;
  policyVersion?: string;
  policyHash?: string;
  justification?: string;
  ticketReference?: string;
  approvals: ApprovalEntry[];
  outcome: LifecycleOutcome;
  grantedAt?: string;
  /** `graph 204`, `already-member (graph 400)`, prefixed `auto-approved, ` when no approver was needed. */
  grantedHow?: string;
  /** The latest expiry: the grant's, or the last approved extension's. */
  expiresAt?: string;
  revokedAt?: string;
  revocationReason?: string;
  /** The UPN of whoever revoked when recorded, else their object id (`system` for the expiry timer). */
  revokedBy?: string;
  headSeq: number;
  headHash: string;
}

/** A column of the export: its name (CSV header and JSONL key) and its value as text. */
export interface LifecycleColumn {
  name: string;
  text(row: LifecycleRow): string;
}

/** One approval as CSV text: `1:priya@contoso.example approve 2026-11-22T10:05:00.000Z "comment"`. */
export function formatApproval(a: ApprovalEntry): string {
  const comment = a.comment ? ` ${JSON.stringify(a.comment)}` : '';
  return `${a.stage}:${a.approver} ${a.decision} ${a.at}${comment}`;
}

const text = (value: string | undefined): string => value ?? '';

/** The export's columns, in order. NB. auditors' spreadsheets key on these names: add, never rename. */
export const LIFECYCLE_COLUMNS: readonly LifecycleColumn[] = [
  { name: 'stream', text: (r) => r.stream },
  { name: 'requester_upn', text: (r) => text(r.requesterUpn) },
  { name: 'requester_id', text: (r) => r.requesterId },
  { name: 'requested_at', text: (r) => r.requestedAt },
  { name: 'app', text: (r) => text(r.app) },
  { name: 'role', text: (r) => text(r.role) },
  { name: 'group', text: (r) => text(r.group) },
  { name: 'policy_id', text: (r) => text(r.policyId) },
  { name: 'policy_version', text: (r) => text(r.policyVersion) },
  { name: 'policy_hash', text: (r) => text(r.policyHash) },
  { name: 'justification', text: (r) => text(r.justification) },
  { name: 'ticket_reference', text: (r) => text(r.ticketReference) },
  { name: 'approvals', text: (r) => r.approvals.map(formatApproval).join('; ') },
  { name: 'outcome', text: (r) => r.outcome },
  { name: 'granted_at', text: (r) => text(r.grantedAt) },
  { name: 'granted_how', text: (r) => text(r.grantedHow) },
  { name: 'expires_at', text: (r) => text(r.expiresAt) },
  { name: 'revoked_at', text: (r) => text(r.revokedAt) },
  { name: 'revocation_reason', text: (r) => text(r.revocationReason) },
  { name: 'revoked_by', text: (r) => text(r.revokedBy) },
  { name: 'head_seq', text: (r) => String(r.headSeq) },
  { name: 'head_hash', text: (r) => r.headHash },
];

/** The column names, in order: the CSV header. */
export const LIFECYCLE_HEADER: readonly string[] = LIFECYCLE_COLUMNS.map((c) => c.name);

/** A row as CSV cells, in column order, each neutralised against formula injection. */
export function toCsvCells(row: LifecycleRow): string[] {
  return LIFECYCLE_COLUMNS.map((c) => neutraliseCell(c.text(row)));
}

/** A JSON value of a JSONL record. */
type JsonField = string | number | null | ApprovalJson[];

/** An approval as a JSONL record holds it. */
interface ApprovalJson {
  stage: number;
  approver: string;
  decision: 'approve' | 'deny';
  at: string;
  comment: string | null;
}

/**
 * A row as a JSONL record: the same keys as the CSV header, every key present (null when not recorded),
 * approvals as a list and the head seq as a number. NB. values are as recorded, not neutralised: JSON is not
 * opened by spreadsheets, and evidence should not be altered where it need not be.
 */
export function toJsonRecord(row: LifecycleRow): Record<string, JsonField> {
  const record: Record<string, JsonField> = {};
  for (const column of LIFECYCLE_COLUMNS) {
    const value = column.text(row);
    record[column.name] = value === '' ? null : value;
  }
  record.approvals = row.approvals.map((a) => ({
    stage: a.stage,
    approver: a.approver,
    decision: a.decision,
    at: a.at,
    comment: a.comment ?? null,
  }));
  record.head_seq = row.headSeq;
  return record;
}
