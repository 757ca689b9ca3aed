import net from 'node:net';

/**
 * Receives a socket's bytes. A `borrowed` chunk is a view of the socket's read buffer, which the next read
 * overwrites: a reader that hands it on to something that keeps it (a write still queued on another socket)
 * returns true, and the socket reads into a fresh buffer from then on. Other chunks are the reader's to keep.
 */
export type ChunkReader = (chunk: Buffer, borrowed: boolean) => boolean;

/** Node's default read size: large results move in as few reads as with 'data' events. */
export const READ_BUFFER_BYTES = 64 * 1024;

/**
 * Read buffers of closed sockets, handed to new ones: short-lived connections then allocate nothing either
 * (64 KB apiece would otherwise drive V8's external-memory GC at thousands of connections a second).
 */
const spareBuffers: Buffer[] = [];
const MAX_SPARE_BUFFERS = 256;

/**
 * One buffer that every socket in scratch mode reads into. Reads run one at a time on the event loop and each
 * chunk is copied out before the next read, so sockets that are not on the splice yet (logging in, in the lobby)
 * allocate no 64 KB buffer per read and hold none while idle.
 */
let scratch: Buffer | null = null;

/**
 * One socket's read buffer, reused from read to read (Node's `onread`): the splice then allocates no buffer
 * and skips the readable-stream machinery per read. Bytes that arrive while no reader is set are copied and
 * kept for the next one.
 */
export class ReadBuffer {
  private reader: ChunkReader | null = null;
  private buffer: Buffer | null = null;
  private bufferKept = false;
  private early: Buffer[] = [];
  private useScratch = false;
  /**
   * Whether the buffer handed out last, where the next read lands, is the scratch buffer. Node asks for the next
   * buffer after each read's callback, so a read may still land in the scratch buffer after ownBuffer().
   */
  private readingIntoScratch = false;

  /** Node's `onread` option: the buffer for the next read (called after every read), and the callback. */
  readonly onread = {
    buffer: (): Buffer => {
      this.readingIntoScratch = this.useScratch;
      if (this.useScratch) return (scratch ??= Buffer.allocUnsafe(READ_BUFFER_BYTES));
      if (this.buffer === null || this.bufferKept) {
        this.buffer = spareBuffers.pop() ?? Buffer.allocUnsafe(READ_BUFFER_BYTES);
        this.bufferKept = false;
      }
      return this.buffer;
    },
    callback: (length: number, buffer: Uint8Array): boolean => {
      const view = Buffer.from(buffer.buffer, buffer.byteOffset, length);
      if (this.readingIntoScratch) this.deliver(Buffer.from(view), false);
      else this.deliver(view, true);
      return true; // pausing is the reader's business (socket.pause())
    },
  };

  /** Reads go into the process-wide scratch buffer and each chunk is copied out, until ownBuffer(). */
  readIntoScratch(): this {
    this.useScratch = true;
    return this;
  }

  /** From the next read on, reads go into this socket's own reused buffer (a spliced socket's large reads). */
  ownBuffer(): void {
    this.useScratch = false;
  }

  setReader(reader: ChunkReader | null): void {
    this.reader = reader;
    while (reader !== null && this.early.length > 0 && this.reader === reader) reader(this.early.shift()!, false);
  }

  /**
   * The socket has closed: no read can land in the buffer any more, so unless a queued write still holds it,
   * it goes to the next socket.
   */
  release(): void {
    if (this.buffer !== null && !this.bufferKept && spareBuffers.length < MAX_SPARE_BUFFERS) spareBuffers.push(this.buffer);
    this.buffer = null;
    this.reader = null;
    this.early = [];
  }

  /** A chunk from the socket; `borrowed` when it is a view of the reused buffer. */
  deliver(chunk: Buffer, borrowed: boolean): void {
    const reader = this.reader;
    if (reader === null) {
      this.early.push(borrowed ? Buffer.from(chunk) : chunk);
      return;
    }
    if (reader(chunk, borrowed) && borrowed) this.bufferKept = true;
  }
}

/** Wraps a reader that keeps what it is given (a framer collecting whole packets): it gets copies. */
export function copyingReader(receive: (chunk: Buffer) => void): ChunkReader {
  return (chunk) => {
    receive(Buffer.from(chunk));
    return false;
  };
}

/**
 * Node's private names for a socket's `onread` state, learnt from a socket created with the option. net.Server
 * offers no `onread` for accepted sockets; these let one switch over after accepting.
 */
const onreadKeys: { buffer: symbol; callback: symbol; generator: symbol } | null = (() => {
  const options = { onread: { buffer: () => Buffer.alloc(1), callback: () => true } } as net.SocketConstructorOpts;
  const probe = new net.Socket(options);
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((key) => [key.description, key]));
  probe.destroy();
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  return buffer && callback && generator ? { buffer, callback, generator } : null;
})();

/**
 * Switches an accepted plain TCP socket from 'data' events to a reused read buffer, exactly as if it had been
 * created with `onread`. This reaches into Node's private socket state (the names are checked at start-up), so
 * it reports false, and changes nothing, where that state is not as expected: the socket then keeps its 'data'
 * events. Safe between reads, with nothing buffered: the next read lands in the new buffer.
 */
export function adoptReadBuffer(socket: net.Socket, input: ReadBuffer): boolean {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } })._handle;
  if (onreadKeys === null || typeof handle?.useUserBuffer !== 'function') return false;
  // Bytes already read but not yet emitted would be stranded behind the switch.
  if (socket.readableLength > 0) return false;
  const state = socket as unknown as Record<symbol, unknown>;
  if (state[onreadKeys.buffer] !== null || state[onreadKeys.callback] !== null) return false;
  const first = input.onread.buffer();
  handle.useUserBuffer(first);
  state[onreadKeys.buffer] = first;
  state[onreadKeys.generator] = input.onread.buffer;
  state[onreadKeys.callback] = input.onread.callback;
  return true;
}

/** Whether adoptReadBuffer can work on this Node (the test suite checks that it does on the supported one). */
export function canAdoptReadBuffer(): boolean {
  return onreadKeys !== null;
}
