/**
 * Serves the review tab's built files (dist/tab, esbuild's output) at `GET /api/tab/{*path}`: the URL the Teams
 * manifest's `contentUrl` names, in Azure and on the local host alike.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { HttpResponseInit } from '@azure/functions';
import { FunctionNames } from '../workflows/names';
import { appRoot } from './app-root';
import type { HttpFunction } from './function-types';
import { errorResponse } from './tab-route';

/** The route template, relative to host.json's routePrefix (`api`). */
export const TAB_STATIC_ROUTE = 'tab/{*path}';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Where Teams may frame the tab (Teams desktop, web and mobile, and the Microsoft 365 hosts that run Teams apps),
 * besides this host itself.
 */
const FRAME_ANCESTORS = [
  "'self'",
  'https://teams.microsoft.com',
  'https://*.teams.microsoft.com',
  'https://*.teams.microsoft.us',
  'https://*.cloud.microsoft',
  'https://*.office.com',
  'https://*.microsoft365.com',
  'https://*.skype.com',
  'https://outlook.office.com',
  'https://outlook.office365.com',
].join(' ');

/**
 * The folder of the built tab: `dist/tab` under the app root (see {@link appRoot}: the repository, or the
 * deployed package's root in Azure), found from `from` (this module's own location by default).
 */
export function defaultTabRoot(from = __dirname): string {
  return path.join(appRoot(from), 'dist', 'tab');
}

/** A file name with esbuild's content hash (`main-5QKJ2ZJ4.js`): it never changes, so it may be cached for good. */
const HASHED = /-[A-Z0-9]{8}\.[a-z0-9]+$/;

/** Resolves `requested` inside `root`, or undefined when it would leave it (or names nothing sensible). */
function resolveInside(root: string, requested: string): string | undefined {
  let rel: string;
  try {
    rel = decodeURIComponent(requested);
  } catch {
    return undefined;
  }
  if (rel.includes('\0') || rel.includes('\\')) return undefined;
  rel = rel.replace(/^\/+/, '');
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const segments = rel.split('/');
  // Dot-segments and hidden files are refused outright, not normalised: a request for them is not a tab's.
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.startsWith('.'))) return undefined;
  const full = path.resolve(root, ...segments);
  return full.startsWith(path.resolve(root) + path.sep) ? full : undefined;
}

/** The static files function; `root` defaults to {@link defaultTabRoot}. */
export function tabStaticFunction(opts: { root?: string } = {}): HttpFunction {
  const root = opts.root ?? defaultTabRoot();
  return {
    kind: 'http',
    name: FunctionNames.tabStatic,
    route: TAB_STATIC_ROUTE,
    methods: ['GET'],
    authLevel: 'anonymous', // static files: the data behind them needs a token (tabRoute)
    handler: async (request): Promise<HttpResponseInit> => {
      const requested = request.params.path ?? '';
      const file = resolveInside(root, requested);
      const notFound = () =>
        errorResponse(
          404,
          'TAB.NOT_FOUND',
          fs.existsSync(path.join(root, 'index.html'))
            ? `The tab has no file "${requested}". Open /api/tab/index.html.`
            : `The tab is not built: ${root} has no index.html. Build it (npm run build) and reload.`,
        );
      if (!file) return notFound();
      let stat: fs.Stats;
      try {
        stat = await fs.promises.stat(file);
      } catch {
        return notFound();
      }
      if (!stat.isFile()) return notFound();
      const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
      const ext = path.extname(file).toLowerCase();
      const headers: Record<string, string> = {
        'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
        // index.html (and any unhashed file) is revalidated on every load, so a deployment shows at once;
        // hashed bundles never change and are cached for a year.
        'cache-control': HASHED.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache',
        etag,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'strict-origin-when-cross-origin',
      };
      if (ext === '.html') headers['content-security-policy'] = `frame-ancestors ${FRAME_ANCESTORS}`;
      if (request.headers.get('if-none-match') === etag) return { status: 304, headers };
      return { status: 200, headers, body: new Uint8Array(await fs.promises.readFile(file)) };
    },
  };
}
