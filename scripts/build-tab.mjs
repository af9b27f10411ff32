/**
 * Bundles the Teams tab (src/tab) with esbuild to dist/tab/: index.html and app.js (with its hash in the
 * script's URL, so a new build is never served from a stale cache). Part of `npm run build`; takes about a
 * second. Type-checking is `tsc -p src/tab` (in `npm run lint`): esbuild only strips types.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist', 'tab');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
await build({
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
    'process.env.NODE_ENV': JSON.stringify(process.env.ATTEST_TAB_DEV === '1' ? 'development' : 'production'),
  },
  tsconfig: path.join(root, 'src', 'tab', 'tsconfig.json'),
  logLevel: 'warning',
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
const bytes = fs.statSync(path.join(out, 'app.js')).size;
console.log(
  `tab: dist/tab/index.html, app.js ${(bytes / 1024).toFixed(0)} KiB (${hash}), with its source map`,
);
