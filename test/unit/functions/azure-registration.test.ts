/* eslint-disable @typescript-eslint/no-require-imports -- each test loads the entry point in a fresh module registry */
import type * as AzureFunctions from '@azure/functions';
import type * as DurableFunctions from 'durable-functions';
import {
  validateFunctionList,
  type FunctionDefinition,
  type HttpFunction,
} from '../../../src/functions/function-types';
import { AZURE_ENV } from '../../support/azure-env';

/** Loads src/functions/index.ts with `env`, recording what it registers instead of talking to a host. */
function loadEntryPoint(env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const calls: Record<string, [string, Record<string, unknown>][]> = {
    http: [],
    timer: [],
    orchestration: [],
    activity: [],
    hook: [],
  };
  let list: FunctionDefinition[] = [];
  try {
    jest.isolateModules(() => {
      const { app } = require('@azure/functions') as typeof AzureFunctions;
      const df = require('durable-functions') as typeof DurableFunctions;
      const record = (kind: string) => (name: string, options: unknown) =>
        void calls[kind].push([name, options as Record<string, unknown>]);
      jest.spyOn(app, 'http').mockImplementation(record('http'));
      jest.spyOn(app, 'timer').mockImplementation(record('timer'));
      jest.spyOn(df.app, 'orchestration').mockImplementation(record('orchestration') as never);
      jest.spyOn(df.app, 'activity').mockImplementation(record('activity') as never);
      for (const hook of ['appTerminate', 'log'] as const)
        jest.spyOn(app.hook, hook).mockImplementation(((handler: unknown) => {
          calls.hook.push([hook, { handler }]);
          return { dispose: () => undefined };
        }) as never);
      require('../../../src/functions/index');
      const { buildFunctionList } = require('../../../src/functions/function-list');
      const { loadConfig } = require('../../../src/config/config');
      list = buildFunctionList(loadConfig(env, 'azure'));
    });
  } finally {
    process.env = saved;
    jest.restoreAllMocks();
  }
  return { calls, list };
}

test('the Azure entry point registers every function of the list with its trigger', () => {
  const { calls, list } = loadEntryPoint(AZURE_ENV);
  const names = (kind: string) => list.filter((f) => f.kind === kind).map((f) => f.name);
  for (const kind of ['http', 'timer', 'orchestration', 'activity']) {
    expect(calls[kind].map(([name]) => name)).toEqual(names(kind));
  }
  expect(calls.http.length).toBeGreaterThan(0);
  // Telemetry: the worker flushes on terminate, and its context.log lines carry the work's ids (log-hook.ts).
  expect(calls.hook.map(([name]) => name).sort()).toEqual(['appTerminate', 'log']);
  const messages = calls.http.find(([name]) => name === 'bot-messages')?.[1];
  expect(messages).toMatchObject({ route: 'messages', methods: ['POST'], authLevel: 'anonymous' });
  expect(messages?.extraInputs).toHaveLength(1); // the durable client binding
  // The review tab's files, where the manifest's contentUrl points (under host.json's routePrefix `api`).
  const tab = calls.http.find(([name]) => name === 'tab-static')?.[1];
  expect(tab).toMatchObject({ route: 'tab/{*path}', methods: ['GET'], authLevel: 'anonymous' });
  // Configuration for Azure refuses the local issuer, so its routes are never registered there.
  expect(calls.http.map(([name]) => name)).toContain('tab-auth-me');
  expect(calls.http.map(([name]) => name)).not.toContain('tab-auth-token');
});

test('only activities declared with durableClient get the durable client binding in Azure', () => {
  const { calls, list } = loadEntryPoint(AZURE_ENV);
  const needing = list.filter((f) => f.kind === 'activity' && f.durableClient).map((f) => f.name);
  expect(needing.sort()).toEqual(['offboarding-offboard-user', 'review-apply']);
  for (const [name, options] of calls.activity) {
    expect(options.extraInputs ?? []).toHaveLength(needing.includes(name) ? 1 : 0);
  }
});

test('the Azure entry point refuses to load with a bad setting, naming it', () => {
  expect(() => loadEntryPoint({ ...AZURE_ENV, ATTEST_BOT_AUTH: 'anonymous' })).toThrow(
    /^config: ATTEST_BOT_AUTH is "anonymous", which only the local host allows/,
  );
});

test('the Azure entry point refuses to load when the configured catalog is not there, naming the setting and the path', () => {
  expect(() => loadEntryPoint({ ...AZURE_ENV, ATTEST_CATALOG_PATH: 'catalog/no-such-catalog.yaml' })).toThrow(
    /^config: ATTEST_CATALOG_PATH is "catalog\/no-such-catalog\.yaml", which resolves to \/\S+\/catalog\/no-such-catalog\.yaml, and there is no file there\. Deploy the package `npm run package` builds/,
  );
});

describe('a catch-all route', () => {
  const route = (name: string, r: string, methods: HttpFunction['methods'] = ['GET']): HttpFunction => ({
    kind: 'http',
    name,
    route: r,
    methods,
    authLevel: 'anonymous',
    handler: async () => ({ status: 204 }),
  });
  const staticFiles = route('tab-static', 'tab/{*path}');

  test('may have routes under it whose function names Azure tries first (alphabetically)', () => {
    expect(() =>
      validateFunctionList([
        staticFiles,
        route('tab-api-items', 'tab/v1/items'),
        route('tab-auth-me', 'tab/auth/me'),
      ]),
    ).not.toThrow();
    // Another method, or outside the catch-all's prefix: no clash whatever the name.
    expect(() =>
      validateFunctionList([
        staticFiles,
        route('tab-v1-decide', 'tab/v1/decisions', ['POST']),
        route('zeta', 'table'),
      ]),
    ).not.toThrow();
  });

  test('refuses a route Azure would never reach, saying how to fix it', () => {
    expect(() => validateFunctionList([staticFiles, route('tab-v1-items', 'tab/v1/items')])).toThrow(
      "Function 'tab-v1-items' (tab/v1/items) would be shadowed in Azure by the catch-all 'tab-static' (tab/{*path}): Azure tries routes in the order of function names, so rename it to sort before 'tab-static'.",
    );
  });
});
