/**
 * `npm run build`, and the first step of `npm start`, `npm test` and `npm run bench`: builds only what changed.
 *
 * 1. tsc on tsconfig.build.json, which is incremental (build info in dist/tsconfig.build.tsbuildinfo): a
 *    changed file is compiled again with what depends on it; a fresh clone (no dist/) gets a full build. When
 *    no file or folder under src, test/support or bench is newer than the last build without errors
 *    (dist/tsconfig.build.ok), tsc is not even started.
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

/**
 * Marks a build that tsc finished without errors; its modification time is when that build STARTED, so a file
 * saved while tsc ran is newer. Deleted before each run of tsc: after a failed build it is absent.
 */
const okStamp = (root) => path.join(root, 'dist', 'tsconfig.build.ok');

/**
 * The newest modification time among everything tsc's inputs could be: all files AND folders under src
 * (but src/tab, which the tab's bundler reads instead), test/support and bench (a folder's time changes when
 * a file in it is added, deleted or renamed), the tsconfig files and the installed TypeScript. A superset of
 * tsc's own inputs, JSON imported by the code included, so it never misses a change.
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
  const tab = path.join(root, 'src', 'tab');
  for (const top of ['src', 'test/support', 'bench']) {
    const dir = path.join(root, top);
    if (!fs.existsSync(dir)) continue;
    note(dir);
    for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
      const abs = path.join(e.parentPath ?? e.path, e.name);
      if (abs !== tab && !abs.startsWith(`${tab}${path.sep}`)) note(abs);
    }
  }
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'node_modules/typescript/package.json']) {
    note(path.join(root, f));
  }
  return newest;
}

/**
 * Compiles with tsc unless nothing changed since the last build without errors (checked here in a few
 * milliseconds, without loading the compiler). tsc itself is incremental (tsconfig.build.json): it compares
 * every file of the program, imported JSON included, with its build info by content and writes only what
 * changed. NB. Not `tsc -b`: its up-to-date check looks at the timestamps of root files only, and misses an
 * edited card template (JSON is not a root file). Resolves to the number of files written, or tsc's exit
 * status when it failed.
 */
async function compile(root, force) {
  if (!force && fs.existsSync(okStamp(root)) && newestInput(root) < fs.statSync(okStamp(root)).mtimeMs) {
    console.log('build: compiled code up to date');
    return { written: 0 };
  }
  const tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
  const info = path.join(root, 'dist', 'tsconfig.build.tsbuildinfo');
  const fresh = force || !fs.existsSync(info);
  const t0 = performance.now();
  const startedAt = new Date();
  fs.rmSync(okStamp(root), { force: true });
  if (force) fs.rmSync(info, { force: true });
  const child = spawn(
    process.execPath,
    [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--listEmittedFiles'],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // tsc writes its errors and the files it wrote (`TSFILE: <path>`) to stdout: count the one, pass on the other.
  let written = 0;
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('TSFILE: ')) written++;
      else process.stdout.write(`${line}\n`);
    }
  });
  const run = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status, signal) => resolve({ status, signal }));
  });
  if (rest) process.stdout.write(`${rest}\n`);
  if (run.status !== 0) {
    console.error(
      `build: tsc failed${run.signal ? ` (${run.signal})` : ''}: fix the errors above and run it again.`,
    );
    return { failed: run.status || 1 };
  }
  fs.writeFileSync(okStamp(root), 'the last tsc -p tsconfig.build.json succeeded; see scripts/build.mjs\n');
  fs.utimesSync(okStamp(root), startedAt, startedAt);
  const took = `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  if (written === 0) console.log(`build: compiled code up to date (checked by tsc, ${took})`);
  else if (fresh) console.log(`build: compiled everything, ${written} files written (${took})`);
  else console.log(`build: compiled what changed, ${written} file(s) written (${took})`);
  return { written };
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
