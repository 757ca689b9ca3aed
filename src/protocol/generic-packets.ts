import { PacketHeader } from './constants.js';
import type { ProxyError } from './error-codes.js';
import { PayloadReader, PayloadWriter } from './payload.js';

export interface OkPacket {
  affectedRows: number;
  lastInsertId: number;
  statusFlags: number;
  warnings: number;
}

export interface ErrPacket {
  code: number;
  sqlState: string;
  message: string;
}

export function encodeOk(statusFlags: number, affectedRows = 0, lastInsertId = 0, warnings = 0): Buffer {
  return new PayloadWriter(16)
    .u8(PacketHeader.OK)
    .lenencInt(affectedRows)
    .lenencInt(lastInsertId)
    .u16(statusFlags)
    .u16(warnings)
    .toBuffer();
}

/** ERR with SQLSTATE (protocol 4.1). The message carries no trailing NUL (mysqlda counted one into the length). */
export function encodeErr(error: ProxyError | ErrPacket): Buffer {
  return new PayloadWriter(64 + error.message.length)
    .u8(PacketHeader.ERR)
    .u16(error.code)
    .string('#')
    .string(error.sqlState.padEnd(5, '0').slice(0, 5))
    .string(error.message)
    .toBuffer();
}

export function encodeEof(statusFlags: number, warnings = 0): Buffer {
  return new PayloadWriter(8).u8(PacketHeader.EOF).u16(warnings).u16(statusFlags).toBuffer();
}

export function parseOk(payload: Buffer): OkPacket {
  const reader = new PayloadReader(payload, 1);
  const affectedRows = reader.lenencInt();
  const lastInsertId = reader.lenencInt();
  const statusFlags = reader.remaining >= 2 ? reader.u16() : 0;
  const warnings = reader.remaining >= 2 ? reader.u16() : 0;
  return { affectedRows, lastInsertId, statusFlags, warnings };
}

export function parseErr(payload: Buffer): ErrPacket {
  const reader = new PayloadReader(payload, 1);
  const code = reader.u16();
  let sqlState = 'HY000';
  if (reader.remaining > 0 && payload[reader.offset] === 0x23 /* '#' */) {
    reader.skip(1);
    sqlState = reader.bytes(5).toString('latin1');
  }
  return { code, sqlState, message: reader.restBytes().toString('utf8') };
}

export function isOk(payload: Buffer): boolean {
  return payload.length > 0 && payload[0] === PacketHeader.OK;
}

export function isErr(payload: Buffer): boolean {
  return payload.length > 0 && payload[0] === PacketHeader.ERR;
}
