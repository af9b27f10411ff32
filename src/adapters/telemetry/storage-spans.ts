/**
 * Spans for Table Storage and Blob Storage calls. Tables: an Azure SDK pipeline policy added to every TableClient Attest makes
 * (table-client-factory.ts). One span per call, `tables <METHOD> <table>`, with the status code and how many
 * times the SDK's retry policy sent it. Keys are not recorded (a partition key can be a person's object id);
 * the work's ids are, by the span processor.
 */
import type { Span } from '@opentelemetry/api';
import type { TableServiceClientOptions } from '@azure/data-tables';
import type { RequestPolicy, RequestPolicyFactory, WebResource } from '@azure/storage-blob';
import { noteStatus, traced } from './tracing';

type PolicyEntry = NonNullable<TableServiceClientOptions['additionalPolicies']>[number];
type Policy = PolicyEntry['policy'];
type PipelineRequest = Parameters<Policy['sendRequest']>[0];

/** `AccessRequests` from `/devstoreaccount1/AccessRequests(PartitionKey='a',RowKey='b')`, `$batch`, `Tables`. */
export function tableOfUrl(url: string): string {
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  const last = segments[segments.length - 1] ?? '';
  return decodeURIComponent(last.replace(/\(.*$/s, '')) || 'service';
}

/** The span of each call in flight, so the per-retry policy counts its attempts. */
const spans = new WeakMap<PipelineRequest, { span: Span; attempts: number }>();

const perCall: Policy = {
  name: 'attestTableSpans',
  async sendRequest(request, next) {
    const table = tableOfUrl(request.url);
    return traced(
      `tables ${request.method} ${table}`,
      {
        'db.system': 'azure_table_storage',
        'attest.storage.table': table,
        'http.request.method': request.method,
        'server.address': new URL(request.url).host,
      },
      async (span) => {
        const entry = { span, attempts: 0 };
        spans.set(request, entry);
        try {
          const response = await next(request);
          noteStatus(span, response.status);
          return response;
        } finally {
          span.setAttribute('attest.retries', Math.max(0, entry.attempts - 1));
          spans.delete(request);
        }
      },
    );
  },
};

const perRetry: Policy = {
  name: 'attestTableAttempts',
  async sendRequest(request, next) {
    const entry = spans.get(request);
    if (entry) entry.attempts++;
    return next(request);
  },
};

/** The policies to pass as TableClient `additionalPolicies`. */
export const tableSpanPolicies: PolicyEntry[] = [
  { policy: perCall, position: 'perCall' },
  { policy: perRetry, position: 'perRetry' },
];

/** The container (and not the blob: a blob name can carry a bundle's subject) of a blob URL. */
export function containerOfUrl(url: string): string {
  const segments = new URL(url).pathname.split('/').filter(Boolean);
  // Azurite's URLs start with the account (`/devstoreaccount1/<container>/...`); Azure's with the container.
  const host = new URL(url).hostname;
  const container = /^(127\.0\.0\.1|localhost)$/.test(host) ? segments[1] : segments[0];
  return container ? decodeURIComponent(container) : 'service';
}

/**
 * The same span for Blob Storage calls (digest anchors, evidence bundles): a request policy factory added to
 * the blob client's pipeline (blob-client-factory.ts), which @azure/storage-blob places before its retry policy.
 * One span per call: `blobs <METHOD> <container>`.
 */
export const blobSpanFactory: RequestPolicyFactory = {
  create(nextPolicy: RequestPolicy): RequestPolicy {
    return {
      sendRequest(request: WebResource) {
        const container = containerOfUrl(request.url);
        return traced(
          `blobs ${request.method} ${container}`,
          {
            'attest.storage.container': container,
            'http.request.method': request.method,
            'server.address': new URL(request.url).host,
          },
          async (span) => {
            const response = await nextPolicy.sendRequest(request);
            noteStatus(span, response.status);
            return response;
          },
        );
      },
    };
  },
};
