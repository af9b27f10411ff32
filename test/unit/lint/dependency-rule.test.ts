import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise');

/** Runs the project's dependency rule over a throw-away tree laid out like src/. */
function cruise(files: Record<string, string>): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'attest-deprule-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
    );
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    try {
      const output = execFileSync(
        DEPCRUISE,
        ['src', '--config', path.join(ROOT, '.dependency-cruiser.cjs')],
        {
          cwd: dir,
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
      return { ok: true, output };
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('the lint fails when src/domain imports a Node built-in', () => {
  const result = cruise({ 'src/domain/clock.ts': "import fs from 'node:fs';\nexport const x = fs;\n" });
  expect(result.ok).toBe(false);
  expect(result.output).toContain('domain-is-pure');
});

test('the lint fails when src/domain imports an adapter', () => {
  const result = cruise({
    'src/adapters/tables/store.ts': 'export const store = 1;\n',
    'src/domain/policy.ts': "import { store } from '../adapters/tables/store';\nexport const p = store;\n",
  });
  expect(result.ok).toBe(false);
  expect(result.output).toContain('domain-is-pure');
});

test('the lint passes when src/domain imports only src/domain, and adapters import the domain', () => {
  const result = cruise({
    'src/domain/a.ts': 'export const a = 1;\n',
    'src/domain/b.ts': "import { a } from './a';\nexport const b = a;\n",
    'src/adapters/c.ts': "import { b } from '../domain/b';\nexport const c = b;\n",
  });
  expect(result.output).not.toContain('error');
  expect(result.ok).toBe(true);
});

test.each(['functions', 'local', 'cli'])('the lint fails when src/adapters imports src/%s', (host) => {
  const result = cruise({
    [`src/${host}/wiring.ts`]: 'export interface Wiring {\n  url: string;\n}\n',
    'src/adapters/graph/access.ts': `import type { Wiring } from '../../${host}/wiring';\nexport const w: Wiring | undefined = undefined;\n`,
  });
  expect(result.ok).toBe(false);
  expect(result.output).toContain('adapters-do-not-reach-the-hosts');
});
