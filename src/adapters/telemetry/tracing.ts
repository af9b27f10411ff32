/**
 * Attest's spans: the span processor that stamps each span with the work's ids, and `traced`, which wraps one
 * outbound call (Graph, Table Storage, Teams, a ticket system) or one function invocation in a span.
 *
 * Without a registered tracer provider (tests, the CLI, the local host) the OpenTelemetry API hands out
 * non-recording spans: `traced` then costs a function call.
 */
import {
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { currentWork, WorkAttributes } from './work-context';

/** The instrumentation scope of every Attest span and metric. */
export const ATTEST_SCOPE = 'attest';

/** The tracer, looked up per call so a provider registered after import is used. */
export function attestTracer(): Tracer {
  return trace.getTracer(ATTEST_SCOPE);
}

/**
 * The slice of the SDK's SpanProcessor this needs (declared here so production code does not import the SDK,
 * which @azure/monitor-opentelemetry brings and owns).
 */
interface SpanLike {
  setAttribute(key: string, value: string): unknown;
}

/**
 * Copies the work's ids onto every span when it starts, whoever starts it (Attest, the HTTP instrumentation,
 * the Azure SDK): so one query by `attest.request_id` finds every call made for a request.
 */
export class AttestWorkSpanProcessor {
  onStart(span: SpanLike, parentContext: Context): void {
    const work = currentWork(parentContext);
    if (work.requestId) span.setAttribute(WorkAttributes.requestId, work.requestId);
    if (work.campaignId) span.setAttribute(WorkAttributes.campaignId, work.campaignId);
  }
  onEnd(): void {}
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

/** An HTTP status, when the error carries one (Graph's GraphError, Azure's RestError, our ticket errors). */
export function statusOfError(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; status?: unknown; details?: { statusCode?: unknown } };
  for (const v of [e.statusCode, e.status, e.details?.statusCode]) if (typeof v === 'number') return v;
  return undefined;
}

/** Records an HTTP answer's status on its span: ERROR from 400 on (an answer, not an exception). */
export function noteStatus(span: Span, status: number | undefined): void {
  if (status === undefined) return;
  span.setAttribute('http.response.status_code', status);
  if (status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
}

/**
 * Runs `fn` in a span named `name`; the span ends when `fn` settles, with status ERROR and the exception's
 * type and message when it throws. `kind` CLIENT for an outbound call.
 */
export async function traced<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.CLIENT,
): Promise<T> {
  return attestTracer().startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      const result = await fn(span);
      return result;
    } catch (err) {
      const status = statusOfError(err);
      if (status !== undefined) span.setAttribute('http.response.status_code', status);
      // NB. The exception's message only: error objects of HTTP clients carry the request (and its headers).
      span.recordException({
        name: (err as Error)?.name ?? 'Error',
        message: (err as Error)?.message ?? String(err),
      });
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}
