/**
 * The Azure entry point (package.json `main`): registers the declarative function list with
 * @azure/functions and durable-functions. The local host mounts the same list (src/local).
 */
// NB. First: starts telemetry export before the modules below create their clients.
import './telemetry-start';
import { app, type InvocationContext } from '@azure/functions';
import { stopAzureMonitor } from '../adapters/telemetry/azure-monitor';
import * as df from 'durable-functions';
import { azureDurableClient } from '../adapters/durable/azure-durable-client';
import { graphAccessFor } from '../adapters/graph/graph-access';
import { createTableFactory } from '../adapters/tables/table-client-factory';
import { TableNames } from '../adapters/tables/table-names';
import { systemClock } from '../adapters/system-clock';
import { loadConfigFromProcess } from '../config/config';
import { requireCatalogFile } from './catalog-in-use';
import { appServices } from './composition';
import { stampUserLog } from './log-hook';
import { buildFunctionList } from './function-list';
import { validateFunctionList, type AppServices, type FunctionContext } from './function-types';

// NB. Azure loads this module once per worker; a bad setting must stop it here with the one-line message.
const config = loadConfigFromProcess('azure');
if (config.directory.mode !== 'graph')
  throw new Error('The Azure host reaches the directory through Microsoft Graph only.');
// The packaged catalog (catalog/catalog.yaml under the app root by default) must be there; its content is
// validated when the services are built (file:line errors, or the last good catalog kept in storage).
requireCatalogFile(config);
const tables = createTableFactory(config.storage);
const graph = graphAccessFor(config.directory);
const services: AppServices = appServices({ config, tables, graph, clock: systemClock, teams: true });
// Created on first use (the factory remembers it), so loading the worker does no I/O.
const eventIds = () => tables.ensureTable(TableNames.durableEventIds(config.taskHub));
const list = buildFunctionList(config);
validateFunctionList(list);

const clientInput = df.input.durableClient();
const contextFor = (invocation: InvocationContext): FunctionContext => ({
  invocation,
  services,
  durable: azureDurableClient(df.getClient(invocation), eventIds),
});

// Flushes the last spans and gauges when the worker is told to stop.
app.hook.appTerminate(() => stopAzureMonitor());
// context.log lines become JSON carrying the work's request / campaign id, as the local host's lines are.
app.hook.log(stampUserLog);

for (const f of list) {
  switch (f.kind) {
    case 'http':
      app.http(f.name, {
        route: f.route,
        methods: f.methods,
        authLevel: f.authLevel,
        extraInputs: [clientInput],
        handler: (request, invocation) => f.handler(request, contextFor(invocation)),
      });
      break;
    case 'timer':
      app.timer(f.name, {
        schedule: f.schedule,
        extraInputs: [clientInput],
        handler: (_timer, invocation) => f.handler(contextFor(invocation)),
      });
      break;
    case 'orchestration':
      df.app.orchestration(f.name, f.handler);
      break;
    case 'activity':
      df.app.activity(
        f.name,
        f.durableClient
          ? {
              extraInputs: [clientInput],
              handler: (input, invocation) =>
                f.handler(input, { invocation, services, durable: contextFor(invocation).durable }),
            }
          : { handler: (input, invocation) => f.handler(input, { invocation, services }) },
      );
      break;
  }
}
