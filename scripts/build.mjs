/**
 * `npm run build`, and the first step of `npm start`, `npm test` and `npm run bench`: builds only what changed.
 *
 * 1. `tsc -b tsconfig.build.json`: tsconfig.build.json is incremental, its build info in
 *    dist/tsconfig.build.tsbuildinfo. A changed file is compiled again with what depends on it; a fresh clone
 *    (no dist/) gets a full build. When no file or folder under src, test/support or bench is newer than the
 *    last build without errors (dist/tsconfig.build.ok), tsc is not even started.
 * 2. Meanwhile the tab is bundled, if its inputs changed (scripts/build-tab.mjs, stamp in dist/tab.stamp.json).
 * 3. Outputs whose source is gone are deleted: tsc never removes what it emitted for a file since deleted or
 *    renamed, and a stale module left in dist/ could still be loaded (bench/run.js loads every *.bench.js).
 *
 * `node scripts/build.mjs [--force] [--root DIR]`: --force rebuilds everything; --root builds another
 * checkout (the build's tests use a scratch project). Prints one line per step; a type error fails the build
 * every time, not only the first.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildTab, parseBuildArgs } from './build-tab.mjs';

/** The folders of dist/ that tsc writes (the build's `include`: src, test/support, bench; rootDir "."). */
const TSC_OUTPUT_DIRS = ['src', 'test', 'bench'];

/** The build info's modification time, or 0: it changes exactly when tsc built. */
function buildInfoTime(root) {
  try {
    return fs.statSync(path.join(root, 'dist', 'tsconfig.build.tsbuildinfo')).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Marks a build that tsc finished without errors; its modification time is when that build STARTED, so a file
 * saved while tsc ran is newer. Deleted before each run of tsc: after a failed build it is absent.
 */
const okStamp = (root) => path.join(root, 'dist', 'tsconfig.build.ok');

/**
 * The newest modification time among everything tsc's inputs could be: all files AND folders under src,
 * test/support and bench (a folder's time changes when a file in it is added, deleted or renamed), the
 * tsconfig files and the installed TypeScript. A superset of tsc's own inputs, so it never misses a change.
 */
function newestInput(root) {
  let newest = 0;
  const note = (abs) => {
    try {
      newest = Math.max(newest, fs.statSync(abs).mtimeMs);
    } catch {
      newest = Infinity; // cannot tell: let tsc decide
    }
  };
  for (const top of ['src', 'test/support', 'bench']) {
    const dir = path.join(root, top);
    if (!fs.existsSync(dir)) continue;
    note(dir);
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      note(path.join(e.parentPath ?? e.path, e.name));
    }
  }
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'node_modules/typescript/package.json']) {
    note(path.join(root, f));
  }
  return newest;
}

/**
 * Runs tsc in build mode unless nothing changed since the last build without errors (checked here in a few
 * milliseconds; tsc's own check costs half a second of loading the compiler). Resolves to whether it compiled anything, or tsc's exit status when it failed.
 */
async function compile(root, force) {
  if (!force && fs.existsSync(okStamp(root)) && newestInput(root) < fs.statSync(okStamp(root)).mtimeMs) {
    console.log('build: compiled code up to date');
    return { compiled: false };
  }
  const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
  const before = buildInfoTime(root);
  const t0 = performance.now();
  const startedAt = new Date();
  fs.rmSync(okStamp(root), { force: true });
  const child = spawn(
    process.execPath,
    [tsc, '-b', path.join(root, 'tsconfig.build.json'), ...(force ? ['--force'] : [])],
    { cwd: root, stdio: 'inherit' },
  );
  const run = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (status, signal) => resolve({ status, signal }));
  });
  if (run.status !== 0) {
    console.error(
      `build: tsc failed${run.signal ? ` (${run.signal})` : ''}: fix the errors above and run it again.`,
    );
    return { failed: run.status || 1 };
  }
  fs.writeFileSync(
    okStamp(root),
    'the last tsc -b of tsconfig.build.json succeeded; see scripts/build.mjs\n',
  );
  fs.utimesSync(okStamp(root), startedAt, startedAt);
  const compiled = buildInfoTime(root) !== before;
  const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  if (!compiled) console.log('build: compiled code up to date');
  else
    console.log(before ? `build: compiled what changed (${took})` : `build: compiled everything (${took})`);
  return { compiled };
}

/** The source an output of tsc came from, relative to root, or undefined for a file tsc does not write. */
function sourcesOf(output) {
  if (output.endsWith('.js.map')) return [`${output.slice(0, -7)}.ts`, `${output.slice(0, -7)}.tsx`];
  if (output.endsWith('.js')) return [`${output.slice(0, -3)}.ts`, `${output.slice(0, -3)}.tsx`];
  if (output.endsWith('.json')) return [output]; // resolveJsonModule copies imported JSON as is
  return undefined;
}

/** Deletes the outputs in dist/ whose source no longer exists, and folders left empty. Returns their paths. */
function pruneStaleOutputs(root) {
  const dist = path.join(root, 'dist');
  const removed = [];
  for (const top of TSC_OUTPUT_DIRS) {
    const dir = path.join(dist, top);
    if (!fs.existsSync(dir)) continue;
    const entries = fs.readdirSync(dir, { recursive: true, withFileTypes: true });
    for (const e of entries) {
      if (!e.isFile()) continue;
      const abs = path.join(e.parentPath ?? e.path, e.name);
      const output = path.relative(dist, abs);
      const sources = sourcesOf(output);
      if (sources && !sources.some((s) => fs.existsSync(path.join(root, s)))) {
        fs.rmSync(abs);
        removed.push(path.relative(root, abs));
      }
    }
    removeEmptyFolders(dir);
  }
  removed.sort();
  if (removed.length) {
    console.log(`build: deleted ${removed.length} output(s) whose source is gone: ${removed.join(', ')}`);
  }
  return removed;
}

function removeEmptyFolders(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeEmptyFolders(path.join(dir, e.name));
  }
  if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
}

const args = parseBuildArgs(process.argv.slice(2));
// tsc runs in its own process: the tab is bundled meanwhile (on a fresh clone both have work to do).
const [tsc] = await Promise.all([compile(args.root, args.force), buildTab(args)]);
if (tsc.failed) process.exit(tsc.failed);
pruneStaleOutputs(args.root);
