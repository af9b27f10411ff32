import { CloudAdapter, ConfigurationBotFrameworkAuthentication } from 'botbuilder';
import {
  botbuilderSender,
  parseRetryAfter,
  ProactiveErrorCodes,
  ProactiveQueue,
  ProactiveSendError,
  SendFailure,
  toSendFailure,
  type ProactiveQueueOptions,
  type Sleep,
} from '../../../../src/adapters/teams/proactive-queue';
import type { Clock } from '../../../../src/ports/clock.port';
import {
  always,
  failFirst,
  fetchSender,
  startThrottlingConnector,
  type ThrottlingConnector,
} from '../../../support/throttling-connector';

const START = Date.UTC(2025, 0, 6, 9, 0, 0);

/** Virtual time: `sleep` registers a timer; `run` jumps from timer to timer until a promise settles. */
class VirtualTime {
  private t = START;
  private timers: { at: number; resolve: () => void }[] = [];

  readonly clock: Clock = { now: () => new Date(this.t) };

  readonly sleep: Sleep = (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = { at: this.t + Math.max(0, ms), resolve };
      this.timers.push(timer);
      signal?.addEventListener(
        'abort',
        () => {
          this.timers = this.timers.filter((x) => x !== timer);
          resolve();
        },
        { once: true },
      );
    });

  /** Milliseconds since START. */
  get elapsed(): number {
    return this.t - START;
  }

  async run<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let steps = 0; steps < 1_000_000; steps++) {
      await new Promise((r) => setImmediate(r));
      if (settled) return promise;
      if (this.timers.length === 0) throw new Error('stuck: the promise is pending and nothing is scheduled');
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers.shift() as { at: number; resolve: () => void };
      this.t = Math.max(this.t, next.at);
      next.resolve();
    }
    throw new Error('virtual time ran too long');
  }
}

interface Delivery {
  conversationId: string;
  text: string;
  /** Virtual ms since START. */
  at: number;
}

/** A sender that records deliveries in virtual time and fails as `failures` says (per conversation, in order). */
function recordingSender(vt: VirtualTime, failures: Record<string, SendFailure[]> = {}) {
  const delivered: Delivery[] = [];
  const attempts: Delivery[] = [];
  const send = async (conversationId: string, activity: object): Promise<void> => {
    const d = { conversationId, text: (activity as { text: string }).text, at: vt.elapsed };
    attempts.push(d);
    const failure = failures[conversationId]?.shift();
    if (failure) throw failure;
    delivered.push(d);
  };
  return { send, delivered, attempts };
}

function queueWith(
  vt: VirtualTime,
  options: Partial<ProactiveQueueOptions> & Pick<ProactiveQueueOptions, 'send'>,
) {
  return new ProactiveQueue({ clock: vt.clock, sleep: vt.sleep, random: () => 0.5, ...options });
}

const message = (text: string) => ({ type: 'message', text });

/** How many of `times` fall in each whole second. */
function perSecond(times: number[]): number[] {
  const counts: number[] = [];
  for (const t of times) counts[Math.floor(t / 1000)] = (counts[Math.floor(t / 1000)] ?? 0) + 1;
  return Array.from(counts, (c) => c ?? 0);
}

/** The fewest ms spanned by any `max + 1` consecutive times: at least the window when the limit holds. */
function tightestSpan(times: number[], max: number): number {
  let tightest = Number.POSITIVE_INFINITY;
  for (let i = 0; i + max < times.length; i++) tightest = Math.min(tightest, times[i + max] - times[i]);
  return tightest;
}

async function rejectionOf(promise: Promise<unknown>): Promise<ProactiveSendError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ProactiveSendError) return err;
    throw err;
  }
  throw new Error('expected the send to be rejected');
}

describe('the proactive queue keeps under Teams rate limits', () => {
  it('sends no more than 7 messages to one conversation in any simulated second', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send, perConversation: [{ max: 7, windowMs: 1000 }] });
    await vt.run(Promise.all(Array.from({ length: 30 }, (_, i) => queue.send('conv-a', message(`m${i}`)))));
    const times = sender.delivered.map((d) => d.at);
    expect(times).toHaveLength(30);
    expect(Math.max(...perSecond(times))).toBe(7);
    expect(tightestSpan(times, 7)).toBeGreaterThanOrEqual(1000);
  });

  it('by default also keeps Teams limits of 8 in 2 seconds and 60 in 30 seconds per conversation', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send });
    await vt.run(Promise.all(Array.from({ length: 70 }, (_, i) => queue.send('conv-a', message(`m${i}`)))));
    const times = sender.delivered.map((d) => d.at);
    expect(times).toHaveLength(70);
    expect(tightestSpan(times, 7)).toBeGreaterThanOrEqual(1000);
    expect(tightestSpan(times, 8)).toBeGreaterThanOrEqual(2000);
    expect(tightestSpan(times, 60)).toBeGreaterThanOrEqual(30000);
  });

  it('sends no more than 50 requests a second for the app across many conversations of one tenant', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send });
    const sends = [];
    for (let c = 0; c < 120; c++) {
      for (let m = 0; m < 2; m++)
        sends.push(queue.send(`conv-${c}`, message(`m${m}`), { tenantId: 'contoso' }));
    }
    await vt.run(Promise.all(sends));
    const times = sender.delivered.map((d) => d.at);
    expect(times).toHaveLength(240);
    expect(Math.max(...perSecond(times))).toBe(50);
    expect(tightestSpan(times, 50)).toBeGreaterThanOrEqual(1000);
  });

  it('gives each tenant its own per-app budget', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send, perTenant: [{ max: 5, windowMs: 1000 }] });
    const sends = [];
    for (let c = 0; c < 10; c++) {
      sends.push(queue.send(`a-${c}`, message('x'), { tenantId: 'tenant-a' }));
      sends.push(queue.send(`b-${c}`, message('x'), { tenantId: 'tenant-b' }));
    }
    await vt.run(Promise.all(sends));
    const firstSecond = sender.delivered.filter((d) => d.at < 1000);
    expect(firstSecond.filter((d) => d.conversationId.startsWith('a-'))).toHaveLength(5);
    expect(firstSecond.filter((d) => d.conversationId.startsWith('b-'))).toHaveLength(5);
  });

  it('counts retries against the rate limits too', async () => {
    const vt = new VirtualTime();
    const failures = { 'conv-a': [new SendFailure('throttled', 502)] };
    const sender = recordingSender(vt, failures);
    const queue = queueWith(vt, {
      send: sender.send,
      perConversation: [{ max: 2, windowMs: 1000 }],
      baseDelayMs: 10,
    });
    await vt.run(Promise.all([queue.send('conv-a', message('one')), queue.send('conv-a', message('two'))]));
    const attemptTimes = sender.attempts.map((a) => a.at);
    expect(attemptTimes).toHaveLength(3);
    expect(tightestSpan(attemptTimes, 2)).toBeGreaterThanOrEqual(1000);
  });
});

describe('the proactive queue keeps the order of messages within a conversation', () => {
  it('delivers messages to one conversation in the order they were queued, even when one is retried', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    let calls = 0;
    const send = async (conversationId: string, activity: object): Promise<void> => {
      // The third message to conv-a is throttled twice before it goes through.
      if (conversationId === 'conv-a' && (activity as { text: string }).text === 'a2' && calls++ < 2) {
        throw new SendFailure('throttled', 429, '2');
      }
      await sender.send(conversationId, activity);
    };
    const queue = queueWith(vt, { send, perConversation: [{ max: 7, windowMs: 1000 }] });
    const sends = [];
    for (let i = 0; i < 10; i++) {
      sends.push(queue.send('conv-a', message(`a${i}`)));
      sends.push(queue.send('conv-b', message(`b${i}`)));
    }
    await vt.run(Promise.all(sends));
    const textsTo = (id: string) =>
      sender.delivered.filter((d) => d.conversationId === id).map((d) => d.text);
    expect(textsTo('conv-a')).toEqual(Array.from({ length: 10 }, (_, i) => `a${i}`));
    expect(textsTo('conv-b')).toEqual(Array.from({ length: 10 }, (_, i) => `b${i}`));
    // conv-b was not held up by conv-a's retries.
    expect(
      Math.max(...sender.delivered.filter((d) => d.conversationId === 'conv-b').map((d) => d.at)),
    ).toBeLessThan(2000);
  });
});

describe('the proactive queue retries what Teams asks it to retry', () => {
  it.each([429, 412, 502, 504])('retries a send that failed with %i and delivers it once', async (status) => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure(`status ${status}`, status)] });
    const queue = queueWith(vt, { send: sender.send });
    await vt.run(queue.send('conv-a', message('hello')));
    expect(sender.attempts).toHaveLength(2);
    expect(sender.delivered.map((d) => d.text)).toEqual(['hello']);
  });

  it('waits at least the Retry-After seconds before retrying', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure('throttled', 429, '5')] });
    const queue = queueWith(vt, { send: sender.send, baseDelayMs: 100 });
    await vt.run(queue.send('conv-a', message('hello')));
    const [first, second] = sender.attempts.map((a) => a.at);
    expect(second - first).toBeGreaterThanOrEqual(5000);
  });

  it('waits until a Retry-After given as an HTTP date before retrying', async () => {
    const vt = new VirtualTime();
    const retryAt = new Date(START + 7000).toUTCString();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure('throttled', 429, retryAt)] });
    const queue = queueWith(vt, { send: sender.send, baseDelayMs: 100 });
    await vt.run(queue.send('conv-a', message('hello')));
    expect(sender.delivered[0].at).toBeGreaterThanOrEqual(7000);
  });

  it('backs off exponentially with jitter between retries when there is no Retry-After', async () => {
    const gaps = async (random: number): Promise<number[]> => {
      const vt = new VirtualTime();
      const failures = { 'conv-a': [502, 502, 502, 502].map((s) => new SendFailure('bad gateway', s)) };
      const sender = recordingSender(vt, failures);
      const queue = queueWith(vt, { send: sender.send, random: () => random, baseDelayMs: 1000 });
      await vt.run(queue.send('conv-a', message('hello')));
      const times = sender.attempts.map((a) => a.at);
      return times.slice(1).map((t, i) => t - times[i]);
    };
    // Half of each doubling step is fixed and half is random.
    expect(await gaps(0)).toEqual([500, 1000, 2000, 4000]);
    expect(await gaps(0.5)).toEqual([750, 1500, 3000, 6000]);
  });

  it('gives up after the configured number of attempts, naming the conversation and the last status', async () => {
    const vt = new VirtualTime();
    const failures = { 'conv-a': Array.from({ length: 10 }, () => new SendFailure('gateway timeout', 504)) };
    const sender = recordingSender(vt, failures);
    const queue = queueWith(vt, { send: sender.send, maxAttempts: 3 });
    const err = await vt.run(rejectionOf(queue.send('conv-a', message('hello'))));
    expect(sender.attempts).toHaveLength(3);
    expect(err.code).toBe(ProactiveErrorCodes.retriesExhausted);
    expect(err.conversationId).toBe('conv-a');
    expect(err.statusCode).toBe(504);
    expect(err.attempts).toBe(3);
    expect(err.message).toContain('conversation conv-a');
    expect(err.message).toContain('last status 504');
    expect(queue.pending).toBe(0);
  });

  it('fails a send whose Retry-After is longer than the queue waits, instead of holding the conversation', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure('throttled', 429, '3600')] });
    const queue = queueWith(vt, { send: sender.send, maxRetryAfterMs: 60_000 });
    const err = await vt.run(rejectionOf(queue.send('conv-a', message('hello'))));
    expect(err.code).toBe(ProactiveErrorCodes.retriesExhausted);
    expect(err.message).toContain('Retry-After');
    expect(sender.attempts).toHaveLength(1);
  });
});

describe('the proactive queue fails at once on what a retry will not fix', () => {
  it('fails a 404 at once as unreachable, so the caller can escalate', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-gone': [new SendFailure('not found', 404)] });
    const queue = queueWith(vt, { send: sender.send });
    const err = await vt.run(rejectionOf(queue.send('conv-gone', message('hello'))));
    expect(sender.attempts).toHaveLength(1);
    expect(err.code).toBe(ProactiveErrorCodes.unreachable);
    expect(err.message).toContain('conversation conv-gone');
    expect(err.message).toContain('404');
  });

  it.each([400, 401, 403])('fails a %i at once without retrying', async (status) => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure('no', status)] });
    const queue = queueWith(vt, { send: sender.send });
    const err = await vt.run(rejectionOf(queue.send('conv-a', message('hello'))));
    expect(sender.attempts).toHaveLength(1);
    expect(err.code).toBe(ProactiveErrorCodes.rejected);
    expect(err.statusCode).toBe(status);
  });

  it('fails at once on an error without an HTTP status, since the message may have been delivered', async () => {
    const vt = new VirtualTime();
    const queue = queueWith(vt, {
      send: async () => {
        throw new Error('socket hang up');
      },
    });
    const err = await vt.run(rejectionOf(queue.send('conv-a', message('hello'))));
    expect(err.code).toBe(ProactiveErrorCodes.rejected);
    expect(err.message).toContain('socket hang up');
  });

  it('sends the next message to a conversation after the one ahead of it failed', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-a': [new SendFailure('forbidden', 403)] });
    const queue = queueWith(vt, { send: sender.send });
    const [first, second] = await vt.run(
      Promise.allSettled([queue.send('conv-a', message('one')), queue.send('conv-a', message('two'))]),
    );
    expect(first.status).toBe('rejected');
    expect(second.status).toBe('fulfilled');
  });
});

describe('the proactive queue is bounded and can be stopped', () => {
  it('rejects a send when the queue is full, with an error saying so, and accepts again once drained', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send, maxQueued: 3 });
    const accepted = [1, 2, 3].map((i) => queue.send(`conv-${i}`, message('x')));
    const err = await rejectionOf(queue.send('conv-4', message('x')));
    expect(err.code).toBe(ProactiveErrorCodes.queueFull);
    expect(err.message).toContain('conversation conv-4');
    expect(err.message).toContain('limit 3');
    await vt.run(Promise.all(accepted));
    await vt.run(queue.send('conv-4', message('x')));
    expect(sender.delivered).toHaveLength(4);
  });

  it('stop lets every queued message go out, then refuses new ones', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt);
    const queue = queueWith(vt, { send: sender.send, perConversation: [{ max: 2, windowMs: 1000 }] });
    const sends = Array.from({ length: 6 }, (_, i) => queue.send('conv-a', message(`m${i}`)));
    await vt.run(queue.stop());
    expect(sender.delivered.map((d) => d.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    await expect(Promise.all(sends)).resolves.toBeDefined();
    expect(queue.pending).toBe(0);
    const err = await rejectionOf(queue.send('conv-a', message('late')));
    expect(err.code).toBe(ProactiveErrorCodes.queueStopped);
  });

  it('stop with discardPending rejects what is not yet on the wire and lets the send in flight finish', async () => {
    const vt = new VirtualTime();
    let release: () => void = () => undefined;
    const delivered: string[] = [];
    const queue = queueWith(vt, {
      send: (_id, activity) =>
        new Promise<void>((resolve) => {
          release = () => {
            delivered.push((activity as { text: string }).text);
            resolve();
          };
        }),
    });
    const outcomes = Promise.allSettled([
      queue.send('conv-a', message('first')),
      queue.send('conv-a', message('second')),
    ]);
    await new Promise((r) => setImmediate(r));
    const stopped = queue.stop({ discardPending: true });
    release();
    await vt.run(stopped);
    const [first, second] = await outcomes;
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && (second.reason as ProactiveSendError).code).toBe(
      ProactiveErrorCodes.queueStopped,
    );
    expect(delivered).toEqual(['first']);
  });

  it('drain resolves once every accepted send has settled, failures included', async () => {
    const vt = new VirtualTime();
    const sender = recordingSender(vt, { 'conv-b': [new SendFailure('gone', 404)] });
    const queue = queueWith(vt, { send: sender.send });
    const sends = [queue.send('conv-a', message('x')), queue.send('conv-b', message('y'))];
    const outcomes = Promise.allSettled(sends);
    await vt.run(queue.drain());
    expect(queue.pending).toBe(0);
    expect((await outcomes).map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
  });
});

describe('Retry-After and botbuilder errors are read as Teams sends them', () => {
  it('reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read', () => {
    expect(parseRetryAfter('1', START)).toBe(1000);
    expect(parseRetryAfter(' 120 ', START)).toBe(120_000);
    expect(parseRetryAfter(new Date(START + 30_000).toUTCString(), START)).toBe(30_000);
    expect(parseRetryAfter(new Date(START - 30_000).toUTCString(), START)).toBe(0);
    expect(parseRetryAfter('soon', START)).toBeUndefined();
    expect(parseRetryAfter(undefined, START)).toBeUndefined();
  });

  it('maps a RestError-shaped error to its status and Retry-After header', () => {
    const restError = Object.assign(new Error('Too many requests'), {
      name: 'RestError',
      statusCode: 429,
      response: {
        status: 429,
        headers: { get: (name: string) => (name === 'retry-after' ? '3' : undefined) },
      },
    });
    const failure = toSendFailure(restError);
    expect(failure.statusCode).toBe(429);
    expect(failure.retryAfter).toBe('3');
    expect(failure.cause).toBe(restError);
    expect(toSendFailure(new Error('socket hang up')).statusCode).toBeUndefined();
  });
});

describe('proactive sends over real HTTP', () => {
  let connector: ThrottlingConnector | undefined;
  afterEach(async () => {
    await connector?.close();
    connector = undefined;
  });

  it('delivers a message answered 429 with Retry-After: 1 exactly once, after the Retry-After', async () => {
    connector = await startThrottlingConnector(failFirst(429, { 'retry-after': '1' }));
    const queue = new ProactiveQueue({ send: fetchSender(connector.serviceUrl) });
    await queue.send('a:conv-1', message('your access was approved'));
    await queue.stop();
    expect(connector.attempts.map((a) => a.status)).toEqual([429, 200]);
    expect(connector.delivered().map((a) => a.activity.text)).toEqual(['your access was approved']);
    const [throttled, delivered] = connector.attempts;
    expect(delivered.at - throttled.at).toBeGreaterThanOrEqual(1000 - 5);
  });

  it("through botbuilder's CloudAdapter, retries a 412 after its Retry-After and delivers it once", async () => {
    connector = await startThrottlingConnector(failFirst(412, { 'retry-after': '1' }));
    const serviceUrl = connector.serviceUrl;
    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    const send = botbuilderSender(adapter, '', (conversationId) => ({
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: conversationId, isGroup: false, conversationType: 'personal', name: '' },
      bot: { id: 'attest-bot', name: 'Attest' },
    }));
    const queue = new ProactiveQueue({ send });
    await queue.send('a:conv-2', message('please approve'));
    expect(connector.attempts.map((a) => a.status)).toEqual([412, 200]);
    expect(connector.delivered().map((a) => a.activity.text)).toEqual(['please approve']);
    const [refused, delivered] = connector.attempts;
    expect(delivered.at - refused.at).toBeGreaterThanOrEqual(1000 - 5);
  });

  it("through botbuilder's CloudAdapter, fails a 404 at once as unreachable", async () => {
    connector = await startThrottlingConnector(always(404));
    const serviceUrl = connector.serviceUrl;
    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    const send = botbuilderSender(adapter, '', (conversationId) => ({
      channelId: 'msteams',
      serviceUrl,
      conversation: { id: conversationId, isGroup: false, conversationType: 'personal', name: '' },
      bot: { id: 'attest-bot', name: 'Attest' },
    }));
    const err = await rejectionOf(new ProactiveQueue({ send }).send('a:conv-3', message('hello')));
    expect(err.code).toBe(ProactiveErrorCodes.unreachable);
    expect(err.statusCode).toBe(404);
    expect(connector.attempts).toHaveLength(1);
  });

  it('fails as unreachable when no conversation reference is stored', async () => {
    const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({}));
    const send = botbuilderSender(adapter, '', () => undefined);
    const err = await rejectionOf(new ProactiveQueue({ send }).send('a:unknown', message('hello')));
    expect(err.code).toBe(ProactiveErrorCodes.unreachable);
    expect(err.message).toContain('a:unknown');
  });
});
