/**
 * Builds the workflow's ports from configuration: the one place that knows which adapter serves which
 * port. Both hosts call it; nothing here runs until the first activity or API call needs it.
 */
import path from 'node:path';
import { loadCatalogFile, type LoadedCatalog } from '../adapters/catalog/catalog-file.loader';
import { sha256 } from '../adapters/crypto/sha256';
import { createGraphClient } from '../adapters/graph/graph-client';
import { GraphDirectory } from '../adapters/graph/graph-directory';
import { GRAPH_WRITE_QUOTA, WritePacer, pacedDirectory } from '../adapters/graph/paced-directory';
import { TableMembershipLedger } from '../adapters/tables/membership-ledger.store';
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { TableNotifier } from '../adapters/tables/notification.store';
import { TableRequestStore } from '../adapters/tables/request.store';
import { createTeamsChannel, type TeamsChannel } from '../adapters/teams/teams-channel';
import { TeamsNotifier } from '../adapters/teams/teams-notifier';
import type { TableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import type { AttestConfig } from '../config/config';
import { DomainError } from '../domain/domain-error';
import type { Clock } from '../ports/clock.port';
import type { Directory } from '../ports/directory.port';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import type { AppServices, GraphAccess } from './function-types';

/**
 * Creates the ports once (tables made, catalog loaded and validated); later calls share the result. With
 * `teams`, notifications are also delivered in Teams (and the Teams channel is built with the ports);
 * without, they stay in the outbox table (the CLI's in-process session, the workflow tests).
 */
export function workflowDepsFactory(opts: {
  config: AttestConfig;
  tables: TableFactory;
  graph: GraphAccess;
  clock: Clock;
  teams?: boolean;
}): () => Promise<WorkflowDeps> {
  const both = hostServicesFactory(opts);
  return async () => (await both()).deps;
}

/** The workflow's ports and the Teams channel, built once (see {@link workflowDepsFactory}). */
export function hostServicesFactory(opts: {
  config: AttestConfig;
  tables: TableFactory;
  graph: GraphAccess;
  clock: Clock;
  teams?: boolean;
}): () => Promise<{ deps: WorkflowDeps; teams?: TeamsChannel }> {
  let pending: Promise<{ deps: WorkflowDeps; teams?: TeamsChannel }> | undefined;
  const build = async (): Promise<{ deps: WorkflowDeps; teams?: TeamsChannel }> => {
    const { config, tables, graph, clock } = opts;
    // Every group write of this process shares one pacer: Graph's write quota is per app and tenant.
    const directory = pacedDirectory(
      new GraphDirectory(createGraphClient({ baseUrl: graph.baseUrl, getToken: graph.getToken })),
      new WritePacer(GRAPH_WRITE_QUOTA),
    );
    const catalog = await loadCatalogAgainst(directory, path.resolve(config.catalogPath));
    const audit = new AuditLogStore({
      table: tables.client(TableNames.auditLog),
      digests: tables.client(TableNames.auditDigests),
      clock,
      sha256,
    });
    const requests = new TableRequestStore(tables.client(TableNames.accessRequests));
    const outbox = new TableNotifier(tables.client(TableNames.notifications), clock);
    const ledger = new TableMembershipLedger({
      ledger: tables.client(TableNames.membershipLedger),
      state: tables.client(TableNames.reconcileState),
      findings: tables.client(TableNames.driftFindings),
    });
    await Promise.all([audit.init(), requests.init(), outbox.init(), ledger.init()]);
    const teams = opts.teams
      ? await createTeamsChannel({ bot: config.bot, tables, directory, catalog: catalog.catalog, clock })
      : undefined;
    const notifier = teams
      ? new TeamsNotifier({
          outbox,
          conversations: teams.conversations,
          deliveries: teams.deliveries,
          requests,
          directory,
          catalog: catalog.catalog,
          queue: teams.queue,
          references: teams.references,
          approversChannelId: config.approversChannelId,
        })
      : outbox;
    const deps: WorkflowDeps = {
      directory,
      audit,
      requests,
      notifier,
      clock,
      ledger,
      reconcile: ledger,
      catalog: { catalog: catalog.catalog, stamp: catalog.stamp },
      adminGroupId: config.adminGroupId,
      ticketTarget: config.tickets.mode === 'none' ? undefined : config.tickets.mode,
    };
    return { deps, teams };
  };
  return () => {
    pending ??= build().catch((err) => {
      pending = undefined; // a failed start (storage not up yet) may be retried
      throw err;
    });
    return pending;
  };
}

/**
 * Loads the catalog and checks every group and person it names against the directory, so a typo in a group
 * id is an error at start-up (with file and line) rather than at the first grant.
 */
export async function loadCatalogAgainst(directory: Directory, file: string): Promise<LoadedCatalog> {
  const loaded = await loadCatalogFile(file);
  const groups = new Set<string>();
  const people = new Set<string>();
  for (const app of loaded.catalog.apps) {
    for (const role of app.roles) {
      groups.add(role.groupId);
      role.eligibility.groupIds.forEach((g) => groups.add(g));
      if (role.autoApprove?.requesterInGroup) groups.add(role.autoApprove.requesterInGroup);
      for (const stage of role.approval.stages) {
        people.add(stage.fallback);
        const a = stage.approvers;
        if (a.kind === 'group-owners' || a.kind === 'group-members') groups.add(a.groupId);
        if (a.kind === 'people') a.people.forEach((p) => people.add(p));
      }
    }
  }
  const missingGroups = new Set<string>();
  for (const id of groups) {
    try {
      await directory.groupOwners(id);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'DIRECTORY.NOT_FOUND') missingGroups.add(id);
      else throw err;
    }
  }
  const missingPeople = new Set<string>();
  for (const p of people) if (!(await directory.getUser(p))) missingPeople.add(p.toLowerCase());
  if (missingGroups.size === 0 && missingPeople.size === 0) return loaded;
  // Validate again with what the directory knows: the errors then name the file, the line and the fix.
  return loadCatalogFile(file, {
    knownGroups: (id: string) => !missingGroups.has(id.toLowerCase()),
    knownUsers: (who: string) => !missingPeople.has(who.toLowerCase()),
  });
}

/**
 * The services a host hands its functions. With `teams` off (the CLI's in-process session) there is no bot
 * to serve, and `teams()` says so.
 */
export function appServices(opts: {
  config: AttestConfig;
  tables: TableFactory;
  graph: GraphAccess;
  clock: Clock;
  teams: boolean;
}): AppServices {
  const both = hostServicesFactory(opts);
  return {
    config: opts.config,
    graph: opts.graph,
    workflow: async () => (await both()).deps,
    teams: async () => {
      const { teams } = await both();
      if (!teams) throw new Error('This host does not serve the Teams bot.');
      return teams;
    },
  };
}
