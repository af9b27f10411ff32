/**
 * scripts/build.mjs (`npm run build`, and the first step of `npm start`) on a scratch project with this
 * repository's compiler settings: an unchanged tree is not rebuilt, a changed file is, a deleted source leaves
 * no output behind, and a type error fails every build until it is fixed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BUILD = path.join(ROOT, 'scripts', 'build.mjs');
let project: string;

jest.setTimeout(180_000);

function write(file: string, text: string): void {
  const abs = path.join(project, file);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, text);
  // tsc -b compares timestamps: a source edited within the build info's timestamp tick must still read newer.
  const info = path.join(project, 'dist', 'tsconfig.build.tsbuildinfo');
  if (fs.existsSync(info)) {
    const after = fs.statSync(info).mtimeMs;
    if (fs.statSync(abs).mtimeMs <= after) fs.utimesSync(abs, new Date(), new Date(after + 1));
  }
}

function build() {
  const result = spawnSync(process.execPath, [BUILD, '--root', project], { encoding: 'utf8' });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

/** Every file under dist/ with its modification time. */
function distTimes(): Record<string, number> {
  const dist = path.join(project, 'dist');
  const times: Record<string, number> = {};
  for (const e of fs.readdirSync(dist, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const abs = path.join(e.parentPath, e.name);
    times[path.relative(dist, abs)] = fs.statSync(abs).mtimeMs;
  }
  return times;
}

const dist = (file: string) => path.join(project, 'dist', file);

beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-build-'));
  for (const f of ['tsconfig.json', 'tsconfig.build.json', 'src/tab/tsconfig.json']) {
    write(f, fs.readFileSync(path.join(ROOT, f), 'utf8'));
  }
  write('package.json', '{ "name": "scratch", "private": true }\n');
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(project, 'node_modules'));
  write('src/a.ts', "export function a(): string {\n  return 'a1';\n}\n");
  write('src/b.ts', "import { a } from './a';\n\nexport const b = (): string => `${a()}b`;\n");
  write('src/c.ts', 'export const c = 1;\n');
  write('src/card.json', '{ "title": "one" }\n');
  write('src/d.ts', "import card from './card.json';\n\nexport const title = card.title;\n");
  write('bench/x.bench.ts', 'export const x = 1;\n');
  write('src/tab/main.tsx', "document.body.textContent = 'tab one';\n");
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

test('a fresh checkout gets a full build: compiled code, its build info under dist/, the tab and its stamp', () => {
  const result = build();
  expect(result.code).toBe(0);
  for (const f of [
    'src/a.js',
    'src/b.js',
    'src/c.js',
    'src/card.json',
    'bench/x.bench.js',
    'tab/app.js',
    'tab/index.html',
  ]) {
    expect(fs.existsSync(dist(f))).toBe(true);
  }
  expect(fs.existsSync(dist('tsconfig.build.tsbuildinfo'))).toBe(true);
  expect(fs.existsSync(dist('tab.stamp.json'))).toBe(true);
  expect(result.out).toContain('build: compiled everything');
  expect(result.out).toMatch(/^tab: dist\/tab\/index.html/m);
});

test('building an unchanged tree again writes nothing in dist/', () => {
  const before = distTimes();
  const result = build();
  expect(result.code).toBe(0);
  expect(result.out).toContain('build: compiled code up to date');
  expect(result.out).toContain('tab: unchanged, dist/tab kept');
  expect(distTimes()).toEqual(before);
});

test('a changed source file is emitted again, a file that does not depend on it is not', () => {
  const before = distTimes();
  write('src/c.ts', 'export const c = 2;\n');
  const result = build();
  expect(result.code).toBe(0);
  expect(result.out).toContain('build: compiled what changed');
  expect(fs.readFileSync(dist('src/c.js'), 'utf8')).toContain('exports.c = 2');
  const after = distTimes();
  expect(after['src/c.js']).toBeGreaterThan(before['src/c.js']);
  expect(after['src/a.js']).toBe(before['src/a.js']);
  expect(after['tab/app.js']).toBe(before['tab/app.js']);
});

test('a source saved without a change is checked, and nothing is written', () => {
  const before = distTimes();
  write('src/c.ts', fs.readFileSync(path.join(project, 'src/c.ts'), 'utf8'));
  const result = build();
  expect(result.code).toBe(0);
  expect(result.out).toContain('build: compiled code up to date (checked by tsc');
  const after = distTimes();
  for (const [file, time] of Object.entries(before)) {
    if (!file.startsWith('tsconfig.build.')) expect([file, after[file]]).toEqual([file, time]);
  }
});

test('an edited JSON file the code imports is copied again', () => {
  write('src/card.json', '{ "title": "two" }\n');
  const result = build();
  expect(result.code).toBe(0);
  expect(result.out).toContain('build: compiled what changed');
  expect(JSON.parse(fs.readFileSync(dist('src/card.json'), 'utf8'))).toEqual({ title: 'two' });
});

test('a changed tab source bundles the tab again', () => {
  write('src/tab/main.tsx', "document.body.textContent = 'tab two';\n");
  const result = build();
  expect(result.out).toMatch(/^tab: dist\/tab\/index.html/m);
  expect(fs.readFileSync(dist('tab/app.js'), 'utf8')).toContain('tab two');
  expect(build().out).toContain('tab: unchanged, dist/tab kept');
});

test('a deleted or renamed source leaves no output behind to be loaded', () => {
  fs.renameSync(path.join(project, 'src/b.ts'), path.join(project, 'src/b2.ts'));
  fs.rmSync(path.join(project, 'bench/x.bench.ts'));
  const result = build();
  expect(result.code).toBe(0);
  expect(fs.existsSync(dist('src/b2.js'))).toBe(true);
  for (const gone of ['src/b.js', 'src/b.js.map', 'bench/x.bench.js', 'bench']) {
    expect(fs.existsSync(dist(gone))).toBe(false);
  }
  expect(result.out).toContain(
    'build: deleted 4 output(s) whose source is gone: dist/bench/x.bench.js, dist/bench/x.bench.js.map, dist/src/b.js, dist/src/b.js.map',
  );
});

test('a type error fails every build until it is fixed, not only the first', () => {
  write('src/a.ts', 'export function a(): string {\n  return 1;\n}\n');
  const first = build();
  expect(first.code).not.toBe(0);
  expect(first.out).toContain(
    "src/a.ts(2,3): error TS2322: Type 'number' is not assignable to type 'string'.",
  );
  expect(first.out).toContain('build: tsc failed');
  expect(build().code).not.toBe(0);
  write('src/a.ts', "export function a(): string {\n  return 'a2';\n}\n");
  expect(build().code).toBe(0);
  expect(fs.readFileSync(dist('src/a.js'), 'utf8')).toContain("'a2'");
});
