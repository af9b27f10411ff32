/**
 * Wraps each function of the list, once, for both hosts: an activity runs in the work context its input names
 * (a request or a campaign) and in a span `activity <name>`; an http or timer function in a span of its own, the
 * tab API's routes in the campaign (or request) their URL names. Orchestrations are NOT wrapped: their code
 * replays, and a span per replay would say nothing true.
 */
import { SpanKind } from '@opentelemetry/api';
import type { HttpRequest } from '@azure/functions';
import { traced } from '../adapters/telemetry/tracing';
import { withWork, workIdsOfInput, type WorkIds } from '../adapters/telemetry/work-context';
import type { ActivityContext, FunctionContext, FunctionDefinition } from './function-types';

/** The campaign or request an HTTP route names: `/campaigns/{id}/...`, `/requests/{id}`, `?campaignId=`. */
export function workIdsOfUrl(url: string): WorkIds {
  let u: URL;
  try {
    u = new URL(url, 'http://localhost');
  } catch {
    return {};
  }
  const campaign =
    /\/campaigns\/([^/]+)/.exec(u.pathname)?.[1] ?? u.searchParams.get('campaignId') ?? undefined;
  const request = /\/requests\/([^/]+)/.exec(u.pathname)?.[1] ?? u.searchParams.get('requestId') ?? undefined;
  const decode = (s: string | undefined) => {
    if (s === undefined) return undefined;
    try {
      return decodeURIComponent(s);
    } catch {
      return undefined;
    }
  };
  return { campaignId: decode(campaign), requestId: decode(request) };
}

const instrumented = new WeakSet<FunctionDefinition>();

/** The same list with each handler wrapped (a definition already wrapped is kept as it is). */
export function instrumentFunctions(list: FunctionDefinition[]): FunctionDefinition[] {
  return list.map((f) => {
    if (instrumented.has(f)) return f;
    let wrapped: FunctionDefinition;
    switch (f.kind) {
      case 'activity':
        wrapped = {
          ...f,
          handler: (input: unknown, context: ActivityContext) =>
            withWork(workIdsOfInput(input), () =>
              traced(
                `activity ${f.name}`,
                { 'faas.name': f.name },
                () => f.handler(input, context),
                SpanKind.INTERNAL,
              ),
            ),
        };
        break;
      case 'http':
        wrapped = {
          ...f,
          handler: (request: HttpRequest, context: FunctionContext) =>
            withWork(workIdsOfUrl(request.url), () =>
              traced(
                `http ${f.name}`,
                { 'faas.name': f.name, 'http.route': f.route },
                async (span) => {
                  const response = await f.handler(request, context);
                  span.setAttribute('http.response.status_code', response.status ?? 200);
                  return response;
                },
                SpanKind.INTERNAL,
              ),
            ),
        };
        break;
      case 'timer':
        wrapped = {
          ...f,
          handler: (context: FunctionContext) =>
            withWork({}, () =>
              traced(`timer ${f.name}`, { 'faas.name': f.name }, () => f.handler(context), SpanKind.INTERNAL),
            ),
        };
        break;
      default:
        wrapped = f;
    }
    instrumented.add(wrapped);
    return wrapped;
  });
}
