import {
  formatDuration,
  parseDuration,
  tryParseDuration,
} from '../../../../src/domain/catalog/duration.parser';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  test.each([
    ['90m', 90 * MIN],
    ['4h', 4 * HOUR],
    ['7d', 7 * DAY],
    ['2w', 14 * DAY],
    ['1d12h', 36 * HOUR],
    [' 24H ', 24 * HOUR],
  ])('reads %s as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each([
    ['', 'empty'],
    ['-1h', 'negative'],
    ['90', 'no-unit'],
    ['forever', 'malformed'],
    ['1.5h', 'malformed'],
    ['2h1d', 'malformed'],
    ['0h', 'zero'],
  ])('refuses %j as %s', (text, reason) => {
    expect(tryParseDuration(text)).toEqual({ ok: false, reason });
  });

  test('throws a RangeError that says how to write a duration', () => {
    expect(() => parseDuration('soon')).toThrow(/Write a whole number and a unit/);
  });
});

describe('formatDuration', () => {
  test.each([
    [90 * MIN, '1h30m'],
    [4 * HOUR, '4h'],
    [7 * DAY, '7d'],
    [14 * DAY, '14d'],
    [36 * HOUR, '1d12h'],
    [45_000, '45s'],
  ])('writes %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  test('writes permanent as permanent', () => {
    expect(formatDuration('permanent')).toBe('permanent');
  });

  test('round-trips through parseDuration', () => {
    for (const ms of [MIN, 90 * MIN, 25 * HOUR, 10 * DAY + 5 * MIN]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
