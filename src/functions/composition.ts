/**
 * Builds the workflow's ports from configuration: the one place that knows which adapter serves which
 * port. Both hosts call it; nothing here runs until the first activity or API call needs it.
 */
import { logger } from '../adapters/telemetry/logger';
import { createGraphClient } from '../adapters/graph/graph-client';
import { GraphDirectory } from '../adapters/graph/graph-directory';
import { GRAPH_WRITE_QUOTA, WritePacer, pacedDirectory } from '../adapters/graph/paced-directory';
import { BlobAnchorStore } from '../adapters/blobs/blob-anchor.store';
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { CatalogSnapshotStore } from '../adapters/tables/catalog-snapshot.store';
import { TableNotifier } from '../adapters/tables/notification.store';
import { TableMembershipLedger } from '../adapters/tables/membership-ledger.store';
import { TableRequestStore } from '../adapters/tables/request.store';
import { TableReviewStore } from '../adapters/tables/review.store';
import { ReviewService } from '../workflows/review.service';
import { createTeamsChannel, type TeamsChannel } from '../adapters/teams/teams-channel';
import { TeamsNotifier } from '../adapters/teams/teams-notifier';
import { TeamsReviewNotifier } from '../adapters/teams/teams-review-notifier';
import { GraphMailer, GraphMailSender } from '../adapters/graph/graph-mailer';
import { GraphTeamsAppInstaller, TEAMS_GLOBAL_SERVICE_URL } from '../adapters/graph/teams-app-installer';
import { writeEvidenceBundle } from '../adapters/evidence/evidence-bundle';
import { ZippedEvidenceBundles } from '../adapters/evidence/evidence-mail.bundles';
import { TableEvidenceDeliveryStore } from '../adapters/tables/evidence-mail.store';
import { evidenceSummaryRows } from '../domain/evidence/evidence-mail';
import { reviewsTabUrl } from '../adapters/cards/review.card';
import type { TableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import { countWork } from '../adapters/telemetry/work-gauges';
import { createTicketSystem } from '../adapters/tickets/create-ticket-system';
import { TicketSync } from '../adapters/tickets/ticket-sync';
import { TicketSyncStore } from '../adapters/tickets/ticket-sync.store';
import type { AttestConfig } from '../config/config';
import type { Clock } from '../ports/clock.port';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import { BackgroundCatalogCheck, type CatalogCheckStatus } from './catalog-check';
import {
  catalogFilePath,
  loadCatalogOrLastGood,
  newRequestsPaused,
  type CatalogInUse,
} from './catalog-in-use';
import type { GraphAccess } from '../adapters/graph/graph-access';
import type { AppServices } from './function-types';
import { tabAuthServices } from './tab-route';

/**
 * `build` run on the first call, its promise shared by every later one; a failed build (storage not up yet) is
 * forgotten, so the next call tries again.
 */
function buildOnce<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((err) => {
      pending = undefined;
      throw err;
    });
    return pending;
  };
}

/**
 * Creates the ports once (tables made, catalog file loaded and validated); later calls share the result. With
 * `teams`, notifications are also delivered in Teams (and the Teams channel is built with the ports);
 * without, they stay in the outbox table (the CLI's in-process session, the workflow tests).
 */
export function workflowDepsFactory(opts: HostServicesOptions): () => Promise<WorkflowDeps> {
  const both = hostServicesFactory(opts);
  return async () => (await both()).deps;
}

/** What {@link hostServicesFactory} builds from. */
export interface HostServicesOptions {
  config: AttestConfig;
  tables: TableFactory;
  graph: GraphAccess;
  clock: Clock;
  teams?: boolean;
  /** Started once the catalog is loaded: checks it against the directory in the background. */
  catalogCheck?: BackgroundCatalogCheck;
  /** The local host's URL once it is bound (links to the tab where Teams cannot open it). */
  hostUrl?: () => string | undefined;
}

/** The workflow's ports, the Teams channel and the catalog in use. */
export interface HostServices {
  deps: WorkflowDeps;
  teams?: TeamsChannel;
  catalog: CatalogInUse;
}

/**
 * The workflow's ports and the Teams channel, built once (see {@link workflowDepsFactory}). NB. Nothing here
 * waits on Microsoft Graph: the catalog is checked against the directory in the background (catalog-check.ts).
 */
export function hostServicesFactory(opts: HostServicesOptions): () => Promise<HostServices> {
  const build = async (): Promise<HostServices> => {
    const { config, tables, graph, clock } = opts;
    // Every group write of this process shares one pacer: Graph's write quota is per app and tenant.
    const graphClient = createGraphClient({ baseUrl: graph.baseUrl, getToken: graph.getToken });
    const directory = pacedDirectory(new GraphDirectory(graphClient), new WritePacer(GRAPH_WRITE_QUOTA));
    // NB. the container is created on the first anchor write, not here: a blob outage at start must not stop
    // requests; digests written meanwhile are anchored when the blob service answers again.
    const anchors = BlobAnchorStore.on(tables.storage, config.evidence.container, clock);
    const audit = AuditLogStore.on(tables, clock, anchors);
    const requests = new TableRequestStore(tables.client(TableNames.accessRequests));
    const outbox = new TableNotifier(tables.client(TableNames.notifications), clock);
    const ledger = TableMembershipLedger.on(tables);
    const snapshots = new CatalogSnapshotStore(tables.client(TableNames.catalogSnapshots));
    // The review store is also the review notices' outbox (a Teams delivery wraps it where the bot runs).
    const reviews = TableReviewStore.on(tables, clock);
    const evidenceDeliveries = new TableEvidenceDeliveryStore(tables.client(TableNames.evidenceMail));
    await Promise.all([
      evidenceDeliveries.init(),
      audit.init(),
      requests.init(),
      outbox.init(),
      ledger.init(),
      snapshots.init(),
      reviews.init(),
    ]);
    const inUse = await loadCatalogOrLastGood(catalogFilePath(config), snapshots, clock);
    const catalog = inUse.loaded;
    opts.catalogCheck?.start(directory, catalog.text, catalog.file);
    const teams = opts.teams
      ? await createTeamsChannel({ bot: config.bot, tables, directory, catalog: catalog.catalog, clock })
      : undefined;
    // People the bot has no conversation with get the app installed through Graph (ATTEST_TEAMS_CATALOG_APP_ID).
    const installer =
      teams && config.teamsCatalogAppId
        ? new GraphTeamsAppInstaller({
            client: graphClient,
            catalogAppId: config.teamsCatalogAppId,
            conversations: teams.conversations,
            audit,
            fallback: {
              tenantId:
                config.directory.mode === 'graph'
                  ? config.directory.tenantId
                  : (config.bot.allowedTenants[0] ?? ''),
              // Behind the Bot Service, Teams' global URL routes to the tenant's region; the local host has none.
              ...('appId' in config.bot
                ? { botId: `28:${config.bot.appId}`, serviceUrl: TEAMS_GLOBAL_SERVICE_URL }
                : {}),
            },
          })
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
          installer,
        })
      : outbox;
    const deps: WorkflowDeps = {
      directory,
      ledger,
      audit,
      anchors,
      requests,
      notifier,
      clock,
      reconcile: ledger,
      catalog: {
        catalog: catalog.catalog,
        stamp: catalog.stamp,
        ...(inUse.fileProblem ? { unavailable: newRequestsPaused(inUse) } : {}),
      },
      adminGroupId: config.adminGroupId,
      // The scheduled evidence e-mail, when ATTEST_EVIDENCE_MAIL_TO names anyone: the period's bundle (written to
      // the anchor container with its zip), sent from ATTEST_MAIL_SENDER to the allowed domains only.
      ...(config.evidenceMail.recipients.length
        ? {
            evidenceMail: {
              bundles: new ZippedEvidenceBundles({
                anchors,
                write: (period) => writeEvidenceBundle({ audit, anchors, clock }, period),
                rows: evidenceSummaryRows,
              }),
              deliveries: evidenceDeliveries,
              sender: new GraphMailSender(
                graphClient,
                config.mail.sender,
                config.evidenceMail.allowedDomains,
              ),
              recipients: config.evidenceMail.recipients,
              linkValidMs: config.evidenceMail.linkValidMs,
            },
          }
        : {}),
      ticketTarget:
        config.tickets.mode === 'none'
          ? undefined
          : config.tickets.mode.startsWith('jira')
            ? 'jira'
            : 'servicenow',
      reviews,
      // Review notices: kept in the review store's outbox, and where the bot runs, delivered as the review card
      // in Teams or by e-mail (Graph sendMail from ATTEST_MAIL_SENDER) to reviewers the bot cannot reach.
      reviewNotifier: teams
        ? new TeamsReviewNotifier({
            outbox: reviews,
            conversations: teams.conversations,
            deliveries: teams.deliveries,
            queue: teams.queue,
            references: teams.references,
            directory,
            mailer: new GraphMailer(graphClient, config.mail.sender),
            tabUrl: (campaignId) => reviewTabLink(config, campaignId, opts.hostUrl?.()),
            installer,
          })
        : reviews,
    };
    return { deps, teams, catalog: inUse };
  };
  return buildOnce(build);
}

/**
 * Where a review card or e-mail sends a reviewer: the Access reviews tab in Teams (a deep link with the Teams
 * app id, or the bot's app id when ATTEST_TEAMS_APP_ID is unset); with neither (the local host, whose
 * Playground cannot open tabs), the tab as the local host serves it, in the browser.
 */
export function reviewTabLink(config: AttestConfig, campaignId: string, localHostUrl?: string): string {
  const appId = config.teamsAppId ?? ('appId' in config.bot ? config.bot.appId : undefined);
  if (appId) return reviewsTabUrl(appId, campaignId);
  const base = localHostUrl ?? `http://127.0.0.1:${config.local.httpPort}`;
  return `${base}/api/tab/index.html?view=reviews&campaign=${encodeURIComponent(campaignId)}`;
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
  /** Check the catalog against the directory in the background (default true; off for CLI sessions). */
  checkCatalog?: boolean;
  log?: (line: string) => void;
  catalogRetryDelayMs?: (attempt: number) => number;
}): AppServices {
  const check =
    opts.checkCatalog === false
      ? undefined
      : new BackgroundCatalogCheck({
          clock: opts.clock,
          log: opts.log ?? logger('catalog-check'),
          retryDelayMs: opts.catalogRetryDelayMs,
        });
  const tab = tabAuthServices(opts.config, opts.clock, async () => (await both()).deps.directory);
  const hostUrl = () => tab.localIssuer?.url?.replace(/\/api\/tab\/auth$/, '');
  const both = hostServicesFactory({ ...opts, catalogCheck: check, hostUrl });
  return {
    config: opts.config,
    graph: opts.graph,
    tab,
    workflow: async () => (await both()).deps,
    catalog: async () => (await both()).catalog,
    catalogCheck: (): CatalogCheckStatus =>
      check?.status() ?? { state: 'pending', problems: [], attempts: 0, waiting: 'not run by this host' },
    reviews: async (durable) => new ReviewService((await both()).deps, durable),
    ticketSync: ticketSyncFactory(
      opts.config,
      opts.tables,
      opts.clock,
      async () => (await both()).deps,
      opts.log,
    ),
    workCounts: () =>
      countWork(opts.tables, {
        now: opts.clock.now(),
        overdueAfterMs: opts.config.reconcile.intervalMs,
        tickets: opts.config.tickets.mode !== 'none',
      }),
    stop: () => check?.stop(),
    teams: async () => {
      const { teams } = await both();
      if (!teams) throw new Error('This host does not serve the Teams bot.');
      return teams;
    },
  };
}

/**
 * The ticket-sync drain, built once on first use: the configured ticket system's adapter over the audit log's
 * outbox, its state in table TicketSync, parked rows told to the members of the Attest admins group. Undefined
 * when ATTEST_TICKETS_MODE is none.
 */
export function ticketSyncFactory(
  config: AttestConfig,
  tables: TableFactory,
  clock: Clock,
  deps: () => Promise<WorkflowDeps>,
  log: (line: string) => void = logger('ticket-sync'),
): () => Promise<TicketSync | undefined> {
  const build = async (): Promise<TicketSync | undefined> => {
    const system = createTicketSystem(config.tickets, { log, now: () => clock.now() });
    if (!system) return undefined;
    const workflow = await deps();
    const store = new TicketSyncStore(tables.client(TableNames.ticketSync), clock);
    await store.init();
    const adminGroupId = config.adminGroupId;
    return new TicketSync({
      system,
      log: workflow.audit,
      store,
      clock,
      notifier: workflow.notifier,
      ...(adminGroupId
        ? { admins: async () => (await workflow.directory.groupMembers(adminGroupId)).map((u) => u.id) }
        : {}),
      settings: { maxAttempts: config.ticketSync.maxAttempts, searchLagMs: config.ticketSync.searchLagMs },
      logLine: log,
    });
  };
  return buildOnce(build);
}
