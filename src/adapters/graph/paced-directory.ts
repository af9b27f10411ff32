/**
 * Pacing of directory writes under Microsoft Graph's identity write quota (about 3,000 writes per 150 s per
 * app and tenant). Without it, a burst of removals (the reconciler catching up on thousands of overdue
 * revocations) runs into 429s, and each 429 costs a Retry-After wait for every writer. A client-side token
 * bucket at just under the quota keeps the writes flowing at the quota's rate; a 429 that still comes back
 * (another process of the same app writing, a restart while Graph's bucket was empty) pauses every writer
 * for its Retry-After before the write is tried again.
 */
import {
  DirectoryError,
  type AddMemberResult,
  type Directory,
  type RemoveMemberResult,
} from '../../ports/directory.port';

/** Graph's documented identity and access write limit. */
export const GRAPH_WRITE_QUOTA = { capacity: 3000, perSeconds: 150 } as const;

/** How the pacer behaves. */
export interface WritePacerOptions {
  /** Writes the bucket holds (the burst). */
  capacity: number;
  /** Seconds to refill the whole bucket. */
  perSeconds: number;
  /** Share of the quota to use (0..1]: a little under 1 leaves room for clock skew. Default 0.98. */
  share?: number;
  /** Milliseconds since the epoch; replaceable for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A token bucket that hands out writes in arrival order. */
export class WritePacer {
  private tokens: number;
  private last: number;
  private pausedUntil = 0;
  private queue: Promise<void> = Promise.resolve();
  private readonly capacity: number;
  private readonly perMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /**
   * Writes handed out, 429s seen, and when a writer first had to wait for a token (the initial burst was
   * spent: from then on writes go at the quota's rate), for benches and logs.
   */
  readonly stats: { taken: number; throttled: number; dryAt?: number } = { taken: 0, throttled: 0 };

  constructor(options: WritePacerOptions) {
    const share = options.share ?? 0.98;
    this.capacity = Math.max(1, Math.floor(options.capacity * share));
    this.perMs = (options.capacity * share) / (options.perSeconds * 1000);
    this.now = options.now ?? (() => Date.now());
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.tokens = this.capacity;
    this.last = this.now();
  }

  /** Resolves when one write may go. */
  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(this.capacity, this.tokens + (t - this.last) * this.perMs);
        this.last = t;
        const paused = this.pausedUntil - t;
        if (paused > 0) {
          await this.sleep(paused);
          continue;
        }
        if (this.tokens >= 1) {
          this.tokens -= 1;
          this.stats.taken++;
          return;
        }
        this.stats.dryAt ??= t;
        await this.sleep(Math.max(1, Math.ceil((1 - this.tokens) / this.perMs)));
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** The directory said "too many requests, retry after": nobody writes until then, and the bucket is empty. */
  pause(seconds: number): void {
    this.stats.throttled++;
    const until = this.now() + Math.max(1, seconds) * 1000;
    if (until > this.pausedUntil) this.pausedUntil = until;
    this.tokens = 0;
  }
}

/** Writes that still got a 429 are tried again this many times, each after its Retry-After. */
const THROTTLED_RETRIES = 8;

/**
 * The directory with its group writes (addMember, removeMember) paced by `pacer`; everything else passes
 * straight through. NB. An object inheriting from `inner` rather than a class listing every method, so a method added to the
 * Directory port later passes through without being forgotten here (and tests can still spy on one).
 */
export function pacedDirectory(inner: Directory, pacer: WritePacer): Directory {
  const paced = async <T>(write: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      await pacer.take();
      try {
        return await write();
      } catch (err) {
        const throttled = err instanceof DirectoryError && err.code === 'DIRECTORY.THROTTLED';
        if (!throttled || attempt >= THROTTLED_RETRIES) throw err;
        pacer.pause(err.details.retryAfterSeconds ?? 1);
      }
    }
  };
  const addMember = (groupId: string, userId: string): Promise<AddMemberResult> =>
    paced(() => inner.addMember(groupId, userId));
  const removeMember = (groupId: string, userId: string): Promise<RemoveMemberResult> =>
    paced(() => inner.removeMember(groupId, userId));
  // Everything but the two writes is inherited from `inner` (methods run with `this` resolving to its fields).
  return Object.assign(Object.create(inner) as Directory, { addMember, removeMember });
}
