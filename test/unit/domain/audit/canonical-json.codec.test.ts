import { DomainError } from '../../../../src/domain/domain-error';
import { canonicalJson, fromHex, toHex, utf8 } from '../../../../src/domain/audit/canonical-json.codec';

test('object keys are sorted by UTF-16 code units and no whitespace is written', () => {
  // '\u20ac' (€) sorts before '\ud83d\ude00' (😀) in UTF-16 units although its code point is lower anyway;
  // 'Z' (0x5a) sorts before 'a' (0x61); '\ufb33' sorts after the surrogate pair's high unit 0xd83d.
  const value = {
    b: 1,
    a: [true, null, 'x'],
    Z: { y: 2, x: 1 },
    '\ufb33': 1,
    '\ud83d\ude00': 2,
    '\u20ac': 3,
  };
  expect(canonicalJson(value)).toBe(
    '{"Z":{"x":1,"y":2},"a":[true,null,"x"],"b":1,"\u20ac":3,"\ud83d\ude00":2,"\ufb33":1}',
  );
});

test('numbers are written in the shortest ECMAScript form, as RFC 8785 specifies', () => {
  // Examples from RFC 8785 appendix B.
  const cases: Array<[number, string]> = [
    [0, '0'],
    [-0, '0'],
    [1e21, '1e+21'],
    [1e-7, '1e-7'],
    [333333333.3333333, '333333333.3333333'],
    [4.5, '4.5'],
    [0.002, '0.002'],
    [9007199254740991, '9007199254740991'],
    [-1.7976931348623157e308, '-1.7976931348623157e+308'],
  ];
  for (const [n, text] of cases) expect(canonicalJson(n)).toBe(text);
});

test('strings are JSON-escaped with the short escapes and \\u00xx for other controls', () => {
  expect(canonicalJson('a"b\\c\n\t\u0001\u007f€')).toBe('"a\\"b\\\\c\\n\\t\\u0001\u007f€"');
});

test('values JSON cannot carry faithfully are refused with AUDIT.NOT_CANONICAL', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const bad: unknown[] = [
    NaN,
    Infinity,
    undefined,
    { a: undefined },
    () => 1,
    Symbol('s'),
    BigInt(1),
    new Date(0),
    new Map(),
    cyclic,
    'lone \ud800 surrogate',
    { ['\udc00']: 1 },
    [1, , 3], // eslint-disable-line no-sparse-arrays
  ];
  for (const value of bad) {
    let error: unknown;
    try {
      canonicalJson(value);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).code).toBe('AUDIT.NOT_CANONICAL');
  }
});

test('the same value shared twice (not a cycle) is encoded both times', () => {
  const shared = { x: 1 };
  expect(canonicalJson({ a: shared, b: shared })).toBe('{"a":{"x":1},"b":{"x":1}}');
});

test('utf8 matches the platform encoder, and hex round-trips', () => {
  const text = 'ascii é € 😀 \u0000 \uffff';
  expect(Buffer.from(utf8(text)).equals(Buffer.from(text, 'utf8'))).toBe(true);
  const bytes = Uint8Array.from([0, 1, 127, 128, 255]);
  expect(toHex(bytes)).toBe('00017f80ff');
  expect(Array.from(fromHex('00017f80ff'))).toEqual(Array.from(bytes));
});
