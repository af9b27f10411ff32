/**
 * Expanding a card template with its data, and the small formatting helpers every card shares. User text
 * reaches a card only as data: adaptivecards-templating evaluates `${...}` in the template, never in the data.
 */
import { Template } from 'adaptivecards-templating';
import type { DurationPolicy, DurationValue } from '../../domain/catalog/catalog.model';
import { formatDuration } from '../../domain/catalog/duration.parser';

/** An Adaptive Card as JSON, ready to send. */
export type CardJson = Record<string, unknown>;

/**
 * Expands `template` with `data` as `$root`. NB. The engine's expansion warnings are no use as a check: it
 * warns for every `$when` that is simply false. A template that names a field its data lacks leaves the
 * `${...}` in the card instead, which the card tests look for.
 */
export function renderCard(template: object, data: object): CardJson {
  return new Template(template).expand({ $root: data }) as CardJson;
}

/**
 * An ISO timestamp in the one shape the `{{DATE()}}`/`{{TIME()}}` card functions accept (`2024-05-01T10:42:00Z`).
 * NB. Teams leaves the text as it is when the seconds carry a fraction, as `toISOString()` always writes.
 */
export function cardTimestamp(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new RangeError(`"${iso}" is not a timestamp`);
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const UNIT_WORDS: Record<string, [string, string]> = {
  d: ['day', 'days'],
  h: ['hour', 'hours'],
  m: ['minute', 'minutes'],
  s: ['second', 'seconds'],
};

/** A duration for people: `4 hours`, `7 days`, `1 day 12 hours`, `permanent (no end date)`. */
export function describeDuration(value: DurationValue): string {
  if (value === 'permanent') return 'permanent (no end date)';
  const parts = [...formatDuration(value).matchAll(/(\d+)([dhms])/g)].map(([, n, unit]) => {
    const [one, many] = UNIT_WORDS[unit as string] as [string, string];
    return `${n} ${n === '1' ? one : many}`;
  });
  return parts.length > 0 ? parts.join(' ') : formatDuration(value);
}

/** One entry of a duration Input.ChoiceSet: `value` is what the server parses (`4h`, `7d`, `permanent`). */
export interface DurationChoice {
  readonly title: string;
  readonly value: string;
}

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
/** The steps people usually ask for; a role's own default and maximum are added to them. */
const LADDER = [1, 4, 8].map((h) => h * HOUR).concat([1, 3, 7, 14, 30, 90, 180, 365].map((d) => d * DAY));

/**
 * The durations a requester may choose for a role, shortest first: the usual steps up to the role's maximum,
 * plus its default and its maximum themselves, plus `permanent` when the policy allows it. Never longer than
 * the maximum.
 */
export function durationChoices(policy: DurationPolicy): DurationChoice[] {
  const max = policy.maxMs;
  const within = (ms: number): boolean => max === 'permanent' || ms <= max;
  const steps = new Set(LADDER.filter(within));
  if (policy.defaultMs !== 'permanent' && within(policy.defaultMs)) steps.add(policy.defaultMs);
  if (max !== 'permanent') steps.add(max);
  const choices: DurationChoice[] = [...steps]
    .sort((a, b) => a - b)
    .map((ms) => ({ title: describeDuration(ms), value: formatDuration(ms) }));
  if (max === 'permanent' && policy.permanentAllowed) {
    choices.push({ title: describeDuration('permanent'), value: formatDuration('permanent') });
  }
  return choices;
}

/** The choice to preselect: `wanted` when it is one of `choices`, else the policy's default. */
export function preselectedDuration(
  choices: readonly DurationChoice[],
  policy: DurationPolicy,
  wanted?: string,
): string {
  if (wanted !== undefined && choices.some((c) => c.value === wanted)) return wanted;
  const fallback = formatDuration(policy.defaultMs);
  return choices.some((c) => c.value === fallback) ? fallback : (choices[0]?.value ?? '');
}
