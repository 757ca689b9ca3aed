import { describe, expect, it } from 'vitest';
import { ServerStatus } from '../../src/protocol/constants.js';
import { PayloadWriter } from '../../src/protocol/payload.js';
import { encodeTextResultSet } from '../../src/protocol/result-set.js';
import { readStatementAnswers, rowObjects } from '../../src/protocol/text-result-sets.js';

const MORE = ServerStatus.MORE_RESULTS_EXISTS;
const ok = (status: number) => new PayloadWriter(8).u8(0x00).lenencInt(0).lenencInt(0).u16(status).u16(0).toBuffer();
const err = (code: number, message: string) => new PayloadWriter(32).u8(0xff).u16(code).bytes(Buffer.from(`#HY000${message}`)).toBuffer();

describe('readStatementAnswers', () => {
  for (const deprecateEof of [false, true]) {
    it(`reads each statement's answer of a multi-statement: OK, rows with NULLs, rows (DEPRECATE_EOF ${deprecateEof})`, () => {
      const packets = [
        ok(MORE),
        ...encodeTextResultSet([{ name: 'a' }, { name: 'b' }], [['1', null], ['x'.repeat(300), '']], MORE, deprecateEof),
        ...encodeTextResultSet([{ name: 'c' }], [], 0, deprecateEof),
      ];
      const answers = readStatementAnswers(packets, deprecateEof);
      expect(answers.map((answer) => answer.kind)).toEqual(['ok', 'rows', 'rows']);
      expect(rowObjects(answers[1])).toEqual([{ a: '1', b: null }, { a: 'x'.repeat(300), b: '' }]);
      expect(answers[2]).toEqual({ kind: 'rows', columns: ['c'], rows: [] });
    });
  }

  it('stops at an ERR, which ends a multi-statement, and at anything malformed', () => {
    const first = encodeTextResultSet([{ name: 'a' }], [['1']], MORE, false);
    expect(readStatementAnswers([...first, err(1227, 'Access denied')], false)).toEqual([
      { kind: 'rows', columns: ['a'], rows: [['1']] },
      { kind: 'error', error: { code: 1227, sqlState: 'HY000', message: 'Access denied' } },
    ]);
    const read = [{ kind: 'rows', columns: ['a'], rows: [['1']] }];
    expect(readStatementAnswers([...first, Buffer.from([0x05])], false)).toEqual(read); // five columns announced, none sent
    const second = encodeTextResultSet([{ name: 'b' }], [['2']], 0, false);
    expect(readStatementAnswers([...first, ...second.slice(0, -1)], false)).toEqual(read); // rows without their end
    expect(readStatementAnswers([...first, Buffer.from([0xfc, 0x01])], false)).toEqual(read); // a length cut short
    expect(readStatementAnswers([], false)).toEqual([]);
  });
});
