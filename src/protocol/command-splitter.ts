import { MAX_PACKET_PAYLOAD } from './constants.js';
import type { Packet } from './packet.js';

/**
 * FORWARD: the packet passes through. INTERCEPT: the session handles the whole packet itself. DISCARD: the packet
 * is read and dropped without being buffered (too large to be what the session allows); the session answers it.
 */
export const Verdict = { FORWARD: 0, INTERCEPT: 1, DISCARD: 2 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/**
 * Decides, from the first bytes of a client packet, whether it passes through to the backend or the session
 * handles it itself. buf[start .. start+headLength) are the first payload bytes; payloadLength is the whole.
 * Called once per packet that is forwarded; may be called again for a packet it intercepts while that
 * packet is still arriving, so an INTERCEPT verdict must have no side effects.
 */
export type Classifier = (buf: Buffer, start: number, headLength: number, payloadLength: number, sequenceId: number) => Verdict;

export interface SplitResult {
  /** Leading bytes of the input that pass through unchanged. */
  forwardBytes: number;
  /** A whole intercepted packet right after the forwarded bytes, or null when the input ran out first. */
  command: Packet | null;
  /** Bytes of the input dealt with (forwarded, intercepted or discarded); the rest waits for more data. */
  consumed: number;
  /** The sequence id of a discarded packet whose last byte this step consumed, else -1. */
  discarded: number;
  /**
   * How many bytes the rest of the input (from `consumed`) must hold before another split can get further; 0 when
   * any byte helps. Lets the caller collect the chunks of a long intercepted packet and join them once.
   */
  needed: number;
}

/**
 * Walks the client's byte stream packet by packet, reading only each packet's header and first bytes, and
 * stops at packets the session intercepts. Pass-through packets are never copied: the caller forwards the
 * leading `forwardBytes` of its own buffer.
 */
export class CommandSplitter {
  private payloadRemaining = 0;
  private continuing = false;
  /** The packet being passed over is discarded: its bytes are consumed, never forwarded. */
  private discardingPacket = false;
  private discardedSequenceId = 0;

  constructor(
    private readonly classify: Classifier,
    private readonly headBytes = 128,
  ) {}

  /** Whether a packet is being passed over (DISCARD): the next bytes are its body. */
  get discarding(): boolean {
    return this.discardingPacket;
  }

  /** True when the last forwarded packet is complete: the next byte starts a new packet. */
  get atPacketBoundary(): boolean {
    return this.payloadRemaining === 0 && !this.continuing;
  }

  split(input: Buffer): SplitResult {
    if (this.discardingPacket) return this.discard(input);
    let i = 0;
    const end = input.length;
    while (i < end) {
      if (this.payloadRemaining > 0) {
        const n = Math.min(this.payloadRemaining, end - i);
        this.payloadRemaining -= n;
        i += n;
        continue;
      }
      if (end - i < 4) return this.shortOf(i, 4);
      const length = input[i] | (input[i + 1] << 8) | (input[i + 2] << 16);
      if (this.continuing) {
        this.continuing = length === MAX_PACKET_PAYLOAD;
        this.payloadRemaining = length;
        i += 4;
        continue;
      }
      const headLength = Math.min(length, this.headBytes);
      if (end - i - 4 < headLength) return this.shortOf(i, 4 + headLength);
      const sequenceId = input[i + 3];
      const verdict = this.classify(input, i + 4, headLength, length, sequenceId);
      if (verdict === Verdict.FORWARD) {
        this.continuing = length === MAX_PACKET_PAYLOAD;
        this.payloadRemaining = length;
        i += 4;
        continue;
      }
      if (verdict === Verdict.DISCARD) {
        // The bytes before it go on; the packet itself is passed over from the next call on.
        this.discardingPacket = true;
        this.discardedSequenceId = sequenceId;
        this.continuing = length === MAX_PACKET_PAYLOAD;
        this.payloadRemaining = length;
        return { forwardBytes: i, command: null, consumed: i + 4, discarded: -1, needed: 0 };
      }
      if (end - i - 4 < length) return this.shortOf(i, 4 + length);
      return {
        forwardBytes: i,
        command: { sequenceId, payload: input.subarray(i + 4, i + 4 + length) },
        consumed: i + 4 + length,
        discarded: -1,
        needed: 0,
      };
    }
    return { forwardBytes: i, command: null, consumed: i, discarded: -1, needed: 0 };
  }

  /** The input ran out at `i`, a packet start, `needed` bytes short of a decision. */
  private shortOf(i: number, needed: number): SplitResult {
    return { forwardBytes: i, command: null, consumed: i, discarded: -1, needed };
  }

  /** Passes over the rest of a discarded packet (continuation frames too); reports it once its last byte is read. */
  private discard(input: Buffer): SplitResult {
    let i = 0;
    const end = input.length;
    for (;;) {
      if (this.payloadRemaining > 0) {
        const n = Math.min(this.payloadRemaining, end - i);
        this.payloadRemaining -= n;
        i += n;
        if (this.payloadRemaining > 0) break;
      }
      if (!this.continuing) {
        this.discardingPacket = false;
        return { forwardBytes: 0, command: null, consumed: i, discarded: this.discardedSequenceId, needed: 0 };
      }
      if (end - i < 4) break;
      const length = input[i] | (input[i + 1] << 8) | (input[i + 2] << 16);
      this.continuing = length === MAX_PACKET_PAYLOAD;
      this.payloadRemaining = length;
      i += 4;
    }
    return { forwardBytes: 0, command: null, consumed: i, discarded: -1, needed: 0 };
  }
}
