/**
 * A local ServiceNow instance for the tests and `npm start` (ATTEST_TICKETS_MODE=servicenow-local): the Table
 * API subset Attest calls (`/api/now/table/{table}`, encoded queries with `=` and `^`, `sysparm_fields`,
 * `sysparm_limit`/`sysparm_offset` with `X-Total-Count`), work notes kept as `sys_journal_field` rows, the
 * OAuth client-credentials token endpoint `/oauth_token.do`, ServiceNow's error body
 * (`{"error":{"message","detail"},"status":"failure"}`), Basic and Bearer auth, and the shared fault rules, down
 * switch and counters (fake-server.ts).
 */
import { randomBytes } from 'node:crypto';
import { authorised, FakeServer, type FakeRequest, type FakeResponse, type TicketFake } from './fake-server';

/** How to start the ServiceNow fake. */
export interface ServiceNowFakeOptions {
  port?: number;
  now?: () => Date;
  random?: () => number;
  /** Accepted Basic credentials (user, password). */
  basic?: ReadonlyArray<readonly [string, string]>;
  /** OAuth clients allowed the client-credentials grant (client id, secret). */
  oauthClients?: ReadonlyArray<readonly [string, string]>;
  /** Tables that exist besides sys_journal_field (default sc_req_item, incident, sc_task). */
  tables?: readonly string[];
  /** Lifetime of issued tokens, in seconds of the fake's clock (default 1799, as ServiceNow). */
  tokenLifetimeSeconds?: number;
}

/** A record as stored (all values strings, as the Table API returns them). */
export type ServiceNowRecord = Record<string, string>;

/** A running ServiceNow fake. */
export interface ServiceNowFake extends TicketFake {
  /** Records of a table, work notes in `sys_journal_field` (also `GET /_fake/tickets`). */
  records(table: string): ServiceNowRecord[];
  /** Work note texts of a record, oldest first. */
  workNotes(sysId: string): string[];
  /** Expires every issued OAuth token (the next call with one answers 401). */
  expireTokens(): void;
}

const STATUS: Record<number, [string, string | null]> = {
  400: ['Bad Request', 'The request could not be understood'],
  401: ['User Not Authenticated', 'Required to provide Auth information'],
  403: ['Operation Failed', 'ACL Exception Update Failed due to security constraints'],
  404: ['No Record found', "Record doesn't exist or ACL restricts the record retrieval"],
  429: ['Rate limit exceeded', 'The request rate limit for this user has been exceeded'],
  500: ['Internal Server Error', null],
  502: ['Bad Gateway', null],
  503: ['Service Unavailable', 'The instance is unavailable; try again later'],
  504: ['Gateway Timeout', null],
};

function snError(status: number, message?: string, detail?: string | null): FakeResponse {
  const [m, d] = STATUS[status] ?? [`HTTP ${status}`, null];
  return {
    status,
    body: { error: { message: message ?? m, detail: detail === undefined ? d : detail }, status: 'failure' },
  };
}

/** ServiceNow's time format: `2026-01-01 10:00:00` (UTC here). */
function snTime(d: Date): string {
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

/** Encoded query: conditions `field=value` joined by `^` (`^ORDERBY…` ignored); undefined when malformed. */
function parseQuery(q: string): Array<[string, string]> | string {
  const out: Array<[string, string]> = [];
  for (const part of q.split('^')) {
    if (part === '' || /^ORDERBY/i.test(part)) continue;
    const i = part.indexOf('=');
    if (i <= 0) return `Unsupported query term '${part}': the fake understands field=value terms joined by ^`;
    out.push([part.slice(0, i), part.slice(i + 1)]);
  }
  return out;
}

class Instance {
  private readonly tables = new Map<string, ServiceNowRecord[]>();
  private readonly tokens = new Map<string, number>();
  private readonly basic: ReadonlyArray<readonly [string, string]>;
  private numbers = 1000;
  url = '';

  constructor(
    private readonly o: ServiceNowFakeOptions,
    readonly now: () => Date,
  ) {
    this.basic = o.basic ?? [];
    for (const t of [...(o.tables ?? ['sc_req_item', 'incident', 'sc_task']), 'sys_journal_field'])
      this.tables.set(t, []);
  }

  records(table: string): ServiceNowRecord[] {
    return this.tables.get(table) ?? [];
  }

  workNotes(sysId: string): string[] {
    return this.records('sys_journal_field')
      .filter((j) => j.element_id === sysId && j.element === 'work_notes')
      .map((j) => j.value);
  }

  expireTokens(): void {
    this.tokens.clear();
  }

  listing(): unknown {
    const out: Record<string, unknown> = {};
    for (const [name, rows] of this.tables) {
      if (name === 'sys_journal_field' || rows.length === 0) continue;
      out[name] = rows.map((r) => ({ ...r, work_notes: this.workNotes(r.sys_id) }));
    }
    return { tables: out };
  }

  errorResponse(status: number, message?: string): FakeResponse {
    return snError(status, message);
  }

  private bearerOk(): Set<string> {
    const t = this.now().getTime();
    return new Set([...this.tokens].filter(([, exp]) => exp > t).map(([tok]) => tok));
  }

  route(req: FakeRequest): FakeResponse {
    if (req.path === '/oauth_token.do' && req.method === 'POST') return this.token(req);
    if (!authorised(req.headers, this.basic, this.bearerOk()))
      return { ...snError(401), headers: { 'WWW-Authenticate': 'BASIC realm="Service-now"' } };
    const m = /^\/api\/now\/(?:v[12]\/)?table\/([^/]+)(?:\/([^/]+))?\/?$/.exec(req.path);
    if (!m) return snError(400, 'Requested URI does not represent any resource', req.path);
    const table = decodeURIComponent(m[1]);
    const rows = this.tables.get(table);
    if (!rows) return snError(400, `Invalid table ${table}`, null);
    const sysId = m[2] !== undefined ? decodeURIComponent(m[2]) : undefined;
    const fields = req.query
      .get('sysparm_fields')
      ?.split(',')
      .filter((f) => f !== '');
    const pick = (r: ServiceNowRecord): ServiceNowRecord =>
      fields ? Object.fromEntries(fields.map((f) => [f, r[f] ?? ''])) : { ...r };

    if (req.method === 'GET' && sysId === undefined) {
      const q = parseQuery(req.query.get('sysparm_query') ?? '');
      if (typeof q === 'string') return snError(400, q, null);
      const hits = rows.filter((r) => q.every(([f, v]) => (r[f] ?? '') === v));
      const offset = Math.max(0, Number(req.query.get('sysparm_offset') ?? 0) || 0);
      const limit = Math.max(1, Number(req.query.get('sysparm_limit') ?? 10000) || 10000);
      return {
        status: 200,
        body: { result: hits.slice(offset, offset + limit).map(pick) },
        headers: { 'X-Total-Count': String(hits.length) },
      };
    }
    const record = sysId !== undefined ? rows.find((r) => r.sys_id === sysId) : undefined;
    if (req.method === 'GET') return record ? { status: 200, body: { result: pick(record) } } : snError(404);
    if (table === 'sys_journal_field' && req.method !== 'GET')
      return snError(403, 'Operation Failed', 'ACL Exception Insert Failed due to security constraints');

    let body: Record<string, unknown>;
    try {
      const v = JSON.parse(req.body === '' ? '{}' : req.body) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
      body = v as Record<string, unknown>;
    } catch {
      return snError(400, 'Exception while reading request', 'The payload is not valid JSON.');
    }
    const bad = Object.entries(body).find(([, v]) => v !== null && typeof v === 'object');
    if (bad)
      return snError(400, 'Exception while reading request', `Field '${bad[0]}' must be a string value`);
    const at = snTime(this.now());

    if (req.method === 'POST' && sysId === undefined) {
      const id = randomBytes(16).toString('hex');
      const rec: ServiceNowRecord = {
        sys_id: id,
        number: `RITM${String(++this.numbers).padStart(7, '0')}`,
        state: '1',
        sys_created_on: at,
        sys_updated_on: at,
        sys_created_by: 'attest.integration',
      };
      this.apply(table, rec, body, at);
      rows.push(rec);
      return {
        status: 201,
        body: { result: pick(rec) },
        headers: { Location: `${this.url}/api/now/table/${table}/${id}` },
      };
    }
    if ((req.method === 'PATCH' || req.method === 'PUT') && sysId !== undefined) {
      if (!record) return snError(404);
      this.apply(table, record, body, at);
      record.sys_updated_on = at;
      return { status: 200, body: { result: pick(record) } };
    }
    return snError(405, `Method ${req.method} not allowed on ${req.path}`, null);
  }

  /** Sets fields; `work_notes` and `comments` become journal rows, as on an instance (the field reads back empty). */
  private apply(table: string, rec: ServiceNowRecord, body: Record<string, unknown>, at: string): void {
    for (const [k, v] of Object.entries(body)) {
      const value = v === null || v === undefined ? '' : String(v);
      if (k === 'work_notes' || k === 'comments') {
        if (value !== '')
          this.records('sys_journal_field').push({
            sys_id: randomBytes(16).toString('hex'),
            element: k,
            element_id: rec.sys_id,
            name: table,
            value,
            sys_created_on: at,
            sys_created_by: 'attest.integration',
          });
        rec[k] = '';
      } else if (k !== 'sys_id' && k !== 'number') rec[k] = value;
    }
  }

  private token(req: FakeRequest): FakeResponse {
    const form = new URLSearchParams(req.body);
    const grant = form.get('grant_type');
    const client = [form.get('client_id') ?? '', form.get('client_secret') ?? ''];
    if (grant !== 'client_credentials')
      return {
        status: 400,
        body: { error_description: 'Unsupported grant type', error: 'unsupported_grant_type' },
      };
    if (!(this.o.oauthClients ?? []).some(([id, secret]) => id === client[0] && secret === client[1]))
      return { status: 401, body: { error_description: 'access_denied', error: 'server_error' } };
    const lifetime = this.o.tokenLifetimeSeconds ?? 1799;
    const token = randomBytes(24).toString('base64url');
    this.tokens.set(token, this.now().getTime() + lifetime * 1000);
    return {
      status: 200,
      body: { access_token: token, scope: 'useraccount', token_type: 'Bearer', expires_in: lifetime },
    };
  }
}

/** Starts the ServiceNow fake on 127.0.0.1; `url` is the instance URL. */
export async function startServiceNowFake(options: ServiceNowFakeOptions = {}): Promise<ServiceNowFake> {
  const now = options.now ?? (() => new Date());
  const sn = new Instance(options, now);
  const server = new FakeServer({
    name: 'ServiceNow fake',
    now,
    random: options.random ?? Math.random,
    errorResponse: (s, m) => sn.errorResponse(s, m),
    route: (r) => sn.route(r),
    listing: () => sn.listing(),
  });
  await server.listen(options.port ?? 0);
  sn.url = server.url;
  return Object.assign(server, {
    records: (t: string) => sn.records(t),
    workNotes: (id: string) => sn.workNotes(id),
    expireTokens: () => sn.expireTokens(),
  });
}
