/**
 * Canonical JSON (RFC 8785 JCS style) and the byte helpers hashing needs. Two parties that encode the same
 * value get the same bytes, so a hash computed when an event was written can be recomputed by `attest
 * verify` years later, on another machine, in another language. See docs/adr/0003-audit-encoding.md.
 */
import { DomainError } from '../domain-error';
import { AuditErrorCodes } from './audit.errors';

function refuse(path: string, what: string): never {
  throw new DomainError(AuditErrorCodes.notCanonical, `Cannot encode ${path} canonically: ${what}.`, {
    path,
  });
}

/** True for `{}`-style objects; a Date, Map or class instance has no single JSON form, so it is refused. */
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function encodeString(text: string, path: string): string {
  // NB. a lone surrogate has no UTF-8 form (I-JSON forbids it): hashing it would depend on the encoder.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) refuse(path, 'a string contains a lone surrogate');
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      refuse(path, 'a string contains a lone surrogate');
    }
  }
  // JSON.stringify escapes exactly as JCS asks: \" \\ \b \f \n \r \t, other controls as \u00xx, the rest as is.
  return JSON.stringify(text);
}

function encode(value: unknown, path: string, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value, path);
    case 'number':
      if (!Number.isFinite(value)) refuse(path, `${value} is not a finite number`);
      // ECMAScript's shortest round-trip form, which JCS adopts; JSON.stringify(-0) is "0" as JCS wants.
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (seen.has(value)) refuse(path, 'the value contains a cycle');
      seen.add(value);
      let out: string;
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) items.push(encode(value[i], `${path}[${i}]`, seen));
        out = `[${items.join(',')}]`;
      } else {
        if (!isPlainObject(value))
          refuse(path, `a ${value.constructor?.name ?? 'non-plain'} object has no JSON form`);
        // Default sort compares UTF-16 code units, which is the order JCS specifies.
        const keys = Object.keys(value).sort();
        const members: string[] = [];
        for (const key of keys) {
          const member = (value as Record<string, unknown>)[key];
          members.push(`${encodeString(key, path)}:${encode(member, `${path}.${key}`, seen)}`);
        }
        out = `{${members.join(',')}}`;
      }
      seen.delete(value);
      return out;
    }
    default:
      // undefined, function, symbol, bigint: JSON.stringify would drop or throw; silently dropping a field
      // would make two different events hash alike, so refuse.
      return refuse(path, `${typeof value} has no JSON form`);
  }
}

/**
 * The canonical JSON text of `value`: object keys sorted by UTF-16 code units, no whitespace, numbers in
 * ECMAScript shortest form, strings JSON-escaped. Throws a DomainError `AUDIT.NOT_CANONICAL` for values
 * JSON cannot carry faithfully (non-finite numbers, undefined, functions, Dates, cycles, lone surrogates).
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', new Set());
}

/** UTF-8 bytes of a string (written out so the domain needs no TextEncoder from the host). */
export function utf8(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX[b];
  return out;
}

/** Bytes of a hex string; throws on odd length or non-hex characters. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new DomainError(AuditErrorCodes.invalidEvent, `Not a hex string: '${hex.slice(0, 80)}'.`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes of several arrays one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Hex SHA-256 of the canonical encoding of `value`. */
export function hashCanonical(value: unknown, sha256: (bytes: Uint8Array) => Uint8Array): string {
  return toHex(sha256(utf8(canonicalJson(value))));
}
