/**
 * The host SIGKILLed while a revocation is being retried (Graph answering 503 through the simulator's admin
 * endpoint, after start-up): the restarted host resumes the retries, the member goes once Graph answers, the
 * log shows the failed attempts then the revocation, and `attest verify` is ok.
 */
import { killableHost, simWrites } from '../../support/host-process';
import { eventually } from '../../support/storage';

const ANALYSTS = '90a07bb0-22a6-555f-905e-b5705afe489c'; // sg-snowflake-analysts
const h = killableHost('attest-kill-revoke-');
const { cli, start, kill } = h;
afterAll(() => h.cleanup());

const status = async (id: string) => (await cli('status', id)).stdout;
const until = (id: string, text: string, ms: number) =>
  eventually(async () => ((await status(id)).includes(text) ? true : undefined), ms, `${id}: ${text}`);

/** The simulator's admin endpoint of the running host (loopback only). */
async function faults(method: 'POST' | 'DELETE', rules?: unknown[]): Promise<void> {
  const port = h.host?.ports.graph;
  const res = await fetch(`http://127.0.0.1:${port}/_sim/faults`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: rules ? JSON.stringify({ rules }) : undefined,
  });
  expect(res.status).toBeLessThan(300);
}

test('the host SIGKILLed while a failing revocation is retried resumes it: the member goes when Graph answers, verify ok', async () => {
  await start();
  const submitted = await cli(
    'request',
    '--as',
    'siobhan.obrien@contoso.example',
    '--app',
    'snowflake',
    '--role',
    'analyst',
    '--duration',
    '1m',
    '--justification',
    'Check the churn model numbers',
  );
  const id = submitted.stdout.trim().split('\n')[0];
  await until(id, 'waits on priya', 30000);
  await cli('decide', '--as', 'priya.raman@contoso.example', id, 'approve');
  await until(id, 'Active until', 30000);

  // Graph answers 503 to everything from now on, until the host is gone.
  await faults('POST', [{ status: 503, retryAfterSeconds: 0 }]);
  await until(id, ': Revoking', 120000); // expiry after a minute, then the first attempt fails
  await kill();

  await start(); // its simulator starts without the fault rules: Graph answers again
  await until(id, ': Revoked', 150000); // the next attempt is a minute after the first
  const log = (await cli('log', id)).stdout.trim().split('\n');
  const actions = log.map((l) => l.split(' ')[2]);
  expect(actions.slice(actions.indexOf('access.granted'))).toEqual([
    'access.granted',
    'expiry.reminder-sent',
    ...actions.filter((a) => a === 'access.revoke-failed'),
    'access.revoked',
  ]);
  expect(actions.filter((a) => a === 'access.revoke-failed').length).toBeGreaterThanOrEqual(1);
  expect(log.at(-1)).toContain('"membership":"removed"');
  const removes = simWrites(h.dataDir).filter(
    (w) => w.method === 'DELETE' && w.path.includes(`/groups/${ANALYSTS}/members`),
  );
  expect(removes.filter((w) => w.status < 300)).toHaveLength(1);
  expect((await cli('verify')).stdout.trim()).toMatch(/^verify: ok \(\d+ streams, \d+ events(; [^)]*)?\)$/);
}, 360000);
