import { PacketHeader } from './constants.js';
import { parseErr, parseOk } from './generic-packets.js';

/** An OK is a few bytes; a longer packet where an OK is awaited is not one. */
const MAX_ANSWER_PAYLOAD = 0xffff;

/** One of the dropped answers was not an OK: the commands mysqlda slipped in did not take effect. */
export class DroppedAnswerError extends Error {
  override name = 'DroppedAnswerError';
}

/** The bytes after the dropped answers; `fromChunk` when they are a view of the chunk given (not a copy). */
export interface AfterDropped {
  rest: Buffer;
  fromChunk: boolean;
}

/**
 * Answers to commands mysqlda sent ahead of a client's own in the same write (a deferred pool reset), read off
 * the front of the server's byte stream and dropped, so that the client sees only the answers to its commands.
 * Each awaited answer is one packet, which must be an OK.
 */
export class DroppedAnswers {
  private awaited = 0;
  /** The start of an answer whose rest is still to come. */
  private partial: Buffer | null = null;
  /** The status flags of the last OK dropped. */
  statusFlags = 0;

  /** `count` more answers are on their way. */
  expect(count: number): void {
    this.awaited += count;
  }

  get pending(): boolean {
    return this.awaited > 0;
  }

  /**
   * Drops what `chunk` holds of the awaited answers. Returns the bytes after the last one (possibly none), or
   * null when the chunk was all answer and more is awaited. Throws DroppedAnswerError when an answer is not an OK.
   */
  take(chunk: Buffer): AfterDropped | null {
    const fromChunk = this.partial === null;
    const data = fromChunk ? chunk : Buffer.concat([this.partial!, chunk]);
    this.partial = null;
    let offset = 0;
    while (this.awaited > 0 && data.length - offset >= 4) {
      const length = data.readUIntLE(offset, 3);
      if (length > MAX_ANSWER_PAYLOAD) throw new DroppedAnswerError(`a ${length}-byte packet where an OK was awaited`);
      if (data.length - offset < 4 + length) break;
      const payload = data.subarray(offset + 4, offset + 4 + length);
      offset += 4 + length;
      if (payload[0] === PacketHeader.ERR) {
        const error = parseErr(payload);
        throw new DroppedAnswerError(`error ${error.code}: ${error.message}`);
      }
      if (payload[0] !== PacketHeader.OK) throw new DroppedAnswerError(`a packet of type 0x${(payload[0] ?? 0).toString(16)} where an OK was awaited`);
      this.statusFlags = parseOk(payload).statusFlags;
      this.awaited--;
    }
    if (this.awaited > 0) {
      this.partial = Buffer.from(data.subarray(offset));
      return null;
    }
    return { rest: data.subarray(offset), fromChunk };
  }
}
