/**
 * Spans of the outbound calls that leave the work's async context or go to another system: Teams sends (the
 * proactive queue's pump runs them, not the caller) and ticket calls (the local Jira fake, the real adapter).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ProactiveQueue } from '../../../src/adapters/teams/proactive-queue';
import { AttestWorkSpanProcessor } from '../../../src/adapters/telemetry/tracing';
import { withWork, WorkAttributes } from '../../../src/adapters/telemetry/work-context';
import { createTicketSystem } from '../../../src/adapters/tickets/create-ticket-system';
import { startLocalTicketFake } from '../../../src/local/ticket-fakes/local-ticket-fake';
import { failFirst, fetchSender, startThrottlingConnector } from '../../support/throttling-connector';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [new AttestWorkSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
});
beforeEach(() => exporter.reset());

test('each Teams send is a span carrying the request that queued it, retries included, whoever started the pump', async () => {
  const connector = await startThrottlingConnector(failFirst(412, { 'retry-after': '0' }));
  try {
    const queue = new ProactiveQueue({ send: fetchSender(connector.serviceUrl) });
    // The first send starts the queue's pump inside req-a's context; req-b's send then runs on that pump.
    const a = withWork({ requestId: 'req-a' }, () => queue.send('a:conv-1', { type: 'message', text: 'a' }));
    const b = withWork({ requestId: 'req-b' }, () => queue.send('a:conv-1', { type: 'message', text: 'b' }));
    await Promise.all([a, b]);
    await queue.stop();
    const sends = exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'teams send')
      .map((s) => [
        s.attributes[WorkAttributes.requestId],
        s.attributes['attest.teams.attempt'],
        s.status.code,
      ]);
    // req-a's first attempt is refused (412) and retried; req-b goes through at once.
    expect(sends).toEqual([
      ['req-a', 1, 2],
      ['req-a', 2, 0],
      ['req-b', 1, 0],
    ]);
  } finally {
    await connector.close();
  }
});

test('ticket calls are spans with the system, the operation and the ticket key, never the ticket text', async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-ticket-spans-'));
  const local = await startLocalTicketFake(
    {
      mode: 'jira-local',
      projectKey: 'SEC',
      issueType: 'Task',
      fields: {},
      resolveTransition: 'Done',
      allowedProjects: ['SEC'],
    },
    { dataDir },
  );
  try {
    const system = createTicketSystem(local!.tickets)!;
    const ref = await withWork({ requestId: 'req-t' }, async () => {
      const created = await system.create({
        correlationId: 'req-t',
        summary: 'Access for Siobhan',
        description: 'Rotate the organisation webhook secrets',
        fields: {},
      });
      await system.comment(created, {
        eventHash: 'h1',
        stream: 'req-t',
        seq: 4,
        action: 'approval.decided',
        actor: 'priya.raman@contoso.example',
        time: '2026-11-29T10:00:00Z',
        text: 'approved by Priya',
      });
      return created;
    });
    const spans = exporter.getFinishedSpans().filter((s) => s.name.startsWith('tickets '));
    expect(
      spans.map((s) => [s.name, s.attributes[WorkAttributes.requestId], s.attributes['attest.tickets.key']]),
    ).toEqual([
      ['tickets jira create', 'req-t', undefined],
      ['tickets jira comment', 'req-t', ref.key],
    ]);
    const text = JSON.stringify(exporter.getFinishedSpans().map((s) => [s.name, s.attributes, s.events]));
    expect(text).not.toContain('webhook secrets');
    expect(text).not.toContain('approved by Priya');
  } finally {
    await local?.fake.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
