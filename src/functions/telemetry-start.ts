/**
 * Imported FIRST by the Azure entry (index.ts), for its side effect: with APPLICATIONINSIGHTS_CONNECTION_STRING
 * set (infra/ sets it), starts OpenTelemetry export to Application Insights before the modules that make HTTP,
 * Table Storage and Graph clients load, so their calls are instrumented from the first invocation.
 *
 * NB. A configuration that does not load starts nothing here: index.ts loads it next and stops the worker with
 * the one-line message.
 */
import { startAzureMonitor } from '../adapters/telemetry/azure-monitor';
import { ConfigError, loadConfigFromProcess } from '../config/config';

/** Whether export was started (false without a connection string). */
export const telemetryStarted: boolean = (() => {
  try {
    return startAzureMonitor(loadConfigFromProcess('azure').telemetry);
  } catch (err) {
    if (err instanceof ConfigError) return false;
    throw err;
  }
})();
