/**
 * JSON `$batch` for Microsoft Graph: any number of requests sent 20 at a time, with the throttled ones
 * retried. NB. Graph throttles the requests inside a batch one by one and answers each with its own 429 (or
 * 503) and Retry-After, while the batch itself is a 200, so the client's RetryHandler never sees them: the
 * retry of those sub-requests has to happen here.
 */
import type { Client } from '@microsoft/microsoft-graph-client';

/** Graph's limit on requests in one JSON batch. */
export const GRAPH_BATCH_LIMIT = 20;

/** One request inside a batch; `url` is relative to the service root, e.g. `/users/{id}?$select=id`. */
export interface GraphBatchRequest {
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One answer inside a batch, as Graph sends it. */
export interface GraphBatchResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** How hard to retry throttled sub-requests, and how many batches may be in flight at once. */
export interface GraphBatchOptions {
  /** Rounds of retry for sub-requests answered 429/503/504; after the last, their answer is returned as is. */
  maxRetries: number;
  /** Cap on one wait, in seconds, whatever Retry-After says, so a batch call stays bounded. */
  maxWaitSeconds: number;
  /** Batches sent at the same time. */
  concurrency: number;
  /** Waits this long; replaceable so a caller can observe or shorten waits. */
  sleep: (ms: number) => Promise<void>;
}

/** Sensible defaults: 3 retries, at most 30 s per wait, 4 batches at a time. */
export const DEFAULT_BATCH_OPTIONS: GraphBatchOptions = {
  maxRetries: 3,
  maxWaitSeconds: 30,
  concurrency: 4,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const RETRYABLE = new Set([429, 503, 504]);

/** A header of a sub-response by name, ignoring case (Graph and proxies differ in spelling). */
export function batchHeader(response: GraphBatchResponse, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(response.headers ?? {})) if (k.toLowerCase() === wanted) return v;
  return undefined;
}

/** Retry-After in seconds (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterSeconds(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, n);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

async function postBatch(client: Client, requests: GraphBatchRequest[]): Promise<GraphBatchResponse[]> {
  const res = (await client.api('/$batch').post({
    requests: requests.map((r) => ({
      id: r.id,
      method: r.method,
      url: r.url,
      ...(r.body !== undefined
        ? { body: r.body, headers: { 'Content-Type': 'application/json', ...r.headers } }
        : r.headers
          ? { headers: r.headers }
          : {}),
    })),
  })) as { responses?: GraphBatchResponse[] };
  return res.responses ?? [];
}

/** Sends one chunk of at most 20, retrying its throttled sub-requests in later, smaller batches. */
async function sendChunk(
  client: Client,
  chunk: GraphBatchRequest[],
  opts: GraphBatchOptions,
  out: Map<string, GraphBatchResponse>,
): Promise<void> {
  let pending = chunk;
  for (let attempt = 0; ; attempt++) {
    const answers = await postBatch(client, pending);
    const retry: GraphBatchRequest[] = [];
    let waitSeconds = 0;
    for (const answer of answers) {
      out.set(answer.id, answer);
      if (!RETRYABLE.has(answer.status)) continue;
      const req = pending.find((r) => r.id === answer.id);
      if (!req) continue;
      retry.push(req);
      // Without Retry-After, back off exponentially (1, 2, 4 ... s) as Graph's guidance asks.
      waitSeconds = Math.max(
        waitSeconds,
        retryAfterSeconds(batchHeader(answer, 'Retry-After')) ?? 2 ** attempt,
      );
    }
    if (retry.length === 0 || attempt >= opts.maxRetries) return;
    await opts.sleep(Math.min(waitSeconds, opts.maxWaitSeconds) * 1000);
    pending = retry;
  }
}

/**
 * Sends every request in batches of at most 20 and returns each answer by request id. Sub-requests answered
 * 429, 503 or 504 are sent again after the longest Retry-After among them (bounded); when retries run out
 * their last answer is returned, so the caller decides what a lasting 429 means. A failure of the batch
 * call itself (after the client's own retries) is thrown as the client threw it.
 */
export async function sendBatched(
  client: Client,
  requests: GraphBatchRequest[],
  options: Partial<GraphBatchOptions> = {},
): Promise<Map<string, GraphBatchResponse>> {
  const opts = { ...DEFAULT_BATCH_OPTIONS, ...options };
  const chunks: GraphBatchRequest[][] = [];
  for (let i = 0; i < requests.length; i += GRAPH_BATCH_LIMIT)
    chunks.push(requests.slice(i, i + GRAPH_BATCH_LIMIT));
  const out = new Map<string, GraphBatchResponse>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < chunks.length) await sendChunk(client, chunks[next++], opts, out);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.concurrency, chunks.length)) }, worker));
  return out;
}
