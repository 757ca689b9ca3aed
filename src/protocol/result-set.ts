import { PacketHeader } from './constants.js';
import { encodeEof } from './generic-packets.js';
import { PayloadWriter } from './payload.js';

/** Column types mysqlda uses in the result sets it makes itself. */
export const ColumnType = { LONGLONG: 0x08, VAR_STRING: 0xfd } as const;

export interface LocalColumn {
  name: string;
  type?: number;
}

const UTF8MB4_GENERAL_CI = 45;
const BINARY_COLLATION = 63;

export function encodeColumnDefinition(column: LocalColumn, table = ''): Buffer {
  const type = column.type ?? ColumnType.VAR_STRING;
  return new PayloadWriter(64)
    .lenencString('def')
    .lenencString('')
    .lenencString(table)
    .lenencString(table)
    .lenencString(column.name)
    .lenencString(column.name)
    .lenencInt(0x0c)
    .u16(type === ColumnType.VAR_STRING ? UTF8MB4_GENERAL_CI : BINARY_COLLATION)
    .u32(type === ColumnType.VAR_STRING ? 1024 : 20)
    .u8(type)
    .u16(0)
    .u8(0)
    .u16(0)
    .toBuffer();
}

export function encodeTextRow(values: readonly (string | number | null)[]): Buffer {
  const writer = new PayloadWriter(64);
  for (const value of values) {
    if (value === null) writer.u8(0xfb);
    else writer.lenencString(String(value));
  }
  return writer.toBuffer();
}

/** The terminator of a result set: EOF, or an OK packet with the EOF header when the client asked for DEPRECATE_EOF. */
export function encodeResultSetEnd(statusFlags: number, deprecateEof: boolean): Buffer {
  if (!deprecateEof) return encodeEof(statusFlags);
  return new PayloadWriter(8).u8(PacketHeader.EOF).lenencInt(0).lenencInt(0).u16(statusFlags).u16(0).toBuffer();
}

/** The payloads of a whole text result set, in order, for a reply mysqlda makes itself (e.g. `show library`). */
export function encodeTextResultSet(
  columns: readonly LocalColumn[],
  rows: readonly (readonly (string | number | null)[])[],
  statusFlags: number,
  deprecateEof: boolean,
): Buffer[] {
  const payloads: Buffer[] = [new PayloadWriter(4).lenencInt(columns.length).toBuffer()];
  for (const column of columns) payloads.push(encodeColumnDefinition(column));
  if (!deprecateEof) payloads.push(encodeEof(statusFlags));
  for (const row of rows) payloads.push(encodeTextRow(row));
  payloads.push(encodeResultSetEnd(statusFlags, deprecateEof));
  return payloads;
}
