import { describe, expect, it } from 'vitest';
import { LocalStatements, FIRST_LOCAL_STATEMENT_ID } from '../../src/session/local-statements.js';
import { VirtualStatements } from '../../src/session/statement-ids.js';

/** COM_STMT_EXECUTE for 2 parameters: id, flags, iterations, NULL bitmap, new-params-bound flag, [types], values. */
function execute(id: number, withTypes: boolean): Buffer {
  const head = Buffer.from([0x17, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x00, withTypes ? 1 : 0]);
  head.writeUInt32LE(id, 1);
  const types = withTypes ? Buffer.from([0xfd, 0x00, 0x08, 0x00]) : Buffer.alloc(0);
  return Buffer.concat([head, types, Buffer.from([1, 0x61]), Buffer.alloc(8, 0)]);
}

describe('VirtualStatements', () => {
  it('hands out ids of its own, forgets backend ids on a switch and everything on a reset', () => {
    const statements = new VirtualStatements();
    const a = statements.add(Buffer.from('\x16select ?'), 1, 40);
    const b = statements.add(Buffer.from('\x16select 2'), 0, 41);
    expect([a.id, b.id]).toEqual([1, 2]);
    statements.forgetBackend();
    expect(statements.get(1)?.backendId).toBeNull();
    statements.clear();
    expect(statements.size).toBe(0);
  });

  it('remembers the parameter types an execution sends and puts them into one that relies on them', () => {
    const statements = new VirtualStatements();
    const statement = statements.add(Buffer.from('\x16select ?, ?'), 2, 7);
    const first = execute(1, true);
    VirtualStatements.noteTypes(statement, first, 0, first.length);
    expect(statement.paramTypes).toEqual(Buffer.from([0xfd, 0x00, 0x08, 0x00]));
    const later = execute(1, false);
    const rebuilt = VirtualStatements.withTypes(statement, later);
    expect(rebuilt.equals(first)).toBe(true);
    expect(VirtualStatements.withTypes(statement, first)).toBe(first); // already carries types: unchanged
  });

  it('does not read types past the bytes it was given', () => {
    const statement = new VirtualStatements().add(Buffer.from('\x16select ?, ?'), 2, 7);
    VirtualStatements.noteTypes(statement, execute(1, true), 0, 13);
    expect(statement.paramTypes).toBeNull();
  });
});

describe('LocalStatements', () => {
  it('uses ids from a range servers do not reach, and forgets closed ones', () => {
    const statements = new LocalStatements();
    const statement = statements.add({ sql: 'select library ?', paramCount: 1, columns: [], kind: 'extension' });
    expect(statement.id).toBe(FIRST_LOCAL_STATEMENT_ID);
    expect(LocalStatements.isLocalId(statement.id)).toBe(true);
    expect(LocalStatements.isLocalId(1)).toBe(false);
    statements.delete(statement.id);
    expect(statements.get(statement.id)).toBeUndefined();
  });
});
