/**
 * The functions as data. Each entry says what triggers it and what it does; `src/functions/index.ts`
 * registers the list with @azure/functions and durable-functions in Azure, and the local host mounts the
 * same list. No function is written twice.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type * as df from 'durable-functions';
import type { AttestConfig } from '../config/config';
import type { DurableClientPort } from '../ports/durable-client.port';
import type { ReviewApi } from '../ports/review-api.port';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import type { TeamsChannel } from '../adapters/teams/teams-channel';
import type { GraphAccess } from '../adapters/graph/graph-access';
import type { CatalogCheckStatus } from './catalog-check';
import type { CatalogInUse } from './catalog-in-use';
import type { TabTokenValidator } from '../adapters/tab-auth/tab-token.validator';
import type { CallerRoleResolver } from '../adapters/tab-auth/caller-roles';
import type { LocalTabIssuer } from '../adapters/tab-auth/local-issuer';
import type { TicketSync } from '../adapters/tickets/ticket-sync';
import type { WorkCounts } from '../adapters/telemetry/work-gauges';

/** What a function can use besides its trigger: built once per host from the configuration. */
export interface AppServices {
  config: AttestConfig;
  graph: GraphAccess;
  /** The workflow's ports, built on first use (see composition.ts). */
  workflow: () => Promise<WorkflowDeps>;
  /** The Teams channel (bot adapter, application, proactive queue), built with the ports. */
  teams: () => Promise<TeamsChannel>;
  /** The catalog in use (the file, or the last good one when the file does not load), built with the ports. */
  catalog?: () => Promise<CatalogInUse>;
  /** The background check of the catalog against the directory, as it stands. */
  catalogCheck?: () => CatalogCheckStatus;
  /** Access reviews (ReviewApi) over the review tables and the durable client the caller passes. */
  reviews?: (durable: DurableClientPort) => Promise<ReviewApi>;
  /** The tab's SSO: token validation, caller roles and, locally, the local issuer (see tab-route.ts). */
  tab?: TabAuthServices;
  /** The ticket-sync drain (audit outbox to Jira or ServiceNow); undefined when tickets are off. */
  ticketSync?: () => Promise<TicketSync | undefined>;
  /** Counts the work waiting on people (pending approvals, overdue revocations, ...) for the telemetry gauges. */
  workCounts?: () => Promise<WorkCounts>;
  /** Stops background work (the catalog check's retries). */
  stop?: () => void;
}

/** What the tab's routes authenticate with, built once per host (see tab-route.ts). */
export interface TabAuthServices {
  validator: TabTokenValidator;
  roles: CallerRoleResolver;
  /** Only with ATTEST_TAB_AUTH=local: the local host publishes it once its HTTP server is bound. */
  localIssuer?: LocalTabIssuer;
}

/** Passed to http and timer handlers. */
export interface FunctionContext {
  invocation: InvocationContext;
  services: AppServices;
  durable: DurableClientPort;
}

/** Passed to activities. */
export interface ActivityContext {
  invocation: InvocationContext;
  services: AppServices;
  /**
   * The durable client, for the few activities that signal other orchestrations (offboarding raises Revoke on
   * each request it ends: a JavaScript orchestrator cannot raise events itself). Present when the activity is
   * declared with `durableClient: true`.
   */
  durable?: DurableClientPort;
}

/** An HTTP-triggered function; `route` is relative to the `api/` prefix, as in host.json. */
export interface HttpFunction {
  kind: 'http';
  name: string;
  route: string;
  methods: ('GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  /** `anonymous` when the handler authenticates callers itself (the bot validates Bot Framework tokens). */
  authLevel: 'anonymous' | 'function';
  handler: (request: HttpRequest, context: FunctionContext) => Promise<HttpResponseInit>;
}

/** A timer-triggered function; `schedule` is a 6-field NCRONTAB expression (second first), as in Azure. */
export interface TimerFunction {
  kind: 'timer';
  name: string;
  schedule: string;
  handler: (context: FunctionContext) => Promise<void>;
}

/** An orchestration: a deterministic generator run by Durable Functions (or the local replay host). */
export interface OrchestrationFunction {
  kind: 'orchestration';
  name: string;
  handler: df.OrchestrationHandler;
}

/** An activity: one idempotent operation an orchestration calls. */
export interface ActivityFunction {
  kind: 'activity';
  name: string;
  /** The activity needs the durable client (Azure binds it as an extra input only then). */
  durableClient?: boolean;
  handler: (input: unknown, context: ActivityContext) => Promise<unknown>;
}

/** Any function in the list. */
export type FunctionDefinition = HttpFunction | TimerFunction | OrchestrationFunction | ActivityFunction;

/**
 * A catch-all route (`tab/{*path}`) must not shadow a route under it. NB. The Functions host tries routes in the
 * alphabetical order of their FUNCTION NAMES, not by precedence as ASP.NET does (azure-functions-host#9876, #3153),
 * so a route under a catch-all is reached in Azure only when its function's name sorts before the catch-all's
 * (`tab-auth-me` and `tab-api-*` before `tab-static`). The local host tries literal routes first, so only this check
 * catches the mistake before Azure does.
 */
function checkCatchAllOrder(http: readonly HttpFunction[]): void {
  for (const all of http) {
    const m = /^(.*?)\/?\{\*\w+\}$/.exec(all.route);
    if (!m) continue;
    const prefix = m[1] === '' ? '' : `${m[1].toLowerCase()}/`;
    for (const f of http) {
      if (f === all || !f.route.toLowerCase().startsWith(prefix)) continue;
      if (!f.methods.some((method) => all.methods.includes(method))) continue;
      if (f.name >= all.name) {
        throw new Error(
          `Function '${f.name}' (${f.route}) would be shadowed in Azure by the catch-all '${all.name}' (${all.route}): ` +
            `Azure tries routes in the order of function names, so rename it to sort before '${all.name}'.`,
        );
      }
    }
  }
}

/** Checks a list for duplicate names and routes before either host mounts it. */
export function validateFunctionList(list: readonly FunctionDefinition[]): void {
  const names = new Set<string>();
  const routes = new Set<string>();
  for (const f of list) {
    if (names.has(f.name)) throw new Error(`Two functions are named '${f.name}'.`);
    names.add(f.name);
    if (f.kind === 'http') {
      for (const m of f.methods) {
        const key = `${m} ${f.route}`;
        if (routes.has(key)) throw new Error(`Two functions answer ${key}.`);
        routes.add(key);
      }
    }
  }
  checkCatchAllOrder(list.filter((f): f is HttpFunction => f.kind === 'http'));
}
