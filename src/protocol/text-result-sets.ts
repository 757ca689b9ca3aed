/**
 * Reading the answer to a COM_QUERY that mysqlda sends itself (health checks, promotion): the payloads of one or
 * more text result sets (a multi-statement answers with one per statement) into column names and rows of text.
 * Pure: payloads in, values out.
 */
import { MAX_PACKET_PAYLOAD, PacketHeader, ServerStatus } from './constants.js';
import { parseErr, type ErrPacket } from './generic-packets.js';
import { PayloadReader } from './payload.js';

/** One statement's answer: a result set, an OK (no rows), or an ERR (which ends a multi-statement). */
export type StatementAnswer =
  | { kind: 'rows'; columns: string[]; rows: (string | null)[][] }
  | { kind: 'ok' }
  | { kind: 'error'; error: ErrPacket };

/** Payloads longer than this starting with 0xfe are rows, not terminators (see the protocol's EOF rules). */
const CLASSIC_EOF_MAX = 9;
const { MORE_RESULTS_EXISTS } = ServerStatus;

/**
 * The answers in `payloads`, in order. Stops at the first ERR (a multi-statement runs no further) and at anything
 * malformed (what was read before is returned).
 */
export function readStatementAnswers(payloads: readonly Buffer[], deprecateEof: boolean): StatementAnswer[] {
  const answers: StatementAnswer[] = [];
  let i = 0;
  try {
    while (i < payloads.length) {
      const first = payloads[i];
      if (first.length === 0) break;
      if (first[0] === PacketHeader.ERR) {
        answers.push({ kind: 'error', error: parseErr(first) });
        break;
      }
      if (first[0] === PacketHeader.OK) {
        answers.push({ kind: 'ok' });
        if (!(okStatus(first) & MORE_RESULTS_EXISTS)) break;
        i++;
        continue;
      }
      const count = new PayloadReader(first).lenencInt();
      if (count === 0 || payloads.length < i + 1 + count) break; // not a result set's head, or cut short
      const columns = payloads.slice(i + 1, i + 1 + count).map(columnName);
      i += 1 + count;
      if (!deprecateEof) i++; // the EOF after the column definitions
      const rows: (string | null)[][] = [];
      let status: number | null = null;
      for (; i < payloads.length; i++) {
        const packet = payloads[i];
        if (packet[0] === PacketHeader.EOF && packet.length < (deprecateEof ? MAX_PACKET_PAYLOAD : CLASSIC_EOF_MAX)) {
          status = deprecateEof ? okStatus(packet) : packet.length >= 5 ? packet.readUInt16LE(3) : 0;
          i++;
          break;
        }
        if (packet[0] === PacketHeader.ERR) {
          answers.push({ kind: 'rows', columns, rows });
          answers.push({ kind: 'error', error: parseErr(packet) });
          return answers;
        }
        rows.push(textRow(packet, count));
      }
      if (status === null) break; // no end of rows: cut short
      answers.push({ kind: 'rows', columns, rows });
      if (!(status & MORE_RESULTS_EXISTS)) break;
    }
  } catch {
    return answers;
  }
  return answers;
}

/** Rows as objects keyed by column name. */
export function rowObjects(answer: StatementAnswer): Record<string, string | null>[] {
  if (answer.kind !== 'rows') return [];
  return answer.rows.map((row) => Object.fromEntries(answer.columns.map((column, i) => [column, row[i] ?? null])));
}

function columnName(definition: Buffer): string {
  const reader = new PayloadReader(definition);
  for (let skip = 0; skip < 4; skip++) reader.lenencBytes(); // catalog, schema, table, org_table
  return reader.lenencBytes().toString('utf8');
}

function textRow(packet: Buffer, count: number): (string | null)[] {
  const reader = new PayloadReader(packet);
  const values: (string | null)[] = [];
  for (let column = 0; column < count; column++) {
    if (packet[reader.offset] === 0xfb) {
      reader.skip(1);
      values.push(null);
    } else {
      values.push(reader.lenencBytes().toString('utf8'));
    }
  }
  return values;
}

/** Status flags of an OK packet (header, affected rows, last insert id, status). */
function okStatus(packet: Buffer): number {
  const reader = new PayloadReader(packet);
  reader.skip(1);
  reader.lenencInt();
  reader.lenencInt();
  return reader.u16();
}
