/**
 * ServiceNow through the Table API with fetch: one record per Attest id in the configured table (`sc_req_item`
 * by default) with `correlation_id` = the id (a read after write, so no search lag), one work note per audit
 * event ending with its hash line (read back from `sys_journal_field`), resolved by setting `state` to the
 * configured closed value with a closing work note. Basic auth, or an OAuth client-credentials token from the
 * instance's `/oauth_token.do`, fetched again shortly before it expires or after a 401.
 *
 * Errors become DomainErrors with TicketErrorCodes: 429 throttled (Retry-After in `details.retryAfterMs`), 5xx
 * and network failures unavailable, other 4xx rejected with ServiceNow's error message and detail.
 */
import { DomainError } from '../../domain/domain-error';
import type { ServiceNowTicketsConfig } from '../../config/config';
import type { TicketComment, TicketDraft, TicketRef, TicketSystem } from '../../ports/ticket-system.port';
import {
  commentLines,
  descriptionLines,
  hashesIn,
  rejected,
  retryAfterMs,
  throttled,
  unavailable,
} from './ticket-text';

/** How to build the ServiceNow adapter. */
export interface ServiceNowTicketSystemOptions {
  config: Omit<ServiceNowTicketsConfig, 'mode'>;
  log?: (line: string) => void;
  now?: () => Date;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** Work notes read per page by commentedHashes (default 500). */
  notePageSize?: number;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

type Json = Record<string, unknown>;

/** The ServiceNow adapter of the ticket port. */
export class ServiceNowTicketSystem implements TicketSystem {
  readonly kind = 'servicenow' as const;
  private readonly base: string;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private readonly fetch: typeof fetch;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(private readonly o: ServiceNowTicketSystemOptions) {
    this.base = o.config.instanceUrl.replace(/\/+$/, '');
    this.log = o.log ?? (() => undefined);
    this.now = o.now ?? (() => new Date());
    this.fetch = o.fetch ?? fetch;
  }

  private table(): string {
    return encodeURIComponent(this.o.config.table);
  }

  private ref(sysId: string): TicketRef {
    const t = this.o.config.table;
    return { key: sysId, url: `${this.base}/nav_to.do?uri=${encodeURIComponent(`${t}.do?sys_id=${sysId}`)}` };
  }

  async find(correlationId: string): Promise<TicketRef | undefined> {
    // NB. `^` separates terms of an encoded query; an id holding one could match another record.
    if (correlationId.includes('^'))
      throw rejected(`The id ${correlationId} holds '^', which a ServiceNow encoded query cannot carry.`);
    const q = new URLSearchParams({
      sysparm_query: `correlation_id=${correlationId}^ORDERBYsys_created_on`,
      sysparm_fields: 'sys_id,number',
      sysparm_limit: '2',
    });
    const body = await this.request(
      'GET',
      `/api/now/table/${this.table()}?${q}`,
      `find the record for ${correlationId}`,
    );
    const rows = (body.result ?? []) as Json[];
    if (rows.length > 1)
      this.log(
        `tickets: ServiceNow has several records with correlation_id ${correlationId}; using the oldest`,
      );
    const id = rows[0]?.sys_id;
    return typeof id === 'string' ? this.ref(id) : undefined;
  }

  async create(draft: TicketDraft): Promise<TicketRef> {
    const record: Record<string, string> = {
      short_description: draft.summary.length > 160 ? `${draft.summary.slice(0, 159)}…` : draft.summary,
      description: descriptionLines(draft).join('\n'),
      correlation_id: draft.correlationId,
      correlation_display: 'Attest',
    };
    for (const [name, value] of Object.entries(draft.fields)) {
      const column = this.o.config.fields[name];
      if (column !== undefined) record[column] = value;
    }
    const body = await this.request(
      'POST',
      `/api/now/table/${this.table()}?sysparm_fields=sys_id,number`,
      `create a record for ${draft.correlationId}`,
      record,
    );
    const id = (body.result as Json | undefined)?.sys_id;
    if (typeof id !== 'string')
      throw unavailable(`ServiceNow created a record for ${draft.correlationId} but did not say its sys_id.`);
    return this.ref(id);
  }

  async commentedHashes(ticket: TicketRef): Promise<Set<string>> {
    const hashes = new Set<string>();
    const size = this.o.notePageSize ?? 500;
    for (let offset = 0; ; offset += size) {
      const q = new URLSearchParams({
        sysparm_query: `element_id=${ticket.key}^element=work_notes^ORDERBYsys_created_on`,
        sysparm_fields: 'value',
        sysparm_limit: String(size),
        sysparm_offset: String(offset),
      });
      const body = await this.request(
        'GET',
        `/api/now/table/sys_journal_field?${q}`,
        `read the work notes of ${ticket.key}`,
      );
      const rows = (body.result ?? []) as Json[];
      for (const r of rows) for (const h of hashesIn(String(r.value ?? ''))) hashes.add(h);
      if (rows.length < size) return hashes;
    }
  }

  async comment(ticket: TicketRef, comment: TicketComment): Promise<void> {
    await this.request(
      'PATCH',
      `/api/now/table/${this.table()}/${encodeURIComponent(ticket.key)}?sysparm_fields=sys_id`,
      `add the work note for ${comment.stream} #${comment.seq} to ${ticket.key}`,
      { work_notes: commentLines(comment).join('\n') },
    );
  }

  async resolve(ticket: TicketRef, resolution: string): Promise<void> {
    const closed = this.o.config.closedState;
    const body = await this.request(
      'GET',
      `/api/now/table/${this.table()}/${encodeURIComponent(ticket.key)}?sysparm_fields=state`,
      `read ${ticket.key}`,
    );
    // A retry after a resolve that went through: closed already, no second closing note.
    if ((body.result as Json | undefined)?.state === closed) return;
    await this.request(
      'PATCH',
      `/api/now/table/${this.table()}/${encodeURIComponent(ticket.key)}?sysparm_fields=sys_id,state`,
      `close ${ticket.key}`,
      { state: closed, work_notes: `Resolved: ${resolution}` },
    );
  }

  private async authorization(fresh: boolean): Promise<string> {
    const { auth } = this.o.config;
    if (auth.kind === 'basic')
      return `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    const t = this.now().getTime();
    if (!fresh && this.token && this.token.expiresAt - 60_000 > t) return `Bearer ${this.token.value}`;
    const res = await this.send(
      'POST',
      '/oauth_token.do',
      'get an OAuth token',
      {
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: auth.clientId,
        client_secret: auth.clientSecret,
      }).toString(),
    );
    const body = (await readJson(res)) as Json;
    if (!res.ok) {
      if (res.status === 429 || res.status >= 500) throw this.mapStatus(res, body, 'get an OAuth token');
      throw rejected(
        `ServiceNow refused the OAuth client (${res.status} ${String(body.error ?? '')} ${String(body.error_description ?? '')}): check ATTEST_SERVICENOW_CLIENT_ID and ATTEST_SERVICENOW_CLIENT_SECRET.`,
        { status: res.status },
      );
    }
    const value = body.access_token;
    if (typeof value !== 'string')
      throw unavailable('ServiceNow answered the OAuth token request without a token.');
    const lifetime = typeof body.expires_in === 'number' ? body.expires_in : 1800;
    this.token = { value, expiresAt: t + lifetime * 1000 };
    return `Bearer ${value}`;
  }

  private async send(
    method: string,
    path: string,
    what: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<Response> {
    try {
      return await this.fetch(`${this.base}${path}`, {
        method,
        headers: { Accept: 'application/json', ...headers },
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: unknown } }).cause?.code;
      const why =
        typeof cause === 'string'
          ? cause
          : (err as Error).name === 'TimeoutError'
            ? 'timed out'
            : (err as Error).message;
      throw unavailable(`ServiceNow could not be reached to ${what} (${why}); will retry.`, { cause: why });
    }
  }

  /** One Table API call; a 401 with an OAuth token fetches a new token once and tries again. */
  private async request(method: string, path: string, what: string, json?: Json): Promise<Json> {
    const payload = json !== undefined ? JSON.stringify(json) : undefined;
    const headers = (authz: string) => ({
      Authorization: authz,
      ...(payload !== undefined ? { 'Content-Type': 'application/json' } : {}),
    });
    let res = await this.send(method, path, what, headers(await this.authorization(false)), payload);
    if (res.status === 401 && this.o.config.auth.kind === 'oauth') {
      await res.body?.cancel();
      res = await this.send(method, path, what, headers(await this.authorization(true)), payload);
    }
    const body = (await readJson(res)) as Json;
    if (!res.ok) throw this.mapStatus(res, body, what);
    return body;
  }

  private mapStatus(res: Response, body: Json, what: string): DomainError {
    const status = res.status;
    const said = serviceNowMessage(body);
    const base = { status, serviceNowMessage: said };
    if (status === 429) {
      const wait = retryAfterMs(res.headers.get('retry-after'), this.now());
      this.log(
        `tickets: ServiceNow throttled the call to ${what} (429; Retry-After ${wait === undefined ? 'absent' : `${wait} ms`})`,
      );
      return throttled(
        `ServiceNow is throttling Attest while trying to ${what}; retrying ${wait === undefined ? 'after a back-off' : `in ${Math.ceil(wait / 1000)} s`}.`,
        wait,
        base,
      );
    }
    if (status >= 500)
      return unavailable(
        `ServiceNow answered ${status} to ${what}${said ? `: ${said}` : ''}; will retry.`,
        base,
      );
    if (status === 401)
      return rejected(
        `ServiceNow refused Attest's credentials (401) to ${what}: check ${this.o.config.auth.kind === 'basic' ? 'ATTEST_SERVICENOW_USERNAME and ATTEST_SERVICENOW_PASSWORD' : 'ATTEST_SERVICENOW_CLIENT_ID and ATTEST_SERVICENOW_CLIENT_SECRET'}${said ? `. ServiceNow said: ${said}` : ''}.`,
        base,
      );
    if (status === 403)
      return rejected(
        `ServiceNow forbids Attest to ${what} (403): give the integration user the roles it needs${said ? `. ServiceNow said: ${said}` : ''}.`,
        base,
      );
    return rejected(`ServiceNow refused to ${what} (${status}): ${said || 'no reason given'}.`, base);
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { error: { message: text.slice(0, 300) } };
  }
}

/** ServiceNow's `{"error":{"message","detail"}}` as one line. */
export function serviceNowMessage(body: unknown): string {
  const e = (body as { error?: unknown } | null)?.error;
  if (e === null || typeof e !== 'object') return typeof e === 'string' ? e : '';
  const { message, detail } = e as { message?: unknown; detail?: unknown };
  return [message, detail].filter((x) => typeof x === 'string' && x !== '').join(': ');
}
