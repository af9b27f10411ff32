/**
 * What the Graph simulator's and the ticket fakes' fault rules share: the path glob, the loopback test of their
 * admin endpoints, and the checks of the fields both rule formats have. A check throws the caller's own error
 * (`fail`), with a message that names the rule ("rule 2: rate must be ...").
 */

/** Makes the caller's error for a malformed rule. */
export type Fail = (message: string) => Error;

/**
 * A path glob as a case-insensitive RegExp: `*` within one path segment, `**` across segments, `?` one character
 * of a segment; the rest literal. A trailing slash is optional.
 */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}/?$`, 'i');
}

/**
 * Whether a peer address is this machine. NB. The simulator and the fakes listen on 127.0.0.1 only, so this is a
 * second line: should one ever listen wider, its admin endpoint still answers only local callers.
 */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  const a = address.toLowerCase().replace(/^::ffff:/, '');
  return a === '::1' || /^127(?:\.\d{1,3}){3}$/.test(a);
}

/** One rule of a list, as an object, with its name for messages. */
export interface RuleFields {
  r: Record<string, unknown>;
  where: string;
}

/** The rules of a list (from a TS API or JSON) as objects; throws when the list or a rule has the wrong shape. */
export function ruleObjects(rules: unknown, fail: Fail): RuleFields[] {
  if (!Array.isArray(rules)) throw fail('rules must be an array of fault rules');
  return rules.map((raw: unknown, i) => {
    const where = `rule ${i + 1}`;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
      throw fail(`${where} must be an object`);
    return { r: raw as Record<string, unknown>, where };
  });
}

/** The checks of the fields both formats have, each a no-op when its field is absent (except `status`). */
export function fieldChecks({ r, where }: RuleFields, fail: Fail) {
  return {
    status(): void {
      if (typeof r.status !== 'number' || !Number.isInteger(r.status) || r.status < 400 || r.status > 599)
        throw fail(`${where}: status must be an HTTP error status, 400..599`);
    },
    nonEmptyStrings(fields: readonly string[]): void {
      for (const f of fields) {
        if (r[f] !== undefined && (typeof r[f] !== 'string' || r[f] === ''))
          throw fail(`${where}: ${f} must be a non-empty string`);
      }
    },
    rate(): void {
      if (r.rate !== undefined && (typeof r.rate !== 'number' || !(r.rate >= 0 && r.rate <= 1)))
        throw fail(`${where}: rate must be a number from 0 to 1`);
    },
    durationMs(): void {
      if (r.durationMs !== undefined && (typeof r.durationMs !== 'number' || !(r.durationMs > 0)))
        throw fail(`${where}: durationMs must be a positive number of milliseconds`);
    },
    wholeSeconds(field: string): void {
      const v = r[field];
      if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 0))
        throw fail(`${where}: ${field} must be a whole number of seconds, 0 or more`);
    },
  };
}
