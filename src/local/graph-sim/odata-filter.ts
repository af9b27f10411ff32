/**
 * The slice of OData `$filter` the Graph simulator understands: `eq`/`ne` comparisons and
 * `startswith(property,'value')` joined with `and`/`or`, `not` and parentheses. String literals are single
 * quoted, a quote inside one is doubled (`'O''Brien'`), exactly as Graph expects.
 */

/** The type of a filterable property; comparisons against a literal of another type are rejected. */
export type FilterPropertyType = 'string' | 'boolean';

/** A filter the simulator rejects; the message is what Graph's 400 BadRequest would say. */
export class ODataFilterError extends Error {
  override readonly name = 'ODataFilterError';
}

type Literal = string | boolean | null;
type Token =
  | { kind: 'ident'; value: string; pos: number }
  | { kind: 'literal'; value: Literal; pos: number }
  | { kind: 'punct'; value: '(' | ')' | ','; pos: number };

type Node =
  | { op: 'and' | 'or'; left: Node; right: Node }
  | { op: 'not'; operand: Node }
  | { op: 'eq' | 'ne'; property: string; value: Literal }
  | { op: 'startswith'; property: string; value: string }
  | { op: 'in'; property: string; values: Literal[] };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const fail = (pos: number): never => {
    throw new ODataFilterError(`Invalid filter clause: syntax error at position ${pos} in '${text}'.`);
  };
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', value: c, pos: i });
      i++;
    } else if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) fail(start);
        if (text[i] === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i++];
      }
      tokens.push({ kind: 'literal', value, pos: start });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < text.length && /[A-Za-z0-9_./]/.test(text[i])) i++;
      const word = text.slice(start, i);
      if (word === 'true' || word === 'false')
        tokens.push({ kind: 'literal', value: word === 'true', pos: start });
      else if (word === 'null') tokens.push({ kind: 'literal', value: null, pos: start });
      else tokens.push({ kind: 'ident', value: word, pos: start });
    } else {
      fail(i);
    }
  }
  return tokens;
}

class Parser {
  private i = 0;

  constructor(
    private readonly text: string,
    private readonly tokens: Token[],
  ) {}

  parse(): Node {
    const node = this.or();
    if (this.i < this.tokens.length) this.fail(this.tokens[this.i].pos);
    return node;
  }

  private fail(pos: number = this.text.length): never {
    throw new ODataFilterError(`Invalid filter clause: syntax error at position ${pos} in '${this.text}'.`);
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private isWord(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'ident' && t.value.toLowerCase() === word;
  }

  private punct(value: '(' | ')' | ','): void {
    const t = this.peek();
    if (t?.kind !== 'punct' || t.value !== value) this.fail(t?.pos);
    this.i++;
  }

  private or(): Node {
    let left = this.and();
    while (this.isWord('or')) {
      this.i++;
      left = { op: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): Node {
    let left = this.unary();
    while (this.isWord('and')) {
      this.i++;
      left = { op: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): Node {
    if (this.isWord('not')) {
      this.i++;
      return { op: 'not', operand: this.unary() };
    }
    return this.primary();
  }

  private primary(): Node {
    const t = this.peek();
    if (!t) return this.fail();
    if (t.kind === 'punct' && t.value === '(') {
      this.i++;
      const inner = this.or();
      this.punct(')');
      return inner;
    }
    if (t.kind !== 'ident') return this.fail(t.pos);
    this.i++;
    if (t.value.toLowerCase() === 'startswith') {
      this.punct('(');
      const property = this.identifier();
      this.punct(',');
      const lit = this.literal();
      this.punct(')');
      if (typeof lit !== 'string') this.fail(t.pos);
      return { op: 'startswith', property, value: lit };
    }
    const opToken = this.peek();
    if (opToken?.kind !== 'ident') return this.fail(opToken?.pos);
    const op = opToken.value.toLowerCase();
    if (op === 'in') {
      // `id in ('a','b')`: a parenthesised, comma-separated list of literals.
      this.i++;
      this.punct('(');
      const values: Literal[] = [this.literal()];
      while (this.peek()?.kind === 'punct' && this.peek()?.value === ',') {
        this.i++;
        values.push(this.literal());
      }
      this.punct(')');
      return { op: 'in', property: t.value, values };
    }
    if (op !== 'eq' && op !== 'ne') {
      throw new ODataFilterError(
        `Invalid filter clause: operator '${opToken.value}' is not supported in '${this.text}'.`,
      );
    }
    this.i++;
    return { op, property: t.value, value: this.literal() };
  }

  private identifier(): string {
    const t = this.peek();
    if (t?.kind !== 'ident') return this.fail(t?.pos);
    this.i++;
    return t.value;
  }

  private literal(): Literal {
    const t = this.peek();
    if (t?.kind !== 'literal') return this.fail(t?.pos);
    this.i++;
    return t.value;
  }
}

/**
 * Compiles a `$filter` expression into a predicate over entities whose filterable properties are listed in
 * `properties`. `entityType` names the type in error messages (`microsoft.graph.user`). NB. String
 * comparisons ignore case, as directory objects do in Graph.
 */
export function compileFilter<T extends object>(
  text: string,
  properties: Readonly<Record<string, FilterPropertyType>>,
  entityType: string,
): (entity: T) => boolean {
  const ast = new Parser(text, tokenize(text)).parse();
  const typeOf = (property: string): FilterPropertyType => {
    const type = Object.prototype.hasOwnProperty.call(properties, property)
      ? properties[property]
      : undefined;
    if (!type)
      throw new ODataFilterError(`Could not find a property named '${property}' on type '${entityType}'.`);
    return type;
  };
  const check = (node: Node): void => {
    switch (node.op) {
      case 'and':
      case 'or':
        check(node.left);
        check(node.right);
        return;
      case 'not':
        check(node.operand);
        return;
      default: {
        const type = typeOf(node.property);
        if (node.op === 'in') {
          for (const v of node.values) {
            if (v !== null && typeof v !== type) {
              throw new ODataFilterError(
                `Invalid filter clause: a ${type} property '${node.property}' cannot be compared with ${JSON.stringify(v)}.`,
              );
            }
          }
          return;
        }
        const litType = node.value === null ? null : typeof node.value;
        if (node.op === 'startswith' && type !== 'string') {
          throw new ODataFilterError(
            `Invalid filter clause: startswith needs a string property, '${node.property}' is not.`,
          );
        }
        if (litType !== null && litType !== type) {
          throw new ODataFilterError(
            `Invalid filter clause: a ${type} property '${node.property}' cannot be compared with ${JSON.stringify(node.value)}.`,
          );
        }
      }
    }
  };
  check(ast);
  const read = (entity: T, property: string): unknown => (entity as Record<string, unknown>)[property];
  const norm = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : (v ?? null));
  const evaluate = (node: Node, entity: T): boolean => {
    switch (node.op) {
      case 'and':
        return evaluate(node.left, entity) && evaluate(node.right, entity);
      case 'or':
        return evaluate(node.left, entity) || evaluate(node.right, entity);
      case 'not':
        return !evaluate(node.operand, entity);
      case 'eq':
        return norm(read(entity, node.property)) === norm(node.value);
      case 'ne':
        return norm(read(entity, node.property)) !== norm(node.value);
      case 'in': {
        const v = norm(read(entity, node.property));
        return node.values.some((x) => norm(x) === v);
      }
      case 'startswith': {
        const v = read(entity, node.property);
        return typeof v === 'string' && v.toLowerCase().startsWith(node.value.toLowerCase());
      }
    }
  };
  return (entity) => evaluate(ast, entity);
}
