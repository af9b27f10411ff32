/**
 * A local Jira Cloud for the tests and `npm start` (ATTEST_TICKETS_MODE=jira-local): the REST v3 subset Attest
 * calls, with Jira's paths, payloads and error bodies (`{"errorMessages":[...],"errors":{...}}`), Basic
 * (email:API token) and Bearer (OAuth) auth, a search that lags like Jira's (a new issue is found by JQL only
 * after `searchLagMs` on the fake's clock), an optional per-issue write limit answering 429 with
 * `RateLimit-Reason: jira-per-issue-on-write`, and the shared fault rules, down switch and counters
 * (fake-server.ts).
 */
import { authorised, FakeServer, type FakeRequest, type FakeResponse, type TicketFake } from './fake-server';

/** One workflow transition the fake offers. */
export interface JiraFakeTransition {
  id: string;
  name: string;
  /** The status the issue moves to. */
  to: string;
}

/** How to start the Jira fake. */
export interface JiraFakeOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The fake's clock (search lag, fault windows, timestamps). */
  now?: () => Date;
  random?: () => number;
  /** How long a created issue stays invisible to JQL search, in ms of the fake's clock (default 0). */
  searchLagMs?: number;
  /** Accepted Basic credentials (email, API token). */
  basic?: ReadonlyArray<readonly [string, string]>;
  /** Accepted OAuth bearer tokens. */
  bearerTokens?: readonly string[];
  /** Project keys that exist (default SEC). */
  projects?: readonly string[];
  /** Issue types that exist (default Task, Bug, Story, Service Request). */
  issueTypes?: readonly string[];
  /** Custom fields on the create screen; absent: any `customfield_<n>` is accepted. */
  customFields?: readonly string[];
  /** The workflow's transitions (default To Do, In Progress, Done). */
  transitions?: readonly JiraFakeTransition[];
  /** Most comments one page returns, whatever maxResults asks (default 100; Jira also caps pages). */
  commentPageMax?: number;
  /** Jira's per-issue write limit: more than `writes` writes to one issue within `perMs` answer 429. */
  perIssueWriteLimit?: { writes: number; perMs: number };
}

/** An issue as the fake stores it. */
export interface JiraFakeIssue {
  id: string;
  key: string;
  fields: Record<string, unknown> & {
    summary: string;
    labels: string[];
    project: { key: string };
    issuetype: { name: string };
    status: { name: string; statusCategory: { key: 'new' | 'indeterminate' | 'done' } };
    created: string;
    updated: string;
  };
  comments: JiraFakeComment[];
  /** Transition names applied, in order. */
  transitionsApplied: string[];
}

/** A comment as stored: its ADF body and the plain text inside it. */
export interface JiraFakeComment {
  id: string;
  body: unknown;
  /** The text nodes of `body`, paragraphs joined by newlines. */
  text: string;
  created: string;
}

/** A running Jira fake. */
export interface JiraFake extends TicketFake {
  /** Every issue, with its comments (also `GET /_fake/tickets`). */
  issues(): JiraFakeIssue[];
  issue(key: string): JiraFakeIssue | undefined;
  /** Changes the search lag from now on. */
  setSearchLag(ms: number): void;
}

const DEFAULT_TRANSITIONS: JiraFakeTransition[] = [
  { id: '11', name: 'To Do', to: 'To Do' },
  { id: '21', name: 'In Progress', to: 'In Progress' },
  { id: '31', name: 'Done', to: 'Done' },
];

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad request.',
  401: 'Client must be authenticated to access this resource.',
  403: 'You do not have permission to perform this operation.',
  404: 'Issue does not exist or you do not have permission to see it.',
  409: 'Conflict.',
  413: 'The request body is too large.',
  429: 'Rate limit exceeded.',
  500: 'Internal server error.',
  502: 'Bad gateway.',
  503: 'Service unavailable. Please try again later.',
  504: 'Gateway timeout.',
};

/** Jira's error body. */
function jiraError(
  status: number,
  errorMessages: string[],
  errors: Record<string, string> = {},
  headers?: Record<string, string>,
): FakeResponse {
  return { status, body: { errorMessages, errors }, ...(headers ? { headers } : {}) };
}

/** The text of an ADF document: text nodes, paragraphs (and other blocks) joined by newlines. */
export function adfText(node: unknown): string {
  if (node === null || typeof node !== 'object') return '';
  const n = node as { type?: unknown; text?: unknown; content?: unknown };
  if (n.type === 'text' && typeof n.text === 'string') return n.text;
  if (n.type === 'hardBreak') return '\n';
  if (!Array.isArray(n.content)) return '';
  const parts = n.content.map(adfText);
  return n.type === 'doc' ? parts.join('\n') : parts.join('');
}

function isAdfDoc(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return false;
  const d = v as { type?: unknown; version?: unknown; content?: unknown };
  return d.type === 'doc' && d.version === 1 && Array.isArray(d.content);
}

/** A status with its category, as Jira names it (done for Done, Closed, Resolved). */
function statusOf(name: string): JiraFakeIssue['fields']['status'] {
  const key = /^(done|closed|resolved|cancel)/i.test(name)
    ? 'done'
    : /^(to do|open|new|backlog)/i.test(name)
      ? 'new'
      : 'indeterminate';
  return { name, statusCategory: { key } };
}

type Clause = { field: string; value: string };

/** Parses the JQL the fake understands: clauses `field = value` joined by AND, an optional ORDER BY. */
function parseJql(jql: string): Clause[] | string {
  const body = jql.replace(/\s+ORDER\s+BY\s+.*$/i, '').trim();
  if (body === '') return '';
  const clauses: Clause[] = [];
  for (const part of body.split(/\s+AND\s+/i)) {
    const m = /^\s*([A-Za-z_][\w.]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"']+))\s*$/.exec(
      part,
    );
    if (!m)
      return `Error in the JQL Query: Expecting a field = value clause but got '${part.trim()}'. (line 1, character 1)`;
    clauses.push({ field: m[1].toLowerCase(), value: (m[2] ?? m[3] ?? m[4]).replace(/\\(.)/g, '$1') });
  }
  return clauses;
}

class Jira {
  readonly issues = new Map<string, JiraFakeIssue>();
  private readonly byId = new Map<string, JiraFakeIssue>();
  private readonly nextNumber = new Map<string, number>();
  private nextIssueId = 10000;
  private nextCommentId = 10100;
  private readonly writes = new Map<string, number[]>();
  searchLagMs: number;
  private readonly basic: ReadonlyArray<readonly [string, string]>;
  private readonly bearer: ReadonlySet<string>;
  private readonly projects: readonly string[];
  private readonly issueTypes: readonly string[];
  private readonly transitions: readonly JiraFakeTransition[];
  url = '';

  constructor(
    private readonly o: JiraFakeOptions,
    readonly now: () => Date,
  ) {
    this.searchLagMs = o.searchLagMs ?? 0;
    this.basic = o.basic ?? [];
    this.bearer = new Set(o.bearerTokens ?? []);
    this.projects = o.projects ?? ['SEC'];
    this.issueTypes = o.issueTypes ?? ['Task', 'Bug', 'Story', 'Service Request'];
    this.transitions = o.transitions ?? DEFAULT_TRANSITIONS;
  }

  errorResponse(status: number, message?: string): FakeResponse {
    return jiraError(status, [message ?? STATUS_TEXT[status] ?? `HTTP ${status}`]);
  }

  listing(): unknown {
    return {
      issues: [...this.issues.values()].map((i) => ({
        key: i.key,
        summary: i.fields.summary,
        labels: i.fields.labels,
        status: i.fields.status.name,
        created: i.fields.created,
        browse: `${this.url}/browse/${i.key}`,
        comments: i.comments.map((c) => ({ id: c.id, created: c.created, text: c.text })),
      })),
    };
  }

  route(req: FakeRequest): FakeResponse {
    if (!authorised(req.headers, this.basic, this.bearer))
      return jiraError(401, [STATUS_TEXT[401]], {}, { 'WWW-Authenticate': 'Basic realm="protected-area"' });
    const p = req.path.replace(/\/$/, '');
    let m: RegExpExecArray | null;
    if (p === '/rest/api/3/issue' && req.method === 'POST') return this.create(req);
    if (p === '/rest/api/3/search/jql' && (req.method === 'GET' || req.method === 'POST'))
      return this.search(req);
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)$/.exec(p)) && req.method === 'GET')
      return this.withIssue(m[1], (i) => ({ status: 200, body: this.issueJson(i) }));
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)\/comment$/.exec(p))) {
      const key = decodeURIComponent(m[1]);
      if (req.method === 'GET') return this.withIssue(key, (i) => this.comments(i, req));
      if (req.method === 'POST') return this.withIssue(key, (i) => this.addComment(i, req));
    }
    if ((m = /^\/rest\/api\/3\/issue\/([^/]+)\/transitions$/.exec(p))) {
      const key = decodeURIComponent(m[1]);
      if (req.method === 'GET')
        return this.withIssue(key, (i) => ({
          status: 200,
          body: {
            expand: 'transitions',
            transitions: this.transitions
              .filter((t) => t.to !== i.fields.status.name)
              .map((t) => ({
                id: t.id,
                name: t.name,
                to: { name: t.to, self: `${this.url}/rest/api/3/status/${t.id}` },
                hasScreen: false,
                isGlobal: true,
                isInitial: false,
                isAvailable: true,
                isConditional: false,
              })),
          },
        }));
      if (req.method === 'POST') return this.withIssue(key, (i) => this.transition(i, req));
    }
    return {
      status: 404,
      body: { errorMessages: [`No API route ${req.method} ${req.path} in the Jira fake.`], errors: {} },
    };
  }

  private withIssue(keyOrId: string, then: (i: JiraFakeIssue) => FakeResponse): FakeResponse {
    const k = decodeURIComponent(keyOrId);
    const issue = this.issues.get(k.toUpperCase()) ?? this.byId.get(k);
    if (!issue) return jiraError(404, [STATUS_TEXT[404]]);
    return then(issue);
  }

  private parse(req: FakeRequest): Record<string, unknown> | FakeResponse {
    try {
      const v = JSON.parse(req.body === '' ? 'null' : req.body) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v))
        return jiraError(400, ['Request body must be a JSON object.']);
      return v as Record<string, unknown>;
    } catch {
      return jiraError(400, ['Unexpected character in the request body: it is not JSON.']);
    }
  }

  /** Jira's per-issue write limit; undefined when the write may go ahead. */
  private writeLimited(issue: JiraFakeIssue): FakeResponse | undefined {
    const lim = this.o.perIssueWriteLimit;
    if (!lim) return undefined;
    const t = this.now().getTime();
    const recent = (this.writes.get(issue.id) ?? []).filter((w) => w > t - lim.perMs);
    if (recent.length >= lim.writes) {
      const wait = Math.max(1, Math.ceil((recent[0] + lim.perMs - t) / 1000));
      this.writes.set(issue.id, recent);
      return jiraError(
        429,
        [STATUS_TEXT[429]],
        {},
        {
          'Retry-After': String(wait),
          'RateLimit-Reason': 'jira-per-issue-on-write',
        },
      );
    }
    recent.push(t);
    this.writes.set(issue.id, recent);
    return undefined;
  }

  private create(req: FakeRequest): FakeResponse {
    const parsed = this.parse(req);
    if ('status' in parsed && typeof parsed.status === 'number') return parsed as FakeResponse;
    const fields = (parsed as { fields?: unknown }).fields;
    if (fields === null || typeof fields !== 'object')
      return jiraError(400, ['Issue must have fields: project, issuetype and summary.']);
    const f = fields as Record<string, unknown>;
    const errors: Record<string, string> = {};
    const projectKey = (f.project as { key?: unknown } | undefined)?.key;
    if (typeof projectKey !== 'string' || !this.projects.includes(projectKey))
      errors.project = 'Specify a valid project ID or key';
    const typeName = (f.issuetype as { name?: unknown } | undefined)?.name;
    if (typeof typeName !== 'string' || !this.issueTypes.includes(typeName))
      errors.issuetype = 'Specify an issue type';
    if (typeof f.summary !== 'string' || f.summary.trim() === '')
      errors.summary = 'You must specify a summary of the issue.';
    else if (f.summary.length > 255) errors.summary = 'Summary must be less than 255 characters.';
    if (f.description !== undefined && !isAdfDoc(f.description))
      errors.description =
        'Operation value must be an Atlassian Document (see the Atlassian Document Format)';
    const labels = f.labels ?? [];
    if (!Array.isArray(labels) || labels.some((l) => typeof l !== 'string'))
      errors.labels = 'Operation value must be an array of strings';
    else {
      const bad = labels.find((l: string) => /\s/.test(l) || l === '' || l.length > 255);
      if (bad !== undefined) errors.labels = `The label '${String(bad)}' contains spaces which is invalid.`;
    }
    const standard = new Set(['project', 'issuetype', 'summary', 'description', 'labels']);
    for (const name of Object.keys(f)) {
      if (standard.has(name)) continue;
      const known = /^customfield_\d+$/.test(name) && (this.o.customFields?.includes(name) ?? true);
      if (!known)
        errors[name] = `Field '${name}' cannot be set. It is not on the appropriate screen, or unknown.`;
    }
    if (Object.keys(errors).length > 0) return jiraError(400, [], errors);

    const key0 = projectKey as string;
    const n = (this.nextNumber.get(key0) ?? 0) + 1;
    this.nextNumber.set(key0, n);
    const id = String(this.nextIssueId++);
    const key = `${key0}-${n}`;
    const at = this.now().toISOString();
    const custom = Object.fromEntries(Object.entries(f).filter(([k]) => !standard.has(k)));
    const issue: JiraFakeIssue = {
      id,
      key,
      fields: {
        ...custom,
        summary: f.summary as string,
        ...(f.description !== undefined ? { description: f.description } : {}),
        labels: [...(labels as string[])],
        project: { key: key0 },
        issuetype: { name: typeName as string },
        status: statusOf('To Do'),
        created: at,
        updated: at,
      },
      comments: [],
      transitionsApplied: [],
    };
    this.issues.set(key, issue);
    this.byId.set(id, issue);
    return { status: 201, body: { id, key, self: `${this.url}/rest/api/3/issue/${id}` } };
  }

  private issueJson(i: JiraFakeIssue, only?: string[]): unknown {
    const fields =
      only && only.length > 0 && !only.includes('*all')
        ? Object.fromEntries(Object.entries(i.fields).filter(([k]) => only.includes(k)))
        : i.fields;
    return { expand: '', id: i.id, self: `${this.url}/rest/api/3/issue/${i.id}`, key: i.key, fields };
  }

  private search(req: FakeRequest): FakeResponse {
    let jql: unknown;
    let maxResults: unknown;
    let nextPageToken: unknown;
    let fields: unknown;
    if (req.method === 'GET') {
      jql = req.query.get('jql') ?? '';
      maxResults = req.query.get('maxResults') ?? undefined;
      nextPageToken = req.query.get('nextPageToken') ?? undefined;
      fields = req.query.get('fields')?.split(',');
    } else {
      const b = this.parse(req);
      if ('status' in b && typeof b.status === 'number') return b as FakeResponse;
      ({ jql, maxResults, nextPageToken, fields } = b as Record<string, unknown>);
    }
    const clauses = parseJql(typeof jql === 'string' ? jql : '');
    if (clauses === '')
      return jiraError(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ]);
    if (typeof clauses === 'string') return jiraError(400, [clauses]);
    for (const c of clauses) {
      if (!['project', 'labels', 'key', 'status', 'issuetype'].includes(c.field))
        return jiraError(400, [
          `Field '${c.field}' does not exist or you do not have permission to view it.`,
        ]);
      if (c.field === 'project' && !this.projects.includes(c.value.toUpperCase()))
        return jiraError(400, [`The value '${c.value}' does not exist for the field 'project'.`]);
    }
    const visibleBefore = this.now().getTime() - this.searchLagMs;
    const hits = [...this.issues.values()].filter(
      (i) =>
        Date.parse(i.fields.created) <= visibleBefore &&
        clauses.every((c) => {
          if (c.field === 'project') return i.fields.project.key === c.value.toUpperCase();
          if (c.field === 'labels') return i.fields.labels.includes(c.value);
          if (c.field === 'key') return i.key === c.value.toUpperCase();
          if (c.field === 'status') return i.fields.status.name.toLowerCase() === c.value.toLowerCase();
          return i.fields.issuetype.name.toLowerCase() === c.value.toLowerCase();
        }),
    );
    const size = Math.min(5000, Math.max(1, Number(maxResults ?? 50) || 50));
    const start =
      typeof nextPageToken === 'string' ? Number(Buffer.from(nextPageToken, 'base64url').toString()) || 0 : 0;
    const page = hits.slice(start, start + size);
    const more = start + size < hits.length;
    const only = Array.isArray(fields) ? (fields as string[]) : ['*navigable'];
    return {
      status: 200,
      body: {
        issues: page.map((i) => this.issueJson(i, only.includes('*navigable') ? undefined : only)),
        ...(more ? { nextPageToken: Buffer.from(String(start + size)).toString('base64url') } : {}),
        isLast: !more,
      },
    };
  }

  private commentJson(issue: JiraFakeIssue, c: JiraFakeComment): unknown {
    return {
      self: `${this.url}/rest/api/3/issue/${issue.id}/comment/${c.id}`,
      id: c.id,
      author: { accountId: 'attest-fake', displayName: 'Attest', active: true },
      body: c.body,
      updateAuthor: { accountId: 'attest-fake', displayName: 'Attest', active: true },
      created: c.created,
      updated: c.created,
      jsdPublic: true,
    };
  }

  private comments(issue: JiraFakeIssue, req: FakeRequest): FakeResponse {
    const startAt = Math.max(0, Number(req.query.get('startAt') ?? 0) || 0);
    const cap = this.o.commentPageMax ?? 100;
    const maxResults = Math.min(cap, Math.max(1, Number(req.query.get('maxResults') ?? cap) || cap));
    const ordered = req.query.get('orderBy') === '-created' ? [...issue.comments].reverse() : issue.comments;
    return {
      status: 200,
      body: {
        startAt,
        maxResults,
        total: issue.comments.length,
        comments: ordered.slice(startAt, startAt + maxResults).map((c) => this.commentJson(issue, c)),
      },
    };
  }

  private addComment(issue: JiraFakeIssue, req: FakeRequest): FakeResponse {
    const b = this.parse(req);
    if ('status' in b && typeof b.status === 'number') return b as FakeResponse;
    const body = (b as { body?: unknown }).body;
    if (body === undefined || body === null)
      return jiraError(400, [], { comment: 'Comment body can not be empty!' });
    if (!isAdfDoc(body))
      return jiraError(400, [], {
        comment: 'Comment body is not valid! Operation value must be an Atlassian Document.',
      });
    const limited = this.writeLimited(issue);
    if (limited) return limited;
    const c: JiraFakeComment = {
      id: String(this.nextCommentId++),
      body,
      text: adfText(body),
      created: this.now().toISOString(),
    };
    issue.comments.push(c);
    issue.fields.updated = c.created;
    return { status: 201, body: this.commentJson(issue, c) };
  }

  private transition(issue: JiraFakeIssue, req: FakeRequest): FakeResponse {
    const b = this.parse(req);
    if ('status' in b && typeof b.status === 'number') return b as FakeResponse;
    const id = (b as { transition?: { id?: unknown } }).transition?.id;
    const t = this.transitions.find((x) => x.id === String(id) && x.to !== issue.fields.status.name);
    if (!t) return jiraError(400, [`Transition id '${String(id)}' is not valid for this issue.`]);
    const limited = this.writeLimited(issue);
    if (limited) return limited;
    const comments = (b as { update?: { comment?: unknown } }).update?.comment;
    const adds = Array.isArray(comments)
      ? comments.map((c) => (c as { add?: { body?: unknown } } | null)?.add?.body)
      : [];
    if (adds.some((a) => !isAdfDoc(a)))
      return jiraError(400, [], {
        comment: 'Comment body is not valid! Operation value must be an Atlassian Document.',
      });
    issue.fields.status = statusOf(t.to);
    for (const body of adds)
      issue.comments.push({
        id: String(this.nextCommentId++),
        body,
        text: adfText(body),
        created: this.now().toISOString(),
      });
    issue.fields.updated = this.now().toISOString();
    issue.transitionsApplied.push(t.name);
    return { status: 204 };
  }
}

/** Starts the Jira fake on 127.0.0.1; `url` is the site URL to give jira.js as `host`. */
export async function startJiraFake(options: JiraFakeOptions = {}): Promise<JiraFake> {
  const now = options.now ?? (() => new Date());
  const jira = new Jira(options, now);
  const server = new FakeServer({
    name: 'Jira fake',
    now,
    random: options.random ?? Math.random,
    errorResponse: (s, m) => jira.errorResponse(s, m),
    route: (r) => jira.route(r),
    listing: () => jira.listing(),
  });
  await server.listen(options.port ?? 0);
  jira.url = server.url;
  return Object.assign(server, {
    issues: () => [...jira.issues.values()],
    issue: (key: string) => jira.issues.get(key),
    setSearchLag: (ms: number) => {
      jira.searchLagMs = ms;
    },
  });
}
