/**
 * A strict JSON parser that also skips `//` and `/* *\/` comments, as mysqlda's own parser accepted `//` comments.
 *
 * Why not strip comments and call JSON.parse: V8's messages do not always carry a position, and they quote a
 * slice of the input, which may be the password. This parser always reports line and column and never quotes
 * the text. It also reports duplicate keys (the last one wins, as in mysqlda and JSON.parse).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** Objects are built without a prototype, so a key such as `__proto__` is an ordinary key. */
export interface JsonObject {
  [key: string]: JsonValue;
}

export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(
    readonly reason: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(`line ${line}, column ${column}: ${reason}`);
  }
}

export interface ParsedJson {
  value: JsonValue;
  /** JSON paths (`server.listen_port`) of keys that occur more than once in their object. */
  duplicateKeys: string[];
}

const MAX_DEPTH = 64;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

export function parseJsonWithComments(text: string): ParsedJson {
  const parser = new Parser(text.startsWith('\uFEFF') ? text.slice(1) : text);
  return parser.parseDocument();
}

/** `forwards[1].forward[0].port`: the path notation every config message uses. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

class Parser {
  private pos = 0;
  private readonly duplicateKeys: string[] = [];

  constructor(private readonly text: string) {}

  parseDocument(): ParsedJson {
    this.skipTrivia();
    if (this.pos >= this.text.length) this.fail('the file is empty');
    const value = this.parseValue('', 0);
    this.skipTrivia();
    if (this.pos < this.text.length) this.fail('unexpected text after the end of the JSON document');
    return { value, duplicateKeys: this.duplicateKeys };
  }

  private parseValue(path: string, depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(path, depth);
      case '[':
        return this.parseArray(path, depth);
      case '"':
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      case undefined:
        return this.fail('unexpected end of file, expected a value');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
        return this.fail('unexpected character, expected a value (strings need double quotes)');
    }
  }

  private parseObject(path: string, depth: number): JsonObject {
    const object = Object.create(null) as JsonObject;
    this.pos++; // {
    this.skipTrivia();
    if (this.eat('}')) return object;
    for (;;) {
      if (this.text[this.pos] !== '"') this.fail('expected a property name in double quotes');
      const key = this.parseString();
      this.skipTrivia();
      if (!this.eat(':')) this.fail("expected ':' after the property name");
      this.skipTrivia();
      const keyPath = childPath(path, key);
      if (Object.prototype.hasOwnProperty.call(object, key)) this.duplicateKeys.push(keyPath);
      object[key] = this.parseValue(keyPath, depth + 1);
      this.skipTrivia();
      if (this.eat('}')) return object;
      if (!this.eat(',')) this.fail("expected ',' or '}' after the property value");
      this.skipTrivia();
      if (this.text[this.pos] === '}') this.fail("trailing comma before '}'");
    }
  }

  private parseArray(path: string, depth: number): JsonValue[] {
    const array: JsonValue[] = [];
    this.pos++; // [
    this.skipTrivia();
    if (this.eat(']')) return array;
    for (;;) {
      array.push(this.parseValue(childPath(path, array.length), depth + 1));
      this.skipTrivia();
      if (this.eat(']')) return array;
      if (!this.eat(',')) this.fail("expected ',' or ']' after the array element");
      this.skipTrivia();
      if (this.text[this.pos] === ']') this.fail("trailing comma before ']'");
    }
  }

  private parseString(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      const c = this.text[this.pos];
      if (c === undefined || c === '\n') {
        this.pos = start;
        this.fail('unterminated string');
      }
      if (c === '"') break;
      if (c < ' ') this.fail('control character inside a string (write it as an escape such as \\t)');
      if (c !== '\\') {
        this.pos++;
        continue;
      }
      out += this.text.slice(runStart, this.pos);
      out += this.parseEscape();
      runStart = this.pos;
    }
    out += this.text.slice(runStart, this.pos);
    this.pos++; // closing quote
    return out;
  }

  /** At a backslash: decode one escape and move past it. */
  private parseEscape(): string {
    const e = this.text[this.pos + 1];
    if (e === 'u') {
      const hex = this.text.slice(this.pos + 2, this.pos + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\u escape: four hex digits expected');
      this.pos += 6;
      return String.fromCharCode(parseInt(hex, 16));
    }
    const decoded = e === undefined ? undefined : ESCAPES[e];
    if (decoded === undefined) this.fail('invalid escape sequence in a string');
    this.pos += 2;
    return decoded;
  }

  private parseNumber(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail('invalid number');
    this.pos += match[0].length;
    const next = this.text[this.pos];
    if (next !== undefined && /[0-9A-Za-z_.]/.test(next)) this.fail('invalid number (write it as plain digits)');
    return Number(match[0]);
  }

  private parseLiteral<T extends JsonValue>(word: string, value: T): T {
    if (this.text.startsWith(word, this.pos) && !/[0-9A-Za-z_]/.test(this.text[this.pos + word.length] ?? '')) {
      this.pos += word.length;
      return value;
    }
    return this.fail('unexpected word, expected a value (strings need double quotes)');
  }

  private skipTrivia(): void {
    for (;;) {
      const c = this.text[this.pos];
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
        this.pos++;
      } else if (c === '/' && this.text[this.pos + 1] === '/') {
        const end = this.text.indexOf('\n', this.pos);
        this.pos = end === -1 ? this.text.length : end;
      } else if (c === '/' && this.text[this.pos + 1] === '*') {
        const end = this.text.indexOf('*/', this.pos + 2);
        if (end === -1) this.fail('unterminated /* comment');
        this.pos = end + 2;
      } else {
        return;
      }
    }
  }

  private eat(c: string): boolean {
    if (this.text[this.pos] !== c) return false;
    this.pos++;
    return true;
  }

  private fail(reason: string): never {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text[i] === '\n') {
        line++;
        lineStart = i + 1;
      }
    }
    throw new JsonSyntaxError(reason, line, this.pos - lineStart + 1);
  }
}
