/**
 * The unit of work a line of code runs for: an access request, a review campaign, or neither (a timer, a bot
 * turn before its card is read). `withWork` runs a function inside such a context; every span started inside
 * gets `attest.request_id` / `attest.campaign_id` (see AttestWorkSpanProcessor) and every line of Attest's
 * logger carries `requestId` / `campaignId` (see logger.ts).
 *
 * NB. The ids live in a node AsyncLocalStorage, not only in the OpenTelemetry context: the OTel context
 * propagates only when a context manager is registered (useAzureMonitor registers one; the local host and the
 * CLI do not), and log lines must carry the ids in every host. The OTel context is set too, so a span started
 * with an explicit parent context is attributed from that context.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey, trace, type Context } from '@opentelemetry/api';

/** The ids a unit of work is about. Ids only: never names, tokens or free text. */
export interface WorkIds {
  requestId?: string;
  campaignId?: string;
}

/** Span attribute names (one place). */
export const WorkAttributes = {
  requestId: 'attest.request_id',
  campaignId: 'attest.campaign_id',
} as const;

const WORK_KEY = createContextKey('attest.work');
const storage = new AsyncLocalStorage<WorkIds>();

/** Ids that look like ids: bounded length, no control characters (an input is never trusted to be one). */
function idOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' &&
    value.length > 0 &&
    value.length <= 200 &&
    ![...value].some((c) => c.charCodeAt(0) < 0x20)
    ? value
    : undefined;
}

function clean(ids: WorkIds): WorkIds {
  const out: WorkIds = {};
  const requestId = idOrUndefined(ids.requestId);
  const campaignId = idOrUndefined(ids.campaignId);
  if (requestId) out.requestId = requestId;
  if (campaignId) out.campaignId = campaignId;
  return out;
}

/**
 * Runs `fn` in a work context carrying `ids` (merged over the enclosing one: a campaign's work that touches one
 * request carries both). The holder is mutable through {@link annotateWork}, for handlers that learn the id
 * only after parsing their input.
 */
export function withWork<T>(ids: WorkIds, fn: () => T): T {
  const work: WorkIds = { ...storage.getStore(), ...clean(ids) };
  return storage.run(work, () => context.with(context.active().setValue(WORK_KEY, work), fn));
}

/** The ids of the work in progress (empty outside any). */
export function currentWork(parent?: Context): WorkIds {
  const fromContext = parent?.getValue(WORK_KEY) as WorkIds | undefined;
  return { ...(fromContext ?? {}), ...(storage.getStore() ?? {}) };
}

/**
 * Adds ids to the work in progress once they are known (a bot turn's card names its request): spans started
 * from now on and log lines carry them, and the active span gets them too. Outside any work it does nothing.
 */
export function annotateWork(ids: WorkIds): void {
  const work = storage.getStore();
  if (!work) return;
  const add = clean(ids);
  Object.assign(work, add);
  const span = trace.getActiveSpan();
  if (add.requestId) span?.setAttribute(WorkAttributes.requestId, add.requestId);
  if (add.campaignId) span?.setAttribute(WorkAttributes.campaignId, add.campaignId);
}

/**
 * The ids an activity's input names: a request (`requestId`, `request.id`) or a campaign (`campaignId`). Inputs
 * are the workflow's own types; this reads them structurally so no activity needs to change.
 */
export function workIdsOfInput(input: unknown): WorkIds {
  if (typeof input !== 'object' || input === null) return {};
  const o = input as { requestId?: unknown; campaignId?: unknown; request?: { id?: unknown } };
  return clean({
    requestId: (idOrUndefined(o.requestId) ?? idOrUndefined(o.request?.id)) as string | undefined,
    campaignId: o.campaignId as string | undefined,
  });
}
