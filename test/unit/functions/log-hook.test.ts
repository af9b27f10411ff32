import { LogHookContext, InvocationContext } from '@azure/functions';
import { withWork } from '../../../src/adapters/telemetry/work-context';
import { stampUserLog } from '../../../src/functions/log-hook';

test("in Azure, Attest's context.log lines become JSON carrying the work's ids; the host's own lines are left alone", () => {
  const invocationContext = new InvocationContext({ functionName: 'request-grant-access' });
  const user = new LogHookContext({
    invocationContext,
    category: 'user',
    level: 'warning',
    message: 'grant retried',
  });
  const system = new LogHookContext({
    invocationContext,
    category: 'system',
    level: 'information',
    message: 'Executing',
  });
  withWork({ requestId: 'req-7' }, () => {
    stampUserLog(user);
    stampUserLog(system);
  });
  expect(JSON.parse(user.message)).toMatchObject({
    level: 'warn',
    component: 'request-grant-access',
    message: 'grant retried',
    requestId: 'req-7',
  });
  expect(system.message).toBe('Executing');
});
