import type net from 'node:net';
import type { ServerConfig } from '../config/types.js';
import { Capability, Command, STREAM_SHAPING_CAPABILITIES, PacketHeader } from '../protocol/constants.js';
import { DroppedAnswers, type AfterDropped } from '../protocol/dropped-answers.js';
import { ProxyErrors } from '../protocol/error-codes.js';
import { parseErr, type ErrPacket } from '../protocol/generic-packets.js';
import type { Greeting } from '../protocol/handshake.js';
import { encodePacket, PacketFramer } from '../protocol/packet.js';
import { ResponseTracker, type ResponseEndListener } from '../protocol/response-tracker.js';
import { copyingReader, type ChunkReader, type ReadBuffer } from '../socket/read-buffer.js';
import { serverAddress } from './backend-error.js';
import { logInToServer } from './backend-login.js';

export { BackendError, serverAddress } from './backend-error.js';

/** What must match between a client session and the backend connection it is spliced onto. */
export interface ConnectionShape {
  /** The client's stream-shaping capabilities (STREAM_SHAPING_CAPABILITIES subset). */
  capabilities: number;
  charset: number;
}

export function shapeKey(shape: ConnectionShape): string {
  return `${shape.capabilities & STREAM_SHAPING_CAPABILITIES}/${shape.charset}`;
}

export interface CommandResult {
  ok: boolean;
  packets: Buffer[];
  /** The server's ERR, or a "connection lost" error of mysqlda's own when `lost` is set. */
  error?: ErrPacket;
  /** No whole answer: the connection closed, or the answer did not come in time (`timedOut`; it is then destroyed). */
  lost?: boolean;
  timedOut?: boolean;
}

const PING = Buffer.from([Command.PING]);
/** COM_RESET_CONNECTION as a whole packet. */
const RESET_PACKET = encodePacket(Buffer.from([Command.RESET_CONNECTION]), 0);
/** MariaDB's reset puts sql_mode back to the global one, dropping the IGNORE_SPACE the handshake asked for. */
const RESTORE_IGNORE_SPACE = "\x03SET SESSION sql_mode = CONCAT(@@sql_mode, ',IGNORE_SPACE')";
const RESET_KEEPING_IGNORE_SPACE = Buffer.concat([RESET_PACKET, encodePacket(Buffer.from(RESTORE_IGNORE_SPACE, 'latin1'), 0)]);

/**
 * One authenticated connection to a MySQL server, opened with a client's connection shape. Between uses it
 * runs commands for mysqlda itself (reset, replaying settings); while a session owns it, the session reads
 * and writes its socket directly.
 */
export class BackendConnection {
  /** Set once the socket has closed or failed; a dead connection is never pooled again. */
  alive = true;
  lastUsedAt = Date.now();
  /**
   * When the server last answered mysqlda itself on this connection (login, reset, execute; the splice's traffic is
   * not tracked): a connection heard from this recently is reused without a check.
   */
  lastAnswerAt = Date.now();
  /**
   * Follows the answers on this connection, whoever reads them (the splice, or execute()): the one owner of the
   * server's status flags.
   */
  readonly tracker: ResponseTracker;
  /**
   * Whether a reset has worked on this connection: only then is one deferred (a server without
   * COM_RESET_CONNECTION would otherwise fail the next user's first command instead of the release).
   */
  resetWorks = false;
  /** Why mysqlda gave up on the connection, when it did (for the session's log line). */
  failure: string | null = null;
  private closeListeners: (() => void)[] = [];
  /** Whoever reads the server's bytes now (the session on the splice, or execute()), set by setReader. */
  private reader: ChunkReader | null = null;
  /** The reset the pool deferred (deferReset), sent in one write with the next command. */
  private owedReset: Buffer | null = null;
  /** Since when the reset is owed (Date.now()), for the pool's deadline. */
  owedResetSince = 0;
  /** Answers to a deferred reset, read and dropped before the server's bytes reach the reader. */
  private readonly owedAnswers = new DroppedAnswers();

  private constructor(
    readonly socket: net.Socket,
    private readonly input: ReadBuffer,
    readonly server: ServerConfig,
    readonly shape: ConnectionShape,
    readonly greeting: Greeting,
    readonly negotiatedCapabilities: number,
    /** The status flags of a fresh session (the login's OK): what a reset returns to. */
    private readonly freshStatusFlags: number,
  ) {
    this.tracker = new ResponseTracker((negotiatedCapabilities & Capability.DEPRECATE_EOF) !== 0);
    this.tracker.statusFlags = freshStatusFlags;
    socket.on('close', () => {
      this.alive = false;
      input.release();
      for (const listener of this.closeListeners.splice(0)) listener();
    });
    socket.on('error', () => {
      this.alive = false;
    });
  }

  /** The server's last reported status flags (autocommit, in-transaction). */
  get statusFlags(): number {
    return this.tracker.statusFlags;
  }

  set statusFlags(flags: number) {
    this.tracker.statusFlags = flags;
  }

  get address(): string {
    return serverAddress(this.server);
  }

  get threadId(): number {
    return this.greeting.connectionId;
  }

  get deprecateEof(): boolean {
    return (this.negotiatedCapabilities & Capability.DEPRECATE_EOF) !== 0;
  }

  /**
   * Where the server's bytes go from now on (null: nowhere; the socket should be paused). Only one reader at a
   * time: the session on the splice, or execute() between uses.
   */
  setReader(reader: ChunkReader | null): void {
    this.reader = reader;
    this.input.setReader(reader !== null && this.owedAnswers.pending ? this.dropOwedAnswers : reader);
    // An unused connection keeps reading: a server that closes it (restart, wait_timeout) is noticed at once.
    if (reader === null) this.socket.resume();
  }

  /**
   * Sends bytes of commands to the server: the only way commands go out, so that a deferred reset goes first,
   * in the same write. Returns socket.write()'s verdict (false: the socket's buffer is full).
   */
  write(bytes: Buffer): boolean {
    if (this.owedReset === null) return this.socket.write(bytes);
    return this.socket.write(Buffer.concat([this.takeOwedReset()!, bytes]));
  }

  /** Sends a deferred reset on its own: its user has sent nothing within the pool's time limit. */
  sendOwedReset(): void {
    const owed = this.takeOwedReset();
    if (owed !== null) this.socket.write(owed);
  }

  /** The deferred reset's packets, about to be written; their answers will be dropped. */
  private takeOwedReset(): Buffer | null {
    const owed = this.owedReset;
    if (owed === null) return null;
    this.owedReset = null;
    this.owedAnswers.expect(owed === RESET_PACKET ? 1 : 2);
    if (this.reader !== null) this.input.setReader(this.dropOwedAnswers);
    return owed;
  }

  /**
   * The pool's reset, owed instead of sent: it goes out in one write with the next command, and its answer is
   * dropped before the server's bytes reach the next user. This saves a write, a read and a server wake-up per
   * pooled use. Status flags read as a fresh session's meanwhile.
   */
  deferReset(): void {
    if (this.owedReset !== null) return;
    this.owedReset = this.negotiatedCapabilities & Capability.IGNORE_SPACE ? RESET_KEEPING_IGNORE_SPACE : RESET_PACKET;
    this.owedResetSince = Date.now();
    this.statusFlags = this.freshStatusFlags;
    this.tracker.lastInsertId = 0;
  }

  get owesReset(): boolean {
    return this.owedReset !== null;
  }

  /**
   * Reads and drops the answers to a deferred reset, then hands the rest of the server's bytes to the reader.
   * An answer that is not an OK means the session was not reset, so the connection is given up (its user's
   * session ends with a lost-connection error rather than run on its last user's state).
   */
  private readonly dropOwedAnswers: ChunkReader = (chunk, borrowed) => {
    let after: AfterDropped | null;
    try {
      after = this.owedAnswers.take(chunk);
    } catch (err) {
      return this.owedAnswerFailed((err as Error).message);
    }
    if (after === null) return false;
    this.lastAnswerAt = Date.now();
    this.statusFlags = this.owedAnswers.statusFlags;
    const reader = this.reader;
    const kept = reader !== null && after.rest.length > 0 ? reader(after.rest, borrowed && after.fromChunk) : false;
    this.input.setReader(this.reader !== null && this.owedAnswers.pending ? this.dropOwedAnswers : this.reader);
    return kept;
  };

  private owedAnswerFailed(what: string): false {
    this.failure = `the deferred reset failed: the server answered with ${what}`;
    this.destroy();
    return false;
  }

  onClose(listener: () => void): void {
    if (!this.alive) listener();
    else this.closeListeners.push(listener);
  }

  /** Connects and logs in (see backend-login.ts); rejects with a BackendError. */
  static async connect(server: ServerConfig, shape: ConnectionShape, connectTimeoutMs: number): Promise<BackendConnection> {
    const login = await logInToServer(server, shape, connectTimeoutMs);
    return new BackendConnection(login.socket, login.input, server, shape, login.greeting, login.capabilities, login.statusFlags);
  }

  /**
   * Runs one command on a connection nobody else is using and collects its whole response.
   * Used for resets and for replaying session settings, never on the splice.
   */
  execute(payload: Buffer, timeoutMs = 10_000): Promise<CommandResult> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve({ ok: false, packets: [], error: ProxyErrors.connectionLost('connection lost'), lost: true });
      const framer = new PacketFramer();
      const packets: Buffer[] = [];
      let done = false;
      // The connection's tracker follows this answer too (the status flags stay its own); whoever listened before
      // (a splice running a command aside) listens again afterwards.
      const { tracker } = this;
      const listener = tracker.onResponseEnd;
      const onEnd: ResponseEndListener = (_tag, ok) => {
        this.lastAnswerAt = Date.now();
        const last = packets[packets.length - 1];
        finish(ok ? { ok, packets } : { ok, packets, error: last && last[0] === PacketHeader.ERR ? parseErr(last) : undefined });
      };
      const finish = (result: CommandResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (tracker.onResponseEnd === onEnd) tracker.onResponseEnd = listener;
        this.setReader(null);
        this.socket.off('close', onClose);
        resolve(result);
      };
      tracker.onResponseEnd = onEnd;
      const onData = copyingReader((chunk) => {
        for (const packet of framer.push(chunk)) packets.push(packet.payload);
        tracker.scan(chunk);
      });
      const onClose = () => finish({ ok: false, packets, error: ProxyErrors.connectionLost('connection lost'), lost: true });
      const timer = setTimeout(() => {
        this.destroy();
        finish({ ok: false, packets, error: ProxyErrors.connectionLost('timed out'), lost: true, timedOut: true });
      }, timeoutMs);
      this.setReader(onData);
      this.socket.on('close', onClose);
      this.socket.resume();
      tracker.commandSent(payload[0]);
      this.write(encodePacket(payload, 0));
    });
  }

  /** Returns the session to its just-connected state: no variables, temp tables, transaction or statements. */
  async reset(timeoutMs?: number): Promise<boolean> {
    return (await this.resetNow(timeoutMs)).ok;
  }

  private async resetNow(timeoutMs?: number): Promise<CommandResult> {
    this.owedReset = null;
    this.tracker.lastInsertId = 0;
    const result = await this.execute(Buffer.from([Command.RESET_CONNECTION]), timeoutMs);
    if (!result.ok) return result;
    this.resetWorks = true;
    if (this.negotiatedCapabilities & Capability.IGNORE_SPACE) return this.execute(Buffer.from(RESTORE_IGNORE_SPACE, 'latin1'), timeoutMs);
    return result;
  }

  /**
   * One round trip, bounded by timeoutMs, on a connection about to be reused after it sat unused: the reset it owes,
   * else a COM_PING. 'silent': no answer in time (a frozen server); the connection is then destroyed, so nothing
   * sent on it can run later. 'failed': the server answered with an error, or closed the connection.
   */
  async roundTrip(timeoutMs: number): Promise<'answered' | 'failed' | 'silent'> {
    const result = this.owedReset !== null ? await this.resetNow(timeoutMs) : await this.execute(PING, timeoutMs);
    if (result.timedOut) return 'silent';
    return result.ok ? 'answered' : 'failed';
  }

  /** Polite close: COM_QUIT, then end. */
  close(): void {
    if (!this.alive) return;
    this.alive = false;
    this.socket.end(encodePacket(Buffer.from([Command.QUIT]), 0));
    this.socket.setTimeout(1000, () => this.socket.destroy());
  }

  destroy(): void {
    this.alive = false;
    this.socket.destroy();
  }
}
