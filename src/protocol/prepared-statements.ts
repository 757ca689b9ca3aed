import { encodeColumnDefinition, encodeResultSetEnd, type LocalColumn } from './result-set.js';
import { encodeEof } from './generic-packets.js';
import { PayloadReader, PayloadWriter, ProtocolError } from './payload.js';

/** Column types of binary-protocol parameters that mysqlda reads (the rest are refused). */
const ParamType = {
  TINY: 0x01,
  SHORT: 0x02,
  LONG: 0x03,
  LONGLONG: 0x08,
  INT24: 0x09,
  VARCHAR: 0x0f,
  BLOB: 0xfc,
  VAR_STRING: 0xfd,
  STRING: 0xfe,
  TINY_BLOB: 0xf9,
  MEDIUM_BLOB: 0xfa,
  LONG_BLOB: 0xfb,
  NULL: 0x06,
} as const;

const STRING_TYPES: ReadonlySet<number> = new Set([
  ParamType.VARCHAR,
  ParamType.BLOB,
  ParamType.VAR_STRING,
  ParamType.STRING,
  ParamType.TINY_BLOB,
  ParamType.MEDIUM_BLOB,
  ParamType.LONG_BLOB,
]);

/** The answer to COM_STMT_PREPARE: prepare-OK, then parameter and column definitions (EOF-terminated unless DEPRECATE_EOF). */
export function encodePrepareOk(statementId: number, columns: readonly LocalColumn[], paramCount: number, deprecateEof: boolean): Buffer[] {
  const payloads = [new PayloadWriter(12).u8(0).u32(statementId).u16(columns.length).u16(paramCount).u8(0).u16(0).toBuffer()];
  if (paramCount > 0) {
    for (let i = 0; i < paramCount; i++) payloads.push(encodeColumnDefinition({ name: '?' }));
    if (!deprecateEof) payloads.push(encodeEof(0));
  }
  if (columns.length > 0) {
    for (const column of columns) payloads.push(encodeColumnDefinition(column));
    if (!deprecateEof) payloads.push(encodeEof(0));
  }
  return payloads;
}

export interface ExecuteRequest {
  statementId: number;
  values: (string | null)[];
  /** The parameter types in force (sent now, or remembered from an earlier execution). */
  types: number[];
}

export function statementIdOf(payload: Buffer): number {
  if (payload.length < 5) throw new ProtocolError('statement command too short');
  return payload.readUInt32LE(1);
}

/** Reads COM_STMT_EXECUTE's parameters as text (strings and integers; anything else is refused). */
export function parseExecute(payload: Buffer, paramCount: number, previousTypes: number[] | null): ExecuteRequest {
  const reader = new PayloadReader(payload, 1);
  const statementId = reader.u32();
  reader.skip(1 + 4); // flags, iteration count
  if (paramCount === 0) return { statementId, values: [], types: [] };
  const nullBitmap = reader.bytes(Math.floor((paramCount + 7) / 8));
  let types = previousTypes ?? [];
  if (reader.u8() === 1) {
    types = [];
    for (let i = 0; i < paramCount; i++) types.push(reader.u16() & 0xff);
  }
  if (types.length !== paramCount) throw new ProtocolError('parameter types were never sent');
  const values: (string | null)[] = [];
  for (let i = 0; i < paramCount; i++) {
    if (nullBitmap[i >> 3] & (1 << (i & 7)) || types[i] === ParamType.NULL) {
      values.push(null);
      continue;
    }
    const type = types[i];
    if (STRING_TYPES.has(type)) values.push(reader.lenencBytes().toString('utf8'));
    else if (type === ParamType.TINY) values.push(String(reader.u8()));
    else if (type === ParamType.SHORT) values.push(String(reader.u16()));
    else if (type === ParamType.LONG || type === ParamType.INT24) values.push(String(reader.u32()));
    else if (type === ParamType.LONGLONG) {
      const low = reader.u32();
      const high = reader.u32();
      values.push((BigInt(high) * 0x1_0000_0000n + BigInt(low)).toString());
    } else throw new ProtocolError(`parameter type 0x${type.toString(16)} is not supported here`);
  }
  return { statementId, values, types };
}

/** A binary-protocol result set of string columns (the reply to executing `show library`). */
export function encodeBinaryResultSet(
  columns: readonly LocalColumn[],
  rows: readonly (readonly (string | null)[])[],
  statusFlags: number,
  deprecateEof: boolean,
): Buffer[] {
  const payloads: Buffer[] = [new PayloadWriter(4).lenencInt(columns.length).toBuffer()];
  for (const column of columns) payloads.push(encodeColumnDefinition(column));
  if (!deprecateEof) payloads.push(encodeEof(statusFlags));
  for (const row of rows) {
    const bitmap = Buffer.alloc(Math.floor((columns.length + 7 + 2) / 8));
    row.forEach((value, i) => {
      if (value === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7);
    });
    const writer = new PayloadWriter(64).u8(0).bytes(bitmap);
    for (const value of row) if (value !== null) writer.lenencString(value);
    payloads.push(writer.toBuffer());
  }
  payloads.push(encodeResultSetEnd(statusFlags, deprecateEof));
  return payloads;
}

/** Number of `?` placeholders outside quotes and comments. */
export function countPlaceholders(sql: string): number {
  return placeholderPositions(sql).length;
}

/**
 * The statement with each `?` replaced by its value, quoted (or NULL). `escapeBackslashes` for SQL a server
 * will read (unless it runs with NO_BACKSLASH_ESCAPES); not for mysqlda's own grammar, which has no escapes.
 */
export function bindPlaceholders(sql: string, values: readonly (string | null)[], escapeBackslashes: boolean): string {
  const positions = placeholderPositions(sql);
  let out = '';
  let last = 0;
  positions.forEach((position, i) => {
    const value = values[i];
    out += sql.slice(last, position) + (value === null || value === undefined ? 'NULL' : `'${(escapeBackslashes ? value.replace(/\\/g, '\\\\') : value).replace(/'/g, "''")}'`);
    last = position + 1;
  });
  return out + sql.slice(last);
}

function placeholderPositions(sql: string): number[] {
  const positions: number[] = [];
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`') {
      const close = sql.indexOf(c, i + 1);
      i = close === -1 ? sql.length : close;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 1;
    } else if (c === '?') positions.push(i);
  }
  return positions;
}
