/**
 * Reads YAML text into a plain object plus what the plain object forgets: the line of every value path, the
 * keys written twice, and syntax errors with their position. The catalog validator then works on the plain
 * object and this module tells the loader which line each problem is on.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

/** A value path as the domain writes it: map keys as strings, list positions as numbers. */
export type YamlPath = readonly (string | number)[];

/** A 1-based position in the file. */
export interface YamlPosition {
  readonly line: number;
  readonly column: number;
}

/** A key that appears twice in one mapping, with both positions. */
export interface YamlDuplicateKey {
  readonly path: YamlPath;
  readonly first: YamlPosition;
  readonly at: YamlPosition;
}

/** A syntax error, already reduced to one line of text. */
export interface YamlSyntaxError extends YamlPosition {
  readonly code: string;
  readonly message: string;
}

/** The document as read: the plain value, and where things are. */
export interface ReadYaml {
  readonly value: unknown;
  readonly syntaxErrors: readonly YamlSyntaxError[];
  readonly duplicateKeys: readonly YamlDuplicateKey[];
  /** Where the value at `path` is written, or the nearest enclosing value that is (for missing keys). */
  positionOf(path: YamlPath): YamlPosition;
}

function pathKey(path: YamlPath): string {
  return JSON.stringify(path);
}

/**
 * Parses YAML 1.2 with merge keys (`<<: *anchor`) so admins can share a policy between roles. NB. Positions
 * are not recorded inside aliases: a problem in shared content is placed where the alias is used, which says
 * which role it affects.
 */
export function readYaml(text: string): ReadYaml {
  const lineCounter = new LineCounter();
  // uniqueKeys: false lets us report duplicates ourselves, naming the app or role, and keep validating.
  const doc = parseDocument(text, { lineCounter, uniqueKeys: false, merge: true, prettyErrors: false });
  const pos = (offset: number): YamlPosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  const syntaxErrors = doc.errors.map((e) => ({
    ...pos(e.pos[0]),
    code: e.code,
    message: e.message
      .split('\n')[0]
      .replace(/ at line \d+, column \d+:?$/, '')
      .replace(/\.$/, ''),
  }));
  const positions = new Map<string, YamlPosition>();
  const duplicateKeys: YamlDuplicateKey[] = [];

  const walk = (node: unknown, path: YamlPath): void => {
    if (isAlias(node)) return;
    if (isMap(node)) {
      const seen = new Map<string, YamlPosition>();
      // A copy: repeated pairs are removed from the map as we go, so the first definition is the one validated.
      for (const pair of [...node.items]) {
        const keyNode = pair.key as Node | null;
        const key = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        if (key === '<<') continue;
        const at = pos(keyNode?.range?.[0] ?? 0);
        const childPath = [...path, key];
        const first = seen.get(key);
        if (first) {
          duplicateKeys.push({ path: childPath, first, at });
          node.items.splice(node.items.indexOf(pair), 1);
          continue;
        }
        seen.set(key, at);
        positions.set(pathKey(childPath), at);
        walk(pair.value, childPath);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const range = (item as Node | null)?.range;
        if (range) positions.set(pathKey([...path, i]), pos(range[0]));
        walk(item, [...path, i]);
      });
    }
  };
  walk(doc.contents, []);
  const top = doc.contents?.range ? pos(doc.contents.range[0]) : { line: 1, column: 1 };

  return {
    value: syntaxErrors.length > 0 ? undefined : doc.toJS({ maxAliasCount: 1000 }),
    syntaxErrors,
    duplicateKeys,
    positionOf(path) {
      for (let n = path.length; n > 0; n--) {
        const p = positions.get(pathKey(path.slice(0, n)));
        if (p) return p;
      }
      return top;
    },
  };
}
