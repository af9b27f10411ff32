import { tabApiFunctions, TAB_API_ROUTE } from '../../../src/functions/tab-api';
import type { HttpFunction } from '../../../src/functions/function-types';

const passThrough = (
  handler: Parameters<Parameters<typeof tabApiFunctions>[0]>[0],
): HttpFunction['handler'] => handler as unknown as HttpFunction['handler'];
const routes = tabApiFunctions(passThrough);

/** The route as Azure would match it: each `{param}` one segment. */
function pattern(route: string): RegExp {
  const source = route
    .split('/')
    .map((s) => (/^\{\w+\}$/.test(s) ? '[^/]+' : s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`, 'i');
}

test('every tab API route is under tabapi/v1, away from the tab/{*path} catch-all', () => {
  expect(routes.length).toBeGreaterThan(10);
  for (const f of routes) expect(f.route.startsWith(`${TAB_API_ROUTE}/`)).toBe(true);
  expect(TAB_API_ROUTE.startsWith('tab/')).toBe(false);
});

test('no tab API route can catch another one in Azure, which tries routes in the order of function names', () => {
  const clashes: string[] = [];
  for (const f of routes) {
    for (const g of routes) {
      if (f === g || !f.methods.some((m) => g.methods.includes(m))) continue;
      // A request meant for g, with its parameters filled in, must not match f.
      const request = g.route.replace(/\{\w+\}/g, 'x');
      if (pattern(f.route).test(request))
        clashes.push(`${f.name} (${f.route}) catches ${g.name} (${g.route})`);
    }
  }
  expect(clashes).toEqual([]);
});
