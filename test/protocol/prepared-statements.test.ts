import { describe, expect, it } from 'vitest';
import { bindPlaceholders, countPlaceholders, encodeBinaryResultSet, encodePrepareOk, parseExecute } from '../../src/protocol/prepared-statements.js';

describe('prepared statements answered by mysqlda', () => {
  it('counts placeholders outside quotes and comments', () => {
    expect(countPlaceholders("set correl_object c ? ?")).toBe(2);
    expect(countPlaceholders("select '?' /* ? */ , ?")).toBe(1);
  });

  it('binds values quoted, escaping backslashes only for SQL a server reads', () => {
    expect(bindPlaceholders('select library ?', ["o'k\\1"], false)).toBe("select library 'o''k\\1'");
    expect(bindPlaceholders('SET @a = ?, @b = ?', ['a\\b', null], true)).toBe("SET @a = 'a\\\\b', @b = NULL");
  });

  it('reads COM_STMT_EXECUTE parameters of string and integer types, remembering types between executions', () => {
    // stmt 7, flags 0, iterations 1, null bitmap 0, new-params-bound 1, types VAR_STRING + LONGLONG, values 'ab', 42
    const first = Buffer.from([0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x01, 0xfd, 0x00, 0x08, 0x00, 2, 0x61, 0x62, 42, 0, 0, 0, 0, 0, 0, 0]);
    const parsed = parseExecute(first, 2, null);
    expect(parsed).toEqual({ statementId: 7, values: ['ab', '42'], types: [0xfd, 0x08] });
    // second execution: no types sent, second parameter NULL
    const second = Buffer.from([0x17, 7, 0, 0, 0, 0, 1, 0, 0, 0, 0x02, 0x00, 1, 0x7a]);
    expect(parseExecute(second, 2, parsed.types).values).toEqual(['z', null]);
  });

  it('encodes a prepare-OK with parameter and column definitions', () => {
    const payloads = encodePrepareOk(0xfff00001, [{ name: 'library' }], 1, false);
    expect(payloads[0]).toEqual(Buffer.from([0x00, 0x01, 0x00, 0xf0, 0xff, 1, 0, 1, 0, 0, 0, 0]));
    expect(payloads.length).toBe(1 + 2 + 2); // ok, param def + EOF, column def + EOF
  });

  it('encodes binary rows with a NULL bitmap offset by two bits', () => {
    const payloads = encodeBinaryResultSet([{ name: 'a' }, { name: 'b' }], [['x', null]], 2, true);
    const row = payloads[3];
    expect(row[0]).toBe(0x00);
    expect(row[1]).toBe(0b1000); // column 1 (b) is NULL: bit 1 + 2
    expect(row.subarray(2)).toEqual(Buffer.from([1, 0x78]));
  });
});
