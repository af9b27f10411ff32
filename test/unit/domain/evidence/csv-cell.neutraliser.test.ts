import { neutraliseCell } from '../../../../src/domain/evidence/csv-cell.neutraliser';

test.each([
  ['=HYPERLINK("http://x","y")', `'=HYPERLINK("http://x","y")`],
  ['+1+cmd|calc', `'+1+cmd|calc`],
  ['-2+3', `'-2+3`],
  ['@SUM(A1)', `'@SUM(A1)`],
  ['\t=1', `'\t=1`],
  ['\r=1', `'\r=1`],
])('a cell starting with a formula trigger (%j) gets a leading quote', (value, expected) => {
  expect(neutraliseCell(value)).toBe(expected);
});

test.each(['', 'Quarter close', 'alex@contoso.example', 'a=b', ' =1', "'already quoted", '2026-11-22'])(
  'a cell that does not start with a trigger (%j) is left as it is',
  (value) => {
    expect(neutraliseCell(value)).toBe(value);
  },
);
