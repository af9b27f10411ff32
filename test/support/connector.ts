/**
 * Test support: a local Bot Framework connector. A bot replies by POSTing to the activity's serviceUrl
 * (`/v3/conversations/{id}/activities[/{replyToId}]`); this server records those activities.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A recorded reply. */
export interface ConnectorActivity {
  path: string;
  activity: { type: string; text?: string; replyToId?: string; conversation?: { id: string } };
}

/** A running connector. */
export interface LocalConnector {
  serviceUrl: string;
  received: ConnectorActivity[];
  close(): Promise<void>;
}

/** Starts the connector on a free loopback port. */
export async function startConnector(): Promise<LocalConnector> {
  const received: ConnectorActivity[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.method === 'POST' && /^\/v3\/conversations\/[^/]+\/activities/.test(req.url ?? '')) {
        received.push({ path: req.url as string, activity: JSON.parse(body) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: `reply-${++n}` }));
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
    close: () => new Promise((r) => server.close(() => r())),
  };
}
