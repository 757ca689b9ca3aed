/**
 * The client socket's bytes on their way to the command path: how they are read (a reused buffer where Node
 * allows it, else 'data' events), and what waits while a command is handled here (the backlog, and chunks held
 * behind it until a whole intercepted packet has arrived); and how the socket ends with its session.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { adoptReadBuffer, ReadBuffer, type ChunkReader } from '../socket/read-buffer.js';

/** How long a closed session waits for its client to acknowledge the close before dropping the socket. */
const CLOSE_GRACE_MS = 1_000;

export class ClientInput {
  /** Bytes read and not yet moved on by the command path. */
  backlog: Buffer | null = null;
  /** The backlog is a view of the socket's reused read buffer (valid until the next read). */
  borrowed = false;
  /**
   * Chunks read behind a backlog that is still short of a whole intercepted packet (CommandSplitter's `needed`):
   * joined once when enough has arrived, not copied again with every read.
   */
  private held: { chunks: Buffer[]; bytes: number; needed: number } = { chunks: [], bytes: 0, needed: 0 };
  /** The socket's reads when not 'data' events (plain TCP): the scratch buffer until routed, then its own. */
  private reads: ReadBuffer | null = null;

  constructor(
    /** Where 'data' events go. */
    private readonly onData: (chunk: Buffer) => void,
    /** Where reads into a ReadBuffer go: true when a borrowed chunk stays referenced. */
    private readonly onRead: ChunkReader,
  ) {}

  /**
   * Starts reading the socket. Until it is routed, a plain TCP client reads into the process-wide scratch buffer
   * and each chunk is copied (login and set-up statements are small): no 64 KB buffer per read, as 'data' events
   * allocate, and none held by an idle client. Only where clients cannot ask for TLS (`scratch`): an upgrade
   * takes the socket's reads over.
   */
  listen(socket: net.Socket, scratch: boolean): void {
    if (scratch) this.adopt(socket, new ReadBuffer().readIntoScratch());
    if (this.reads === null) socket.on('data', this.onData);
  }

  /**
   * Once routed, a plain TCP client is read into one reused buffer instead of a fresh one per 'data' event (the
   * splice's main allocation); clients still in the lobby hold no buffer. TLS sockets, Node versions where this
   * is not possible, and a socket with bytes already buffered keep 'data' events.
   */
  readIntoReusedBuffer(socket: net.Socket): void {
    if (this.reads !== null) return this.reads.ownBuffer();
    if (!(socket instanceof tls.TLSSocket)) this.adopt(socket, new ReadBuffer());
  }

  /** Switches the socket from 'data' events to `reads`; changes nothing where that cannot be done. */
  private adopt(socket: net.Socket, reads: ReadBuffer): void {
    reads.setReader(this.onRead);
    if (!adoptReadBuffer(socket, reads)) return;
    this.reads = reads;
    socket.off('data', this.onData);
    socket.once('close', () => reads.release());
  }

  /** Adds a chunk read. False when it is held: the backlog is still short of the packet the command path waits for. */
  add(chunk: Buffer, borrowed: boolean): boolean {
    if (this.backlog) {
      const held = this.held;
      if (this.backlog.length + held.bytes + chunk.length < held.needed) {
        held.chunks.push(borrowed ? Buffer.from(chunk) : chunk);
        held.bytes += chunk.length;
        return false;
      }
      this.backlog = this.join(chunk);
      this.borrowed = false;
    } else {
      this.backlog = chunk;
      this.borrowed = borrowed;
    }
    return true;
  }

  /** Bytes waiting: the backlog and what is held behind it. */
  get waiting(): number {
    return (this.backlog?.length ?? 0) + this.held.bytes;
  }

  /** How many bytes the backlog must reach before the command path can go on (CommandSplitter's `needed`). */
  set needed(bytes: number) {
    this.held.needed = bytes;
  }

  /** The held chunks joined onto the backlog, before it is split. */
  gather(): void {
    if (this.held.chunks.length > 0) this.backlog = this.join();
  }

  /** Bytes waiting behind a command handled here outlive the read that borrowed them: copied. */
  keep(): void {
    if (!this.borrowed) return;
    if (this.backlog) this.backlog = Buffer.from(this.backlog);
    this.borrowed = false;
  }

  /** Everything waiting, taken off the input (for an exchange that reads the client's packets itself). */
  takeAll(): Buffer | null {
    const all = this.backlog ? this.join() : null;
    this.backlog = null;
    return all;
  }

  /** Bytes that go back ahead of whatever was read since. */
  unshift(bytes: Buffer): void {
    if (bytes.length) this.backlog = this.backlog ? Buffer.concat([bytes, this.backlog]) : bytes;
  }

  clear(): void {
    this.backlog = null;
    this.held = { chunks: [], bytes: 0, needed: 0 };
  }

  /** The backlog, the chunks held behind it and `chunk` (if any), as one buffer. */
  private join(chunk?: Buffer): Buffer {
    const parts = [this.backlog!, ...this.held.chunks];
    if (chunk) parts.push(chunk);
    this.held = { chunks: [], bytes: 0, needed: 0 };
    return Buffer.concat(parts);
  }
}

/** Ends a session's client socket (`quit`: after COM_QUIT). */
export function endClientSocket(socket: net.Socket, quit: boolean): void {
  if (quit && socket.writableLength === 0) {
    // After COM_QUIT the client expects nothing more: the socket closes at once, as MySQL's does, without the
    // half-close and the wait for the client's FIN that a refused or failed session needs for its last ERR.
    socket.destroy();
  } else if (!socket.destroyed) {
    // End politely (a queued ERR still goes out), but never let a silent peer hold the socket open.
    // The timer goes once the socket has closed: a pending timer keeps the whole session alive, and thousands of
    // sessions a second kept for the grace period reach V8's old space, where only a full collection frees them.
    const grace = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    socket.once('close', () => clearTimeout(grace));
    socket.end();
    // A session paused while handling its last command (COM_QUIT) would never read the client's FIN: the socket,
    // with everything it references, would wait out the grace period. Whatever still arrives is dropped.
    socket.resume();
  }
}
