/**
 * Telemetry against the real parts: the local host (Azurite, the Graph simulator, the replay host) with an
 * in-memory span exporter and metric reader registered as OpenTelemetry's global providers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  MeterProvider,
  MetricReader,
  type GaugeMetricData,
} from '@opentelemetry/sdk-metrics';
import { InvocationContext } from '@azure/functions';
import { createBlobAccess } from '../../../src/adapters/blobs/blob-client-factory';
import { createGraphClient } from '../../../src/adapters/graph/graph-client';
import { TableNames } from '../../../src/adapters/tables/table-names';
import { TicketSyncStore } from '../../../src/adapters/tickets/ticket-sync.store';
import { setLogSink, logger } from '../../../src/adapters/telemetry/logger';
import { AttestWorkSpanProcessor } from '../../../src/adapters/telemetry/tracing';
import { withWork, WorkAttributes } from '../../../src/adapters/telemetry/work-context';
import {
  WorkMetrics,
  countWork,
  latestWorkCounts,
  recordWorkCounts,
  type WorkCounts,
  registerWorkGauges,
} from '../../../src/adapters/telemetry/work-gauges';
import { buildFunctionList } from '../../../src/functions/function-list';
import type { ActivityFunction, TimerFunction } from '../../../src/functions/function-types';
import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { startGraphSimulator } from '../../../src/local/graph-sim/graph-sim';
import { ActivityNames, FunctionNames } from '../../../src/workflows/names';
import type { DurableClientPort } from '../../../src/ports/durable-client.port';
import { as } from '../../support/workflow-scenarios';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

/** A reader the test collects from when it wants (no export interval). */
class TestMetricReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({
  spanProcessors: [new AttestWorkSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
const contextManager = new AsyncLocalStorageContextManager().enable();
// Delta temporality for gauges, as the Azure Monitor exporter selects (an unobserved gauge then reports nothing).
const reader = new TestMetricReader({ aggregationTemporalitySelector: () => AggregationTemporality.DELTA });
const meterProvider = new MeterProvider({ readers: [reader] });

let w: WorkflowHost;
beforeAll(async () => {
  context.setGlobalContextManager(contextManager);
  trace.setGlobalTracerProvider(tracerProvider);
  metrics.setGlobalMeterProvider(meterProvider);
  registerWorkGauges();
  w = await startWorkflowHost();
}, 60000);
afterAll(async () => {
  await w?.stop();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  trace.disable();
  metrics.disable();
  context.disable();
});

const [, priya, rahul, , siobhan] = PLAYGROUND_USERS;
const spans = (): ReadableSpan[] => exporter.getFinishedSpans();
const traceOf = (span: ReadableSpan) =>
  spans().filter((s) => s.spanContext().traceId === span.spanContext().traceId);

test("a request's grant activity: its Graph and Table Storage calls are spans that all carry the request id", async () => {
  const { requestId } = await w.service.submit({
    actor: as(siobhan),
    appId: 'github',
    roleId: 'owner',
    durationMs: 3_600_000,
    justification: 'Rotate the organisation webhook secrets after the incident',
    ticketReference: 'CHG0012345',
  });
  await w.stageOpen(requestId, 1);
  await w.service.decide({ actor: as(priya), requestId, decision: 'approve' });
  await w.stageOpen(requestId, 2);
  await w.service.decide({ actor: as(rahul), requestId, decision: 'approve' });
  await w.until(requestId, 'access.granted');

  const grant = spans().find(
    (s) =>
      s.name === `activity ${ActivityNames.grantAccess}` &&
      s.attributes[WorkAttributes.requestId] === requestId,
  );
  expect(grant).toBeDefined();
  const inTrace = traceOf(grant as ReadableSpan);
  const graph = inTrace.filter((s) => s.name.startsWith('graph '));
  const tables = inTrace.filter((s) => s.name.startsWith('tables '));
  expect(graph.length).toBeGreaterThan(0);
  expect(tables.length).toBeGreaterThan(0);
  for (const s of inTrace)
    expect([s.name, s.attributes[WorkAttributes.requestId]]).toEqual([s.name, requestId]);
  // Span names group calls and name nobody: ids are templated out of Graph paths and table keys are absent.
  for (const s of [...graph, ...tables]) {
    expect(s.name).not.toContain(siobhan.id);
    expect(s.name).not.toContain('PartitionKey');
  }
  expect(graph.every((s) => typeof s.attributes['http.response.status_code'] === 'number')).toBe(true);
  // The audit step's activity for the same request carries it too, and no span anywhere holds the justification.
  expect(
    spans().some(
      (s) =>
        s.name === `activity ${ActivityNames.recordStep}` &&
        s.attributes[WorkAttributes.requestId] === requestId,
    ),
  ).toBe(true);
  expect(JSON.stringify(spans().map((s) => s.attributes))).not.toContain('webhook secrets');
}, 60000);

test('a review activity and the Table Storage reads under it carry the campaign id', async () => {
  const list = buildFunctionList(w.host.services.config);
  const resume = list.find((f) => f.name === ActivityNames.reviewResume) as ActivityFunction;
  const campaignId = 'telemetry-campaign-1';
  await resume
    .handler({ campaignId }, { invocation: new InvocationContext(), services: w.host.services })
    .catch(() => undefined); // no such campaign: the reads happen all the same
  const activity = spans().find(
    (s) =>
      s.name === `activity ${ActivityNames.reviewResume}` &&
      s.attributes[WorkAttributes.campaignId] === campaignId,
  );
  expect(activity).toBeDefined();
  const reads = traceOf(activity as ReadableSpan).filter((s) => s.name.startsWith('tables '));
  expect(reads.length).toBeGreaterThan(0);
  for (const s of reads) expect(s.attributes[WorkAttributes.campaignId]).toBe(campaignId);
});

test('Blob Storage calls (digest anchors, bundles) are spans too, naming the container and not the blob', async () => {
  const { service } = createBlobAccess(w.host.tables.storage);
  const container = service.getContainerClient('telemetry-check');
  await withWork({ campaignId: 'camp-blob' }, async () => {
    await container.createIfNotExists();
    await container.getBlockBlobClient('person@contoso.example.txt').upload('x', 1);
  });
  const blobSpans = spans().filter((s) => s.attributes[WorkAttributes.campaignId] === 'camp-blob');
  expect(blobSpans.map((s) => [s.name, s.attributes['http.response.status_code']])).toEqual([
    ['blobs PUT telemetry-check', 201],
    ['blobs PUT telemetry-check', 201],
  ]);
  expect(JSON.stringify(blobSpans.map((s) => [s.name, s.attributes]))).not.toContain('person@contoso');
});

test('a Graph call answered 429 once and retried is one span with the retry and the 429 noted', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-telemetry-'));
  const dice = [0]; // the first matching request draws 0 (< rate: faulted), later ones 0.99
  const sim = await startGraphSimulator({ port: 0, dataDir, random: () => dice.shift() ?? 0.99 });
  try {
    sim.setFaultRules([{ method: 'GET', path: '/users/*', status: 429, rate: 0.5, retryAfterSeconds: 0 }]);
    const client = createGraphClient({ baseUrl: sim.url, getToken: async () => sim.issueToken() });
    await withWork({ requestId: 'req-429' }, () => client.api(`/users/${siobhan.id}`).get());
    const span = spans().find(
      (s) => s.name === 'graph GET /users/{id}' && s.attributes[WorkAttributes.requestId] === 'req-429',
    );
    expect(span).toBeDefined();
    expect(span?.attributes['attest.retries']).toBe(1);
    expect(span?.attributes['http.response.status_code']).toBe(200);
    expect(span?.events.map((e) => [e.name, e.attributes?.['http.response.status_code']])).toEqual([
      ['graph.retryable_response', 429],
    ]);
  } finally {
    await sim.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test('the gauges report the counts the timer took from the tables', async () => {
  const tables = w.host.tables;
  const now = new Date();
  // The timer counts with the reconcile interval as the overdue threshold, and tickets off in this host.
  const opts = { now, overdueAfterMs: w.host.services.config.reconcile.intervalMs, tickets: false };
  const before = await countWork(tables, opts);

  // One more request waiting on its first stage.
  const { requestId } = await w.service.submit({
    actor: as(siobhan),
    appId: 'snowflake',
    roleId: 'analyst',
    durationMs: 3_600_000,
    justification: 'Cohort analysis for the pricing review',
  });
  await w.stageOpen(requestId, 1);
  // Two removals owed for an hour (overdue) and one owed for a minute (still being retried: not overdue).
  const owed = (userId: string, sinceMs: number) =>
    w.deps.ledger.put(
      {
        groupId: 'gauge-group',
        userId,
        claims: [],
        addedByAttest: true,
        owed: [
          {
            requestId: `r-${userId}`,
            since: new Date(now.getTime() - sinceMs).toISOString(),
            reason: 'end-of-grant',
          },
        ],
      },
      undefined,
    );
  await owed('u-1', 3_600_000);
  await owed('u-2', 3_600_000);
  await owed('u-3', 60_000);
  // One parked ticket row, two drift findings.
  const sync = new TicketSyncStore(await tables.ensureTable(TableNames.ticketSync), { now: () => now });
  await sync.park({
    stream: requestId,
    rowKey: 'outbox-0001',
    correlationId: requestId,
    eventSeq: 1,
    eventHash: 'h',
    action: 'request.submitted',
    code: 'TICKETS.REJECTED',
    error: '400',
    attempts: 1,
    parkedAt: now.toISOString(),
  });
  for (const userId of ['d-1', 'd-2'])
    await w.deps.reconcile.addFinding({
      groupId: 'gauge-group',
      userId,
      kind: 'added-outside',
      foundAt: now.toISOString(),
    });

  // The timer, as mounted, counts and records; the gauges then report what it counted.
  const timer = buildFunctionList(w.host.services.config).find(
    (f) => f.name === FunctionNames.workCountsTimer,
  ) as TimerFunction;
  expect(timer.schedule).toBe('0 */5 * * * *');
  const logged: string[] = [];
  const invocation = new InvocationContext({ logHandler: (_level, ...a) => logged.push(a.join(' ')) });
  await timer.handler({ invocation, services: w.host.services, durable: {} as DurableClientPort });
  const after = latestWorkCounts() as WorkCounts;
  expect({
    pending: after.pendingApprovals - before.pendingApprovals,
    overdue: after.overdueRevocations - before.overdueRevocations,
    drift: after.driftFindings - before.driftFindings,
  }).toEqual({ pending: 1, overdue: 2, drift: 2 });
  expect(after.parkedTicketRows).toBeUndefined(); // ticket sync is off in this host: no gauge, not a zero
  expect(logged.join('\n')).toContain(`${after.pendingApprovals} pending approvals`);
  // With ticket sync on, the parked row counts.
  const withTickets = await countWork(tables, { ...opts, tickets: true });
  expect(withTickets.parkedTicketRows).toBe(1);

  recordWorkCounts(withTickets);
  const { resourceMetrics } = await reader.collect();
  const gauges = new Map(
    resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .map((m) => [m.descriptor.name, (m as GaugeMetricData).dataPoints[0]?.value]),
  );
  expect(Object.fromEntries(Object.values(WorkMetrics).map((n) => [n, gauges.get(n)]))).toEqual({
    [WorkMetrics.pendingApprovals]: after.pendingApprovals,
    [WorkMetrics.overdueRevocations]: after.overdueRevocations,
    [WorkMetrics.parkedTicketRows]: 1,
    [WorkMetrics.driftFindings]: after.driftFindings,
  });
  expect(after.pendingApprovals).toBeGreaterThan(0);

  // Counts this instance took long ago (the timer runs elsewhere now) are not reported at all.
  recordWorkCounts({ ...withTickets, at: new Date(Date.now() - 3_600_000).toISOString() });
  const stale = await reader.collect();
  const points = stale.resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .filter((m) => (Object.values(WorkMetrics) as string[]).includes(m.descriptor.name))
    .flatMap((m) => (m as GaugeMetricData).dataPoints);
  expect(points).toEqual([]);
});

test('log lines written inside a work context are JSON with its ids and the message unchanged', () => {
  const lines: string[] = [];
  const restore = setLogSink((json) => lines.push(json));
  try {
    const log = logger('ticket-sync');
    withWork({ requestId: 'req-1' }, () =>
      withWork({ campaignId: 'camp-1' }, () => log('ticket sync: done: 1 streams')),
    );
    log('outside any work');
  } finally {
    restore();
  }
  const [inside, outside] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(inside).toMatchObject({
    level: 'info',
    component: 'ticket-sync',
    message: 'ticket sync: done: 1 streams',
    requestId: 'req-1',
    campaignId: 'camp-1',
  });
  expect(typeof inside?.time).toBe('string');
  expect(outside).not.toHaveProperty('requestId');
  expect(outside).not.toHaveProperty('campaignId');
});
