/**
 * Membership reconcile figures (issue: the membership ledger and its reconciler), through the real Graph
 * adapter over HTTP to the simulator and the real Table Storage adapters on Azurite; the reconcile activities
 * are driven directly with the group list (no 1,000-role catalog file needed).
 *
 * (a) 1,000 catalog groups with 100,000 memberships: the first full sweep (every group baselined), then a
 *     delta reconcile after 100 membership changes made "in Entra" — seconds and Graph HTTP requests (the
 *     simulator's count of requests received), against
 *     the fewest Graph allows: one delta round per 50 groups ($filter limit), each as many pages as its
 *     member entries need at the simulator's page size (Graph pages members@delta the same way).
 * (b) 10,000 overdue revocations with Graph's write quota on (3,000 writes per 150 s): revocations per second
 *     after the quota's initial burst, as a share of the quota's rate, and 429s that reached Attest.
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
import type { TableFactory } from '../src/adapters/tables/table-client-factory';
import { TableNames } from '../src/adapters/tables/table-names';
import type { Catalog } from '../src/domain/catalog/catalog.model';
import { emptyEntry, type MembershipEntry } from '../src/domain/ledger/membership-ledger';
import { DELTA_GROUPS_PER_ROUND, reconcileBatches } from '../src/domain/ledger/reconcile-batches';
import type { SimGroup, SimTenant, SimUser } from '../src/local/graph-sim/demo-tenant';
import { startGraphSimulator, type GraphSimulator } from '../src/local/graph-sim/graph-sim';
import type { Clock } from '../src/ports/clock.port';
import {
  reconcileGroups,
  reconcileOverdue,
  type BatchSummary,
} from '../src/workflows/membership-reconcile.activities';
import type { WorkflowDeps } from '../src/workflows/workflow-deps';
import { withStorage, type BenchRow } from './bench-kit';

const GROUPS = Number(process.env.BENCH_RECONCILE_GROUPS ?? 1000);
const PER_GROUP = Number(process.env.BENCH_RECONCILE_MEMBERS_PER_GROUP ?? 100);
const USERS = Number(process.env.BENCH_RECONCILE_USERS ?? 10_000);
const CHANGES = Number(process.env.BENCH_RECONCILE_CHANGES ?? 100);
const OVERDUE = Number(process.env.BENCH_RECONCILE_OVERDUE ?? 10_000);
/** The simulator's members@delta entries per page (its default, which the bench does not change). */
const DELTA_PAGE_SIZE = 200;
/** Overdue removals per activity, as the orchestration passes them. */
const OVERDUE_SLICE = 600;

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0');
const userId = (i: number) => `00000000-0000-4000-8000-${hex(i, 12)}`;
const groupId = (i: number) => `10000000-0000-4000-8000-${hex(i, 12)}`;

function user(i: number): SimUser {
  const upn = `bench.user${i}@contoso.example`;
  return {
    id: userId(i),
    displayName: `Bench User ${i}`,
    givenName: 'Bench',
    surname: `User ${i}`,
    userPrincipalName: upn,
    mail: upn,
    department: 'Bench',
    jobTitle: 'Member',
    accountEnabled: true,
    managerId: null,
    lastSignInDateTime: null,
    lastNonInteractiveSignInDateTime: null,
  };
}

/** `groups` groups of `perGroup` members each, spread over `users` users (each in groups × perGroup / users). */
function tenant(groups: number, perGroup: number, users: number): SimTenant {
  const g: SimGroup[] = [];
  for (let i = 0; i < groups; i++) {
    const memberIds: string[] = [];
    for (let k = 0; k < perGroup; k++) memberIds.push(userId((i * perGroup + k) % users));
    g.push({
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
  return {
    tenantId: '6e1d3f0a-5b2c-4d8e-9f70-a1b2c3d4e5f6',
    users: Array.from({ length: users }, (_, i) => user(i)),
    groups: g,
  };
}

/** Starts the simulator on a state file of our own (written before it opens it). */
async function startSim(
  dataDir: string,
  t: SimTenant,
  faults: { writeQuota?: boolean } = {},
): Promise<GraphSimulator> {
  const dir = path.join(dataDir, 'graph-sim');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'tenant.json'),
    JSON.stringify({ version: 1, tenant: t, issuedTokens: [] }),
  );
  return startGraphSimulator({ port: 0, dataDir, faults });
}

const clock: Clock = { now: () => new Date() };

/** The ports the reconcile activities use, on real adapters. */
async function depsFor(tables: TableFactory, sim: GraphSimulator): Promise<WorkflowDeps> {
  const token = sim.issueToken();
  const directory = pacedDirectory(
    new GraphDirectory(createGraphClient({ baseUrl: sim.url, getToken: async () => token })),
    new WritePacer(GRAPH_WRITE_QUOTA),
  );
  const ledger = TableMembershipLedger.on(tables);
  const audit = new AuditLogStore({
    table: tables.client(TableNames.auditLog),
    digests: tables.client(TableNames.auditDigests),
    clock,
    sha256,
  });
  const requests = new TableRequestStore(tables.client(TableNames.accessRequests));
  const notifier = new TableNotifier(tables.client(TableNames.notifications), clock);
  await Promise.all([ledger.init(), audit.init(), requests.init(), notifier.init()]);
  const catalog: Catalog = { id: 'bench', name: 'bench', version: '1', apps: [] };
  return {
    directory,
    ledger,
    reconcile: ledger,
    audit,
    anchors: BlobAnchorStore.on(tables.storage, 'attest-evidence', clock),
    requests,
    notifier,
    clock,
    catalog: { catalog, stamp: { catalogId: 'bench', version: '1', contentHash: '' } },
  };
}

/** Reconciles every batch of `groups`, four at a time (as the orchestration does); totals. */
async function reconcileAll(deps: WorkflowDeps, groups: string[], runId: string): Promise<BatchSummary[]> {
  const batches = reconcileBatches(groups);
  const at = clock.now().toISOString();
  const out: BatchSummary[] = [];
  for (let i = 0; i < batches.length; i += 4) {
    out.push(
      ...(await Promise.all(
        batches.slice(i, i + 4).map((groupIds) => reconcileGroups(deps, { runId, at, groupIds })),
      )),
    );
  }
  return out;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function sweepFigures(): Promise<BenchRow[]> {
  return withStorage(async (tables, dataDir) => {
    const sim = await startSim(dataDir, tenant(GROUPS, PER_GROUP, USERS));
    // HTTP requests the simulator received under /v1.0 (every page, every retry).
    const requests = () => sim.stats().requests.total;
    try {
      const deps = await depsFor(tables, sim);
      const groups = Array.from({ length: GROUPS }, (_, i) => groupId(i));
      // The fewest Graph requests a full sweep can take: one round per 50 groups, each as many pages as its
      // member entries fill (a group without members still takes one entry).
      const rounds = Math.ceil(GROUPS / DELTA_GROUPS_PER_ROUND);
      const minFull = reconcileBatches(groups).reduce(
        (sum, batch) => sum + Math.ceil((batch.length * Math.max(1, PER_GROUP)) / DELTA_PAGE_SIZE),
        0,
      );

      let before = requests();
      let started = Date.now();
      const first = await reconcileAll(deps, groups, 'bench-first');
      const fullMs = Date.now() - started;
      const fullRequests = requests() - before;
      const baselined = first.reduce((n, s) => n + s.baselinedMembers, 0);
      if (baselined !== GROUPS * PER_GROUP)
        throw new Error(`baseline recorded ${baselined} members, expected ${GROUPS * PER_GROUP}`);

      // CHANGES changes "in Entra": half added outside Attest (drift), half removed (baseline members gone).
      let added = 0;
      let removed = 0;
      for (let i = 0; added + removed < CHANGES && i < CHANGES * 10; i++) {
        const g = groupId((i * 7) % GROUPS);
        if (i % 2 === 0) added += sim.addGroupMember(g, userId((i * 7919 + 13) % USERS)) ? 1 : 0;
        else removed += sim.removeGroupMember(g, userId((((i * 7) % GROUPS) * PER_GROUP) % USERS)) ? 1 : 0;
      }
      before = requests();
      started = Date.now();
      const second = await reconcileAll(deps, groups, 'bench-delta');
      const deltaMs = Date.now() - started;
      const deltaRequests = requests() - before;
      if (second.some((s) => s.mode !== 'delta'))
        throw new Error('the second reconcile was not a delta round');
      const drift = second.reduce((n, s) => n + s.drift, 0);
      // Every round has to be asked at least once; its changes fit one page here.
      const minDelta = rounds;
      const scale = `${GROUPS.toLocaleString('en-US')} groups, ${(GROUPS * PER_GROUP).toLocaleString('en-US')} memberships`;
      return [
        {
          figure: 'reconcile: first full sweep',
          value: seconds(fullMs),
          note: `${scale}; ${baselined.toLocaleString('en-US')} members baselined into the ledger (Azurite)`,
        },
        {
          figure: 'reconcile: first full sweep, Graph requests',
          value: `${fullRequests} (min ${minFull})`,
          note: `min = ${rounds} delta rounds (ceil(${GROUPS} groups / 50 per $filter)), each ceil(its member entries / ${DELTA_PAGE_SIZE} per page) pages: ${rounds} × ceil(50 × ${PER_GROUP} / ${DELTA_PAGE_SIZE})`,
        },
        {
          figure: `reconcile: delta after ${CHANGES} changes`,
          value: seconds(deltaMs),
          note: `${added} members added outside Attest (${drift} drift findings), ${removed} baseline members removed`,
        },
        {
          figure: `reconcile: delta after ${CHANGES} changes, Graph requests`,
          value: `${deltaRequests} (min ${minDelta})`,
          note: `min = one delta-link request per round (${rounds} rounds); the changes fit one page each`,
        },
      ];
    } finally {
      await sim.close();
    }
  });
}

async function overdueFigures(): Promise<BenchRow[]> {
  return withStorage(async (tables, dataDir) => {
    // OVERDUE memberships in groups of 100, each an ended grant whose removal is owed since an hour ago.
    const groups = Math.ceil(OVERDUE / 100);
    const sim = await startSim(dataDir, tenant(groups, 100, OVERDUE), { writeQuota: true });
    try {
      const deps = await depsFor(tables, sim);
      const since = new Date(Date.now() - 3600_000).toISOString();
      const entries: MembershipEntry[] = [];
      for (let i = 0; i < OVERDUE; i++) {
        entries.push({
          ...emptyEntry(groupId(Math.floor(i / 100)), userId(i)),
          owed: [{ requestId: `bench-request-${i}`, since, reason: 'end-of-grant' }],
        });
      }
      await (deps.ledger as TableMembershipLedger).insertMany(entries);
      // The pacer starts full now, as the simulator's bucket does at its first write.
      const pacer = new WritePacer(GRAPH_WRITE_QUOTA);
      const token = sim.issueToken();
      deps.directory = pacedDirectory(
        new GraphDirectory(createGraphClient({ baseUrl: sim.url, getToken: async () => token })),
        pacer,
      );
      const olderThan = new Date(Date.now() - 15 * 60_000).toISOString();
      const started = Date.now();
      let failed = 0;
      let done = 0;
      for (let slice = 0; slice < 100; slice++) {
        const r = await reconcileOverdue(deps, {
          runId: 'bench-overdue',
          at: clock.now().toISOString(),
          olderThan,
          limit: OVERDUE_SLICE,
          skip: failed,
        });
        failed += r.failed;
        done += r.removed + r.alreadyGone;
        if (r.remaining === 0 || r.processed === 0) break;
      }
      const elapsed = Date.now() - started;
      const deletes = sim.writes().filter((w) => w.method === 'DELETE');
      const ok = deletes.filter((w) => w.status === 204).map((w) => Date.parse(w.time));
      const throttled = deletes.filter((w) => w.status === 429).length;
      // After the initial burst: from the moment the client's bucket ran dry (a writer first had to wait for a
      // token) to the last removal; before that, writes went out as fast as Attest could issue them.
      const dryAt = pacer.stats.dryAt;
      const steady = dryAt === undefined ? [] : ok.filter((t) => t >= dryAt);
      const rate =
        dryAt !== undefined && steady.length > 1
          ? steady.length / ((steady[steady.length - 1] - dryAt) / 1000)
          : 0;
      const quotaRate = GRAPH_WRITE_QUOTA.capacity / GRAPH_WRITE_QUOTA.perSeconds;
      const note = `${OVERDUE.toLocaleString('en-US')} overdue revocations, write quota on (3,000 / 150 s = ${quotaRate}/s); client token bucket at 98 % of the quota, 16 removals in flight`;
      return [
        {
          figure: 'reconcile: overdue revocations after the burst, share of the quota (goal ≥ 0.95)',
          value: `${(rate / quotaRate).toFixed(3)} (${rate.toFixed(2)}/s)`,
          note,
        },
        {
          figure: 'reconcile: overdue revocations, total',
          value: seconds(elapsed),
          note: `${done.toLocaleString('en-US')} removed, ${failed} failed; burst spent after ${seconds((dryAt ?? started) - started)} (${ok.length - steady.length} removals); 429s answered by Graph: ${throttled}, unhandled: ${failed}`,
        },
      ];
    } finally {
      await sim.close();
    }
  });
}

/** The section's rows. */
export async function run(): Promise<BenchRow[]> {
  const rows = await sweepFigures();
  if (OVERDUE > 0) rows.push(...(await overdueFigures()));
  return rows;
}
