import { MAX_PACKET_PAYLOAD } from './constants.js';
import { ProtocolError } from './payload.js';

/** A whole logical packet: its payload (continuations joined) and the sequence id of its first frame. */
export interface Packet {
  sequenceId: number;
  payload: Buffer;
}

export const HEADER_LENGTH = 4;

/**
 * Frames one payload for the wire: 3-byte length, sequence id, payload; payloads of 16 MiB - 1 bytes or more
 * are split into 0xFFFFFF-byte frames followed by a shorter (possibly empty) last frame, each with the next id.
 */
export function encodePacket(payload: Buffer, sequenceId: number): Buffer {
  if (payload.length < MAX_PACKET_PAYLOAD) {
    const out = Buffer.allocUnsafe(HEADER_LENGTH + payload.length);
    out.writeUIntLE(payload.length, 0, 3);
    out[3] = sequenceId & 0xff;
    payload.copy(out, HEADER_LENGTH);
    return out;
  }
  const frames: Buffer[] = [];
  let offset = 0;
  let seq = sequenceId;
  for (;;) {
    const size = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
    const header = Buffer.allocUnsafe(HEADER_LENGTH);
    header.writeUIntLE(size, 0, 3);
    header[3] = seq & 0xff;
    frames.push(header, payload.subarray(offset, offset + size));
    offset += size;
    seq++;
    if (size < MAX_PACKET_PAYLOAD) break;
  }
  return Buffer.concat(frames);
}

/** Several payloads with consecutive sequence ids, in one buffer (one socket write). */
export function encodePackets(payloads: readonly Buffer[], firstSequenceId: number): Buffer {
  const parts: Buffer[] = [];
  let seq = firstSequenceId;
  for (const payload of payloads) {
    parts.push(encodePacket(payload, seq));
    seq += Math.floor(payload.length / MAX_PACKET_PAYLOAD) + 1;
  }
  return Buffer.concat(parts);
}

/**
 * Turns a byte stream into whole packets, joining 0xFFFFFF continuation frames. Used where mysqlda reads
 * packets itself (handshake, lobby commands, backend set-up), not on the splice. Keeps the tail of a chunk
 * that holds only part of a packet for the next push.
 */
export class PacketFramer {
  private pending: Buffer | null = null;
  private partial: Buffer[] = [];
  private partialSequenceId = 0;
  /** The pending bytes start with a packet over the limit: the next push refuses the stream. */
  private oversized = false;

  constructor(private readonly maxPayload = 1 << 30) {}

  /** Like push(), for callers that answer a malformed stream rather than throw: null when it is one. */
  tryPush(chunk: Buffer): Packet[] | null {
    try {
      return this.push(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) return null;
      throw err;
    }
  }

  /** Every packet completed by this chunk, in order. */
  push(chunk: Buffer): Packet[] {
    if (this.oversized) throw new ProtocolError('packet larger than allowed');
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const packets: Packet[] = [];
    let offset = 0;
    while (data.length - offset >= HEADER_LENGTH) {
      const length = data.readUIntLE(offset, 3);
      // Refused from its header: a packet over the limit is never buffered. Packets completed before it are
      // handed over first: the bytes after an SSLRequest are a TLS ClientHello, not a packet, and are taken
      // with takeRemainder() before any further push.
      if (length > this.maxPayload || (length === MAX_PACKET_PAYLOAD && (this.partial.length + 1) * MAX_PACKET_PAYLOAD > this.maxPayload)) {
        if (packets.length === 0) throw new ProtocolError('packet larger than allowed');
        this.pending = data.subarray(offset);
        this.oversized = true;
        return packets;
      }
      if (data.length - offset < HEADER_LENGTH + length) break;
      const sequenceId = data[offset + 3];
      const frame = data.subarray(offset + HEADER_LENGTH, offset + HEADER_LENGTH + length);
      offset += HEADER_LENGTH + length;
      if (this.partial.length === 0) this.partialSequenceId = sequenceId;
      if (length === MAX_PACKET_PAYLOAD) {
        this.partial.push(frame);
        continue;
      }
      const payload = this.partial.length ? Buffer.concat([...this.partial, frame]) : frame;
      this.partial = [];
      packets.push({ sequenceId: this.partialSequenceId, payload });
    }
    if (offset < data.length) this.pending = data.subarray(offset);
    return packets;
  }

  /** Bytes received but not yet part of a whole packet (handed over when a connection changes hands). */
  takeRemainder(): Buffer {
    const rest = this.pending ?? Buffer.alloc(0);
    this.pending = null;
    this.oversized = false;
    return rest;
  }

  get hasPartialPacket(): boolean {
    return this.pending !== null || this.partial.length > 0;
  }
}
