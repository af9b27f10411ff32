/**
 * Folds audit events into evidence rows (lifecycle-row.model.ts), one per request stream. Events arrive as an
 * ordered table scan gives them: every event of one stream together, seq ascending. Only the current stream's
 * state is held, so an export of millions of events runs in constant memory.
 */
import type { AuditEvent, JsonObject, JsonValue } from '../audit/audit-event.model';
import { DomainError } from '../domain-error';
import { EvidenceErrorCodes } from './evidence.errors';
import type { ApprovalEntry, LifecycleRow } from './lifecycle-row.model';

/** Options of {@link lifecycleRows}. */
export interface LifecycleRowsOptions {
  /** Keep lifecycles requested at or after this instant (ISO 8601). */
  from?: string;
  /** Keep lifecycles requested before this instant (ISO 8601); exclusive. */
  to?: string;
  /** Called once per stream read to its end, request stream or not, kept or not (for progress). */
  onStream?: (stream: string) => void;
}

/** What one stream has said so far. */
interface StreamState {
  stream: string;
  lastSeq: number;
  lastHash: string;
  submitted?: AuditEvent;
  autoApproved: boolean;
  refused: boolean;
  denied: boolean;
  expiredUndecided: boolean;
  /** The request ended for good without access: `no-approver` or `failed`. */
  ended?: 'no-approver' | 'failed';
  /** The grant ended and removing the member has failed so far. */
  revoking: boolean;
  approvals: ApprovalEntry[];
  grant?: AuditEvent;
  expiresAt?: string;
  revoke?: AuditEvent;
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(o: JsonObject | undefined, key: string): string | undefined {
  const v = o?.[key];
  return typeof v === 'string' ? v : undefined;
}

function num(o: JsonObject | undefined, key: string): number | undefined {
  const v = o?.[key];
  return typeof v === 'number' ? v : undefined;
}

function obj(o: JsonObject | undefined, key: string): JsonObject | undefined {
  const v = o?.[key];
  return isObject(v) ? v : undefined;
}

/** The UPN of `id` when the event's actor is that person and it was recorded; else the id. */
function nameOf(e: AuditEvent, id: string): string {
  return e.actor.objectId === id && e.actor.upn ? e.actor.upn : id;
}

function instant(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) {
    throw new DomainError(EvidenceErrorCodes.badRange, `${name} '${value}' is not an ISO 8601 instant.`);
  }
  return ms;
}

function newState(stream: string): StreamState {
  return {
    stream,
    lastSeq: 0,
    lastHash: '',
    autoApproved: false,
    refused: false,
    denied: false,
    expiredUndecided: false,
    revoking: false,
    approvals: [],
  };
}

function apply(s: StreamState, e: AuditEvent): void {
  const d = e.details;
  switch (e.action) {
    case 'request.submitted':
      s.submitted ??= e;
      break;
    case 'policy.evaluated': {
      const outcome = str(d, 'outcome');
      s.autoApproved = outcome === 'auto-approved';
      s.refused = outcome === 'refused';
      break;
    }
    case 'approval.decided': {
      const approver = str(d, 'approver') ?? e.actor.objectId;
      const decision = str(d, 'decision') === 'denied' ? 'deny' : 'approve';
      if (decision === 'deny') s.denied = true;
      const entry: ApprovalEntry = {
        stage: num(d, 'stage') ?? 0,
        approver: nameOf(e, approver),
        decision,
        at: e.time,
      };
      const comment = str(d, 'comment');
      if (comment !== undefined) entry.comment = comment;
      s.approvals.push(entry);
      break;
    }
    case 'request.expired-undecided':
      s.expiredUndecided = true;
      break;
    case 'access.granted':
      s.grant = e;
      s.expiresAt = str(d, 'expiresAt');
      break;
    case 'extension.decided': {
      const newExpiry = str(d, 'newExpiry');
      if (str(d, 'decision') === 'approved' && newExpiry !== undefined) s.expiresAt = newExpiry;
      break;
    }
    case 'access.revoked':
      s.revoke = e;
      break;
    case 'access.revoke-failed':
      s.revoking = true;
      break;
    case 'attempt.refused': {
      // The orchestration ends a request with a refusal of its own (refused decisions carry other codes).
      const code = str(d, 'code');
      if (code === 'REQUEST.NO_APPROVER' && !s.grant) s.ended = 'no-approver';
      if ((code === 'REQUEST.PROVISIONING_FAILED' || code === 'REQUEST.DIRECTORY_UNAVAILABLE') && !s.grant)
        s.ended = 'failed';
      break;
    }
    default:
      // Requests for approval or extension, escalations, reminders and refused attempts add nothing to the row.
      break;
  }
}

function grantedHow(s: StreamState, grant: AuditEvent): string {
  const graph = obj(grant.details, 'graph');
  const status = num(graph, 'status');
  const how =
    graph?.alreadyMember === true
      ? `already-member${status !== undefined ? ` (graph ${status})` : ''}`
      : `graph ${status ?? '?'}`;
  return s.autoApproved ? `auto-approved, ${how}` : how;
}

/** The row of a finished stream, or undefined when it is not a request stream. */
function toRow(s: StreamState): LifecycleRow | undefined {
  const submitted = s.submitted;
  if (!submitted) return undefined;
  const d = submitted.details;
  const requester = obj(d, 'requester');
  const requesterId = str(requester, 'id') ?? submitted.actor.objectId;
  const requesterUpn =
    str(requester, 'upn') ?? (requesterId === submitted.actor.objectId ? submitted.actor.upn : undefined);
  // NB. streams written before appId/roleId were recorded still name them in the subject.
  const subject = /^app:([^/]+)\/role:(.+)$/.exec(submitted.subject);
  const policy = obj(d, 'policy');
  const row: LifecycleRow = {
    stream: s.stream,
    requesterUpn,
    requesterId,
    requestedAt: submitted.time,
    app: str(d, 'appId') ?? subject?.[1],
    role: str(d, 'roleId') ?? subject?.[2],
    group: str(d, 'groupId') ?? str(obj(s.grant?.details, 'group'), 'id'),
    policyId: str(policy, 'id'),
    policyVersion: str(policy, 'version'),
    policyHash: str(policy, 'hash'),
    justification: str(d, 'justification'),
    ticketReference: str(d, 'ticketReference') ?? submitted.correlation.ticketKey,
    approvals: s.approvals,
    outcome: s.revoke
      ? 'revoked'
      : s.revoking
        ? 'revoking'
        : s.grant
          ? 'granted'
          : s.ended
            ? s.ended
            : s.denied
              ? 'denied'
              : s.refused
                ? 'refused'
                : s.expiredUndecided
                  ? 'expired-undecided'
                  : 'pending',
    headSeq: s.lastSeq,
    headHash: s.lastHash,
  };
  if (s.grant) {
    row.grantedAt = s.grant.time;
    row.grantedHow = grantedHow(s, s.grant);
    row.expiresAt = s.expiresAt;
  }
  if (s.revoke) {
    row.revokedAt = s.revoke.time;
    row.revocationReason = str(s.revoke.details, 'reason');
    const by = str(s.revoke.details, 'by');
    row.revokedBy = by === undefined ? undefined : nameOf(s.revoke, by);
  }
  return row;
}

/**
 * One {@link LifecycleRow} per request stream (a stream with a `request.submitted` event), in the order the
 * streams arrive; other streams (campaigns, system jobs) are skipped. `from`/`to` filter on when the request
 * was submitted. Throws `EVIDENCE.OUT_OF_ORDER` when a stream's events are not consecutive from seq 1: a row
 * built from half a stream would be false evidence.
 */
export async function* lifecycleRows(
  events: AsyncIterable<AuditEvent>,
  options: LifecycleRowsOptions = {},
): AsyncIterable<LifecycleRow> {
  const from = instant(options.from, 'from');
  const to = instant(options.to, 'to');
  if (from !== undefined && to !== undefined && from >= to) {
    throw new DomainError(
      EvidenceErrorCodes.badRange,
      `from (${options.from}) must be before to (${options.to}).`,
    );
  }
  const keep = (row: LifecycleRow): boolean => {
    const at = Date.parse(row.requestedAt);
    return (from === undefined || at >= from) && (to === undefined || at < to);
  };
  let current: StreamState | undefined;
  const finish = (s: StreamState): LifecycleRow | undefined => {
    options.onStream?.(s.stream);
    const row = toRow(s);
    return row && keep(row) ? row : undefined;
  };
  for await (const e of events) {
    if (current && current.stream !== e.stream) {
      const row = finish(current);
      current = undefined;
      if (row) yield row;
    }
    const expected = (current?.lastSeq ?? 0) + 1;
    if (e.seq !== expected) {
      throw new DomainError(
        EvidenceErrorCodes.outOfOrder,
        `Stream ${e.stream}: expected event ${expected}, got ${e.seq}. The export needs each stream's events ` +
          'together and in seq order.',
        { stream: e.stream, seq: e.seq },
      );
    }
    current ??= newState(e.stream);
    apply(current, e);
    current.lastSeq = e.seq;
    current.lastHash = e.hash;
  }
  if (current) {
    const row = finish(current);
    if (row) yield row;
  }
}

/**
 * The row of one whole stream held in memory (its events from seq 1, in order), or undefined when it is not
 * a request stream; what the evidence bundle builds per stream, with no window applied. The caller checks the
 * order (the bundle writer and verifier check the chain first).
 */
export function lifecycleRowOf(events: readonly AuditEvent[]): LifecycleRow | undefined {
  if (events.length === 0) return undefined;
  const state = newState(events[0].stream);
  for (const e of events) {
    apply(state, e);
    state.lastSeq = e.seq;
    state.lastHash = e.hash;
  }
  return toRow(state);
}
