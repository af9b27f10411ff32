/**
 * A local Microsoft Graph v1.0 for `npm start` and the integration tests: the subset Attest calls, on
 * 127.0.0.1 under `/v1.0`, with Graph's wire format (error bodies, request-id headers, @odata.context,
 * @odata.nextLink paging, `$batch`) and injectable faults (latency, 429, 503, the identity write quota), plus
 * fault rules changeable while it runs through a loopback-only admin endpoint under `/_sim/` (README,
 * "Graph simulator admin endpoint").
 */
import { randomBytes, randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import {
  graphError,
  routeGraphRequest,
  type RequestIds,
  type RouteContext,
  type SimRequest,
  type SimResponse,
} from './graph-routes';
import {
  compileFaultRules,
  FaultRuleError,
  isLoopbackAddress,
  type ActiveFaultRule,
  type CompiledFaultRule,
  type GraphSimFaultRule,
} from './fault-rules';
import { TenantStore, type GraphSimWrite } from './tenant.store';
import { DEMO_ATTEST_ENTRA_APP_ID, type SimAppInstallation, type SimTeamsApp } from './demo-tenant';

export type { GraphSimWrite } from './tenant.store';
export type { ActiveFaultRule, GraphSimFaultRule } from './fault-rules';
export { isLoopbackAddress } from './fault-rules';

/** Faults the simulator injects; all off by default. */
export interface GraphSimFaults {
  /** Delay before every answer, in milliseconds. */
  latencyMs: number;
  /** Share of requests (0..1) answered 429 TooManyRequests with Retry-After. */
  throttleRate: number;
  /** Share of requests (0..1) answered 503 serviceNotAvailable with Retry-After. */
  unavailableRate: number;
  /** Enforce Graph's identity write quota: 3,000 writes per 150 s per app and tenant, then 429 + Retry-After. */
  writeQuota: boolean;
  /** Retry-After, in seconds, on injected 429 and 503 answers (default 1). */
  retryAfterSeconds?: number;
}

/** How to start the simulator. */
export interface GraphSimOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** State lives in `${dataDir}/graph-sim/`, sent mail in `${dataDir}/mail/`. */
  dataDir: string;
  faults?: Partial<GraphSimFaults>;
  /** Ignore saved state (tenant, tokens, writes log) and reseed the demo tenant. */
  fresh?: boolean;
  /** Source of randomness for fault injection; called once per request while a throttle or unavailable rate is set. */
  random?: () => number;
  /** Clock for sign-in seeding, the write quota, error dates and mail folder names. */
  now?: () => Date;
  /**
   * Member entries per page of `groups/delta` (default 200); small values make a large group span pages, as
   * Graph splits a group's `members@delta` across pages.
   */
  deltaPageSize?: number;
  /**
   * Whether the app holds RoleManagement.ReadWrite.Directory (default false): without it, member writes to a
   * role-assignable group answer 403 Authorization_RequestDenied, as Graph does.
   */
  grantRoleManagement?: boolean;
  /**
   * The Entra app (client id) the simulator's tokens stand for (default: the demo Attest app, the demo catalog
   * app's webApplicationInfo.id). Another id makes app installation answer 403, as Graph does for an app that
   * holds TeamsAppInstallation.ReadWriteSelfForUser.All but is not the Teams app's own Entra app.
   */
  callerAppId?: string;
  /**
   * The chat id a new personal installation gets (default `19:{userId}_{appId}@unq.gbl.spaces`, Teams' form).
   * The local host names the Agents Playground's personal chat, so the bot can post there.
   */
  personalChatId?: (userId: string, app: SimTeamsApp) => string;
}

/** Requests counted by method, and their total. */
export interface GraphSimCount {
  total: number;
  /** Upper-case HTTP method to count, e.g. `{ GET: 12, POST: 3 }`. */
  byMethod: Record<string, number>;
}

/** What the simulator has been asked since it started or since resetStats (also `GET /_sim/stats`). */
export interface GraphSimStats {
  /** HTTP requests received under `/v1.0`, whatever their answer; a `$batch` counts once here. */
  requests: GraphSimCount;
  /** The requests inside `$batch` bodies (what Graph throttles one by one). */
  batchSubRequests: GraphSimCount;
  /** ISO time on the simulator's clock when counting started. */
  since: string;
}

/** A running simulator. */
export interface GraphSimulator {
  /** Service root, e.g. http://127.0.0.1:5780/v1.0. */
  readonly url: string;
  readonly port: number;
  /** Issues an opaque bearer token the simulator accepts, now and after a restart on the same data dir. */
  issueToken(): string;
  /** Changes the injected faults; unspecified fields keep their value. */
  setFaults(f: Partial<GraphSimFaults>): void;
  /**
   * Replaces the fault rules (checked first, before the faults of setFaults); each rule's duration runs from
   * now on the simulator's clock. Throws on a malformed rule, naming it. Same as `POST /_sim/faults`.
   */
  setFaultRules(rules: GraphSimFaultRule[]): void;
  /** Removes every fault rule (`DELETE /_sim/faults`); the faults of setFaults stay. */
  clearFaultRules(): void;
  /** The fault rules set, with when each started and ends (`GET /_sim/faults`). */
  faultRules(): ActiveFaultRule[];
  /** Requests and `$batch` sub-requests received, by method (`GET /_sim/stats`); admin calls are not counted. */
  stats(): GraphSimStats;
  /** Starts counting again from zero (`DELETE /_sim/stats`). */
  resetStats(): void;
  /** Every write (method, path, status, time) on this data dir, including those logged before a restart. */
  writes(): GraphSimWrite[];
  /**
   * Test and admin seeding of membership, logged like a Graph write so `groups/delta` reports it: adds a user
   * or a group (nesting) to a group's direct members. False when it was already there.
   */
  addGroupMember(groupId: string, memberId: string): boolean;
  /** Removes a direct member; false when it was not one. */
  removeGroupMember(groupId: string, memberId: string): boolean;
  /** Deletes a group; `groups/delta` then reports it with `@removed`. False when there was no such group. */
  deleteGroup(groupId: string): boolean;
  /** Expires every delta token issued so far: the next round with one answers 400 syncStateNotFound. */
  expireDeltaTokens(): void;
  /**
   * Disables (false) or enables (true) a user's account, as an admin does in Entra; `users/delta` reports the
   * user changed. False when the account was already so. Same as `POST /_sim/users/{id}/disable|enable`.
   */
  setAccountEnabled(userId: string, enabled: boolean): boolean;
  /**
   * Deletes a user as Entra does (soft delete): they leave every group (`groups/delta` reports it) and
   * `users/delta` reports them `@removed`. False when there was no such user. Same as `DELETE /_sim/users/{id}`.
   */
  deleteUser(userId: string): boolean;
  /**
   * Blocks (true) or allows (false) installing catalog apps for a user, as a Teams app permission policy does:
   * an install then answers 403. False when it was already so. Same as
   * `POST /_sim/users/{id}/block-teams-apps|allow-teams-apps`.
   */
  setTeamsAppsBlocked(userId: string, blocked: boolean): boolean;
  /** Every personal-scope app installation, oldest first (`GET /_sim/teams-installations`). */
  appInstallations(): SimAppInstallation[];
  close(): Promise<void>;
}

const NO_FAULTS: GraphSimFaults = { latencyMs: 0, throttleRate: 0, unavailableRate: 0, writeQuota: false };

/** Graph's documented identity and access write limit: 3,000 requests per 150 seconds per app and tenant. */
const WRITE_QUOTA = { capacity: 3000, perSeconds: 150 };
const MAX_BATCH_REQUESTS = 20;
const DEFAULT_DELTA_PAGE_SIZE = 200;
const MAX_BODY_BYTES = 40 * 1024 * 1024;
const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
/** POST actions that only read (checkMemberGroups, getByIds): not writes for the log or the write quota. */
const READ_ACTIONS =
  /\/(checkMemberGroups|checkMemberObjects|getMemberGroups|getMemberObjects|getByIds)\/?$/i;

/** Whether a request changes the directory (logged, and counted against the write quota). */
function isWrite(method: string, path: string): boolean {
  return WRITE_METHODS.has(method) && !READ_ACTIONS.test(path);
}
const JSON_CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** A continuously refilled token bucket, one per simulator (the simulator serves one app in one tenant). */
class WriteBucket {
  private tokens = WRITE_QUOTA.capacity;
  private last: number | undefined;
  private readonly perMs = WRITE_QUOTA.capacity / (WRITE_QUOTA.perSeconds * 1000);

  /** Takes one write; returns the seconds to wait when the bucket is empty. */
  take(now: Date): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const t = now.getTime();
    if (this.last !== undefined)
      this.tokens = Math.min(WRITE_QUOTA.capacity, this.tokens + (t - this.last) * this.perMs);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - this.tokens) / this.perMs / 1000)) };
  }
}

interface Settings {
  faults: GraphSimFaults;
  random: () => number;
  now: () => Date;
  deltaPageSize: number;
  grantRoleManagement: boolean;
  callerAppId: string;
  personalChatId: (userId: string, app: SimTeamsApp) => string;
}

function emptyCount(): GraphSimCount {
  return { total: 0, byMethod: {} };
}

function bump(count: GraphSimCount, method: string): void {
  const m = method.toUpperCase();
  count.total += 1;
  count.byMethod[m] = (count.byMethod[m] ?? 0) + 1;
}

class Simulator {
  private readonly bucket = new WriteBucket();
  serviceRoot = '';
  rules: CompiledFaultRule[] = [];
  counts!: GraphSimStats;

  constructor(
    private readonly store: TenantStore,
    private readonly mailDir: string,
    readonly settings: Settings,
  ) {
    this.resetStats();
  }

  resetStats(): void {
    this.counts = {
      requests: emptyCount(),
      batchSubRequests: emptyCount(),
      since: this.settings.now().toISOString(),
    };
  }

  /** A deep copy, so a caller holding it does not see later counts. */
  stats(): GraphSimStats {
    return JSON.parse(JSON.stringify(this.counts)) as GraphSimStats;
  }

  /** The fault of the first rule in force that matches this request and whose dice say so, if any. */
  private ruleFault(
    method: string,
    path: string,
    ids: RequestIds,
    envelope: boolean,
  ): SimResponse | undefined {
    if (this.rules.length === 0) return undefined;
    const now = this.settings.now();
    for (const rule of this.rules) {
      if (!rule.matches(method, path, now, envelope)) continue;
      const rate = rule.rule.rate ?? 1;
      if (rate <= 0) continue;
      if (rate >= 1 || this.settings.random() < rate) return rule.response(ids, now);
    }
    return undefined;
  }

  /** The injected fault for this request, if any: rules, then dice (429 or 503), then the write quota. */
  private fault(method: string, path: string, ids: RequestIds): SimResponse | undefined {
    const ruled = this.ruleFault(method, path, ids, false);
    if (ruled) return ruled;
    const f = this.settings.faults;
    const now = this.settings.now();
    const retryAfter = String(f.retryAfterSeconds ?? 1);
    if (f.throttleRate > 0 || f.unavailableRate > 0) {
      const r = this.settings.random();
      if (r < f.throttleRate) {
        return graphError(
          429,
          'TooManyRequests',
          'Too many requests. Please retry after the time in the Retry-After header.',
          ids,
          now,
          {
            'Retry-After': retryAfter,
          },
        );
      }
      if (r < f.throttleRate + f.unavailableRate) {
        return graphError(
          503,
          'serviceNotAvailable',
          'Service unavailable. Please retry after the time in the Retry-After header.',
          ids,
          now,
          {
            'Retry-After': retryAfter,
          },
        );
      }
    }
    if (f.writeQuota && isWrite(method, path)) {
      const taken = this.bucket.take(now);
      if (!taken.ok) {
        return graphError(
          429,
          'TooManyRequests',
          `Write quota of ${WRITE_QUOTA.capacity} requests per ${WRITE_QUOTA.perSeconds} seconds for this application in this tenant is exhausted. Please retry after ${taken.retryAfterSeconds} seconds.`,
          ids,
          now,
          { 'Retry-After': String(taken.retryAfterSeconds) },
        );
      }
    }
    return undefined;
  }

  /** One request after authentication: faults, then the router; writes are logged with their outcome. */
  private execute(req: SimRequest, ids: RequestIds, batch: boolean): SimResponse {
    const method = req.method.toUpperCase();
    const ctx: RouteContext = {
      store: this.store,
      serviceRoot: this.serviceRoot,
      mailDir: this.mailDir,
      now: this.settings.now,
      ids,
      deltaPageSize: this.settings.deltaPageSize,
      grantRoleManagement: this.settings.grantRoleManagement,
      callerAppId: this.settings.callerAppId,
      personalChatId: this.settings.personalChatId,
    };
    const res = this.fault(method, req.path, ids) ?? routeGraphRequest(ctx, req);
    if (isWrite(method, req.path)) {
      this.store.recordWrite({
        method,
        path: req.path,
        status: res.status,
        time: this.settings.now().toISOString(),
        ...(batch ? { batch: true } : {}),
      });
    }
    return res;
  }

  /** `POST /$batch`: at most 20 requests, run in dependsOn order; a request whose dependency failed gets 424. */
  private batch(body: unknown, ids: RequestIds): SimResponse {
    const now = this.settings.now();
    const requests = (body as { requests?: unknown } | undefined)?.requests;
    if (!Array.isArray(requests))
      return graphError(400, 'BadRequest', 'Invalid batch payload format.', ids, now);
    if (requests.length > MAX_BATCH_REQUESTS) {
      return graphError(
        400,
        'BadRequest',
        `The number of requests in the batch (${requests.length}) exceeds the maximum of ${MAX_BATCH_REQUESTS}.`,
        ids,
        now,
      );
    }
    interface Step {
      id: string;
      method: string;
      url: string;
      body?: unknown;
      dependsOn: string[];
    }
    const steps: Step[] = [];
    for (const raw of requests as Record<string, unknown>[]) {
      const { id, method, url, dependsOn } = raw ?? {};
      if (typeof id !== 'string' || id === '' || typeof method !== 'string' || typeof url !== 'string') {
        return graphError(
          400,
          'BadRequest',
          'Invalid batch payload format: each request needs id, method and url.',
          ids,
          now,
        );
      }
      if (steps.some((s) => s.id === id))
        return graphError(400, 'BadRequest', `Batch request id '${id}' is duplicated.`, ids, now);
      if (
        dependsOn !== undefined &&
        (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string'))
      ) {
        return graphError(
          400,
          'BadRequest',
          `dependsOn of request '${id}' must be an array of request ids.`,
          ids,
          now,
        );
      }
      steps.push({
        id,
        method: method.toUpperCase(),
        url,
        body: raw.body,
        dependsOn: (dependsOn as string[] | undefined) ?? [],
      });
    }
    for (const s of steps) {
      const missing = s.dependsOn.find((d) => !steps.some((o) => o.id === d));
      if (missing !== undefined) {
        return graphError(
          400,
          'BadRequest',
          `Request '${s.id}' depends on '${missing}', which is not in the batch.`,
          ids,
          now,
        );
      }
    }
    for (const step of steps) bump(this.counts.batchSubRequests, step.method);
    // Kahn's order, stable by position, so independent requests run in the order they were sent.
    const order: Step[] = [];
    const pending = [...steps];
    while (pending.length > 0) {
      const next = pending.findIndex((s) => s.dependsOn.every((d) => order.some((o) => o.id === d)));
      if (next < 0)
        return graphError(400, 'BadRequest', 'The dependsOn of the batch requests form a cycle.', ids, now);
      order.push(...pending.splice(next, 1));
    }
    const results = new Map<string, SimResponse>();
    for (const step of order) {
      const failed = step.dependsOn.find((d) => (results.get(d)?.status ?? 0) >= 400);
      if (failed !== undefined) {
        results.set(
          step.id,
          graphError(
            424,
            'FailedDependency',
            `The request was not run because request '${failed}' it depends on failed.`,
            ids,
            now,
          ),
        );
        continue;
      }
      if (step.url.replace(/^\/+/, '').toLowerCase().startsWith('$batch')) {
        results.set(
          step.id,
          graphError(400, 'BadRequest', 'A batch request cannot contain another batch.', ids, now),
        );
        continue;
      }
      const url = new URL(step.url.startsWith('/') ? step.url : `/${step.url}`, 'http://batch.invalid');
      results.set(
        step.id,
        this.execute(
          { method: step.method, path: url.pathname, query: url.searchParams, body: step.body },
          ids,
          true,
        ),
      );
    }
    return {
      status: 200,
      headers: {},
      body: {
        responses: steps.map((s) => {
          const r = results.get(s.id) as SimResponse;
          const headers: Record<string, string> = { ...r.headers };
          if (r.body !== undefined) headers['Content-Type'] = JSON_CONTENT_TYPE;
          return { id: s.id, status: r.status, headers, ...(r.body !== undefined ? { body: r.body } : {}) };
        }),
      },
    };
  }

  /** One HTTP request: version prefix, bearer token, latency, then $batch or a single request. */
  async handle(
    method: string,
    rawUrl: string,
    authorization: string | undefined,
    rawBody: Buffer,
    ids: RequestIds,
  ): Promise<SimResponse> {
    bump(this.counts.requests, method);
    const now = this.settings.now();
    const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (!token) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', ids, now);
    if (!this.store.hasToken(token)) {
      return graphError(
        401,
        'InvalidAuthenticationToken',
        'Access token validation failure. Invalid audience.',
        ids,
        now,
      );
    }
    const url = new URL(rawUrl, 'http://127.0.0.1');
    const [, version] = url.pathname.split('/');
    if (version !== 'v1.0')
      return graphError(400, 'BadRequest', `Invalid version: ${version ?? ''}`, ids, now);
    const subPath = url.pathname.slice('/v1.0'.length) || '/';
    let body: unknown;
    if (rawBody.length > 0) {
      try {
        body = JSON.parse(rawBody.toString('utf8'));
      } catch {
        return graphError(
          400,
          'BadRequest',
          'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.',
          ids,
          now,
        );
      }
    }
    if (this.settings.faults.latencyMs > 0)
      await new Promise((r) => setTimeout(r, this.settings.faults.latencyMs));
    if (subPath.replace(/\/+$/, '') === '/$batch') {
      if (method.toUpperCase() !== 'POST') {
        return graphError(
          405,
          'Request_BadRequest',
          'Specified HTTP method is not allowed for the request target.',
          ids,
          now,
        );
      }
      // NB. Faults hit the requests inside a batch one by one, as Graph throttles them, not the batch itself;
      // only a rule naming /$batch itself fails the envelope.
      return this.ruleFault('POST', '/$batch', ids, true) ?? this.batch(body, ids);
    }
    return this.execute({ method, path: subPath, query: url.searchParams, body }, ids, false);
  }
}

const ADMIN_PREFIX = '/_sim/';

/** An answer of the admin endpoint: not Graph, so a plain `{error: {code, message}}` on failure. */
function adminError(status: number, code: string, message: string): SimResponse {
  return { status, headers: {}, body: { error: { code, message } } };
}

/**
 * The loopback-only admin endpoint under `/_sim/` (no Graph token): fault rules, delta token expiry and
 * request counts, for tests and benchmarks driving a running simulator.
 */
function adminRequest(
  sim: Simulator,
  store: TenantStore,
  method: string,
  pathname: string,
  rawBody: Buffer,
  remoteAddress: string | undefined,
): SimResponse {
  if (!isLoopbackAddress(remoteAddress)) {
    return adminError(403, 'Forbidden', 'The simulator admin endpoint answers callers on this machine only.');
  }
  const route = `${method.toUpperCase()} ${pathname.replace(/\/+$/, '')}`;
  const userRoute =
    /^(POST|DELETE) \/_sim\/users\/([^/]+)(?:\/(disable|enable|block-teams-apps|allow-teams-apps))?$/.exec(
      route,
    );
  if (userRoute)
    return adminUser(store, userRoute[1], decodeURIComponent(userRoute[2]).toLowerCase(), userRoute[3]);
  const rulesBody = () => ({ status: 200, headers: {}, body: { rules: sim.rules.map((r) => r.active()) } });
  switch (route) {
    case 'GET /_sim/faults':
      return rulesBody();
    case 'POST /_sim/faults':
    case 'PUT /_sim/faults': {
      let body: unknown;
      try {
        body = JSON.parse(rawBody.toString('utf8') || 'null');
      } catch {
        return adminError(400, 'BadRequest', 'The body must be JSON: {"rules": [ ... ]}.');
      }
      try {
        sim.rules = compileFaultRules((body as { rules?: unknown } | null)?.rules, sim.settings.now());
      } catch (e) {
        if (e instanceof FaultRuleError) return adminError(400, 'BadRequest', e.message);
        throw e;
      }
      return rulesBody();
    }
    case 'DELETE /_sim/faults':
      sim.rules = [];
      return { status: 204, headers: {} };
    case 'GET /_sim/stats':
      return { status: 200, headers: {}, body: sim.stats() };
    case 'DELETE /_sim/stats':
      sim.resetStats();
      return { status: 204, headers: {} };
    case 'GET /_sim/teams-installations':
      return { status: 200, headers: {}, body: { value: store.tenant.appInstallations ?? [] } };
    case 'POST /_sim/delta/expire':
      store.expireDeltaTokens();
      return { status: 204, headers: {} };
    default:
      return adminError(404, 'NotFound', `No simulator admin route ${route}.`);
  }
}

/**
 * `POST /_sim/users/{id}/disable|enable` and `DELETE /_sim/users/{id}`: the offboarding cases of Entra;
 * `POST /_sim/users/{id}/block-teams-apps|allow-teams-apps`: a Teams app permission policy for the person.
 */
function adminUser(
  store: TenantStore,
  method: string,
  userId: string,
  verb: string | undefined,
): SimResponse {
  const known = store.tenant.users.some((u) => u.id === userId);
  if (method === 'DELETE' && !verb) {
    return store.deleteUser(userId)
      ? { status: 204, headers: {} }
      : adminError(404, 'NotFound', `No user ${userId} in the simulated tenant.`);
  }
  if (method !== 'POST' || !verb)
    return adminError(404, 'NotFound', `No simulator admin route ${method} for users.`);
  if (!known) return adminError(404, 'NotFound', `No user ${userId} in the simulated tenant.`);
  if (verb === 'block-teams-apps' || verb === 'allow-teams-apps') {
    const blocked = verb === 'block-teams-apps';
    const changed = store.setTeamsAppsBlocked(userId, blocked);
    return { status: 200, headers: {}, body: { id: userId, teamsAppsBlocked: blocked, changed } };
  }
  const changed = store.setAccountEnabled(userId, verb === 'enable');
  return { status: 200, headers: {}, body: { id: userId, accountEnabled: verb === 'enable', changed } };
}

function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, out: SimResponse, ids: RequestIds): void {
  const headers: Record<string, string> = {
    ...out.headers,
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
    'Cache-Control': 'no-cache',
  };
  if (out.body === undefined) {
    res.writeHead(out.status, { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(out.body));
  res.writeHead(out.status, {
    ...headers,
    'Content-Type': JSON_CONTENT_TYPE,
    'Content-Length': String(payload.length),
  });
  res.end(payload);
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? new Error(`Graph simulator: port ${port} is already in use`) : err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/** Starts the simulator on 127.0.0.1, loading `${dataDir}/graph-sim/` or seeding the demo tenant. */
export async function startGraphSimulator(opts: GraphSimOptions): Promise<GraphSimulator> {
  const now = opts.now ?? (() => new Date());
  const store = TenantStore.open(path.join(opts.dataDir, 'graph-sim'), {
    fresh: opts.fresh === true,
    now: now(),
  });
  const mailDir = path.join(opts.dataDir, 'mail');
  fs.mkdirSync(mailDir, { recursive: true });
  const sim = new Simulator(store, mailDir, {
    faults: { ...NO_FAULTS, ...opts.faults },
    random: opts.random ?? Math.random,
    now,
    deltaPageSize: Math.max(1, Math.floor(opts.deltaPageSize ?? DEFAULT_DELTA_PAGE_SIZE)),
    grantRoleManagement: opts.grantRoleManagement === true,
    callerAppId: opts.callerAppId ?? DEMO_ATTEST_ENTRA_APP_ID,
    personalChatId: opts.personalChatId ?? ((userId, app) => `19:${userId}_${app.id}@unq.gbl.spaces`),
  });
  const server = http.createServer((req, res) => {
    const header = req.headers['client-request-id'];
    const ids: RequestIds = {
      requestId: randomUUID(),
      clientRequestId: (Array.isArray(header) ? header[0] : header) || randomUUID(),
    };
    readBody(req)
      .then((body) => {
        if (body === undefined) {
          return graphError(
            413,
            'RequestEntityTooLarge',
            'The request body is too large.',
            ids,
            sim.settings.now(),
          );
        }
        const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
        if (pathname.startsWith(ADMIN_PREFIX)) {
          return adminRequest(sim, store, req.method ?? 'GET', pathname, body, req.socket.remoteAddress);
        }
        return sim.handle(req.method ?? 'GET', req.url ?? '/', req.headers.authorization, body, ids);
      })
      .then(
        (out) => send(res, out, ids),
        (err: unknown) =>
          send(
            res,
            graphError(500, 'generalException', `Graph simulator failed: ${String(err)}`, ids, new Date()),
            ids,
          ),
      );
  });
  const port = await listen(server, opts.port);
  const url = `http://127.0.0.1:${port}/v1.0`;
  sim.serviceRoot = url;
  return {
    url,
    port,
    issueToken() {
      const token = `attest-sim.${randomBytes(24).toString('base64url')}`;
      store.addToken(token);
      return token;
    },
    setFaults(f) {
      sim.settings.faults = { ...sim.settings.faults, ...f };
    },
    setFaultRules(rules) {
      sim.rules = compileFaultRules(rules, sim.settings.now());
    },
    clearFaultRules() {
      sim.rules = [];
    },
    faultRules: () => sim.rules.map((r) => r.active()),
    stats: () => sim.stats(),
    resetStats: () => sim.resetStats(),
    writes: () => store.writes(),
    addGroupMember: (groupId, memberId) => store.addMember(groupId.toLowerCase(), memberId.toLowerCase()),
    removeGroupMember: (groupId, memberId) =>
      store.removeMember(groupId.toLowerCase(), memberId.toLowerCase()),
    deleteGroup: (groupId) => store.deleteGroup(groupId.toLowerCase()),
    expireDeltaTokens: () => store.expireDeltaTokens(),
    setAccountEnabled: (userId, enabled) => store.setAccountEnabled(userId.toLowerCase(), enabled),
    deleteUser: (userId) => store.deleteUser(userId.toLowerCase()),
    setTeamsAppsBlocked: (userId, blocked) => store.setTeamsAppsBlocked(userId.toLowerCase(), blocked),
    appInstallations: () => (store.tenant.appInstallations ?? []).map((i) => ({ ...i })),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
