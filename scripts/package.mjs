/**
 * `npm run package`: builds what an admin deploys, and proves it starts.
 *
 *   npm run package -- [--catalog FILE] [--env NAME] [--out DIR] [--no-build]
 *
 * 1. The catalog: --catalog FILE, else ATTEST_CATALOG_PATH, else catalog/catalog.yaml; refused when it does not
 *    load, with the same file:line problems as `attest catalog check`.
 * 2. The Teams app package appPackage/build/appPackage.<env>.zip (--env, else TEAMSFX_ENV, else dev):
 *    manifest.json with its ${{...}} placeholders substituted from the environment, else env/.env.<env>, and the
 *    two icons; refused when a placeholder has no value or the manifest does not validate against the schema.
 * 3. `npm run build` (unless --no-build), then the function app package .deploy/attest.zip: dist/src (not
 *    dist/test or dist/bench), dist/tab, host.json, package.json, package-lock.json, catalog/catalog.yaml and the
 *    production dependencies (`npm ci --omit=dev --ignore-scripts` in a staging folder).
 * 4. scripts/check-package.mjs on the zip: unpacked, loaded as the Functions host would, every function
 *    registered, the catalog found.
 * With --out DIR both zips go to DIR instead. Node only: no `zip` binary needed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { checkPackage } from './check-package.mjs';
import { AppPackageError, buildAppPackage, checkAppPackage } from './teams-app-package.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const started = Date.now();
const rel = (p) => path.relative(process.cwd(), p) || '.';
const say = (line) => console.log(`package: [${((Date.now() - started) / 1000).toFixed(1)} s] ${line}`);

/** Stops with a message a person can act on. */
function refuse(message) {
  console.error(`package: REFUSED. ${message}`);
  process.exit(1);
}

function parseArgs(argv) {
  const opts = { build: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) refuse(`${arg} needs a value.`);
      return v;
    };
    if (arg === '--catalog') opts.catalog = value();
    else if (arg === '--env') opts.env = value();
    else if (arg === '--out') opts.out = value();
    else if (arg === '--no-build') opts.build = false;
    else if (arg === '--help' || arg === '-h') {
      console.log('npm run package -- [--catalog FILE] [--env NAME] [--out DIR] [--no-build]');
      process.exit(0);
    } else
      refuse(
        `unknown option ${arg}. Usage: npm run package -- [--catalog FILE] [--env NAME] [--out DIR] [--no-build]`,
      );
  }
  return opts;
}

/** The admin's catalog: --catalog, else ATTEST_CATALOG_PATH, else catalog/catalog.yaml when it exists. */
function chooseCatalog(opts) {
  const given = opts.catalog ?? process.env.ATTEST_CATALOG_PATH?.trim();
  const how = opts.catalog ? '--catalog' : 'ATTEST_CATALOG_PATH';
  if (given) {
    const file = path.resolve(given);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile())
      refuse(`${how} names ${given}, and there is no file there.`);
    return file;
  }
  const fallback = path.join(root, 'catalog', 'catalog.yaml');
  if (fs.existsSync(fallback)) return fallback;
  refuse(
    'No access catalog to package. Write yours (format: docs/catalog.md), check it with ' +
      '`attest catalog check --file <file>`, then run `npm run package -- --catalog <file>` ' +
      '(or set ATTEST_CATALOG_PATH, or save it as catalog/catalog.yaml).',
  );
}

/** Validates the catalog with the compiled loader, exactly as `attest catalog check` and the host load it. */
async function validateCatalog(file, shown) {
  const { loadCatalogFile } = require(
    path.join(root, 'dist', 'src', 'adapters', 'catalog', 'catalog-file.loader.js'),
  );
  try {
    return await loadCatalogFile(file);
  } catch (e) {
    if (e?.code?.startsWith?.('CATALOG.')) {
      console.error(e.message);
      refuse(
        `the catalog does not load (${e.code}). Fix it (docs/catalog.md), check it with \`attest catalog check --file ${shown}\`, and package again.`,
      );
    }
    throw e;
  }
}

/** Every file under `dir`, as paths relative to it (symbolic links are refused: a zip cannot carry them). */
function filesUnder(dir, base = dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full, base));
    else if (entry.isFile()) out.push(path.relative(base, full));
    else if (entry.isSymbolicLink())
      throw new Error(`${full} is a symbolic link; the package cannot carry it`);
  }
  return out;
}

const STORED = /\.(png|jpe?g|gif|webp|woff2?|zip|gz|br)$/i;

/**
 * Files of the dependencies Node never loads, left out of the zip (half its unpacked size): source maps, type
 * declarations and TypeScript sources, TypeScript build info. Licences and everything else stay.
 */
const NOT_RUNTIME = /^node_modules\/.*(\.map|\.[cm]?ts|\.tsbuildinfo)$/;

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const env = opts.env ?? process.env.TEAMSFX_ENV ?? 'dev';
  const outDir = opts.out ? path.resolve(opts.out) : path.join(root, '.deploy');
  const zipFile = path.join(outDir, 'attest.zip');
  const appZip = opts.out
    ? path.join(outDir, `appPackage.${env}.zip`)
    : path.join(root, 'appPackage', 'build', `appPackage.${env}.zip`);

  // Everything an admin can get wrong is refused before the slow steps.
  const catalogFile = chooseCatalog(opts);
  try {
    await buildAppPackage({ root, env, outFile: appZip });
  } catch (e) {
    if (e instanceof AppPackageError) refuse(e.message);
    throw e;
  }
  const app = await checkAppPackage(appZip);
  if (app.problems.length > 0) refuse(`${rel(appZip)}: ${app.problems.join('; ')}`);
  say(
    `${rel(appZip)}: Teams app ${app.manifest.id} (manifest ${app.manifest.manifestVersion}, schema valid)`,
  );

  if (opts.build) {
    say('npm run build');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
  }
  for (const built of ['dist/src/functions/index.js', 'dist/tab/index.html'])
    if (!fs.existsSync(path.join(root, built))) refuse(`${built} is missing: run \`npm run build\` first.`);
  const catalog = await validateCatalog(
    catalogFile,
    opts.catalog ?? process.env.ATTEST_CATALOG_PATH?.trim() ?? rel(catalogFile),
  );
  say(`catalog ${rel(catalogFile)}: ${catalog.catalog.id} v${catalog.catalog.version} loads`);

  const staging = path.join(outDir, 'app');
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  for (const part of ['dist/src', 'dist/tab', 'host.json', 'package.json', 'package-lock.json'])
    fs.cpSync(path.join(root, part), path.join(staging, part), { recursive: true });
  fs.mkdirSync(path.join(staging, 'catalog'));
  fs.copyFileSync(catalogFile, path.join(staging, 'catalog', 'catalog.yaml'));

  say('npm ci --omit=dev (production dependencies)');
  execFileSync(
    'npm',
    ['ci', '--omit=dev', '--ignore-scripts', '--no-bin-links', '--no-audit', '--no-fund', '--prefer-offline'],
    { cwd: staging, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  fs.rmSync(path.join(staging, 'node_modules', '.package-lock.json'), { force: true });
  say('zipping');

  const entries = {};
  for (const name of filesUnder(staging).sort()) {
    const zipName = name.split(path.sep).join('/');
    if (NOT_RUNTIME.test(zipName)) continue;
    entries[zipName] = [
      new Uint8Array(fs.readFileSync(path.join(staging, name))),
      { level: STORED.test(name) ? 0 : 6 },
    ];
  }
  fs.rmSync(zipFile, { force: true });
  fs.writeFileSync(zipFile, zipSync(entries));
  fs.rmSync(staging, { recursive: true, force: true });
  const mb = (fs.statSync(zipFile).size / 1024 / 1024).toFixed(1);
  say(`${rel(zipFile)}: ${Object.keys(entries).length} files, ${mb} MB`);

  const checked = await checkPackage({ zip: zipFile });
  say(checked.summary);
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((e) => {
  console.error(`package: FAILED: ${e?.message ?? e}`);
  process.exit(1);
});
