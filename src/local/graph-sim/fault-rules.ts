/**
 * Runtime fault rules of the Graph simulator: "answer 503 to every GET below /groups for two hours", set and
 * cleared while it runs (through its TS API or the loopback-only `/_sim/faults` endpoint), timed on the
 * simulator's own clock so a test clock can end an outage.
 */
import { fieldChecks, globToRegExp, ruleObjects } from '../fault-rule-checks';
import { graphError, type RequestIds, type SimResponse } from './graph-routes';

/** One fault rule, as a caller writes it (also the JSON format of `POST /_sim/faults`). */
export interface GraphSimFaultRule {
  /** HTTP method the rule applies to (case-insensitive); absent or `*` for any. */
  method?: string;
  /**
   * Glob over the path below `/v1.0`, e.g. `/groups/*` + `/members/$ref`: `*` matches within one segment,
   * `**` across segments; absent for every path. Case-insensitive, like Graph's paths. NB. The `$batch`
   * envelope is matched only by a rule whose path is exactly `/$batch`; any other rule hits the requests
   * inside a batch one by one, each answered with its own status, as Graph does.
   */
  path?: string;
  /** A regular expression over the same path, instead of `path` (e.g. `^/users/[^/]+/manager$`). */
  pathRegex?: string;
  /** The status to answer (400..599): 429, 503, 500, 403 ... with Graph's error body for it. */
  status: number;
  /** Share of matching requests that get the fault, 0..1 (default 1: all of them). */
  rate?: number;
  /** How long the rule lasts from when it was set, in milliseconds of the simulator's clock; absent: until cleared. */
  durationMs?: number;
  /** Seconds for a Retry-After header; absent: no header. */
  retryAfterSeconds?: number;
  /** Graph error code and message to send instead of the usual ones for `status`. */
  code?: string;
  message?: string;
}

/** A rule in force, with when it started and ends. */
export interface ActiveFaultRule extends GraphSimFaultRule {
  /** ISO time the rule was set. */
  since: string;
  /** ISO time the rule stops applying; absent when it lasts until cleared. */
  until?: string;
}

/** Graph's error code and message for each status a rule may inject. */
const GRAPH_ERRORS: Record<number, [string, string]> = {
  400: ['BadRequest', 'The request is malformed or incorrect.'],
  401: ['InvalidAuthenticationToken', 'Access token has expired or is not yet valid.'],
  403: ['Authorization_RequestDenied', 'Insufficient privileges to complete the operation.'],
  404: ['Request_ResourceNotFound', 'The requested resource does not exist.'],
  409: ['Conflict', 'The current state conflicts with what the request expects.'],
  410: ['resyncRequired', 'The delta token is no longer valid, and the app must reset the sync state.'],
  429: ['TooManyRequests', 'Too many requests. Please retry after the time in the Retry-After header.'],
  500: ['generalException', 'An unspecified error has occurred.'],
  502: ['BadGateway', 'The server, while acting as a gateway, received an invalid response.'],
  503: ['serviceNotAvailable', 'Service unavailable. Please retry after the time in the Retry-After header.'],
  504: ['GatewayTimeout', 'The server, while acting as a proxy, did not receive a timely response.'],
};

/** Thrown for a rule list that cannot be used; the message says which rule and why. */
export class FaultRuleError extends Error {}

/** A rule checked and compiled, with its time window. */
export class CompiledFaultRule {
  private readonly pattern: RegExp | undefined;
  private readonly batchEnvelope: boolean;

  constructor(
    readonly rule: GraphSimFaultRule,
    readonly since: Date,
  ) {
    this.pattern = rule.pathRegex !== undefined ? new RegExp(rule.pathRegex, 'i') : undefined;
    if (rule.path !== undefined) this.pattern = globToRegExp(rule.path);
    this.batchEnvelope = rule.path?.toLowerCase() === '/$batch';
  }

  /** Whether the rule is in force at `now` and matches this request (`envelope`: the `$batch` POST itself). */
  matches(method: string, path: string, now: Date, envelope: boolean): boolean {
    if (envelope !== this.batchEnvelope) return false;
    const t = now.getTime();
    if (t < this.since.getTime()) return false;
    if (this.rule.durationMs !== undefined && t >= this.since.getTime() + this.rule.durationMs) return false;
    const m = this.rule.method;
    if (m !== undefined && m !== '*' && m.toUpperCase() !== method.toUpperCase()) return false;
    return this.pattern === undefined || this.pattern.test(path);
  }

  /** Graph's answer for this rule. */
  response(ids: RequestIds, now: Date): SimResponse {
    const [code, message] = GRAPH_ERRORS[this.rule.status] ?? ['UnknownError', 'An unknown error occurred.'];
    const headers: Record<string, string> =
      this.rule.retryAfterSeconds !== undefined ? { 'Retry-After': String(this.rule.retryAfterSeconds) } : {};
    return graphError(
      this.rule.status,
      this.rule.code ?? code,
      this.rule.message ?? message,
      ids,
      now,
      headers,
    );
  }

  active(): ActiveFaultRule {
    const until =
      this.rule.durationMs !== undefined
        ? { until: new Date(this.since.getTime() + this.rule.durationMs).toISOString() }
        : {};
    return { ...this.rule, since: this.since.toISOString(), ...until };
  }
}

const KNOWN_FIELDS = new Set([
  'method',
  'path',
  'pathRegex',
  'status',
  'rate',
  'durationMs',
  'retryAfterSeconds',
  'code',
  'message',
]);

/** Checks a rule list (from the TS API or JSON) and compiles it; throws FaultRuleError naming the bad rule. */
export function compileFaultRules(rules: unknown, now: Date): CompiledFaultRule[] {
  const fail = (message: string) => new FaultRuleError(message);
  return ruleObjects(rules, fail).map((rule) => {
    const { r, where } = rule;
    const check = fieldChecks(rule, fail);
    const unknown = Object.keys(r).find((k) => !KNOWN_FIELDS.has(k));
    if (unknown !== undefined) throw new FaultRuleError(`${where} has an unknown field '${unknown}'`);
    check.status();
    check.nonEmptyStrings(['method', 'path', 'pathRegex', 'code', 'message']);
    if (r.path !== undefined && r.pathRegex !== undefined)
      throw new FaultRuleError(`${where}: give path or pathRegex, not both`);
    if (r.pathRegex !== undefined) {
      try {
        new RegExp(r.pathRegex as string);
      } catch (e) {
        throw new FaultRuleError(`${where}: pathRegex is not a regular expression (${(e as Error).message})`);
      }
    }
    check.rate();
    check.durationMs();
    check.wholeSeconds('retryAfterSeconds');
    return new CompiledFaultRule({ ...(r as unknown as GraphSimFaultRule) }, now);
  });
}

export { isLoopbackAddress } from '../fault-rule-checks';
