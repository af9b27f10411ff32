/**
 * Access-review figures (issue 9): the snapshot of a campaign over 1,000 groups with 100,000 memberships, through
 * the real Graph adapter over HTTP to the simulator and the real review tables on Azurite, with the same
 * activities the `review-campaign` orchestration runs (snapshotCampaign: plan, chunks of 20 groups four at a time,
 * seal). Reviewers are named people (no manager look-ups), so the Graph requests are the listing's and the
 * sign-ins'.
 *
 * The fewest Graph requests, as computed here: each group's kind and first members page (≤ 999 members) as two
 * `$batch` sub-requests, 20 per batch; each distinct member's sign-in once, through `/users?$filter=id in (…)`
 * with 15 ids per sub-request, 20 per batch (listing the whole tenant with signInActivity would take
 * ⌈tenant users / 120⌉ pages). The simulator counts every HTTP request it receives (a `$batch` is one).
 */
import fs from 'node:fs';
import path from 'node:path';
import { sha256 } from '../src/adapters/crypto/sha256';
import { createGraphClient } from '../src/adapters/graph/graph-client';
import { GraphDirectory } from '../src/adapters/graph/graph-directory';
import { GRAPH_WRITE_QUOTA, WritePacer, pacedDirectory } from '../src/adapters/graph/paced-directory';
import { BlobAnchorStore } from '../src/adapters/blobs/blob-anchor.store';
import { AuditLogStore } from '../src/adapters/tables/audit-log.store';
import { TableMembershipLedger } from '../src/adapters/tables/membership-ledger.store';
import { TableNotifier } from '../src/adapters/tables/notification.store';
import { TableRequestStore } from '../src/adapters/tables/request.store';
import { TableReviewStore } from '../src/adapters/tables/review.store';
import { TableNames } from '../src/adapters/tables/table-names';
import type { Catalog } from '../src/domain/catalog/catalog.model';
import type { Campaign, CampaignDefinition } from '../src/domain/review/review.model';
import type { SimGroup, SimTenant, SimUser } from '../src/local/graph-sim/demo-tenant';
import { startGraphSimulator } from '../src/local/graph-sim/graph-sim';
import type { Clock } from '../src/ports/clock.port';
import type { TableFactory } from '../src/adapters/tables/table-client-factory';
import type { ReviewItem } from '../src/domain/review/review.model';
import type { Versioned } from '../src/ports/review-store.port';
import {
  APPLY_SLICE,
  mapPool,
  reviewApply,
  reviewDeps,
  snapshotCampaign,
  updateItem,
} from '../src/workflows/review-campaign.activities';
import type { WorkflowDeps } from '../src/workflows/workflow-deps';
import { withStorage, type BenchRow } from './bench-kit';

const GROUPS = Number(process.env.BENCH_REVIEW_GROUPS ?? 1000);
const PER_GROUP = Number(process.env.BENCH_REVIEW_MEMBERS_PER_GROUP ?? 100);
const USERS = Number(process.env.BENCH_REVIEW_USERS ?? 10_000);
/** Review revocations measured against the write quota: 3,000 in its burst, the rest at its rate. */
const REVOKE = Number(process.env.BENCH_REVIEW_REVOKE ?? 6_000);

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const userId = (i: number) => `00000000-0000-4000-8000-${hex(i, 12)}`;
const groupId = (i: number) => `10000000-0000-4000-8000-${hex(i, 12)}`;
const clock: Clock = { now: () => new Date() };

function user(i: number): SimUser {
  const upn = `bench.user${i}@contoso.example`;
  const at = new Date(Date.now() - (i % 200) * 86_400_000).toISOString();
  return {
    id: userId(i),
    displayName: `Bench User ${i}`,
    givenName: 'Bench',
    surname: `User ${i}`,
    userPrincipalName: upn,
    mail: upn,
    department: 'Bench',
    jobTitle: 'Member',
    accountEnabled: i % 50 !== 0,
    managerId: null,
    lastSignInDateTime: at,
    lastNonInteractiveSignInDateTime: null,
  };
}

function tenant(GROUPS: number, PER_GROUP: number, USERS: number): SimTenant {
  const groups: SimGroup[] = [];
  for (let i = 0; i < GROUPS; i++) {
    const memberIds: string[] = [];
    for (let k = 0; k < PER_GROUP; k++) memberIds.push(userId((i * PER_GROUP + k) % USERS));
    groups.push({
      id: groupId(i),
      displayName: `Bench group ${i}`,
      description: 'bench',
      mailNickname: `bench-${i}`,
      securityEnabled: true,
      mailEnabled: false,
      groupTypes: [],
      ownerIds: [],
      memberIds,
    });
  }
  // The reviewer the stage names.
  const reviewer = { ...user(USERS), id: userId(USERS), userPrincipalName: 'reviewer@contoso.example' };
  return {
    tenantId: '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6',
    users: [...Array.from({ length: USERS }, (_, i) => user(i)), reviewer],
    groups,
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A review campaign's ports on real adapters, over a simulator seeded with `t`; one stage, one named reviewer. */
async function campaignOn(
  tables: TableFactory,
  dataDir: string,
  t: SimTenant,
  groups: number,
  reviewerId: string,
  faults: { writeQuota?: boolean } = {},
) {
  const dir = path.join(dataDir, 'graph-sim');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'tenant.json'),
    JSON.stringify({ version: 1, tenant: t, issuedTokens: [] }),
  );
  const sim = await startGraphSimulator({ port: 0, dataDir, faults });
  const token = sim.issueToken();
  const graph = () =>
    new GraphDirectory(createGraphClient({ baseUrl: sim.url, getToken: async () => token }));
  const directory = pacedDirectory(graph(), new WritePacer(GRAPH_WRITE_QUOTA));
  const ledger = TableMembershipLedger.on(tables);
  const audit = new AuditLogStore({
    table: tables.client(TableNames.auditLog),
    digests: tables.client(TableNames.auditDigests),
    clock,
    sha256,
  });
  const requests = new TableRequestStore(tables.client(TableNames.accessRequests));
  const notifier = new TableNotifier(tables.client(TableNames.notifications), clock);
  const reviews = TableReviewStore.on(tables, clock);
  await Promise.all([ledger.init(), audit.init(), requests.init(), notifier.init(), reviews.init()]);
  const catalog: Catalog = { id: 'bench', name: 'bench', version: '1', apps: [] };
  const deps: WorkflowDeps = {
    directory,
    ledger,
    reconcile: ledger,
    audit,
    anchors: BlobAnchorStore.on(tables.storage, 'attest-evidence', clock),
    requests,
    notifier,
    clock,
    catalog: { catalog, stamp: { catalogId: 'bench', version: '1', contentHash: '' } },
    reviews,
    reviewNotifier: reviews,
  };
  const definition: CampaignDefinition = {
    id: 'bench-review',
    name: 'Bench review',
    scope: { appIds: [], roleRefs: [], groupIds: Array.from({ length: groups }, (_, i) => groupId(i)) },
    stages: [{ number: 1, reviewers: { kind: 'people', people: [reviewerId] }, fallback: reviewerId }],
    schedule: { kind: 'on-demand' },
    durationMs: 14 * 86_400_000,
    remindersBeforeMs: [],
    defaultDecision: 'keep',
    signOff: reviewerId,
    inactiveDays: 90,
    massRemovalShare: 0.2,
  };
  const campaign: Campaign = {
    id: 'bench-1',
    definition,
    status: 'snapshotting',
    startedBy: 'system',
    startedAt: clock.now().toISOString(),
    deadline: new Date(Date.now() + definition.durationMs).toISOString(),
    stage: 1,
    counts: { items: 0, decided: 0, kept: 0, revoked: 0, applied: 0, failed: 0 },
    signOffId: reviewerId,
  };
  await reviews.createCampaign(campaign);
  return { sim, deps, reviews, campaign, graph };
}

async function snapshotFigures(): Promise<BenchRow[]> {
  return withStorage(async (tables, dataDir) => {
    const { sim, deps, reviews, campaign } = await campaignOn(
      tables,
      dataDir,
      tenant(GROUPS, PER_GROUP, USERS),
      GROUPS,
      userId(USERS),
    );
    try {
      sim.resetStats();
      const t0 = Date.now();
      const r = await snapshotCampaign(deps, campaign.id);
      const ms = Date.now() - t0;
      const stats = sim.stats();
      if (r.open.empty || r.open.count !== GROUPS * PER_GROUP) {
        throw new Error(
          `the snapshot holds ${r.open.empty ? 0 : r.open.count} items, not ${GROUPS * PER_GROUP}`,
        );
      }
      // The fewest: every group's kind and first members page as $batch sub-requests (2 per group, 20 per
      // batch), and each distinct user's sign-in once through `id in (…)` filters of 15 ids, 20 per batch.
      const fewest = Math.ceil((2 * GROUPS) / 20) + Math.ceil(Math.ceil(USERS / 15) / 20);
      return [
        {
          figure: `review snapshot of ${(GROUPS * PER_GROUP).toLocaleString('en')} memberships in ${GROUPS.toLocaleString('en')} groups`,
          value: seconds(ms),
          note: `${r.plan.chunks} chunk activities of 20 groups, 4 at a time; count + SHA-256 sealed`,
        },
        {
          figure: 'review snapshot: Graph HTTP requests',
          value: String(stats.requests.total),
          note: `fewest ≈ ${fewest} ($batch of 20: 2 per group, ⌈${USERS} users / 15⌉ sign-in filters); ${stats.batchSubRequests.total} sub-requests; each chunk asks the sign-ins of its own members, so a user in several chunks is asked again`,
        },
        {
          figure: 'review snapshot: Table transactions',
          value: String(reviews.transactions),
          note: 'items and reviewer-index rows, 100 entities per entity-group transaction',
        },
      ];
    } finally {
      await sim.close();
    }
  });
}

/**
 * Review revocations under Graph's write quota: a campaign over REVOKE memberships, every item decided revoke at
 * its last stage, carried out by the same `review-apply` activity the orchestration runs (slices of APPLY_SLICE,
 * 16 removals in flight, the shared WritePacer at 98 % of the quota). The rate is measured after the quota's
 * initial burst (from the moment the client's bucket first ran dry), as the reconcile's overdue figure is.
 */
async function revocationFigures(): Promise<BenchRow[]> {
  return withStorage(async (tables, dataDir) => {
    const groups = Math.ceil(REVOKE / 100);
    const { sim, deps, campaign, graph } = await campaignOn(
      tables,
      dataDir,
      tenant(groups, 100, REVOKE),
      groups,
      userId(REVOKE),
      { writeQuota: true },
    );
    try {
      const snap = await snapshotCampaign(deps, campaign.id);
      if (snap.open.empty) throw new Error('the revocation campaign is empty');
      const rdeps = reviewDeps(deps);
      const at = clock.now().toISOString();
      const all: Versioned<ReviewItem>[] = [];
      for await (const v of rdeps.reviews.items(campaign.id)) all.push(v);
      await mapPool(all, 16, (v) =>
        updateItem(
          rdeps,
          campaign.id,
          v.value.itemId,
          (cur) => ({
            ...cur,
            decisions: [
              ...cur.decisions,
              { stage: 1, decision: 'revoke', by: userId(REVOKE), at, reason: 'bench', source: 'bulk' },
            ],
            final: 'revoke',
          }),
          v,
        ),
      );
      // The pacer starts full now, as the simulator's bucket does at its first write.
      const pacer = new WritePacer(GRAPH_WRITE_QUOTA);
      deps.directory = pacedDirectory(graph(), pacer);
      const started = Date.now();
      let applied = 0;
      let failed = 0;
      for (let round = 0; round < 1000; round++) {
        const r = await reviewApply(deps, { campaignId: campaign.id, limit: APPLY_SLICE });
        applied += r.applied + r.alreadyGone;
        failed += r.failed;
        if (r.remaining === 0 || r.processed === 0) break;
      }
      const elapsed = Date.now() - started;
      const deletes = sim.writes().filter((w) => w.method === 'DELETE');
      const ok = deletes.filter((w) => w.status === 204).map((w) => Date.parse(w.time));
      const throttled = deletes.filter((w) => w.status === 429).length;
      const dryAt = pacer.stats.dryAt;
      const steady = dryAt === undefined ? [] : ok.filter((t) => t >= dryAt);
      const rate =
        dryAt !== undefined && steady.length > 1
          ? steady.length / ((steady[steady.length - 1] - dryAt) / 1000)
          : 0;
      const quotaRate = GRAPH_WRITE_QUOTA.capacity / GRAPH_WRITE_QUOTA.perSeconds;
      return [
        {
          figure: 'review revocations after the burst, share of the write quota (goal ≥ 0.95)',
          value: `${(rate / quotaRate).toFixed(3)} (${rate.toFixed(2)}/s)`,
          note: `${REVOKE.toLocaleString('en-US')} items decided revoke, carried out by review-apply; quota on (3,000 / 150 s = ${quotaRate}/s), client bucket at 98 %`,
        },
        {
          figure: 'review revocations, total',
          value: seconds(elapsed),
          note: `${applied.toLocaleString('en-US')} removed, ${failed} failed; burst spent after ${seconds((dryAt ?? started) - started)} (${ok.length - steady.length} removals); 429s answered by Graph: ${throttled}, unhandled: ${failed}`,
        },
      ];
    } finally {
      await sim.close();
    }
  });
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const rows = GROUPS > 0 ? await snapshotFigures() : [];
  if (REVOKE > 0) rows.push(...(await revocationFigures()));
  return rows;
}
