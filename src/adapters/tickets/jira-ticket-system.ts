/**
 * Jira Cloud through jira.js 5 (Version3Client, REST v3): one issue per Attest id, found again by a label set
 * at creation (`attest-<id>`, see jiraLabelFor), one ADF comment per audit event ending with its hash line,
 * resolved through the configured transition (by name) with the closing comment in the same request.
 *
 * Errors become DomainErrors with TicketErrorCodes: 429 throttled (Retry-After in `details.retryAfterMs`, 0
 * kept as 0, absent as undefined; Jira's RateLimit-Reason logged and in `details.rateLimitReason`), 5xx and
 * network failures unavailable, other 4xx rejected with Jira's own errorMessages and field errors.
 */
import { HttpException, Version3Client } from 'jira.js';
import { DomainError } from '../../domain/domain-error';
import type { JiraTicketsConfig } from '../../config/config';
import type { TicketComment, TicketDraft, TicketRef, TicketSystem } from '../../ports/ticket-system.port';
import {
  commentLines,
  descriptionLines,
  hashesIn,
  jiraLabelFor,
  rejected,
  retryAfterMs,
  throttled,
  unavailable,
} from './ticket-text';

/** How to build the Jira adapter. */
export interface JiraTicketSystemOptions {
  config: Omit<JiraTicketsConfig, 'mode'>;
  /** Where RateLimit-Reason and other notes go. */
  log?: (line: string) => void;
  /** For Retry-After given as an HTTP date. */
  now?: () => Date;
  /** Per-request timeout (default 30 s): a hung Jira is unavailable, not a stuck sync. */
  timeoutMs?: number;
  /** Comments read per page by commentedHashes (default 100; Jira may return fewer). */
  commentPageSize?: number;
}

type Adf = { type: 'doc'; version: 1; content: unknown[] };

/** Plain lines as an ADF document: one paragraph per line, an empty line an empty paragraph. */
export function adfDocument(lines: string[]): Adf {
  return {
    type: 'doc',
    version: 1,
    content: lines.map((line) => ({
      type: 'paragraph',
      content: line === '' ? [] : [{ type: 'text', text: line }],
    })),
  };
}

/** The text of an ADF document, blocks joined by newlines. */
export function adfPlainText(node: unknown): string {
  if (node === null || typeof node !== 'object') return typeof node === 'string' ? node : '';
  const n = node as { type?: unknown; text?: unknown; content?: unknown };
  if (n.type === 'text' && typeof n.text === 'string') return n.text;
  if (n.type === 'hardBreak') return '\n';
  if (!Array.isArray(n.content)) return '';
  const parts = n.content.map(adfPlainText);
  return n.type === 'doc' || n.type === 'bulletList' || n.type === 'listItem'
    ? parts.join('\n')
    : parts.join('');
}

/** A Jira project key from an issue key such as SEC-12, or undefined when it is not one. */
function projectOf(reference: string): string | undefined {
  return /^([A-Z][A-Z0-9_]+)-[1-9]\d*$/.exec(reference.trim())?.[1];
}

/** The Jira adapter of the ticket port. */
export class JiraTicketSystem implements TicketSystem {
  readonly kind = 'jira' as const;
  private readonly client: Version3Client;
  private readonly log: (line: string) => void;
  private readonly now: () => Date;
  private readonly baseUrl: string;

  constructor(private readonly o: JiraTicketSystemOptions) {
    const { config } = o;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.log = o.log ?? (() => undefined);
    this.now = o.now ?? (() => new Date());
    const common = { host: this.baseUrl, baseRequestConfig: { timeout: o.timeoutMs ?? 30_000 } };
    this.client =
      config.auth.kind === 'token'
        ? new Version3Client({
            ...common,
            authentication: { basic: { email: config.auth.email, apiToken: config.auth.apiToken } },
          })
        : new Version3Client({
            ...common,
            authentication: { oauth2: { accessToken: config.auth.accessToken } },
          });
  }

  private ref(key: string): TicketRef {
    return { key, url: `${this.baseUrl}/browse/${key}` };
  }

  async find(correlationId: string): Promise<TicketRef | undefined> {
    const label = jiraLabelFor(correlationId);
    const jql = `project = "${this.o.config.projectKey}" AND labels = "${label}" ORDER BY created ASC`;
    const page = await this.call(`search for the ticket labelled ${label}`, () =>
      this.client.issueSearch.searchForIssuesUsingJqlEnhancedSearch({
        jql,
        maxResults: 2,
        fields: ['summary', 'labels'],
      }),
    );
    const issues = page.issues ?? [];
    if (issues.length > 1)
      this.log(
        `tickets: Jira has ${issues.length}+ issues labelled ${label}; using the oldest, ${String(issues[0].key)}`,
      );
    const key = issues[0]?.key;
    return key ? this.ref(key) : undefined;
  }

  async create(draft: TicketDraft): Promise<TicketRef> {
    const { config } = this.o;
    const custom: Record<string, string> = {};
    for (const [name, value] of Object.entries(draft.fields)) {
      const id = config.fields[name];
      if (id !== undefined) custom[id] = value;
    }
    const summary = draft.summary.length > 255 ? `${draft.summary.slice(0, 254)}…` : draft.summary;
    const created = await this.call(`create a ticket for ${draft.correlationId}`, () =>
      this.client.issues.createIssue({
        fields: {
          ...custom,
          project: { key: config.projectKey },
          issuetype: { name: config.issueType },
          summary,
          description: adfDocument(descriptionLines(draft)) as never,
          labels: [jiraLabelFor(draft.correlationId)],
        },
      }),
    );
    return this.ref(created.key);
  }

  async commentedHashes(ticket: TicketRef): Promise<Set<string>> {
    const hashes = new Set<string>();
    const pageSize = this.o.commentPageSize ?? 100;
    let startAt = 0;
    for (;;) {
      const page = await this.call(`read the comments of ${ticket.key}`, () =>
        this.client.issueComments.getComments({
          issueIdOrKey: ticket.key,
          startAt,
          maxResults: pageSize,
          orderBy: 'created',
        }),
      );
      const comments = page.comments ?? [];
      for (const c of comments) for (const h of hashesIn(adfPlainText(c.body))) hashes.add(h);
      startAt += comments.length;
      // NB. Jira may answer fewer than asked; `total` says when the last page is read.
      if (comments.length === 0 || startAt >= (page.total ?? 0)) return hashes;
    }
  }

  async comment(ticket: TicketRef, comment: TicketComment): Promise<void> {
    await this.call(`comment event ${comment.stream} #${comment.seq} on ${ticket.key}`, () =>
      this.client.issueComments.addComment({
        issueIdOrKey: ticket.key,
        comment: adfDocument(commentLines(comment)) as never,
      }),
    );
  }

  async resolve(ticket: TicketRef, resolution: string): Promise<void> {
    const name = this.o.config.resolveTransition;
    const issue = await this.call(`read ${ticket.key}`, () =>
      this.client.issues.getIssue({ issueIdOrKey: ticket.key, fields: ['status'] }),
    );
    const status = issue.fields.status;
    // A retry after a resolve that went through: the issue is already in a done status, nothing to do.
    if (status?.statusCategory?.key === 'done') return;
    const { transitions = [] } = await this.call(`read the transitions of ${ticket.key}`, () =>
      this.client.issues.getTransitions({ issueIdOrKey: ticket.key }),
    );
    const t = transitions.find((x) => x.name?.toLowerCase() === name.toLowerCase());
    if (!t?.id) {
      const names = transitions.map((x) => `"${String(x.name)}"`).join(', ') || 'none';
      throw rejected(
        `Jira offers no transition named "${name}" on ${ticket.key} (status ${String(status?.name)}); the transitions there are ${names}. Set ATTEST_JIRA_RESOLVE_TRANSITION to one of them.`,
        { transitions: transitions.map((x) => x.name) },
      );
    }
    await this.call(`resolve ${ticket.key} through "${name}"`, () =>
      this.client.issues.doTransition({
        issueIdOrKey: ticket.key,
        transition: { id: t.id },
        // The closing comment goes in the same request, so a retried resolve does not post it twice.
        update: { comment: [{ add: { body: adfDocument([`Resolved: ${resolution}`]) } }] },
      }),
    );
  }

  referenceAllowed(reference: string): boolean {
    const project = projectOf(reference);
    return project !== undefined && this.o.config.allowedProjects.includes(project);
  }

  /** Runs one jira.js call and maps its failure to the port's DomainErrors. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.mapError(err, what);
    }
  }

  private mapError(err: unknown, what: string): DomainError {
    if (err instanceof DomainError) return err;
    const http = httpFailure(err);
    if (!http) {
      const code = (err as { code?: unknown }).code;
      return unavailable(
        `Jira could not be reached to ${what} (${typeof code === 'string' ? code : (err as Error).message}); will retry.`,
        { cause: typeof code === 'string' ? code : (err as Error).message },
      );
    }
    const { status, headers, data } = http;
    const said = jiraMessages(data);
    const base = { status, jiraMessages: said };
    if (status === 429) {
      const reason = header(headers, 'ratelimit-reason');
      const wait = retryAfterMs(header(headers, 'retry-after'), this.now());
      this.log(
        `tickets: Jira throttled the call to ${what} (429${reason ? `, RateLimit-Reason ${reason}` : ''}; Retry-After ${wait === undefined ? 'absent' : `${wait} ms`})`,
      );
      return throttled(
        `Jira is throttling Attest (${reason ?? 'no reason given'}) while trying to ${what}; retrying ${wait === undefined ? 'after a back-off' : `in ${Math.ceil(wait / 1000)} s`}.`,
        wait,
        { ...base, rateLimitReason: reason },
      );
    }
    if (status >= 500)
      return unavailable(`Jira answered ${status} to ${what}${said ? `: ${said}` : ''}; will retry.`, base);
    if (status === 401)
      return rejected(
        `Jira refused Attest's credentials (401) to ${what}: check ATTEST_JIRA_EMAIL and ATTEST_JIRA_API_TOKEN (or ATTEST_JIRA_OAUTH_TOKEN)${said ? `. Jira said: ${said}` : ''}.`,
        base,
      );
    if (status === 403)
      return rejected(
        `Jira forbids Attest to ${what} (403): give the account the project permissions it needs${said ? `. Jira said: ${said}` : ''}.`,
        base,
      );
    return rejected(`Jira refused to ${what} (${status}): ${said || 'no reason given'}.`, base);
  }
}

/** Status, headers and body of a failed HTTP call as jira.js surfaces it (HttpException caused by an AxiosError). */
function httpFailure(
  err: unknown,
): { status: number; headers: Record<string, unknown>; data: unknown } | undefined {
  const cause = (err as { cause?: unknown }).cause;
  const fromAxios = (e: unknown) => {
    const r = (e as { response?: { status?: unknown; headers?: unknown; data?: unknown } }).response;
    return r && typeof r.status === 'number'
      ? { status: r.status, headers: (r.headers ?? {}) as Record<string, unknown>, data: r.data }
      : undefined;
  };
  const viaCause = fromAxios(cause);
  if (viaCause) return viaCause;
  const direct = fromAxios(err);
  if (direct) return direct;
  if (
    err instanceof HttpException &&
    typeof err.status === 'number' &&
    err.status >= 400 &&
    cause === undefined
  ) {
    const r = err.response as { data?: unknown } | undefined;
    return { status: err.status, headers: {}, data: r?.data };
  }
  return undefined;
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const h = headers as { get?: (n: string) => unknown };
  const v = typeof h.get === 'function' ? h.get(name) : headers[name];
  return v === undefined || v === null ? undefined : String(v);
}

/** Jira's errorMessages and field errors as one readable line. */
export function jiraMessages(data: unknown): string {
  if (typeof data === 'string') return data.slice(0, 300);
  if (data === null || typeof data !== 'object') return '';
  const d = data as { errorMessages?: unknown; errors?: unknown };
  const messages = Array.isArray(d.errorMessages) ? d.errorMessages.map(String) : [];
  const fields =
    d.errors !== null && typeof d.errors === 'object'
      ? Object.entries(d.errors as Record<string, unknown>).map(([k, v]) => `${k}: ${String(v)}`)
      : [];
  return [...messages, ...fields].join('; ');
}
