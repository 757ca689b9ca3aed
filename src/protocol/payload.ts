/** Readers and writers for the field encodings of MySQL payloads (fixed ints, length-encoded ints and strings). */

export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Sequential reader over one payload. Throws ProtocolError when a field runs past the end. */
export class PayloadReader {
  offset: number;
  constructor(readonly buffer: Buffer, start = 0, readonly end = buffer.length) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.end) throw new ProtocolError(`payload too short: need ${n} bytes at offset ${this.offset}`);
  }

  u8(): number {
    this.need(1);
    return this.buffer[this.offset++];
  }

  u16(): number {
    this.need(2);
    const v = this.buffer.readUInt16LE(this.offset);
    this.offset += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const v = this.buffer.readUIntLE(this.offset, 3);
    this.offset += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buffer.readUInt32LE(this.offset);
    this.offset += 4;
    return v;
  }

  /** Length-encoded integer. Values above 2^53 lose precision, which no length or count here reaches. */
  lenencInt(): number {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      this.need(8);
      const low = this.buffer.readUInt32LE(this.offset);
      const high = this.buffer.readUInt32LE(this.offset + 4);
      this.offset += 8;
      return high * 0x1_0000_0000 + low;
    }
    throw new ProtocolError(`invalid length-encoded integer prefix 0x${first.toString(16)}`);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buffer.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.offset += n;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenencInt());
  }

  /** NUL-terminated bytes; a missing NUL takes the rest of the payload (some clients omit the last one). */
  nulBytes(): Buffer {
    const nul = this.buffer.indexOf(0, this.offset);
    const stop = nul === -1 || nul >= this.end ? this.end : nul;
    const v = this.buffer.subarray(this.offset, stop);
    this.offset = stop === this.end ? this.end : stop + 1;
    return v;
  }

  nulString(): string {
    return this.nulBytes().toString('utf8');
  }

  restBytes(): Buffer {
    return this.bytes(this.remaining);
  }
}

/** Growable writer for building payloads. Used for the handshake and locally made replies, not on the splice. */
export class PayloadWriter {
  private buffer: Buffer;
  private length = 0;

  constructor(initialSize = 128) {
    this.buffer = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buffer[this.length++] = v;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buffer.writeUInt16LE(v, this.length);
    this.length += 2;
    return this;
  }

  u24(v: number): this {
    this.ensure(3);
    this.buffer.writeUIntLE(v, this.length, 3);
    this.length += 3;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buffer.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
    return this;
  }

  lenencInt(v: number): this {
    if (v < 0xfb) return this.u8(v);
    if (v <= 0xffff) return this.u8(0xfc).u16(v);
    if (v <= 0xffffff) return this.u8(0xfd).u24(v);
    this.u8(0xfe);
    this.u32(v % 0x1_0000_0000);
    return this.u32(Math.floor(v / 0x1_0000_0000));
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buffer.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  nulString(s: string): this {
    return this.string(s).u8(0);
  }

  lenencBytes(b: Uint8Array): this {
    return this.lenencInt(b.length).bytes(b);
  }

  lenencString(s: string): this {
    return this.lenencBytes(Buffer.from(s, 'utf8'));
  }

  /** The payload written so far (a copy, safe to keep). */
  toBuffer(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.length));
  }
}
