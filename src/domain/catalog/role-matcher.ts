/**
 * Matching what someone types in chat ("I need Salesforce admin for 4 hours") against the catalog: the app
 * and role names, ids and synonyms, and a length of time. It only chooses what the request card is prefilled
 * with; the person still submits the card, and the policy decides.
 */
import type { CatalogApp, CatalogRole } from './catalog.model';

/** What the text seems to ask for. */
export interface TextMatch {
  /** The best-matching roles among those given, best first (several when the text is ambiguous). */
  readonly roles: readonly CatalogRole[];
  /** A length of time the text names, in ms (`4 hours`, `2d`, `a week`). */
  readonly durationMs?: number;
}

const UNITS: Record<string, number> = {
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  wk: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const DURATION = /\b(\d{1,4}|an?|one)\s*(minutes?|mins?|m|hours?|hrs?|hr|h|days?|d|weeks?|wks?|w)\b/i;

/** Lower-case words, punctuation dropped. */
function words(text: string): string[] {
  return text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

/** True when every word of `term` appears in order, adjacent, in `text`. */
function containsPhrase(text: readonly string[], term: string): boolean {
  const t = words(term);
  if (t.length === 0) return false;
  for (let i = 0; i + t.length <= text.length; i++) {
    if (t.every((w, j) => text[i + j] === w)) return true;
  }
  return false;
}

function terms(x: { id: string; name: string; synonyms?: readonly string[] }): string[] {
  return [x.id.replace(/[-_]/g, ' '), x.name, ...(x.synonyms ?? [])];
}

/** Matches `text` against `roles` (the roles the person may ask for) of `apps`. */
export function matchText(
  text: string,
  apps: readonly CatalogApp[],
  roles: readonly CatalogRole[],
): TextMatch {
  const said = words(text);
  const scored: { role: CatalogRole; score: number }[] = [];
  for (const role of roles) {
    const app = apps.find((a) => a.id === role.appId);
    const appHit = app ? terms(app).some((t) => containsPhrase(said, t)) : false;
    const roleHit = terms(role).some((t) => containsPhrase(said, t));
    const score = (appHit ? 2 : 0) + (roleHit ? 1 : 0);
    if (score > 0) scored.push({ role, score });
  }
  const best = Math.max(0, ...scored.map((s) => s.score));
  let matched = scored.filter((s) => s.score === best).map((s) => s.role);
  // "Salesforce" alone names an app: offer its roles. A bare role word ("admin") matching many apps is ambiguous.
  if (best === 1 && new Set(matched.map((r) => r.appId)).size > 1) matched = matched.slice(0, 5);
  const d = DURATION.exec(text);
  let durationMs: number | undefined;
  if (d) {
    const n = /^\d+$/.test(d[1] as string) ? Number(d[1]) : 1;
    const unit = UNITS[(d[2] as string).toLowerCase()];
    if (unit && n > 0) durationMs = n * unit;
  }
  return { roles: matched, ...(durationMs !== undefined && { durationMs }) };
}
