import { killableHost, simWrites } from '../../support/host-process';
import { eventually } from '../../support/storage';

const GITHUB_OWNERS = '816daa42-c86c-5791-9a5a-14fb28761b30';
const SIOBHAN_ID = '3a290949-9f06-51c9-86d4-ad38d39f4566';
const h = killableHost('attest-kill-');
const { cli, start, kill } = h;
afterAll(() => h.cleanup());

async function status(id: string): Promise<string> {
  return (await cli('status', id)).stdout;
}
function membershipWrites(): { method: string; status: number }[] {
  return simWrites(h.dataDir).filter(
    (w) => w.path.includes(`/groups/${GITHUB_OWNERS}/members`) && w.status < 300,
  );
}

test('the host SIGKILLed at each step of the lifecycle and restarted: one add, one remove, no duplicate event, verify ok', async () => {
  await start();
  const submitted = await cli(
    'request',
    '--as',
    'siobhan.obrien@contoso.example',
    '--app',
    'github',
    '--role',
    'owner',
    '--duration',
    '1m',
    '--justification',
    'Rotate the organisation webhook secrets after the incident',
    '--ticket',
    'CHG0012345',
  );
  const id = submitted.stdout.trim().split('\n')[0];
  await kill(); // while the submission is being picked up

  await start();
  await eventually(
    async () => ((await status(id)).includes('stage 1 waits on priya') ? true : undefined),
    30000,
    'stage 1',
  );
  await cli('decide', '--as', 'priya.raman@contoso.example', id, 'approve');
  await kill(); // right after the first decision was written

  await start();
  await eventually(
    async () => ((await status(id)).includes('stage 2 waits on rahul') ? true : undefined),
    30000,
    'stage 2',
  );
  await cli('decide', '--as', 'rahul.mehta@contoso.example', id, 'approve');
  await eventually(
    async () => ((await status(id)).includes('Active until') ? true : undefined),
    30000,
    'the grant',
  );
  await kill(); // while the grant waits on its expiry timer

  await start();
  await eventually(
    async () => ((await status(id)).includes(': Revoked') ? true : undefined),
    90000,
    'expiry and revoke',
  );
  await kill(); // after the end, to see nothing runs twice on the next start

  await start();
  await new Promise((r) => setTimeout(r, 2000));
  const log = (await cli('log', id)).stdout.trim().split('\n');
  expect(log.map((l) => l.split(' ')[2])).toEqual([
    'request.submitted',
    'policy.evaluated',
    'approval.requested',
    // Nobody here installed the Teams app, so the stage goes to its fallback at once (the CLI still decides).
    'approval.escalated',
    'approval.decided',
    'approval.requested',
    'approval.decided',
    'access.granted',
    'expiry.reminder-sent',
    'access.revoked',
  ]);
  const writes = membershipWrites();
  expect(writes.filter((w) => w.method === 'POST')).toHaveLength(1);
  expect(writes.filter((w) => w.method === 'DELETE')).toHaveLength(1);
  expect(log.at(-1)).toContain('"reason":"expired"');
  expect((await cli('verify')).stdout.trim()).toMatch(/^verify: ok \(\d+ streams, \d+ events(; [^)]*)?\)$/);
  expect(SIOBHAN_ID).toBe(JSON.parse(/"requester":(\{[^}]+\})/.exec(log[0])?.[1] ?? '{}').id);
}, 240000);
