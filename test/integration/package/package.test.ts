/**
 * `npm run package` (scripts/package.mjs) and the check that the zip starts (scripts/check-package.mjs): the
 * zip is built from the compiled tree (dist/, so run `npx tsc -p tsconfig.build.json` first, as `npm test`
 * does), unpacked and loaded in a fresh Node process with a stand-in for the Functions host's registration API.
 * What it registered is compared with the function list the sources build for the same Azure settings.
 * Needs the npm registry or cache (`npm ci --omit=dev --prefer-offline` into the staging folder).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { loadConfig } from '../../../src/config/config';
import { buildFunctionList } from '../../../src/functions/function-list';
import { AZURE_ENV } from '../../support/azure-env';

jest.setTimeout(600_000);

const root = path.resolve(__dirname, '..', '..', '..');

/** What provisioning writes into env/.env.dev for the manifest's placeholders. */
const PROVISIONED = {
  TEAMS_APP_ID: '3f1e2d4c-5b6a-4789-8a0b-1c2d3e4f5a6b',
  BOT_ID: AZURE_ENV.ATTEST_BOT_APP_ID,
  AAD_APP_CLIENT_ID: AZURE_ENV.ATTEST_TAB_CLIENT_ID,
  BOT_DOMAIN: 'attest.azurewebsites.net',
};

/** The environment of a shell that packages: no ATTEST_* of this process, the provisioned values. */
function packagingEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ATTEST_')) env[k] = v;
  return { ...env, ...PROVISIONED, ...extra };
}

function runPackage(args: string[], env = packagingEnv()) {
  const run = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface CheckResult {
  ok: boolean;
  summary?: string;
  registered?: string[];
  catalog?: { setting: string; file: string; id: string; version: number; apps: number };
  message?: string;
  problems?: string[];
}

/** Calls checkPackage (an ES module) in a child Node process with the Azure settings `env`. */
function checkZip(zip: string, env: Record<string, string>): CheckResult {
  const code = `
    import { checkPackage } from ${JSON.stringify(path.join(root, 'scripts', 'check-package.mjs'))};
    const [zip, env] = [process.argv[1], JSON.parse(process.argv[2])];
    try {
      console.log(JSON.stringify({ ok: true, ...(await checkPackage({ zip, env })) }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, message: e.message, problems: e.problems }));
    }`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', code, zip, JSON.stringify(env)], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = run.stdout.trim().split('\n').at(-1);
  if (!last) throw new Error(`check-package printed nothing (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(last) as CheckResult;
}

/** A copy of `zip` with `change` applied to its entries. */
function rezip(zip: string, to: string, change: (entries: Record<string, Uint8Array>) => void): string {
  const entries = unzipSync(new Uint8Array(fs.readFileSync(zip)));
  change(entries);
  fs.writeFileSync(to, zipSync(entries, { level: 0 }));
  return to;
}

/** The Azure settings of the check, with the catalog left to its Azure default (catalog/catalog.yaml). */
const { ATTEST_CATALOG_PATH: _demoCatalog, ...azureEnv } = AZURE_ENV;

let out: string;
let zip: string;
let packaged: ReturnType<typeof runPackage>;

beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-package-test-'));
  packaged = runPackage([
    '--no-build',
    '--catalog',
    'catalog/demo-catalog.yaml',
    '--env',
    'dev',
    '--out',
    out,
  ]);
  zip = path.join(out, 'attest.zip');
});
afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

test('npm run package builds the zip and the Teams app package, and its own check passes', () => {
  expect(packaged.stderr).not.toMatch(/REFUSED|FAILED/);
  expect(packaged.code).toBe(0);
  expect(packaged.stdout).toMatch(/^package: .*attest\.zip starts: \d+ functions registered/m);
  expect(fs.existsSync(zip)).toBe(true);
  expect(fs.existsSync(path.join(out, 'appPackage.dev.zip'))).toBe(true);
});

test('the zip holds the compiled app, the tab, the catalog and production dependencies only', () => {
  const names: string[] = [];
  unzipSync(new Uint8Array(fs.readFileSync(zip)), {
    filter: (file) => {
      names.push(file.name);
      return false;
    },
  });
  for (const must of [
    'host.json',
    'package.json',
    'package-lock.json',
    'dist/src/functions/index.js',
    'dist/tab/index.html',
    'catalog/catalog.yaml',
    'node_modules/@azure/functions/package.json',
    'node_modules/durable-functions/package.json',
  ])
    expect(names).toContain(must);
  for (const never of ['dist/test/', 'dist/bench/', 'src/', 'node_modules/typescript/', 'node_modules/jest/'])
    expect(names.filter((n) => n.startsWith(never))).toEqual([]);
  for (const dev of ['azurite', 'playwright-core', 'esbuild', '@microsoft/app-manifest'])
    expect(names.filter((n) => n.startsWith(`node_modules/${dev}/`))).toEqual([]);
  const catalog = unzipSync(new Uint8Array(fs.readFileSync(zip)), {
    filter: (f) => f.name === 'catalog/catalog.yaml',
  })['catalog/catalog.yaml'];
  expect(strFromU8(catalog)).toBe(fs.readFileSync(path.join(root, 'catalog', 'demo-catalog.yaml'), 'utf8'));
});

test('loaded as the Functions host would, the zip registers every function of the list and finds the catalog', () => {
  const result = checkZip(zip, azureEnv);
  expect(result).toMatchObject({ ok: true });
  // The sources' own list for the same settings: the package registers what the code says, no more, no less.
  const list = buildFunctionList(loadConfig(AZURE_ENV, 'azure'));
  expect([...(result.registered ?? [])].sort()).toEqual(list.map((f) => f.name).sort());
  expect(result.catalog).toMatchObject({
    setting: 'catalog/catalog.yaml',
    file: path.join('catalog', 'catalog.yaml'),
    id: 'contoso-demo',
  });
});

test('the Teams app package holds the substituted manifest and its icons, valid for the schema', () => {
  const app = unzipSync(new Uint8Array(fs.readFileSync(path.join(out, 'appPackage.dev.zip'))));
  expect(Object.keys(app).sort()).toEqual(['color.png', 'manifest.json', 'outline.png']);
  const manifest = strFromU8(app['manifest.json']);
  expect(manifest).not.toContain('${{');
  const parsed = JSON.parse(manifest) as {
    id: string;
    bots: { botId: string }[];
    validDomains: string[];
    webApplicationInfo: { id: string; resource: string };
  };
  expect(parsed.id).toBe(PROVISIONED.TEAMS_APP_ID);
  expect(parsed.bots[0].botId).toBe(PROVISIONED.BOT_ID);
  expect(parsed.validDomains).toEqual([PROVISIONED.BOT_DOMAIN]);
  expect(parsed.webApplicationInfo).toEqual({
    id: PROVISIONED.AAD_APP_CLIENT_ID,
    resource: `api://${PROVISIONED.BOT_DOMAIN}/${PROVISIONED.AAD_APP_CLIENT_ID}`,
  });
});

test('a zip whose configured catalog is missing does not start, naming the setting and the resolved path', () => {
  const result = checkZip(zip, { ...azureEnv, ATTEST_CATALOG_PATH: 'catalog/other.yaml' });
  expect(result.ok).toBe(false);
  expect(result.message).toMatch(
    /loading dist\/src\/functions\/index\.js failed: config: ATTEST_CATALOG_PATH is "catalog\/other\.yaml", which resolves to \S+\/app\/catalog\/other\.yaml, and there is no file there/,
  );
});

test('the check refuses a zip carrying a dev-only package or missing the catalog', () => {
  // A small zip with the package's own package.json and lock file: the layout is checked before any loading.
  const pick = unzipSync(new Uint8Array(fs.readFileSync(zip)), {
    filter: (f) => ['package.json', 'package-lock.json', 'host.json'].includes(f.name),
  });
  const bad = path.join(out, 'bad.zip');
  fs.writeFileSync(
    bad,
    zipSync({
      ...pick,
      'node_modules/typescript/package.json': strToU8('{"name":"typescript","version":"5.9.3"}'),
      'node_modules/@azure/functions-core/package.json': strToU8('{"name":"@azure/functions-core"}'),
    }),
  );
  const result = checkZip(bad, azureEnv);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual(
    expect.arrayContaining([
      'catalog/catalog.yaml is not in the package',
      'dist/src/functions/index.js is not in the package',
      'the dev-only package node_modules/typescript is in the package',
      "the devDependency typescript is in the package's node_modules",
      'node_modules/@azure/functions-core is in the package: the Functions host provides it',
      "the dependency durable-functions is missing from the package's node_modules",
    ]),
  );
});

test('an entry point that registers nothing is caught, not trusted as a quiet load', () => {
  const bad = rezip(zip, path.join(out, 'silent.zip'), (entries) => {
    entries['dist/src/functions/index.js'] = strToU8("'use strict';\n");
  });
  const result = checkZip(bad, azureEnv);
  expect(result.ok).toBe(false);
  expect(result.problems).toEqual(
    expect.arrayContaining([
      '@azure/functions never set its programming model with the host',
      'bot-messages (http) was not registered',
    ]),
  );
});

describe('npm run package refuses', () => {
  test('an invalid catalog, with the file:line problems of attest catalog check', () => {
    const file = path.join(out, 'broken-catalog.yaml');
    const demo = fs.readFileSync(path.join(root, 'catalog', 'demo-catalog.yaml'), 'utf8');
    fs.writeFileSync(file, demo.replace(/^ {2}timeout: 48h$/m, '  timeout: soon'));
    const line = demo.split('\n').findIndex((l) => l === '  timeout: 48h') + 1;
    expect(line).toBeGreaterThan(0);
    const result = runPackage(['--no-build', '--catalog', file, '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file}:${line}:`);
    expect(result.stderr).toMatch(/package: REFUSED\. the catalog does not load \(CATALOG\.INVALID\)/);
    expect(result.stderr).toContain(`attest catalog check --file ${file}`);
  });

  test('a catalog path that names no file', () => {
    const result = runPackage(['--no-build', '--out', out], {
      ...packagingEnv(),
      ATTEST_CATALOG_PATH: path.join(out, 'no-such.yaml'),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`ATTEST_CATALOG_PATH names ${path.join(out, 'no-such.yaml')}`);
  });

  test('a manifest placeholder with no value, by name', () => {
    const result = runPackage(['--no-build', '--catalog', 'catalog/demo-catalog.yaml', '--out', out], {
      ...packagingEnv(),
      BOT_DOMAIN: '',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /package: REFUSED\. appPackage\/manifest\.json uses \$\{\{BOT_DOMAIN\}\}, with no value in the environment or in env\/\.env\.dev/,
    );
  });
});
