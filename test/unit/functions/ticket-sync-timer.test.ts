import { InvocationContext } from '@azure/functions';
import { drainReport, type DrainReport, type TicketSync } from '../../../src/adapters/tickets/ticket-sync';
import { loadConfig } from '../../../src/config/config';
import { buildFunctionList } from '../../../src/functions/function-list';
import type { AppServices, FunctionContext, TimerFunction } from '../../../src/functions/function-types';
import { FunctionNames } from '../../../src/workflows/names';

const SERVICENOW = {
  ATTEST_TICKETS_MODE: 'servicenow',
  ATTEST_SERVICENOW_INSTANCE_URL: 'https://acme.service-now.com',
  ATTEST_SERVICENOW_USERNAME: 'attest.integration',
  ATTEST_SERVICENOW_PASSWORD: 'a-password',
};

const timerOf = (env: Record<string, string>) =>
  buildFunctionList(loadConfig(env, 'local')).find((f) => f.name === FunctionNames.ticketSyncTimer) as
    TimerFunction | undefined;

async function tick(
  timer: TimerFunction,
  drained: DrainReport,
): Promise<{ lines: string[]; drains: number }> {
  const lines: string[] = [];
  let drains = 0;
  const sync = { drain: async () => (drains++, drained) } as unknown as TicketSync;
  const invocation = new InvocationContext({ functionName: timer.name });
  jest.spyOn(invocation, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
  const services = { ticketSync: async () => sync } as unknown as AppServices;
  await timer.handler({ invocation, services, durable: {} } as unknown as FunctionContext);
  return { lines, drains };
}

test('the ticket-sync timer exists only when tickets are on, every minute unless configured otherwise', () => {
  expect(timerOf({})).toBeUndefined();
  expect(timerOf(SERVICENOW)?.schedule).toBe('0 * * * * *');
  expect(timerOf({ ...SERVICENOW, ATTEST_TICKETS_SYNC_SCHEDULE: '0 */5 * * * *' })?.schedule).toBe(
    '0 */5 * * * *',
  );
});

test('each tick runs one drain and says what it did, or that another drain holds the lease', async () => {
  const timer = timerOf(SERVICENOW) as TimerFunction;
  const done = await tick(timer, drainReport({ streams: 2, rows: 5, comments: 5, created: 1 }));
  expect(done.drains).toBe(1);
  expect(done.lines).toEqual([
    'ticket sync: done: 2 streams, 5 rows, 5 comments, 1 created, 0 resolved, 0 held, 0 parked',
  ]);
  const busy = await tick(timer, drainReport({ outcome: 'busy', reason: 'another drain holds the lease' }));
  expect(busy.lines).toEqual(['ticket sync: another drain holds the lease: tick skipped']);
});
