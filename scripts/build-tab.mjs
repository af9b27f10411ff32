/**
 * Bundles the Teams tab (src/tab) with esbuild to dist/tab/: index.html and app.js (with its hash in the
 * script's URL, so a new build is never served from a stale cache). Part of `npm run build`; takes about two
 * seconds, so it is skipped when nothing the bundle was made from changed: dist/tab.stamp.json keeps a hash of
 * its inputs (every source file esbuild read, everything under src/tab, this script, the version of each
 * package the bundle took code from, esbuild's own and ATTEST_TAB_DEV). Type-checking is `tsc -p src/tab` (in
 * `npm run lint`): esbuild only strips types.
 *
 * `node scripts/build-tab.mjs [--force] [--root DIR]`: --force bundles even when the stamp matches; --root
 * builds another checkout (the build's tests use a scratch project).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SCRIPT = fileURLToPath(import.meta.url);

/** The stamp beside dist/tab (not inside it: dist/tab is served as is). */
export function tabStampPath(root) {
  return path.join(root, 'dist', 'tab.stamp.json');
}

/** Every file under `dir`, as paths relative to `root` with forward slashes, sorted. */
function filesUnder(root, dir) {
  const abs = path.join(root, dir);
  if (!fs.existsSync(abs)) return [];
  return fs
    .readdirSync(abs, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) =>
      path
        .relative(root, path.join(e.parentPath ?? e.path, e.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

/** The hash of what a bundle built from `inputs` (files) and `packages` (package folders) depends on. */
function inputsKey(root, inputs, packages) {
  const h = crypto.createHash('sha256');
  h.update(`attest-tab-stamp-1\0dev=${process.env.ATTEST_TAB_DEV === '1'}\0`);
  h.update(fs.readFileSync(SCRIPT));
  for (const file of [...new Set([...inputs, ...filesUnder(root, 'src/tab')])].sort()) {
    const abs = path.resolve(root, file);
    h.update(`\0file ${file}\0`);
    h.update(fs.existsSync(abs) ? fs.readFileSync(abs) : '<missing>');
  }
  for (const dir of [...new Set([...packages, 'node_modules/esbuild'])].sort()) {
    let version = '<missing>';
    try {
      version = JSON.parse(fs.readFileSync(path.resolve(root, dir, 'package.json'), 'utf8')).version;
    } catch {
      // a package that went away: the key changes, so the tab is bundled again
    }
    h.update(`\0package ${dir}@${version}`);
  }
  return h.digest('hex');
}

/** Whether dist/tab is what bundling now would produce: its stamp's key matches the inputs as they are. */
export function tabUpToDate(root) {
  const out = path.join(root, 'dist', 'tab');
  if (!fs.existsSync(path.join(out, 'index.html')) || !fs.existsSync(path.join(out, 'app.js'))) return false;
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(tabStampPath(root), 'utf8'));
  } catch {
    return false;
  }
  if (!Array.isArray(stamp.inputs) || !Array.isArray(stamp.packages)) return false;
  return stamp.key === inputsKey(root, stamp.inputs, stamp.packages);
}

/**
 * Bundles the tab into `root`/dist/tab unless its stamp says nothing changed (or `force`). Returns whether it
 * bundled, and prints one line either way.
 */
export async function buildTab({ root, force = false }) {
  if (!force && tabUpToDate(root)) {
    console.log('tab: unchanged, dist/tab kept');
    return { built: false };
  }
  const { build } = await import('esbuild');
  const out = path.join(root, 'dist', 'tab');
  fs.rmSync(tabStampPath(root), { force: true });
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src', 'tab', 'main.tsx')],
    bundle: true,
    outfile: path.join(out, 'app.js'),
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    minify: process.env.ATTEST_TAB_DEV !== '1',
    sourcemap: true,
    legalComments: 'linked',
    define: {
      'process.env.NODE_ENV': JSON.stringify(
        process.env.ATTEST_TAB_DEV === '1' ? 'development' : 'production',
      ),
    },
    tsconfig: path.join(root, 'src', 'tab', 'tsconfig.json'),
    logLevel: 'warning',
    metafile: true,
  });
  const hash = crypto
    .createHash('sha256')
    .update(fs.readFileSync(path.join(out, 'app.js')))
    .digest('hex')
    .slice(0, 12);
  fs.writeFileSync(
    path.join(out, 'index.html'),
    `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Attest</title>
  </head>
  <body style="margin:0">
    <div id="root"></div>
    <script type="module" src="app.js?v=${hash}"></script>
  </body>
</html>
`,
  );
  // What the bundle was made from, as esbuild read it (paths relative to root): our sources, and the package
  // folder of each file taken from node_modules (its version stands for its files).
  const inputs = [];
  const packages = new Set();
  for (const file of Object.keys(result.metafile.inputs)) {
    const pkg = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file);
    if (pkg) packages.add(pkg[1]);
    else inputs.push(file);
  }
  const stamp = {
    key: inputsKey(root, inputs, [...packages]),
    inputs: inputs.sort(),
    packages: [...packages].sort(),
  };
  fs.writeFileSync(tabStampPath(root), `${JSON.stringify(stamp, null, 1)}\n`);
  const bytes = fs.statSync(path.join(out, 'app.js')).size;
  console.log(
    `tab: dist/tab/index.html, app.js ${(bytes / 1024).toFixed(0)} KiB (${hash}), with its source map`,
  );
  return { built: true };
}

/** The command line: `[--force] [--root DIR]`. */
export function parseBuildArgs(argv) {
  const args = { root: path.resolve(path.dirname(SCRIPT), '..'), force: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--force') args.force = true;
    else if (argv[i] === '--root' && argv[i + 1]) args.root = path.resolve(argv[++i]);
    else {
      console.error(
        `unknown option ${argv[i]}. usage: node ${path.relative(process.cwd(), process.argv[1])} [--force] [--root DIR]`,
      );
      process.exit(2);
    }
  }
  return args;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildTab(parseBuildArgs(process.argv.slice(2)));
}
