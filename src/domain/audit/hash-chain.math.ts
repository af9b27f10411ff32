/**
 * The per-stream hash chain: each event's hash covers its fields and its predecessor's hash, so editing,
 * removing or moving one event breaks every link after it. Pure functions; hashing is injected.
 */
import { DomainError } from '../domain-error';
import {
  AUDIT_ACTIONS,
  AUDIT_CHANNELS,
  GENESIS_HASH,
  type AuditEvent,
  type AuditEventInput,
  type Sha256,
  type StreamHead,
} from './audit-event.model';
import { AuditErrorCodes } from './audit.errors';
import { failure, type AuditFailure } from './audit-verify.result';
import { canonicalJson, hashCanonical } from './canonical-json.codec';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

function invalid(message: string): never {
  throw new DomainError(AuditErrorCodes.invalidEvent, message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks an input's shape before it is chained; a DomainError `AUDIT.INVALID_EVENT` says which field is
 * wrong. NB. inputs can come from untyped callers (activities deserialise JSON), hence the runtime checks.
 */
export function validateEventInput(input: AuditEventInput): void {
  if (!isObject(input)) invalid('An audit event input must be an object.');
  if (typeof input.stream !== 'string' || input.stream === '')
    invalid('An audit event needs a non-empty stream.');
  if (!isObject(input.actor) || typeof input.actor.objectId !== 'string' || input.actor.objectId === '') {
    invalid('An audit event needs actor.objectId (use a fixed id for system jobs).');
  }
  if (input.actor.upn !== undefined && typeof input.actor.upn !== 'string')
    invalid('actor.upn must be a string.');
  if (!AUDIT_CHANNELS.includes(input.actor.channel)) {
    invalid(`actor.channel '${String(input.actor.channel)}' is not one of ${AUDIT_CHANNELS.join(', ')}.`);
  }
  if (!(AUDIT_ACTIONS as readonly string[]).includes(input.action)) {
    invalid(
      `'${String(input.action)}' is not an audit action; build events with src/domain/audit/audit-events.ts.`,
    );
  }
  if (typeof input.subject !== 'string') invalid('An audit event needs a subject string.');
  if (!isObject(input.details)) invalid("An audit event's details must be a JSON object.");
  if (!isObject(input.correlation)) invalid('An audit event needs a correlation object (it may be empty).');
  for (const key of Object.keys(input.correlation)) {
    if (!['requestId', 'instanceId', 'ticketKey'].includes(key)) invalid(`Unknown correlation id '${key}'.`);
    if (typeof (input.correlation as Record<string, unknown>)[key] !== 'string') {
      invalid(`correlation.${key} must be a string.`);
    }
  }
}

/** The hashed fields of an event, in a fresh object (what the canonical encoding sees). */
function hashedFields(e: Omit<AuditEvent, 'hash'>): Omit<AuditEvent, 'hash'> {
  return {
    stream: e.stream,
    seq: e.seq,
    time: e.time,
    actor: e.actor,
    action: e.action,
    subject: e.subject,
    details: e.details,
    correlation: e.correlation,
    prevHash: e.prevHash,
  };
}

/**
 * The canonical JSON text an event's hash is computed over (every field but `hash`). The evidence bundle
 * carries this text verbatim, so a verifier hashes the bytes it reads instead of re-encoding them.
 */
export function eventCanonicalText(event: Omit<AuditEvent, 'hash'>): string {
  return canonicalJson(hashedFields(event));
}

/** `hash` of an event: hex SHA-256 of the canonical encoding of every field but `hash` itself. */
export function eventHash(event: Omit<AuditEvent, 'hash'>, sha256: Sha256): string {
  return hashCanonical(hashedFields(event), sha256);
}

/**
 * The next event of a stream: `prev` is the stream's head (undefined for a new stream), `time` an ISO 8601
 * UTC string from the caller's Clock. Validates the input and throws DomainErrors for what cannot be stored.
 */
export function chainEvent(
  prev: StreamHead | undefined,
  input: AuditEventInput,
  time: string,
  sha256: Sha256,
): AuditEvent {
  validateEventInput(input);
  if (!ISO_UTC.test(time)) invalid(`Event time '${time}' is not an ISO 8601 UTC timestamp.`);
  if (prev && prev.stream !== input.stream) {
    invalid(`Cannot chain an event of stream '${input.stream}' after the head of stream '${prev.stream}'.`);
  }
  const body: Omit<AuditEvent, 'hash'> = {
    stream: input.stream,
    seq: prev ? prev.seq + 1 : 1,
    time,
    actor: input.actor,
    action: input.action,
    subject: input.subject,
    details: input.details,
    correlation: input.correlation,
    prevHash: prev ? prev.hash : GENESIS_HASH,
  };
  return { ...body, hash: eventHash(body, sha256) };
}

/** A stream head a digest recorded: event `seq` of the stream had `hash` when digest `digestSeq` was written. */
export interface Checkpoint {
  seq: number;
  hash: string;
  digestSeq: number;
}

/**
 * Verifies one stream event by event, in storage order, in constant memory (a stream can be long and is
 * read page by page). `push` each event and then `finish`; each returns the first problem, or undefined.
 *
 * Problems: `edited` (an event's hash does not match its fields, or differs from what a digest recorded),
 * `missing` (a gap in seq), `reordered` (seq not increasing, an event stored at another event's position,
 * an event of another stream, or a prevHash pointing elsewhere), `truncated` (the stream ends before a head
 * a digest recorded), `deleted` (a digest recorded the stream and it has no events).
 */
export class StreamVerifier {
  private last: { seq: number; hash: string } | undefined;
  private gap: { expected: number; after: number } | undefined;
  private count = 0;

  constructor(
    readonly stream: string,
    private readonly sha256: Sha256,
    private readonly checkpoints: ReadonlyMap<number, Checkpoint> = new Map(),
  ) {}

  /** Events accepted so far. */
  get events(): number {
    return this.count;
  }

  /** The last accepted event, as a head. */
  get head(): StreamHead | undefined {
    return this.last ? { stream: this.stream, seq: this.last.seq, hash: this.last.hash } : undefined;
  }

  /**
   * Checks the next event in storage order. `position` is the seq the storage location claims (the row
   * key), which is how a row whose contents were swapped with another's is told apart from a missing one.
   */
  push(e: AuditEvent, position?: number): AuditFailure | undefined {
    const s = this.stream;
    if (this.gap) {
      // One event of look-ahead: a jump followed by a step back is a swap, a jump followed by more is a hole.
      return Number.isInteger(e.seq) && e.seq > this.gap.after
        ? failure(
            s,
            this.gap.expected,
            'missing',
            `event ${this.gap.expected} is missing (the stream jumps to ${this.gap.after}).`,
          )
        : failure(s, this.gap.after, 'reordered', `event ${this.gap.after} comes before event ${e.seq}.`);
    }
    const at = position ?? e.seq;
    if (e.stream !== s) {
      return failure(s, at, 'reordered', `the row holds an event of stream '${e.stream}'.`);
    }
    const recomputed = eventHash(e, this.sha256);
    if (recomputed !== e.hash) {
      return failure(
        s,
        at,
        'edited',
        `event ${at}'s fields do not match its hash (stored ${e.hash.slice(0, 12)}…, computed ${recomputed.slice(0, 12)}…).`,
      );
    }
    if (position !== undefined && position !== e.seq) {
      return failure(s, position, 'reordered', `the row for event ${position} holds event ${e.seq}.`);
    }
    const expected = this.last ? this.last.seq + 1 : 1;
    if (!Number.isInteger(e.seq) || e.seq < expected) {
      return failure(
        s,
        e.seq,
        'reordered',
        `event ${e.seq} comes after event ${this.last ? this.last.seq : 0}.`,
      );
    }
    if (e.seq > expected) {
      this.gap = { expected, after: e.seq };
      return undefined;
    }
    const prevHash = this.last ? this.last.hash : GENESIS_HASH;
    if (e.prevHash !== prevHash) {
      return failure(
        s,
        e.seq,
        'reordered',
        `event ${e.seq}'s prevHash does not point at event ${e.seq - 1} (it was moved here, or its predecessor was edited and re-hashed).`,
      );
    }
    const recorded = this.checkpoints.get(e.seq);
    if (recorded && recorded.hash !== e.hash) {
      return failure(
        s,
        e.seq,
        'edited',
        `event ${e.seq} differs from the one digest ${recorded.digestSeq} recorded (the stream was rewritten).`,
      );
    }
    this.last = { seq: e.seq, hash: e.hash };
    this.count++;
    return undefined;
  }

  /** Checks the end of the stream against the digests' checkpoints. */
  finish(): AuditFailure | undefined {
    const s = this.stream;
    if (this.gap) {
      return failure(
        s,
        this.gap.expected,
        'missing',
        `event ${this.gap.expected} is missing (the stream jumps to ${this.gap.after}).`,
      );
    }
    let furthest: Checkpoint | undefined;
    for (const c of this.checkpoints.values()) if (!furthest || c.seq > furthest.seq) furthest = c;
    if (!furthest) return undefined;
    if (!this.last) {
      return failure(
        s,
        1,
        'deleted',
        `digest ${furthest.digestSeq} recorded this stream with ${furthest.seq} events; it has none now.`,
      );
    }
    if (this.last.seq < furthest.seq) {
      return failure(
        s,
        this.last.seq + 1,
        'truncated',
        `the stream ends at event ${this.last.seq} but digest ${furthest.digestSeq} recorded ${furthest.seq} events.`,
      );
    }
    return undefined;
  }
}

/**
 * Verifies a whole stream held in memory (tests, exports); stores use {@link StreamVerifier} page by page.
 * Returns the head when the chain is sound.
 */
export function verifyChain(
  stream: string,
  events: Iterable<AuditEvent>,
  sha256: Sha256,
  checkpoints?: ReadonlyMap<number, Checkpoint>,
): { ok: true; events: number; head: StreamHead | undefined } | AuditFailure {
  const verifier = new StreamVerifier(stream, sha256, checkpoints);
  for (const e of events) {
    const problem = verifier.push(e);
    if (problem) return problem;
  }
  return verifier.finish() ?? { ok: true, events: verifier.events, head: verifier.head };
}
