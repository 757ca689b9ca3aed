import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, parseJsonWithComments } from '../../src/config/jsonc.js';

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseJsonWithComments(text);
  } catch (error) {
    if (error instanceof JsonSyntaxError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
}

describe('parseJsonWithComments', () => {
  it('parses the JSON that JSON.parse parses', () => {
    const text = '{"a": [1, -2.5e3, true, false, null, "x\\ty\\u00e9\\"\\\\\\/"], "b": {}}';
    expect(parseJsonWithComments(text).value).toEqual(JSON.parse(text));
  });

  it('skips // line comments and /* */ block comments outside strings', () => {
    const text = '// head\n{ /* block\n spanning lines */ "a" : 1 , // tail\n "b" : "// not a comment /* nor this */" }';
    expect(parseJsonWithComments(text).value).toEqual({ a: 1, b: '// not a comment /* nor this */' });
  });

  it('ignores a leading byte order mark', () => {
    expect(parseJsonWithComments('\uFEFF{"a":1}').value).toEqual({ a: 1 });
  });

  it('reports the line and column of a syntax error', () => {
    const error = syntaxError('{\n\t"a" : 1\n\t"b" : 2\n}');
    expect([error.line, error.column]).toEqual([3, 2]);
    expect(error.message).toBe("line 3, column 2: expected ',' or '}' after the property value");
  });

  it('rejects a trailing comma, as mysqlda did', () => {
    expect(syntaxError('{"a": [1, 2, ]}').reason).toBe("trailing comma before ']'");
    expect(syntaxError('{"a": 1 ,\n}').reason).toBe("trailing comma before '}'");
  });

  it('rejects numbers with trailing garbage such as 3306x', () => {
    expect(syntaxError('{"port": 3306x}').reason).toMatch(/invalid number/);
  });

  it('reports an unterminated string at its opening quote', () => {
    expect(syntaxError('{"a": "abc\n}')).toMatchObject({ line: 1, column: 7, reason: 'unterminated string' });
  });

  it('reports an unterminated block comment and an empty file', () => {
    expect(syntaxError('{} /* open').reason).toBe('unterminated /* comment');
    expect(syntaxError('  // only a comment\n').reason).toBe('the file is empty');
  });

  it('never quotes the offending text, which may be a password', () => {
    for (const text of ['{"pass": Zq9xK}', '{"pass": "Zq9xK\\q"}', '{"pass": "Zq9xK}']) {
      const error = syntaxError(text);
      expect(error.message).not.toMatch(/Zq|9xK|\\q/);
    }
  });

  it('lists keys given twice by path; the last value wins', () => {
    const parsed = parseJsonWithComments('{"auth": {"user": "a", "user": "b"}, "forwards": [{"x": 1, "x": 2}]}');
    expect(parsed.value).toEqual({ auth: { user: 'b' }, forwards: [{ x: 2 }] });
    expect(parsed.duplicateKeys).toEqual(['auth.user', 'forwards[0].x']);
  });

  it('treats __proto__ as an ordinary key', () => {
    const value = parseJsonWithComments('{"__proto__": {"polluted": true}}').value as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses absurd nesting instead of overflowing the stack', () => {
    expect(syntaxError('['.repeat(10_000)).reason).toMatch(/nesting deeper/);
  });
});
