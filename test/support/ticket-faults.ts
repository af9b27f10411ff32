/**
 * Test support for ticket sync: faults put in front of any TicketSystem (the HTTP adapters against the local
 * Jira and ServiceNow fakes, or the in-memory system below), and an in-memory system whose search lags on a
 * TestClock the way Jira's does.
 */
import { DomainError } from '../../src/domain/domain-error';
import type { Clock } from '../../src/ports/clock.port';
import {
  TicketErrorCodes,
  type TicketComment,
  type TicketDraft,
  type TicketRef,
  type TicketSystem,
} from '../../src/ports/ticket-system.port';

/** A simulated crash: thrown after the wrapped call returned, as if the process died before using the result. */
export class SimulatedCrash extends Error {}

type Op = 'find' | 'create' | 'commentedHashes' | 'comment' | 'resolve';

/** A TicketSystem with switchable faults in front of another. */
export class FaultyTicketSystem implements TicketSystem {
  /** While true every call answers unavailable (as a 503 or a refused connection would). */
  down = false;
  /** Each call takes the next entry: a 429 with this Retry-After (ms, or undefined for a missing header). */
  throttles: (number | undefined)[] = [];
  /** Calls matching this answer rejected (4xx). */
  reject?: (op: Op, arg: unknown) => boolean;
  /** The next create succeeds, then the caller sees a crash. */
  crashAfterCreate = false;
  calls: Record<Op, number> = { find: 0, create: 0, commentedHashes: 0, comment: 0, resolve: 0 };

  constructor(private readonly inner: TicketSystem) {}

  get kind(): TicketSystem['kind'] {
    return this.inner.kind;
  }

  private gate(op: Op, arg: unknown): void {
    this.calls[op]++;
    if (this.down) throw new DomainError(TicketErrorCodes.unavailable, `${this.kind} answered 503`);
    if (this.throttles.length) {
      const retryAfterMs = this.throttles.shift();
      throw new DomainError(TicketErrorCodes.throttled, `${this.kind} answered 429`, {
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        reason: 'jira-per-issue-on-write',
      });
    }
    if (this.reject?.(op, arg)) throw new DomainError(TicketErrorCodes.rejected, `${this.kind} answered 400`);
  }

  async find(correlationId: string): Promise<TicketRef | undefined> {
    this.gate('find', correlationId);
    return this.inner.find(correlationId);
  }

  async create(draft: TicketDraft): Promise<TicketRef> {
    this.gate('create', draft);
    const ref = await this.inner.create(draft);
    if (this.crashAfterCreate) {
      this.crashAfterCreate = false;
      throw new SimulatedCrash(`crashed after creating ${ref.key}`);
    }
    return ref;
  }

  async commentedHashes(ticket: TicketRef): Promise<Set<string>> {
    this.gate('commentedHashes', ticket);
    return this.inner.commentedHashes(ticket);
  }

  async comment(ticket: TicketRef, comment: TicketComment): Promise<void> {
    this.gate('comment', comment);
    return this.inner.comment(ticket, comment);
  }

  async resolve(ticket: TicketRef, resolution: string): Promise<void> {
    this.gate('resolve', ticket);
    return this.inner.resolve(ticket, resolution);
  }

  referenceAllowed(reference: string): boolean {
    return this.inner.referenceAllowed?.(reference) ?? false;
  }
}

/** One ticket of {@link MemoryTicketSystem}. */
export interface MemoryTicket {
  key: string;
  draft: TicketDraft;
  createdAt: number;
  comments: TicketComment[];
  resolved?: string;
}

/**
 * An in-memory ticket system: tickets by key, comments in order, and a search that sees a ticket only
 * `searchLagMs` after it was created (Jira's eventually consistent search), timed on the given clock.
 */
export class MemoryTicketSystem implements TicketSystem {
  readonly tickets = new Map<string, MemoryTicket>();
  private next = 1;

  constructor(
    readonly kind: TicketSystem['kind'],
    private readonly clock: Clock,
    private readonly searchLagMs = 0,
    private readonly allowedProjects: string[] = [],
  ) {}

  async find(correlationId: string): Promise<TicketRef | undefined> {
    const now = this.clock.now().getTime();
    for (const t of this.tickets.values()) {
      if (t.draft.correlationId === correlationId && now - t.createdAt >= this.searchLagMs)
        return this.ref(t.key);
    }
    return undefined;
  }

  async create(draft: TicketDraft): Promise<TicketRef> {
    const key = `SEC-${this.next++}`;
    this.tickets.set(key, { key, draft, createdAt: this.clock.now().getTime(), comments: [] });
    return this.ref(key);
  }

  /** Adds a ticket that was not created through Attest (a requester's own ticket). */
  addForeign(key: string): void {
    this.tickets.set(key, {
      key,
      draft: { correlationId: '', summary: 'foreign', description: '', fields: {} },
      createdAt: 0,
      comments: [],
    });
  }

  private ticket(ref: TicketRef): MemoryTicket {
    const t = this.tickets.get(ref.key);
    if (!t) throw new DomainError(TicketErrorCodes.rejected, `Issue ${ref.key} does not exist (404)`);
    return t;
  }

  async commentedHashes(ref: TicketRef): Promise<Set<string>> {
    return new Set(this.ticket(ref).comments.map((c) => c.eventHash));
  }

  async comment(ref: TicketRef, comment: TicketComment): Promise<void> {
    this.ticket(ref).comments.push(comment);
  }

  async resolve(ref: TicketRef, resolution: string): Promise<void> {
    this.ticket(ref).resolved = resolution;
  }

  referenceAllowed(reference: string): boolean {
    return this.allowedProjects.some((p) => reference.startsWith(`${p}-`));
  }

  private ref(key: string): TicketRef {
    return { key, url: `https://tickets.test/browse/${key}` };
  }
}
