/**
 * Proves the deployable zip starts: unpacks it to a temporary folder and loads its Azure entry (package.json
 * `main`) in a fresh Node process, with Azure settings and with no access to the repository, standing in for the
 * Functions host. Outside the host `@azure/functions` silently skips registration (it requires
 * `@azure/functions-core`, a module the host injects, and falls back to a "test mode" when it is missing), so
 * this check provides that module: a stand-in that records every setProgrammingModel, registerFunction and
 * registerHook call. It then asserts that every function of the package's own function list got registered with
 * its trigger (route and methods, schedule), that the configured catalog (catalog/catalog.yaml under the app root
 * by default) was found and parses, and that no devDependency was packaged.
 *
 *   node scripts/check-package.mjs [--zip .deploy/attest.zip]
 *
 * Exit 0 with a one-line summary, or 1 with the problems. `npm run package` runs it last.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The settings the check loads the package with: a complete Azure configuration as infra/ sets it (managed
 * identity everywhere, Graph, the Teams SSO app), with ATTEST_CATALOG_PATH left to its Azure default.
 * Nothing is contacted: loading the entry point does no I/O.
 */
export const CHECK_AZURE_ENV = Object.freeze({
  ATTEST_STORAGE_MODE: 'managed-identity',
  ATTEST_STORAGE_TABLE_URL: 'https://attestcheck.table.core.windows.net',
  ATTEST_DIRECTORY_MODE: 'graph',
  ATTEST_GRAPH_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_GRAPH_CLIENT_ID: '5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
  ATTEST_MAIL_SENDER: 'attest@contoso.com',
  ATTEST_BOT_APP_ID: '1a2b3c4d-0000-4000-8000-000000000001',
  ATTEST_BOT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_ALLOWED_TENANTS: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  ATTEST_TAB_CLIENT_ID: '5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
  ATTEST_TAB_APP_ID_URI: 'api://attestcheck.azurewebsites.net/5b7e2d1c-3f4a-4b8c-9d0e-1f2a3b4c5d6e',
});

/** Packages that must never be in the zip, whatever package.json says (the heavy dev tools). */
const NEVER_PACKAGED = ['typescript', 'jest', 'ts-jest', 'azurite', 'playwright-core', 'esbuild', 'eslint'];

/** The trigger binding type each kind of function of the list registers with. */
const TRIGGER_OF_KIND = {
  http: 'httpTrigger',
  timer: 'timerTrigger',
  orchestration: 'orchestrationTrigger',
  activity: 'activityTrigger',
};

/**
 * Runs in the child process, in the unpacked package, with the Azure settings. Stands in for the Functions
 * host's `@azure/functions-core`, loads `main`, and writes what was registered and the catalog it found.
 */
const RUNNER = String.raw`
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');
const [appRoot, resultFile, standIn] = process.argv.slice(2);
const recorded = { model: undefined, functions: [], hooks: [], logs: [] };
globalThis.__attestCoreRecorder = recorded;
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === '@azure/functions-core' ? standIn : resolve.call(this, request, ...rest);
};
const result = { recorded };
(async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(appRoot, 'package.json'), 'utf8'));
  result.main = pkg.main;
  require(path.join(appRoot, pkg.main));
  const { loadConfigFromProcess } = require(path.join(appRoot, 'dist/src/config/config.js'));
  const { buildFunctionList } = require(path.join(appRoot, 'dist/src/functions/function-list.js'));
  const { catalogFilePath } = require(path.join(appRoot, 'dist/src/functions/catalog-in-use.js'));
  const { loadCatalogFile } = require(path.join(appRoot, 'dist/src/adapters/catalog/catalog-file.loader.js'));
  const config = loadConfigFromProcess('azure');
  result.expected = buildFunctionList(config).map((f) => ({
    name: f.name, kind: f.kind, route: f.route, methods: f.methods, schedule: f.schedule,
  }));
  const file = catalogFilePath(config);
  const loaded = await loadCatalogFile(file);
  result.catalog = {
    setting: config.catalogPath, file, id: loaded.catalog.id, version: loaded.catalog.version,
    apps: loaded.catalog.apps.length,
  };
})().then(
  () => { fs.writeFileSync(resultFile, JSON.stringify(result)); process.exit(0); },
  (e) => { result.error = e && e.message ? e.message : String(e); fs.writeFileSync(resultFile, JSON.stringify(result)); process.exit(0); },
);
`;

/** The stand-in for `@azure/functions-core`: the calls @azure/functions makes of the host, recorded. */
const STAND_IN = String.raw`
'use strict';
const recorded = globalThis.__attestCoreRecorder;
const disposable = () => ({ dispose() {} });
let model;
module.exports = {
  setProgrammingModel(m) { model = m; recorded.model = { name: m.name, version: m.version }; },
  getProgrammingModel() { return model; },
  registerFunction(metadata, callback) {
    recorded.functions.push({
      name: metadata.name,
      bindings: metadata.bindings,
      callback: typeof callback === 'function',
    });
    return disposable();
  },
  registerHook(name, callback) {
    recorded.hooks.push({ name, callback: typeof callback === 'function' });
    return disposable();
  },
  log(level, category, message) { recorded.logs.push({ level, category, message }); },
};
`;

/** Unpacks `zipFile` into a new temporary folder; returns it. */
function unpack(zipFile, into) {
  const entries = unzipSync(new Uint8Array(fs.readFileSync(zipFile)));
  for (const [name, bytes] of Object.entries(entries)) {
    const target = path.join(into, name);
    if (!target.startsWith(into + path.sep)) throw new Error(`${zipFile}: entry ${name} leaves the folder`);
    if (name.endsWith('/')) {
      fs.mkdirSync(target, { recursive: true });
      continue;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, bytes);
  }
  return Object.keys(entries);
}

/** What must and must not be in the package, from its own package.json. */
function layoutProblems(appRoot, names) {
  const problems = [];
  const pkg = JSON.parse(fs.readFileSync(path.join(appRoot, 'package.json'), 'utf8'));
  for (const required of [
    'host.json',
    'package.json',
    'package-lock.json',
    pkg.main,
    'catalog/catalog.yaml',
    'dist/tab/index.html',
  ]) {
    if (!fs.existsSync(path.join(appRoot, required))) problems.push(`${required} is not in the package`);
  }
  for (const forbidden of ['dist/test/', 'dist/bench/', 'src/', 'test/', '.deploy/', 'node_modules/.bin/'])
    if (names.some((n) => n.startsWith(forbidden))) problems.push(`${forbidden} is in the package`);
  // What npm's lock file marks dev-only (devDependencies and what only they need) must be absent; a
  // devDependency that a production dependency also needs (e.g. @types/node) is legitimately there.
  const lock = JSON.parse(fs.readFileSync(path.join(appRoot, 'package-lock.json'), 'utf8'));
  const devOnly = Object.entries(lock.packages ?? {})
    .filter(([where, info]) => where.startsWith('node_modules/') && info.dev === true)
    .map(([where]) => where);
  for (const where of devOnly)
    if (fs.existsSync(path.join(appRoot, where, 'package.json')))
      problems.push(`the dev-only package ${where} is in the package`);
  for (const name of NEVER_PACKAGED)
    if (fs.existsSync(path.join(appRoot, 'node_modules', name, 'package.json')))
      problems.push(`the devDependency ${name} is in the package's node_modules`);
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (!fs.existsSync(path.join(appRoot, 'node_modules', name, 'package.json')))
      problems.push(`the dependency ${name} is missing from the package's node_modules`);
  }
  if (fs.existsSync(path.join(appRoot, 'node_modules', '@azure', 'functions-core')))
    problems.push('node_modules/@azure/functions-core is in the package: the Functions host provides it');
  return problems;
}

/** Compares what the entry point registered with the package's function list. */
function registrationProblems(result) {
  const problems = [];
  const { recorded, expected } = result;
  if (!recorded.model) problems.push('@azure/functions never set its programming model with the host');
  const byName = new Map();
  for (const f of recorded.functions) {
    if (byName.has(f.name)) problems.push(`${f.name} was registered twice`);
    byName.set(f.name, f);
  }
  for (const want of expected) {
    const got = byName.get(want.name);
    if (!got) {
      problems.push(`${want.name} (${want.kind}) was not registered`);
      continue;
    }
    byName.delete(want.name);
    const trigger = Object.values(got.bindings).find((b) => b.direction === 'in' && /Trigger$/.test(b.type));
    if (!got.callback) problems.push(`${want.name} was registered without a handler`);
    if (trigger?.type !== TRIGGER_OF_KIND[want.kind]) {
      problems.push(
        `${want.name} was registered with trigger ${trigger?.type}, not ${TRIGGER_OF_KIND[want.kind]}`,
      );
      continue;
    }
    if (want.kind === 'http') {
      const methods = (trigger.methods ?? []).map((m) => m.toUpperCase()).sort();
      if (trigger.route !== want.route || methods.join() !== [...want.methods].sort().join())
        problems.push(
          `${want.name} was registered on ${methods.join(',')} ${trigger.route}, not ${want.methods.join(',')} ${want.route}`,
        );
    }
    if (want.kind === 'timer' && trigger.schedule !== want.schedule)
      problems.push(`${want.name} was registered on schedule ${trigger.schedule}, not ${want.schedule}`);
  }
  for (const name of byName.keys()) problems.push(`${name} was registered but is not in the function list`);
  return problems;
}

/** Thrown when the package does not start; `problems` lists why. */
export class PackageCheckError extends Error {
  constructor(zipFile, problems) {
    super(`${zipFile} does not start:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/**
 * Checks the zip as described at the top. `env` is the Azure configuration to load it with (default
 * {@link CHECK_AZURE_ENV}). Resolves to a summary; throws a {@link PackageCheckError} with every problem.
 */
export async function checkPackage({ zip, env = CHECK_AZURE_ENV, keep = false }) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-package-check-'));
  const appRoot = path.join(work, 'app');
  const runnerDir = path.join(work, 'runner');
  fs.mkdirSync(appRoot);
  fs.mkdirSync(runnerDir);
  try {
    const names = unpack(path.resolve(zip), appRoot);
    const problems = layoutProblems(appRoot, names);
    if (problems.length > 0) throw new PackageCheckError(zip, problems);

    fs.writeFileSync(path.join(runnerDir, 'runner.cjs'), RUNNER);
    fs.writeFileSync(path.join(runnerDir, 'functions-core-stand-in.cjs'), STAND_IN);
    const resultFile = path.join(runnerDir, 'result.json');
    // A clean environment: only what a Function App has (no ATTEST_* of the shell that packaged it); the
    // working directory is not the app root, as for the Functions worker.
    const childEnv = { PATH: process.env.PATH ?? '', HOME: runnerDir, ...env };
    const run = spawnSync(
      process.execPath,
      [
        path.join(runnerDir, 'runner.cjs'),
        appRoot,
        resultFile,
        path.join(runnerDir, 'functions-core-stand-in.cjs'),
      ],
      { cwd: runnerDir, env: childEnv, encoding: 'utf8', timeout: 120_000 },
    );
    if (!fs.existsSync(resultFile))
      throw new PackageCheckError(zip, [
        `loading ${appRoot} ended without a result (exit ${run.status}${run.signal ? `, ${run.signal}` : ''}): ${(run.stderr || run.stdout || '').trim()}`,
      ]);
    const result = JSON.parse(fs.readFileSync(resultFile, 'utf8'));
    if (result.error)
      throw new PackageCheckError(zip, [`loading ${result.main ?? 'main'} failed: ${result.error}`]);
    const output = `${run.stdout}\n${run.stderr}`;
    if (/test mode/.test(output))
      problems.push(`@azure/functions ran in test mode (registrations skipped): ${output.trim()}`);
    problems.push(...registrationProblems(result));
    const expectedCatalog = path.join(appRoot, 'catalog', 'catalog.yaml');
    if (env.ATTEST_CATALOG_PATH === undefined && result.catalog.file !== expectedCatalog)
      problems.push(`the catalog loaded is ${result.catalog.file}, not the packaged ${expectedCatalog}`);
    if (problems.length > 0) throw new PackageCheckError(zip, problems);
    const kinds = Object.keys(TRIGGER_OF_KIND)
      .map((k) => `${result.expected.filter((f) => f.kind === k).length} ${k}`)
      .join(', ');
    return {
      summary: `${zip} starts: ${result.recorded.functions.length} functions registered (${kinds}); catalog ${result.catalog.id} v${result.catalog.version} (${result.catalog.apps} apps) from ${path.relative(appRoot, result.catalog.file)}`,
      registered: result.recorded.functions.map((f) => f.name),
      expected: result.expected,
      catalog: { ...result.catalog, file: path.relative(appRoot, result.catalog.file) },
    };
  } finally {
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--zip');
  const zip = at >= 0 ? args[at + 1] : path.join(root, '.deploy', 'attest.zip');
  if (!zip || !fs.existsSync(zip)) {
    console.error(
      `check-package: ${zip ?? '(no --zip value)'} does not exist; build it with \`npm run package\``,
    );
    process.exit(1);
  }
  try {
    console.log((await checkPackage({ zip })).summary);
  } catch (e) {
    console.error(`check-package: ${e.message}`);
    process.exit(1);
  }
}
