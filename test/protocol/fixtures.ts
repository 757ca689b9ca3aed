import { encodePacket } from '../../src/protocol/packet.js';
import { encodeEof, encodeErr, encodeOk } from '../../src/protocol/generic-packets.js';
import { encodeColumnDefinition, encodeResultSetEnd, encodeTextRow } from '../../src/protocol/result-set.js';

/** Builds a server byte stream packet by packet, numbering sequence ids like a server does. */
export class StreamBuilder {
  private readonly parts: Buffer[] = [];
  private seq = 1;

  packet(payload: Buffer): this {
    this.parts.push(encodePacket(payload, this.seq));
    this.seq += Math.floor(payload.length / 0xffffff) + 1;
    return this;
  }

  ok(status = 2): this {
    return this.packet(encodeOk(status));
  }

  err(): this {
    return this.packet(encodeErr({ code: 1064, sqlState: '42000', message: 'syntax' }));
  }

  eof(status = 2): this {
    return this.packet(encodeEof(status));
  }

  resultSet(columns: number, rows: number, options: { deprecateEof: boolean; status?: number; rowBytes?: number }): this {
    this.packet(Buffer.from([columns]));
    for (let c = 0; c < columns; c++) this.packet(encodeColumnDefinition({ name: `c${c}` }));
    if (!options.deprecateEof) this.eof(options.status ?? 2);
    const value = 'x'.repeat(options.rowBytes ?? 3);
    for (let r = 0; r < rows; r++) this.packet(encodeTextRow(Array.from({ length: columns }, () => value)));
    return this.packet(encodeResultSetEnd(options.status ?? 2, options.deprecateEof));
  }

  newCommand(): this {
    this.seq = 1;
    return this;
  }

  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** Every way of cutting a buffer in two, plus byte-by-byte. */
export function* splits(bytes: Buffer): Generator<Buffer[]> {
  yield [bytes];
  for (let cut = 1; cut < bytes.length; cut++) yield [bytes.subarray(0, cut), bytes.subarray(cut)];
  yield [...bytes].map((b) => Buffer.from([b]));
}
