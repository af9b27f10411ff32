/**
 * Test support: a local Bot Framework connector. A bot replies by POSTing to the activity's serviceUrl
 * (`/v3/conversations/{id}/activities[/{replyToId}]`) and updates a sent activity with PUT
 * (`/v3/conversations/{id}/activities/{activityId}`); this server records both, answers with the ids the
 * Bot Framework would, and can be told to answer a conversation with an error (as Teams does when the app was
 * removed: 403 or 404 with an `error` body).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A recorded activity. */
export interface ConnectorActivity {
  method: 'POST' | 'PUT';
  path: string;
  conversationId: string;
  /** For PUT: the activity updated. */
  activityId?: string;
  /** The id this connector gave the activity (POST). */
  id?: string;
  /** When the request arrived (performance.now()), as Teams would count it against its limits. */
  at: number;
  activity: {
    type: string;
    text?: string;
    summary?: string;
    replyToId?: string;
    id?: string;
    conversation?: { id: string };
    attachments?: { contentType: string; content: Record<string, unknown> }[];
  };
}

/** A running connector. */
export interface LocalConnector {
  serviceUrl: string;
  received: ConnectorActivity[];
  /** Answer every call for `conversationId` with `status` (and Teams' error body) until cleared. */
  fail(conversationId: string, status: number | undefined): void;
  close(): Promise<void>;
}

/** Starts the connector on a free loopback port. */
export async function startConnector(): Promise<LocalConnector> {
  const received: ConnectorActivity[] = [];
  const failing = new Map<string, number>();
  let n = 0;
  const server = http.createServer((req, res) => {
    const at = performance.now();
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/?]+))?/.exec(req.url ?? '');
      if (m && (req.method === 'POST' || req.method === 'PUT')) {
        const conversationId = decodeURIComponent(m[1] as string);
        const status = failing.get(conversationId);
        if (status) {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              error: {
                code: status === 403 ? 'BotDisabledByAdmin' : 'ConversationNotFound',
                message: 'refused',
              },
            }),
          );
          return;
        }
        const put = req.method === 'PUT';
        const id = put ? decodeURIComponent(m[2] as string) : `activity-${++n}`;
        received.push({
          method: put ? 'PUT' : 'POST',
          path: req.url as string,
          conversationId,
          activityId: put ? id : undefined,
          id: put ? undefined : id,
          at,
          activity: JSON.parse(body),
        });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id }));
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'NotFound', message: `${req.method} ${req.url}` } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    serviceUrl: `http://127.0.0.1:${port}/`,
    received,
    fail: (conversationId, status) => {
      if (status === undefined) failing.delete(conversationId);
      else failing.set(conversationId, status);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
