/**
 * Builds the workflow's ports from configuration: the one place that knows which adapter serves which
 * port. Both hosts call it; nothing here runs until the first activity or API call needs it.
 */
import path from 'node:path';
import { loadCatalogFile } from '../adapters/catalog/catalog-file.loader';
import { sha256 } from '../adapters/crypto/sha256';
import { createGraphClient } from '../adapters/graph/graph-client';
import { GraphDirectory } from '../adapters/graph/graph-directory';
import { AuditLogStore } from '../adapters/tables/audit-log.store';
import { TableNotifier } from '../adapters/tables/notification.store';
import { TableRequestStore } from '../adapters/tables/request.store';
import type { TableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import type { AttestConfig } from '../config/config';
import type { Clock } from '../ports/clock.port';
import type { WorkflowDeps } from '../workflows/workflow-deps';
import type { GraphAccess } from './function-types';

/** Creates the ports once (tables made, catalog loaded and validated); later calls share the result. */
export function workflowDepsFactory(opts: {
  config: AttestConfig;
  tables: TableFactory;
  graph: GraphAccess;
  clock: Clock;
}): () => Promise<WorkflowDeps> {
  let pending: Promise<WorkflowDeps> | undefined;
  const build = async (): Promise<WorkflowDeps> => {
    const { config, tables, graph, clock } = opts;
    const catalog = await loadCatalogFile(path.resolve(config.catalogPath));
    const audit = new AuditLogStore({
      table: tables.client(TableNames.auditLog),
      digests: tables.client(TableNames.auditDigests),
      clock,
      sha256,
    });
    const requests = new TableRequestStore(tables.client(TableNames.accessRequests));
    const notifier = new TableNotifier(tables.client(TableNames.notifications), clock);
    await Promise.all([audit.init(), requests.init(), notifier.init()]);
    return {
      directory: new GraphDirectory(createGraphClient({ baseUrl: graph.baseUrl, getToken: graph.getToken })),
      audit,
      requests,
      notifier,
      clock,
      catalog: { catalog: catalog.catalog, stamp: catalog.stamp },
      adminGroupId: config.adminGroupId,
    };
  };
  return () => {
    pending ??= build().catch((err) => {
      pending = undefined; // a failed start (storage not up yet) may be retried
      throw err;
    });
    return pending;
  };
}
