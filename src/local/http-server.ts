/**
 * The local host's HTTP server: serves every registered http function under /api/<route> exactly as the
 * Functions host does (route templates with {params}), plus the host's own GET /healthz.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext, type HttpResponseInit } from '@azure/functions';
import type { FunctionContext, HttpFunction } from '../functions/function-types';
import { PortInUseError } from './port-check';

/** One route compiled from its template, e.g. `requests/{id}/decision` or `tab/{*path}`. */
interface CompiledRoute {
  fn: HttpFunction;
  pattern: RegExp;
  params: string[];
  /** Literal segments first, then parameters, a catch-all last: the precedence of the Functions host. */
  rank: number;
}

function compile(fn: HttpFunction): CompiledRoute {
  const params: string[] = [];
  let rank = 0;
  const segments = fn.route.split('/');
  const source = segments
    .map((segment, i) => {
      // `{*name}`: a catch-all, the rest of the path (slashes included, possibly empty); last segment only.
      const rest = /^\{\*(\w+)\}$/.exec(segment);
      if (rest) {
        if (i !== segments.length - 1)
          throw new Error(`Route ${fn.route}: a catch-all must be the last segment.`);
        params.push(rest[1]);
        rank += 1000;
        return null;
      }
      const m = /^\{(\w+)(?::[^}]*)?(\?)?\}$/.exec(segment);
      if (!m) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(m[1]);
      rank += 1;
      return '([^/]+)';
    })
    .reduce<string>((acc, part, i) => {
      if (part === null) return i === 0 ? '(.*)' : `${acc}(?:/(.*))?`; // `tab/{*path}` matches /api/tab, /api/tab/ and below
      return i === 0 ? part : `${acc}/${part}`;
    }, '');
  return { fn, pattern: new RegExp(`^/api/${source}/?$`, 'i'), params, rank };
}

const MAX_BODY = 4 * 1024 * 1024;

/** The local HTTP server. */
export interface LocalHttpServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `functions` on 127.0.0.1:port (0: the OS assigns one; `port` of the result says which). `health` answers /healthz; `contextFor` builds each invocation's
 * context (services and the durable client).
 */
export async function startHttpServer(opts: {
  port: number;
  /** The port is the one this data folder's host had before (for the message when it is taken). */
  recorded?: boolean;
  functions: HttpFunction[];
  health: () => Promise<Record<string, unknown>>;
  contextFor: (invocation: InvocationContext) => FunctionContext;
  log: (line: string) => void;
}): Promise<LocalHttpServer> {
  const routes = opts.functions.map(compile).sort((a, b) => a.rank - b.rank);
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err) => {
      opts.log(`http: ${req.method} ${req.url} failed: ${(err as Error).stack ?? err}`);
      if (!res.headersSent)
        send(res, { status: 500, jsonBody: { error: 'Internal error; see the host log.' } });
      else res.end();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${opts.port}`);
    if (url.pathname === '/healthz' && req.method === 'GET') {
      send(res, { status: 200, jsonBody: await opts.health() });
      return;
    }
    const matches = routes
      .map((r) => ({ r, m: r.pattern.exec(url.pathname) }))
      .filter((x): x is { r: CompiledRoute; m: RegExpExecArray } => x.m !== null);
    if (matches.length === 0) {
      send(res, { status: 404, jsonBody: { error: `No function answers ${url.pathname}.` } });
      return;
    }
    const hit = matches.find((x) =>
      x.r.fn.methods.includes((req.method ?? 'GET') as HttpFunction['methods'][number]),
    );
    if (!hit) {
      const allowed = [...new Set(matches.flatMap((x) => x.r.fn.methods))].join(', ');
      send(res, {
        status: 405,
        headers: { allow: allowed },
        jsonBody: { error: `Use ${allowed} on ${url.pathname}.` },
      });
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      send(res, { status: 413, jsonBody: { error: `The request body is larger than ${MAX_BODY} bytes.` } });
      return;
    }
    const params: Record<string, string> = {};
    // NB. A catch-all's value stays as sent (percent-encoded): its handler decodes it once, after checking it.
    hit.r.params.forEach((name, i) => {
      const raw = hit.m[i + 1] ?? '';
      params[name] =
        i === hit.r.params.length - 1 && /\{\*\w+\}$/.test(hit.r.fn.route) ? raw : decodeURIComponent(raw);
    });
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    const request = new HttpRequest({
      method: req.method ?? 'GET',
      url: url.toString(),
      headers,
      params,
      // NB. @azure/functions ignores a plain string body: it must be wrapped as { string }.
      body: body.length ? { string: body } : undefined,
    });
    const invocation = new InvocationContext({
      functionName: hit.r.fn.name,
      invocationId: randomUUID(),
      logHandler: (level, ...args) => opts.log(`[${hit.r.fn.name}] ${level}: ${args.join(' ')}`),
    });
    send(res, await hit.r.fn.handler(request, opts.contextFor(invocation)));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new PortInUseError('Attest HTTP server', opts.port, 'ATTEST_HTTP_PORT', opts.recorded)
          : err,
      ),
    );
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, init: HttpResponseInit): void {
  const headers: Record<string, string> = {};
  if (init.headers) {
    const h = init.headers as Record<string, string> | Headers;
    if (typeof (h as Headers).forEach === 'function' && !(h as Record<string, string>)['content-type']) {
      (h as Headers).forEach((v, k) => (headers[k] = v));
    } else Object.assign(headers, h);
  }
  let payload: string | Buffer | undefined;
  if (init.jsonBody !== undefined) {
    payload = JSON.stringify(init.jsonBody);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  } else if (typeof init.body === 'string') {
    payload = init.body;
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  } else if (init.body instanceof Uint8Array) {
    payload = Buffer.from(init.body);
  }
  res.writeHead(init.status ?? 200, headers);
  res.end(payload);
}
