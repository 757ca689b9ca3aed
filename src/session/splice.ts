import type net from 'node:net';
import type { BackendConnection, CommandResult } from '../backend/backend-connection.js';
import { ignoreResponseEnd, type ResponseTracker } from '../protocol/response-tracker.js';
import { StatementClock, type StatementClockOwner, type StatementTiming } from './statement-clock.js';

/** Why the client socket is paused; it reads again only when no reason is left. */
export const PauseReason = { BACKEND_FULL: 1, HANDLING_COMMAND: 2 } as const;

/** What the splice tells its session. */
export interface SpliceOwner extends StatementClockOwner {
  /** A response to a command sent with a non-zero tag has ended (ResponseTracker tags). */
  responseEnded(tag: number, ok: boolean): void;
  /** The backend connection closed while the session was on it. */
  backendClosed(connection: BackendConnection): void;
  /** Once closed, the session's client socket never reads again. */
  isClosed(): boolean;
}

/**
 * The splice: the backend connection a session is on, and the bytes between it and the client socket. Server
 * bytes go to the client as they arrive, client bytes to the server as the session lets them through; either
 * side's back-pressure pauses the other, and a response tracker tells where each answer ends. Replies the proxy
 * makes itself go to the client through here too, so that one counter sees every byte.
 */
export class Splice {
  connection: BackendConnection | null = null;
  tracker: ResponseTracker | null = null;
  /** Bytes written to the client: relayed answers and the proxy's own replies. */
  bytesToClient = 0;
  /** How long each answer takes (statement-clock.ts). */
  readonly clock: StatementClock;
  private pauseReasons = 0;
  private backendPausedForClient = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private client: net.Socket,
    private readonly owner: SpliceOwner,
    timing: StatementTiming | undefined,
    library: string,
  ) {
    this.clock = new StatementClock(owner, timing, library);
    client.on('drain', this.onClientDrain);
  }

  /** The client socket was replaced (TLS upgrade during the login). */
  setClient(socket: net.Socket): void {
    this.client = socket;
    socket.on('drain', this.onClientDrain);
  }

  /** Puts the session on `connection`: its bytes go to the client from now on, followed by the connection's tracker. */
  attach(connection: BackendConnection): void {
    this.connection = connection;
    this.tracker = connection.tracker;
    this.tracker.onResponseEnd = this.onResponseEnd;
    connection.setReader(this.onBackendData);
    connection.socket.on('drain', this.onBackendDrain);
    // The server's FIN ('end') tells of its death a loop turn before 'close', ahead of a command the client sends next.
    connection.socket.on('end', this.onBackendClose);
    connection.socket.on('close', this.onBackendClose);
    connection.socket.resume();
  }

  /** Takes the session off its backend connection; `idle` tells whether it may be pooled again. */
  detach(): { connection: BackendConnection; idle: boolean } | null {
    const connection = this.connection;
    if (!connection) return null;
    const idle = connection.tracker.idle;
    // Not while a command runs aside: its execute() hears its answer (and the connection, busy, is not pooled).
    if (connection.tracker.onResponseEnd === this.onResponseEnd) connection.tracker.onResponseEnd = ignoreResponseEnd;
    connection.setReader(null);
    connection.socket.off('drain', this.onBackendDrain);
    connection.socket.off('end', this.onBackendClose);
    connection.socket.off('close', this.onBackendClose);
    this.connection = null;
    this.tracker = null;
    this.backendPausedForClient = false;
    this.unpause(PauseReason.BACKEND_FULL);
    return { connection, idle };
  }

  /**
   * A command is going to the server (its bytes follow through forward): the tracker expects its answer, and the
   * clock starts when nothing was outstanding. `buf[start]` is the command byte of a payload of `payloadLength`.
   */
  commandSent(buf: Buffer, start: number, payloadLength: number, tag: number): void {
    const tracker = this.tracker!;
    if (tracker.outstanding === 0) this.clock.start(buf, start, payloadLength, this.bytesToClient);
    tracker.commandSent(buf[start], tag);
  }

  /** Client bytes to the server; the client stops being read while the server's socket is full. */
  forward(bytes: Buffer): void {
    if (!this.connection) return; // bytes of a packet answered locally (oversized lobby statement)
    if (!this.connection.write(bytes)) this.pause(PauseReason.BACKEND_FULL);
  }

  /** Whether bytes forwarded to the server are still queued (they may reference the client's read buffer). */
  backendHoldsWrites(): boolean {
    const connection = this.connection;
    return connection !== null && (connection.socket.writableLength > 0 || connection.socket.destroyed);
  }

  writeClient(bytes: Buffer): boolean {
    if (this.client.destroyed) return true;
    this.bytesToClient += bytes.length;
    return this.client.write(bytes);
  }

  /**
   * Runs one command of the proxy's own on the backend while the session is idle (its answer is not relayed).
   * Null when the backend was lost meanwhile (the session is told).
   */
  async runAside(payload: Buffer): Promise<CommandResult | null> {
    const connection = this.connection!;
    // Meanwhile the session sees no tracker, as for a session with nothing in flight: the command is mysqlda's, and
    // the client's commands are all answered (drain, KILL and the idle checks leave it alone).
    const tracker = this.tracker;
    this.tracker = null;
    connection.setReader(null);
    connection.socket.off('end', this.onBackendClose);
    connection.socket.off('close', this.onBackendClose);
    const result = await connection.execute(payload);
    if (this.connection === connection) {
      this.tracker = tracker;
      connection.setReader(this.onBackendData);
      connection.socket.on('end', this.onBackendClose);
      connection.socket.on('close', this.onBackendClose);
      connection.socket.resume();
      if (!connection.alive) {
        this.onBackendClose();
        return null;
      }
    }
    return result;
  }

  /** Resolves when every response forwarded so far has reached the client (at once when closed). */
  waitIdle(): Promise<void> {
    if (!this.tracker || this.tracker.idle || this.owner.isClosed()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The session is closing: nobody waits for a response any more. */
  releaseWaiters(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  pause(reason: number): void {
    if (this.pauseReasons === 0) this.client.pause();
    this.pauseReasons |= reason;
  }

  unpause(reason: number): void {
    if (!(this.pauseReasons & reason)) return;
    this.pauseReasons &= ~reason;
    if (this.pauseReasons === 0 && !this.owner.isClosed()) this.client.resume();
  }

  /** Server bytes: passed on as they are. True when the chunk stays queued for the client. */
  private readonly onBackendData = (chunk: Buffer): boolean => {
    const tracker = this.tracker!;
    if (tracker.idle) {
      // Nothing was asked: a server speaks unasked only before it closes the connection (shutdown, KILL, a timeout).
      // The client does not hear it: its session may move on to another server (session-relocation.ts).
      tracker.scan(chunk);
      return false;
    }
    // Counted before the scan, so that an answer ending in this chunk has its bytes counted when the clock stops.
    this.bytesToClient += chunk.length;
    tracker.scan(chunk);
    if (!this.client.destroyed && !this.client.write(chunk) && this.connection) {
      this.connection.socket.pause();
      this.backendPausedForClient = true;
    }
    if (this.idleWaiters.length > 0 && this.tracker?.idle) this.releaseWaiters();
    // Usually the write went straight to the kernel; when it did not, the chunk is still referenced.
    return this.client.writableLength > 0 || this.client.destroyed;
  };

  private readonly onResponseEnd = (tag: number, ok: boolean, answered: boolean): void => {
    if (answered) this.clock.end(this.bytesToClient, this.tracker!.outstanding > 0);
    if (tag !== 0) this.owner.responseEnded(tag, ok);
  };

  private readonly onBackendClose = (): void => {
    if (this.connection) this.owner.backendClosed(this.connection);
  };

  private readonly onBackendDrain = (): void => this.unpause(PauseReason.BACKEND_FULL);

  private readonly onClientDrain = (): void => {
    if (this.backendPausedForClient && this.connection) {
      this.backendPausedForClient = false;
      this.connection.socket.resume();
    }
  };
}
