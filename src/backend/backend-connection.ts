import net from 'node:net';
import tls from 'node:tls';
import { backendTlsOptions } from './backend-tls.js';
import { constants as cryptoConstants, publicEncrypt } from 'node:crypto';
import type { ServerConfig } from '../config/types.js';
import {
  CACHING_SHA2_PLUGIN,
  NATIVE_PASSWORD_PLUGIN,
  cachingSha2Token,
  nativePasswordToken,
} from '../protocol/auth.js';
import { BACKEND_BASE_CAPABILITIES, Capability, Command, PacketHeader, STREAM_SHAPING_CAPABILITIES } from '../protocol/constants.js';
import { parseErr, parseOk, type ErrPacket } from '../protocol/generic-packets.js';
import { encodeHandshakeResponse, parseAuthSwitchRequest, parseGreeting, type Greeting } from '../protocol/handshake.js';
import { encodePacket, PacketFramer, type Packet } from '../protocol/packet.js';
import { ResponseTracker } from '../protocol/response-tracker.js';
import { copyingReader, ReadBuffer, type ChunkReader } from '../socket/read-buffer.js';

/** What must match between a client session and the backend connection it is spliced onto. */
export interface ConnectionShape {
  /** The client's stream-shaping capabilities (STREAM_SHAPING_CAPABILITIES subset). */
  capabilities: number;
  charset: number;
}

export function shapeKey(shape: ConnectionShape): string {
  return `${shape.capabilities & STREAM_SHAPING_CAPABILITIES}/${shape.charset}`;
}

export function serverAddress(server: ServerConfig): string {
  return `${server.host}:${server.port}`;
}

export class BackendError extends Error {
  override name = 'BackendError';
  constructor(
    message: string,
    readonly server: string,
    /** The server's own error, when it sent one (e.g. wrong credentials). */
    readonly serverError?: ErrPacket,
  ) {
    super(message);
  }
}

export interface CommandResult {
  ok: boolean;
  packets: Buffer[];
  error?: ErrPacket;
}

const PACKAGE_ATTRIBUTES = new Map([
  ['_client_name', 'mysqlda'],
  ['program_name', 'mysqlda'],
]);

/**
 * One authenticated connection to a MySQL server, opened with a client's connection shape. Between uses it
 * runs commands for mysqlda itself (reset, replaying settings); while a session owns it, the session reads
 * and writes its socket directly.
 */
export class BackendConnection {
  /** Set once the socket has closed or failed; a dead connection is never pooled again. */
  alive = true;
  lastUsedAt = Date.now();
  /** The server's last reported status flags (autocommit, in-transaction). */
  statusFlags: number;
  private closeListeners: (() => void)[] = [];

  private constructor(
    readonly socket: net.Socket,
    private readonly input: ReadBuffer,
    readonly server: ServerConfig,
    readonly shape: ConnectionShape,
    readonly greeting: Greeting,
    readonly negotiatedCapabilities: number,
    statusFlags: number,
  ) {
    this.statusFlags = statusFlags;
    socket.on('close', () => {
      this.alive = false;
      input.release();
      for (const listener of this.closeListeners.splice(0)) listener();
    });
    socket.on('error', () => {
      this.alive = false;
    });
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
    this.input.setReader(reader);
    // An unused connection keeps reading: a server that closes it (restart, wait_timeout) is noticed at once.
    if (reader === null) this.socket.resume();
  }

  onClose(listener: () => void): void {
    if (!this.alive) listener();
    else this.closeListeners.push(listener);
  }

  static connect(server: ServerConfig, shape: ConnectionShape, connectTimeoutMs: number): Promise<BackendConnection> {
    const address = serverAddress(server);
    return new Promise((resolve, reject) => {
      const input = new ReadBuffer();
      // A TLS socket takes over the TCP handle's reads, so only a plain connection reads into the reused buffer.
      let socket: net.Socket = server.tls
        ? net.connect({ host: server.host, port: server.port, noDelay: true })
        : net.connect({ host: server.host, port: server.port, noDelay: true, onread: input.onread });
      const onRawData = (chunk: Buffer) => input.deliver(chunk, false);
      if (server.tls) socket.on('data', onRawData);
      const framer = new PacketFramer();
      let settled = false;
      let greeting: Greeting | null = null;
      let capabilities = 0;
      const fail = (message: string, serverError?: ErrPacket) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        reject(new BackendError(message, address, serverError));
      };
      const timer = setTimeout(() => fail(`connect to ${address} timed out after ${connectTimeoutMs} ms`), connectTimeoutMs);
      const onError = (err: Error) => fail(`cannot connect to ${address}: ${err.message}`);
      const onClose = () => fail(`${address} closed the connection during the handshake`);
      socket.on('error', onError);
      socket.on('close', onClose);
      const send = (payload: Buffer, sequenceId: number) => socket.write(encodePacket(payload, sequenceId));
      let password = server.password;

      const sendHandshakeResponse = (sequenceId: number) => {
        const g = greeting!;
        const plugin = g.authPluginName === CACHING_SHA2_PLUGIN ? CACHING_SHA2_PLUGIN : NATIVE_PASSWORD_PLUGIN;
        const authResponse = plugin === CACHING_SHA2_PLUGIN ? cachingSha2Token(password, g.scramble) : nativePasswordToken(password, g.scramble);
        send(
          encodeHandshakeResponse({
            capabilities,
            maxPacketSize: 1 << 30,
            charset: shape.charset,
            user: server.user,
            authResponse,
            database: server.database || null,
            authPluginName: plugin,
            connectAttributes: PACKAGE_ATTRIBUTES,
          }),
          sequenceId,
        );
      };

      /** SSLRequest, then the TLS handshake on the same socket; the login continues encrypted. */
      const startTls = (sequenceId: number) => {
        const request = Buffer.alloc(32);
        request.writeUInt32LE((capabilities | Capability.SSL) >>> 0, 0);
        request.writeUInt32LE(1 << 30, 4);
        request[8] = shape.charset;
        send(request, sequenceId);
        const raw = socket;
        raw.removeListener('data', onRawData);
        let secure: tls.TLSSocket;
        try {
          secure = tls.connect(backendTlsOptions(server.host, server.tls!, raw));
        } catch (err) {
          return fail(`TLS to ${address} is misconfigured: ${(err as Error).message}`);
        }
        secure.on('error', (err) => fail(`TLS to ${address} failed: ${err.message}`));
        secure.once('secureConnect', () => {
          socket = secure;
          secure.on('data', (chunk: Buffer) => input.deliver(chunk, false));
          sendHandshakeResponse(sequenceId + 1);
        });
      };

      const onPacket = (packet: Packet) => {
        const { payload } = packet;
        if (!greeting) {
          greeting = parseGreeting(payload);
          capabilities =
            (BACKEND_BASE_CAPABILITIES | (shape.capabilities & STREAM_SHAPING_CAPABILITIES)) & greeting.capabilities;
          capabilities |= Capability.PROTOCOL_41;
          if (server.tls) {
            if (!(greeting.capabilities & Capability.SSL)) return fail(`${address} does not offer TLS, which the config asks for`);
            return startTls(packet.sequenceId + 1);
          }
          sendHandshakeResponse(packet.sequenceId + 1);
          return;
        }
        switch (payload[0]) {
          case PacketHeader.OK: {
            settled = true;
            clearTimeout(timer);
            socket.removeListener('error', onError);
            socket.removeListener('close', onClose);
            input.setReader(null);
            const rest = framer.takeRemainder();
            if (rest.length) input.deliver(rest, false);
            const status = parseOk(payload).statusFlags;
            resolve(new BackendConnection(socket, input, server, shape, greeting, capabilities, status));
            return;
          }
          case PacketHeader.ERR: {
            const error = parseErr(payload);
            return fail(`${address} refused the login: ${error.message} (${error.code})`, error);
          }
          case PacketHeader.AUTH_SWITCH: {
            const request = parseAuthSwitchRequest(payload);
            if (request.pluginName === NATIVE_PASSWORD_PLUGIN) send(nativePasswordToken(password, request.pluginData), packet.sequenceId + 1);
            else if (request.pluginName === CACHING_SHA2_PLUGIN) send(cachingSha2Token(password, request.pluginData), packet.sequenceId + 1);
            else return fail(`${address} asks for auth plugin '${request.pluginName}', which mysqlda does not speak as a client`);
            greeting.scramble = request.pluginData;
            return;
          }
          case PacketHeader.AUTH_MORE_DATA: {
            // caching_sha2_password: 0x03 = fast auth done (OK follows); 0x04 = full auth needed; else a PEM public key.
            if (payload.length === 2 && payload[1] === 0x03) return;
            if (payload.length === 2 && payload[1] === 0x04) return void send(Buffer.from([0x02]), packet.sequenceId + 1);
            const pem = payload.subarray(1).toString('latin1');
            const plain = Buffer.from(password + '\0', 'utf8');
            for (let i = 0; i < plain.length; i++) plain[i] ^= greeting.scramble[i % greeting.scramble.length];
            const encrypted = publicEncrypt({ key: pem, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING }, plain);
            send(encrypted, packet.sequenceId + 1);
            password = '';
            return;
          }
          default:
            return fail(`${address} sent an unexpected packet during the handshake`);
        }
      };

      const onData = (chunk: Buffer): void => {
        try {
          for (const packet of framer.push(chunk)) {
            if (settled) return;
            onPacket(packet);
          }
        } catch (err) {
          fail(`${address} sent a malformed handshake: ${(err as Error).message}`);
        }
      };
      input.setReader(copyingReader(onData));
    });
  }

  /**
   * Runs one command on a connection nobody else is using and collects its whole response.
   * Used for resets and for replaying session settings, never on the splice.
   */
  execute(payload: Buffer, timeoutMs = 10_000): Promise<CommandResult> {
    return new Promise((resolve) => {
      if (!this.alive) return resolve({ ok: false, packets: [], error: { code: 2013, sqlState: 'HY000', message: 'connection lost' } });
      const framer = new PacketFramer();
      const packets: Buffer[] = [];
      let done = false;
      const finish = (result: CommandResult) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.setReader(null);
        this.socket.off('close', onClose);
        resolve(result);
      };
      const tracker = new ResponseTracker(this.deprecateEof, (_tag, ok) => {
        const last = packets[packets.length - 1];
        this.statusFlags = tracker.statusFlags;
        finish(ok ? { ok, packets } : { ok, packets, error: last && last[0] === PacketHeader.ERR ? parseErr(last) : undefined });
      });
      const onData = copyingReader((chunk) => {
        for (const packet of framer.push(chunk)) packets.push(packet.payload);
        tracker.scan(chunk);
      });
      const onClose = () => finish({ ok: false, packets, error: { code: 2013, sqlState: 'HY000', message: 'connection lost' } });
      const timer = setTimeout(() => {
        this.destroy();
        finish({ ok: false, packets, error: { code: 2013, sqlState: 'HY000', message: 'timed out' } });
      }, timeoutMs);
      this.setReader(onData);
      this.socket.on('close', onClose);
      this.socket.resume();
      tracker.commandSent(payload[0]);
      this.socket.write(encodePacket(payload, 0));
    });
  }

  /** Returns the session to its just-connected state: no variables, temp tables, transaction or statements. */
  async reset(): Promise<boolean> {
    const result = await this.execute(Buffer.from([Command.RESET_CONNECTION]));
    if (!result.ok) return false;
    // MariaDB's reset puts sql_mode back to the global one, dropping the IGNORE_SPACE the handshake asked for.
    if (this.negotiatedCapabilities & Capability.IGNORE_SPACE) {
      const restored = await this.execute(Buffer.from("\x03SET SESSION sql_mode = CONCAT(@@sql_mode, ',IGNORE_SPACE')", 'latin1'));
      return restored.ok;
    }
    return true;
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
