/**
 * Test support: a local Bot Framework connector that can throttle. Each POST to
 * `/v3/conversations/{id}/activities[/{replyToId}]` is answered as a script says (429 with Retry-After,
 * 412, 502, 504, 404, ... or 200), so retry behaviour is tested over real HTTP.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendFailure, type ProactiveSender } from '../../src/adapters/teams/proactive-queue';

/** How the connector answers one POST. */
export interface ConnectorAnswer {
  status: number;
  headers?: Record<string, string>;
}

/** Decides the answer to the `attempt`-th POST (1-based) to a conversation. */
export type ConnectorScript = (conversationId: string, attempt: number) => ConnectorAnswer;

/** One POST the connector received. */
export interface ConnectorAttempt {
  conversationId: string;
  /** Wall-clock time the POST arrived, in ms. */
  at: number;
  status: number;
  activity: { type?: string; text?: string };
}

/** A running connector. */
export interface ThrottlingConnector {
  serviceUrl: string;
  /** Every POST, in arrival order. */
  attempts: ConnectorAttempt[];
  /** The POSTs answered 2xx: what a user would see. */
  delivered(): ConnectorAttempt[];
  close(): Promise<void>;
}

/** Answers `status` (with `headers`) to the first POST to each conversation and 200 afterwards. */
export function failFirst(status: number, headers?: Record<string, string>): ConnectorScript {
  return (_conversationId, attempt) => (attempt === 1 ? { status, headers } : { status: 200 });
}

/** Answers `status` to every POST. */
export function always(status: number, headers?: Record<string, string>): ConnectorScript {
  return () => ({ status, headers });
}

/** Starts the connector on a free loopback port. */
export async function startThrottlingConnector(script: ConnectorScript): Promise<ThrottlingConnector> {
  const attempts: ConnectorAttempt[] = [];
  const perConversation = new Map<string, number>();
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const match = /^\/v3\/conversations\/([^/]+)\/activities/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'NotFound', message: `${req.method} ${req.url}` } }));
        return;
      }
      const conversationId = decodeURIComponent(match[1]);
      const attempt = (perConversation.get(conversationId) ?? 0) + 1;
      perConversation.set(conversationId, attempt);
      const answer = script(conversationId, attempt);
      attempts.push({ conversationId, at: Date.now(), status: answer.status, activity: JSON.parse(body) });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(
        answer.status < 300
          ? JSON.stringify({ id: `activity-${++n}` })
          : JSON.stringify({
              error: { code: `Status${answer.status}`, message: `answered ${answer.status}` },
            }),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    serviceUrl: `http://127.0.0.1:${port}/`,
    attempts,
    delivered: () => attempts.filter((a) => a.status < 300),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A sender that POSTs activities to a connector with fetch, throwing a SendFailure on a non-2xx answer. */
export function fetchSender(serviceUrl: string): ProactiveSender {
  return async (conversationId, activity) => {
    const res = await fetch(
      `${serviceUrl}v3/conversations/${encodeURIComponent(conversationId)}/activities`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(activity),
      },
    );
    await res.text();
    if (!res.ok) {
      throw new SendFailure(
        `POST to conversation ${conversationId} answered ${res.status}`,
        res.status,
        res.headers.get('retry-after') ?? undefined,
      );
    }
  };
}
