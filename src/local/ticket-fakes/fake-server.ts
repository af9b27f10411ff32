/**
 * What the Jira and ServiceNow fakes share: an HTTP server on 127.0.0.1 (port 0 picks one), fault rules set
 * and cleared while it runs (TS API or the loopback-only `/_fake/faults`), a `down` switch (connection refused
 * or 503), request counters by path, and a listing of what is stored (`GET /_fake/tickets`). Each fake supplies
 * its routes and its system's error body; rules are timed on the fake's own clock so a test clock can end an
 * outage.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { escapeHtml } from '../../domain/html-text';
import { fieldChecks, globToRegExp, isLoopbackAddress, ruleObjects } from '../fault-rule-checks';

/** One request as a fake's routes see it. */
export interface FakeRequest {
  method: string;
  /** Path without the query string, percent-decoded per segment by the routes that need it. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  /** The raw body ('' when none). */
  body: string;
}

/** An answer: status, JSON (or text) body, headers. */
export interface FakeResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send `body` as is (a string) with this content type instead of JSON. */
  contentType?: string;
}

/** One fault rule (also the JSON of `POST /_fake/faults`). */
export interface TicketFaultRule {
  /** HTTP method (case-insensitive); absent or `*`: any. */
  method?: string;
  /** Glob over the request path, e.g. `/rest/api/3/issue/*` + `/comment`: `*` within a segment, `**` across. Absent: every path. */
  path?: string;
  /** The status to answer, 400..599, with the system's error body (required unless `hang`). */
  status?: number;
  /** Never answer: the request waits until the client's timeout gives up or the fake closes. */
  hang?: boolean;
  /** Share of matching requests that get the fault, 0..1 (default 1). */
  rate?: number;
  /** How many requests get the fault before the rule is spent; absent: no limit. */
  count?: number;
  /** ISO time on the fake's clock after which the rule no longer applies. */
  until?: string;
  /** Milliseconds on the fake's clock from when the rule is set (instead of `until`). */
  durationMs?: number;
  /** Seconds for a `Retry-After` header (0 allowed); absent: no header. */
  retryAfter?: number;
  /** Jira's `RateLimit-Reason` header, e.g. `jira-per-issue-on-write`, `jira-quota-global-based`. */
  rateLimitReason?: string;
  /** The error message to put in the system's error body instead of the usual one. */
  message?: string;
}

/** A rule in force, as `GET /_fake/faults` lists it. */
export interface ActiveTicketFault extends TicketFaultRule {
  /** Faults still to give when the rule has a count. */
  remaining?: number;
}

/** Thrown for a malformed rule; the message names the rule and the problem. */
export class FakeFaultRuleError extends Error {}

/** How a fake is unreachable: `refused` closes the listener (connection refused), `503` answers every call 503. */
export type DownMode = 'refused' | '503';

/** What the fakes have in common for tests and the admin endpoint. */
export interface TicketFake {
  /** Base URL, e.g. http://127.0.0.1:5123 (Jira's site URL or ServiceNow's instance URL). */
  readonly url: string;
  readonly port: number;
  /** Adds fault rules (checked in order before the routes). Throws FakeFaultRuleError on a malformed rule. */
  addFaults(rules: TicketFaultRule[]): void;
  /** Removes every fault rule. */
  clearFaults(): void;
  faults(): ActiveTicketFault[];
  /** Makes the fake unreachable (refused: nothing listens on its port) or answer 503; `false` brings it back. */
  setDown(mode: DownMode | false): Promise<void>;
  /** Requests received (admin calls excluded) by `METHOD path`, since start or resetCounts. */
  counts(): Record<string, number>;
  /** Total requests received whose `METHOD path` matches the glob (`POST /rest/api/3/issue/*` + `/comment`). */
  count(methodAndPathGlob: string): number;
  resetCounts(): void;
  close(): Promise<void>;
}

const KNOWN = new Set([
  'method',
  'path',
  'status',
  'rate',
  'count',
  'until',
  'durationMs',
  'retryAfter',
  'rateLimitReason',
  'message',
  'hang',
]);

interface CompiledRule {
  rule: TicketFaultRule;
  pattern?: RegExp;
  untilMs?: number;
  remaining?: number;
}

/** Checks rules (from the TS API or JSON) and compiles them with their end time; throws naming the bad rule. */
export function compileFaultRules(rules: unknown, now: Date): CompiledRule[] {
  const fail = (message: string) => new FakeFaultRuleError(message);
  return ruleObjects(rules, fail).map((fields) => {
    const { r, where } = fields;
    const check = fieldChecks(fields, fail);
    const unknown = Object.keys(r).find((k) => !KNOWN.has(k));
    if (unknown !== undefined)
      throw new FakeFaultRuleError(
        `${where} has an unknown field '${unknown}' (known: ${[...KNOWN].join(', ')})`,
      );
    if (r.hang !== undefined && typeof r.hang !== 'boolean')
      throw new FakeFaultRuleError(`${where}: hang must be true or false`);
    // A hanging rule needs no status; one given is still checked.
    if (r.hang !== true || r.status !== undefined) check.status();
    check.nonEmptyStrings(['method', 'path', 'until', 'rateLimitReason', 'message']);
    check.rate();
    if (r.count !== undefined && (typeof r.count !== 'number' || !Number.isInteger(r.count) || r.count < 1))
      throw new FakeFaultRuleError(`${where}: count must be a whole number, 1 or more`);
    check.durationMs();
    if (r.until !== undefined && r.durationMs !== undefined)
      throw new FakeFaultRuleError(`${where}: give until or durationMs, not both`);
    let untilMs: number | undefined;
    if (typeof r.until === 'string') {
      untilMs = Date.parse(r.until);
      if (Number.isNaN(untilMs))
        throw new FakeFaultRuleError(`${where}: until must be an ISO time such as 2026-01-01T10:00:00Z`);
    }
    if (typeof r.durationMs === 'number') untilMs = now.getTime() + r.durationMs;
    check.wholeSeconds('retryAfter');
    const rule = { ...(r as unknown as TicketFaultRule) };
    return {
      rule,
      pattern: rule.path !== undefined ? globToRegExp(rule.path) : undefined,
      untilMs,
      remaining: rule.count,
    };
  });
}

/** What a fake plugs into the shared server. */
export interface FakeBehaviour {
  /** For messages: "Jira fake". */
  name: string;
  now: () => Date;
  random: () => number;
  /** The system's error answer for a status (fault rules, down 503), with the rule's headers added by the server. */
  errorResponse(status: number, message?: string): FakeResponse;
  route(req: FakeRequest): FakeResponse | Promise<FakeResponse>;
  /** What `GET /_fake/tickets` lists. */
  listing(): unknown;
  /** Called after a write the routes answered with success (the fakes save their state file here). */
  afterWrite?(): void;
}

/** Reads a fake's saved state, or undefined when there is none; a file that does not parse is an error naming it. */
export function readStateFile(file: string | undefined): unknown {
  if (file === undefined || !fs.existsSync(file)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch (err) {
    throw new Error(
      `The ticket fake's state file ${file} is not JSON (${(err as Error).message}); delete it to start empty.`,
    );
  }
}

/** Saves a fake's state atomically (write, then rename), so a crash leaves the old or the new file. */
export function writeStateFile(file: string | undefined, state: unknown): void {
  if (file === undefined) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state));
  fs.renameSync(tmp, file);
}

const MAX_BODY = 2 * 1024 * 1024;

/** The shared server; the fakes wrap it. */
export class FakeServer implements TicketFake {
  private server: http.Server;
  private readonly sockets = new Set<Socket>();
  private rules: CompiledRule[] = [];
  private down: DownMode | false = false;
  private byPath: Record<string, number> = {};
  url = '';
  port = 0;

  constructor(private readonly b: FakeBehaviour) {
    this.server = this.createServer();
  }

  private createServer(): http.Server {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  addFaults(rules: TicketFaultRule[]): void {
    this.rules.push(...compileFaultRules(rules, this.b.now()));
  }

  clearFaults(): void {
    this.rules = [];
  }

  faults(): ActiveTicketFault[] {
    return this.rules.map((c) => ({
      ...c.rule,
      ...(c.untilMs !== undefined ? { until: new Date(c.untilMs).toISOString() } : {}),
      ...(c.remaining !== undefined ? { remaining: c.remaining } : {}),
    }));
  }

  async setDown(mode: DownMode | false): Promise<void> {
    const was = this.down;
    this.down = mode;
    if (mode === 'refused' && was !== 'refused') {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    } else if (mode !== 'refused' && was === 'refused') {
      // NB. Back on the same port: clients keep the URL they were given.
      this.server = this.createServer();
      await this.listen(this.port);
    }
  }

  counts(): Record<string, number> {
    return { ...this.byPath };
  }

  count(methodAndPathGlob: string): number {
    const [m, p] = methodAndPathGlob.includes(' ')
      ? methodAndPathGlob.split(' ', 2)
      : ['*', methodAndPathGlob];
    const re = globToRegExp(p);
    return Object.entries(this.byPath)
      .filter(([k]) => {
        const [km, kp] = k.split(' ', 2);
        return (m === '*' || m.toUpperCase() === km) && re.test(kp);
      })
      .reduce((n, [, v]) => n + v, 0);
  }

  resetCounts(): void {
    this.byPath = {};
  }

  async close(): Promise<void> {
    if (this.down === 'refused') return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private send(res: http.ServerResponse, r: FakeResponse): void {
    // NB. No keep-alive: when a test stops or restarts the fake, no client holds a pooled connection that
    // would fail its next request with a reset instead of the refusal or answer the test expects.
    const headers: Record<string, string> = { ...(r.headers ?? {}), Connection: 'close' };
    let payload = '';
    if (r.body !== undefined) {
      payload = r.contentType !== undefined ? String(r.body) : JSON.stringify(r.body);
      headers['Content-Type'] = r.contentType ?? 'application/json;charset=UTF-8';
    }
    res.writeHead(r.status, headers);
    res.end(payload);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body = '';
    try {
      body = await readBody(req);
    } catch {
      this.send(res, this.b.errorResponse(413, 'The request body is too large.'));
      return;
    }
    const u = new URL(req.url ?? '/', 'http://fake');
    const fr: FakeRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body,
    };
    try {
      if (fr.path.startsWith('/_fake/')) {
        if (!isLoopbackAddress(req.socket.remoteAddress)) {
          this.send(res, {
            status: 403,
            body: { error: 'the admin endpoint answers loopback callers only' },
          });
          return;
        }
        this.send(res, await this.admin(fr));
        return;
      }
      const key = `${fr.method} ${fr.path}`;
      this.byPath[key] = (this.byPath[key] ?? 0) + 1;
      if (this.down === '503') {
        this.send(res, this.b.errorResponse(503));
        return;
      }
      const fault = this.faultFor(fr);
      // A hung request is left unanswered; close() destroys its socket.
      if (fault === 'hang') return;
      if (fault) {
        this.send(res, fault);
        return;
      }
      const answer = await this.b.route(fr);
      if (fr.method !== 'GET' && answer.status < 300) this.b.afterWrite?.();
      this.send(res, answer);
    } catch (err) {
      this.send(res, this.b.errorResponse(500, `${this.b.name} failed: ${(err as Error).message}`));
    }
  }

  private faultFor(req: FakeRequest): FakeResponse | 'hang' | undefined {
    const now = this.b.now().getTime();
    for (const c of this.rules) {
      const r = c.rule;
      if (c.untilMs !== undefined && now >= c.untilMs) continue;
      if (c.remaining !== undefined && c.remaining <= 0) continue;
      if (r.method !== undefined && r.method !== '*' && r.method.toUpperCase() !== req.method) continue;
      if (c.pattern && !c.pattern.test(req.path)) continue;
      if (r.rate !== undefined && r.rate < 1 && !(this.b.random() < r.rate)) continue;
      if (c.remaining !== undefined) c.remaining -= 1;
      if (r.hang === true) return 'hang';
      const base = this.b.errorResponse(r.status ?? 503, r.message);
      const headers: Record<string, string> = { ...(base.headers ?? {}) };
      if (r.retryAfter !== undefined) headers['Retry-After'] = String(r.retryAfter);
      if (r.rateLimitReason !== undefined) headers['RateLimit-Reason'] = r.rateLimitReason;
      return { ...base, headers };
    }
    return undefined;
  }

  private async admin(req: FakeRequest): Promise<FakeResponse> {
    const json = (): unknown => {
      if (req.body.trim() === '') return undefined;
      return JSON.parse(req.body) as unknown;
    };
    const bad = (message: string): FakeResponse => ({ status: 400, body: { error: message } });
    try {
      switch (`${req.method} ${req.path.replace(/\/$/, '')}`) {
        case 'GET /_fake/faults':
          return { status: 200, body: { faults: this.faults() } };
        case 'POST /_fake/faults': {
          const b = json();
          const rules = Array.isArray(b)
            ? b
            : b !== null && typeof b === 'object' && 'rules' in b
              ? (b as { rules: unknown }).rules
              : [b];
          this.addFaults(rules as TicketFaultRule[]);
          return { status: 200, body: { faults: this.faults() } };
        }
        case 'DELETE /_fake/faults':
          this.clearFaults();
          return { status: 204 };
        case 'POST /_fake/down': {
          const b = json() as { mode?: unknown } | undefined;
          const mode = b?.mode ?? '503';
          // NB. `refused` is the TS API's: once nothing listens, this endpoint cannot bring it back.
          if (mode !== '503')
            return bad('mode must be "503" here; connection refused is set through the TS API (setDown)');
          await this.setDown('503');
          return { status: 200, body: { down: '503' } };
        }
        case 'DELETE /_fake/down':
          await this.setDown(false);
          return { status: 204 };
        case 'GET /_fake/counts':
          return { status: 200, body: { counts: this.counts() } };
        case 'DELETE /_fake/counts':
          this.resetCounts();
          return { status: 204 };
        case 'GET /_fake/tickets': {
          const listing = this.b.listing();
          if ((req.headers.accept ?? '').includes('text/html') || req.query.get('format') === 'html')
            return {
              status: 200,
              body: htmlListing(this.b.name, listing),
              contentType: 'text/html; charset=utf-8',
            };
          return { status: 200, body: listing };
        }
        default:
          return {
            status: 404,
            body: {
              error: `no admin route ${req.method} ${req.path}; try GET|POST|DELETE /_fake/faults, POST|DELETE /_fake/down, GET|DELETE /_fake/counts, GET /_fake/tickets`,
            },
          };
      }
    } catch (err) {
      if (err instanceof FakeFaultRuleError || err instanceof SyntaxError) return bad((err as Error).message);
      throw err;
    }
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A small page for a person: the listing as indented JSON. */
function htmlListing(name: string, listing: unknown): string {
  return `<!doctype html><meta charset="utf-8"><title>${escapeHtml(name)}</title><h1>${escapeHtml(name)}: tickets</h1><pre>${escapeHtml(JSON.stringify(listing, null, 2))}</pre>`;
}

/** Checks `Authorization: Basic` against user:secret pairs or `Bearer` against tokens; true when accepted. */
export function authorised(
  headers: http.IncomingHttpHeaders,
  basic: ReadonlyArray<readonly [string, string]>,
  bearer: ReadonlySet<string>,
): boolean {
  const h = headers.authorization ?? '';
  const m = /^(Basic|Bearer)\s+(.+)$/i.exec(h.trim());
  if (!m) return false;
  if (m[1].toLowerCase() === 'bearer') return bearer.has(m[2]);
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  const user = decoded.slice(0, i);
  const secret = decoded.slice(i + 1);
  return basic.some(([u, s]) => u === user && s === secret);
}
