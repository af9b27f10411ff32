/**
 * A bot turn through the Bot Framework protocol (the local host, a local connector): once the card's data names
 * a request, the turn's span and the storage calls it makes from then on carry the request id.
 */
import { randomUUID } from 'node:crypto';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { CardVerbs } from '../../../src/adapters/cards/card-verbs';
import { AttestWorkSpanProcessor } from '../../../src/adapters/telemetry/tracing';
import { WorkAttributes } from '../../../src/adapters/telemetry/work-context';
import { PLAYGROUND_USERS } from '../../../src/local/graph-sim/demo-tenant';
import { FunctionNames } from '../../../src/workflows/names';
import { BotClient, type TeamsUser } from '../../support/bot-client';
import { startConnector, type LocalConnector } from '../../support/connector';
import { startWorkflowHost, type WorkflowHost } from '../../support/workflow-host';

jest.mock('swiper', () => ({}));
jest.setTimeout(60_000);

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  spanProcessors: [new AttestWorkSpanProcessor(), new SimpleSpanProcessor(exporter)],
});
const siobhan = PLAYGROUND_USERS[4] as TeamsUser;

let h: WorkflowHost;
let connector: LocalConnector;
let bot: BotClient;
beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  h = await startWorkflowHost({ teams: true });
  connector = await startConnector();
  bot = new BotClient(`${h.host.url}/api/messages`, connector);
  await bot.install({ id: siobhan.id, displayName: siobhan.displayName });
});
afterAll(async () => {
  await h?.stop();
  await connector?.close();
  await provider.shutdown();
  trace.disable();
  context.disable();
});

test('a card action naming a request: the bot turn and the refusal it audits carry the request id', async () => {
  const requestId = randomUUID();
  const answer = await bot.click(
    { id: siobhan.id, displayName: siobhan.displayName },
    CardVerbs.accessRevoke,
    {
      requestId,
    },
  );
  expect(answer.status).toBe(200);
  const turn = exporter
    .getFinishedSpans()
    .find(
      (s) =>
        s.name === `http ${FunctionNames.botMessages}` &&
        s.attributes[WorkAttributes.requestId] === requestId,
    );
  expect(turn).toBeDefined();
  const underTurn = exporter
    .getFinishedSpans()
    .filter((s) => s.spanContext().traceId === turn?.spanContext().traceId && s.name.startsWith('tables '));
  // The refusal is audited in the request's attempts stream: those writes carry the id.
  expect(underTurn.some((s) => s.attributes[WorkAttributes.requestId] === requestId)).toBe(true);
});
