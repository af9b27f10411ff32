/**
 * Durations as admins write them in the catalog and requesters type them in chat: a number and a unit
 * (`90m`, `4h`, `7d`, `2w`), optionally chained largest unit first (`1d12h`). Weeks are 7 days; there are no
 * months or years because their length varies and a grant must end at a time everyone agrees on.
 */

const UNIT_MS = {
  w: 7 * 24 * 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  h: 60 * 60 * 1000,
  m: 60 * 1000,
  s: 1000,
} as const;

type Unit = keyof typeof UNIT_MS;

const UNITS_LARGEST_FIRST: readonly Unit[] = ['w', 'd', 'h', 'm', 's'];

const DURATION = /^(?:\d+[wdhms])+$/;

/** Why a duration could not be read, for a message that says how to write it instead. */
export type DurationParseFailure = 'empty' | 'negative' | 'no-unit' | 'malformed' | 'zero';

/** The result of reading a duration without throwing, so a validator can report every bad value at once. */
export type DurationParse = { ok: true; ms: number } | { ok: false; reason: DurationParseFailure };

/** The fix to print after a failed parse. */
export const DURATION_HINT = 'Write a whole number and a unit: 30m, 4h, 7d, 2w (or combine them: 1d12h)';

/**
 * Reads `4h`, `90m`, `7d`, `2w` (and `1d12h`) into milliseconds. Zero is refused: a grant of no time or a
 * stage that times out at once is always a mistake in a policy.
 */
export function tryParseDuration(text: string): DurationParse {
  const t = text.trim().toLowerCase();
  if (t === '') return { ok: false, reason: 'empty' };
  if (t.startsWith('-')) return { ok: false, reason: 'negative' };
  if (/^\d+(\.\d+)?$/.test(t)) return { ok: false, reason: 'no-unit' };
  if (!DURATION.test(t)) return { ok: false, reason: 'malformed' };
  let ms = 0;
  let previous = -1;
  for (const [, n, unit] of t.matchAll(/(\d+)([wdhms])/g)) {
    const rank = UNITS_LARGEST_FIRST.indexOf(unit as Unit);
    // `2h1d` or `1h1h` is more likely a typo than an intent; refuse rather than guess.
    if (rank <= previous) return { ok: false, reason: 'malformed' };
    previous = rank;
    ms += Number(n) * UNIT_MS[unit as Unit];
  }
  if (ms === 0) return { ok: false, reason: 'zero' };
  return { ok: true, ms };
}

/** Like {@link tryParseDuration}, but throws a RangeError naming the text and how to write it. */
export function parseDuration(text: string): number {
  const r = tryParseDuration(text);
  if (!r.ok) throw new RangeError(`"${text}" is not a duration (${r.reason}). ${DURATION_HINT}.`);
  return r.ms;
}

/**
 * Formats milliseconds back the way admins write them: `90m`, `4h`, `7d`, `1d12h`. Never in weeks: policies
 * and messages speak of `7d` and `14d`, and `2w` next to a `10d` is harder to compare. Seconds appear only for
 * values that are not whole minutes. `parseDuration(formatDuration(x)) === x` for whole seconds.
 */
export function formatDuration(value: number | 'permanent'): string {
  if (value === 'permanent') return 'permanent';
  if (!Number.isFinite(value) || value <= 0) return `${value}ms`;
  let rest = Math.round(value / 1000) * 1000;
  let out = '';
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * UNIT_MS[unit];
  }
  return out === '' ? `${value}ms` : out;
}
