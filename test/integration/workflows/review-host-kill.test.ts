/**
 * A review campaign on a real host process, SIGKILLed twice (while the stage waits on its timer, and while the
 * default revocations are under way): the restarted host resumes the campaign, every revocation is made once and
 * audited once, the final Graph state is right, and `attest verify` is ok.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openWorkflowSession, type WorkflowSession } from '../../../src/cli/workflow-session';
import { loadConfig } from '../../../src/config/config';
import { reviewStream } from '../../../src/domain/audit/audit-events';
import { reviewItemId } from '../../../src/domain/review/review.rules';
import { demoGroupId, demoUserId } from '../../../src/local/graph-sim/demo-tenant';
import type { ReviewCaller } from '../../../src/ports/review-api.port';
import { ReviewService } from '../../../src/workflows/review.service';
import { ANY_PORTS, killableHost, simWrites } from '../../support/host-process';
import { eventually } from '../../support/storage';

const GITHUB_MEMBERS = demoGroupId('sg-github-members');
const KEPT = ['priya.raman', 'daniel.schmidt', 'siobhan.obrien'];
const h = killableHost('attest-review-kill-');
const { dataDir, cli, start, kill } = h;
let session: WorkflowSession | undefined;
afterAll(async () => {
  await session?.close();
  await h.cleanup();
});

const person = (alias: string, role: ReviewCaller['role'] = 'member'): ReviewCaller => ({
  objectId: demoUserId(alias),
  upn: `${alias}@contoso.example`,
  role,
  channel: 'tab',
});
const tenantMembers = (): string[] => {
  const state = JSON.parse(fs.readFileSync(path.join(dataDir, 'graph-sim', 'tenant.json'), 'utf8')) as {
    tenant: { groups: { id: string; memberIds: string[] }[] };
  };
  return state.tenant.groups.find((g) => g.id === GITHUB_MEMBERS)?.memberIds ?? [];
};
const removals = () =>
  simWrites(dataDir).filter(
    (w) => w.method === 'DELETE' && w.path.includes(`/groups/${GITHUB_MEMBERS}/members/`),
  );

test('a campaign whose host is SIGKILLed mid-stage and mid-revocation finishes with the right Graph state, each removal once', async () => {
  // Graph slowed down so the revocations take a while.
  await start({ ATTEST_GRAPH_SIM_LATENCY_MS: '700' });
  const before = tenantMembers();
  expect(before).toHaveLength(10);
  // The test is a client of the running host: it writes to the same tables and task hub, the host runs the work.
  session = await openWorkflowSession(loadConfig(ANY_PORTS, 'local'), dataDir);
  expect(session.mode).toBe('client');
  const reviews = new ReviewService(session.deps, session.durable);
  const started = await reviews.start(person('ravi.patel', 'admin'), {
    definition: {
      id: 'kill-review',
      name: 'Review across a crash',
      scope: { appIds: [], roleRefs: [], groupIds: [GITHUB_MEMBERS] },
      stages: [
        {
          number: 1,
          reviewers: { kind: 'people', people: ['kenji.watanabe@contoso.example'] },
          fallback: 'ravi.patel@contoso.example',
        },
      ],
      schedule: { kind: 'on-demand' },
      durationMs: 20_000,
      remindersBeforeMs: [],
      defaultDecision: 'revoke',
      signOff: 'amara.nwosu@contoso.example',
      inactiveDays: 90,
      massRemovalShare: 1,
    },
  });
  if ('empty' in started) throw new Error('the scope is not empty');
  const id = started.id;
  const campaign = async () => (await session?.deps.reviews?.getCampaign(id))?.value;
  await eventually(
    async () => ((await campaign())?.status === 'active' ? true : undefined),
    30000,
    'the campaign to open',
  );
  await reviews.decide(
    person('kenji.watanabe'),
    id,
    KEPT.map((a) => ({ itemId: reviewItemId(GITHUB_MEMBERS, demoUserId(a)), decision: 'keep' as const })),
    'reviewer',
  );

  // Killed while the stage waits on its deadline timer; restarted, the timer still fires.
  await kill();
  await start({ ATTEST_GRAPH_SIM_LATENCY_MS: '700' });
  // Killed again once the default's revocations are under way.
  await eventually(async () => (removals().length > 0 ? true : undefined), 60000, 'the first revocation');
  await kill();
  await start();
  const done = await eventually(
    async () => {
      const c = await campaign();
      return c?.status === 'completed' ? c : undefined;
    },
    90000,
    'the campaign to complete',
  );
  expect(done.counts).toMatchObject({ items: 10, kept: 3, revoked: 7, applied: 7, failed: 0 });

  const gone = before.filter((u) => !KEPT.map(demoUserId).includes(u));
  expect(tenantMembers().sort()).toEqual(KEPT.map(demoUserId).sort());
  for (const u of gone) {
    // Never removed twice (a replay after the kill finds the member gone: 404, not a second 204).
    expect(removals().filter((w) => w.path.includes(u) && w.status === 204).length).toBeLessThanOrEqual(1);
  }
  const log = (await cli('log', reviewStream(id))).stdout;
  const applied = log.split('\n').filter((l) => l.includes('review.applied'));
  expect(applied).toHaveLength(7);
  for (const u of gone) expect(applied.filter((l) => l.includes(u))).toHaveLength(1);
  expect((await cli('verify')).stdout.trim()).toMatch(/^verify: ok \(\d+ streams, \d+ events(; [^)]*)?\)$/);
}, 300000);
