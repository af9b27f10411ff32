/**
 * Switches on OpenTelemetry export to Application Insights in Azure (@azure/monitor-opentelemetry), with
 * Attest's span processor (the work's ids on every span) and its gauges.
 *
 * NB. Called from the first module the Azure entry imports (src/functions/telemetry-start.ts), before the
 * modules that load http, the Azure SDK and the Graph client: instrumentations patch modules as they load.
 *
 * NB. The Functions host keeps its own Application Insights integration (requests per invocation, host logs);
 * host.json is left on its default `telemetryMode`. This exports what happens in the worker: Attest's spans,
 * the outbound HTTP calls under them, the gauges, and console lines.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { useAzureMonitor, shutdownAzureMonitor } from '@azure/monitor-opentelemetry';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AttestWorkSpanProcessor } from './tracing';
import { registerWorkGauges } from './work-gauges';

/** What telemetry needs from the configuration (AttestConfig.telemetry). */
export interface TelemetrySettings {
  connectionString?: string;
  clientId?: string;
}

let started = false;

/**
 * Starts export when a connection string is set; returns whether it did. Idempotent. The ingestion endpoint
 * is reached with the function app's managed identity (local auth is off on the component, see
 * infra/modules/monitoring.bicep).
 */
export function startAzureMonitor(settings: TelemetrySettings): boolean {
  if (!settings.connectionString) return false;
  if (started) return true;
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: settings.connectionString,
      credential: settings.clientId
        ? new ManagedIdentityCredential({ clientId: settings.clientId })
        : new ManagedIdentityCredential(),
    },
    // Every trace: Attest's volume is small (people's requests and decisions), and the trace of the one
    // revocation that failed is the one that must not have been sampled away.
    samplingRatio: 1,
    tracesPerSecond: 0,
    // NB. Attest's own spans cover Table Storage and Blob calls (storage-spans.ts) with the work's ids; the Azure
    // SDK's spans would double them.
    instrumentationOptions: { azureSdk: { enabled: false }, http: { enabled: true } },
    spanProcessors: [new AttestWorkSpanProcessor() as unknown as SpanProcessor],
  });
  registerWorkGauges();
  started = true;
  return true;
}

/** Flushes and stops export (worker shutdown). */
export async function stopAzureMonitor(): Promise<void> {
  if (!started) return;
  started = false;
  await shutdownAzureMonitor();
}
