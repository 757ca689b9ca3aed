/**
 * Plays one fuzz case against a running proxy: connect, read the greeting, upgrade to TLS, log in and route as
 * the case's stage asks (with a correct password, so the garbage reaches the place it is meant for), write the
 * case's bytes, then leave as its ending says and check what that ending promises.
 */
import net from 'node:net';
import tls from 'node:tls';
import { nativePasswordToken } from '../../src/protocol/auth.js';
import { parseGreeting } from '../../src/protocol/handshake.js';
import type { FuzzCase } from './cases.js';
import { CLIENT_CAPABILITIES, frame, handshakeResponse, query, sslRequest } from './wire.js';

export interface Target {
  port: number;
  user: string;
  password: string;
}

export interface CaseOutcome {
  /** The client port the case connected from: it names the session in `show sessions`. */
  localPort: number;
  /** What went wrong, or null. */
  problem: string | null;
}

/** How long the proxy has to do what a case's ending expects (answer, close, refuse); generous on a busy machine. */
export const ANSWER_TIMEOUT_MS = 10_000;
/** Answer bytes kept for the failure report; all of a short answer when replaying with MYSQLDA_FUZZ_TRACE=1. */
const ANSWER_KEPT = process.env.MYSQLDA_FUZZ_TRACE === '1' ? 1 << 20 : 48;

/** A case still running after this is reported as stuck and its socket dropped. */
const CASE_TIMEOUT_MS = 30_000;

export async function playCase(fuzzCase: FuzzCase, target: Target): Promise<CaseOutcome> {
  const connection = new CaseConnection(target.port);
  const timer = setTimeout(() => connection.fail(`case did not finish within ${CASE_TIMEOUT_MS / 1000} s (at: ${connection.step})`), CASE_TIMEOUT_MS);
  try {
    await connection.connected;
    const problem = await run(connection, fuzzCase, target);
    return { localPort: connection.localPort, problem };
  } catch (err) {
    return { localPort: connection.localPort, problem: (err as Error).message };
  } finally {
    clearTimeout(timer);
    await connection.destroy();
  }
}

async function run(c: CaseConnection, fuzzCase: FuzzCase, target: Target): Promise<string | null> {
  if (fuzzCase.early) {
    await c.writeAll(fuzzCase.chunks);
    return c.leave(fuzzCase);
  }
  c.step = 'greeting';
  const greetingPacket = await c.packet();
  let sequenceId = 1;
  if (fuzzCase.tls) {
    c.step = 'tls handshake';
    c.write(frame(sslRequest(), sequenceId++));
    await c.upgrade();
  }
  if (fuzzCase.stage !== 'pre-login') {
    c.step = 'login';
    const scramble = parseGreeting(greetingPacket).scramble;
    c.write(
      frame(
        handshakeResponse({ capabilities: CLIENT_CAPABILITIES, user: target.user, authResponse: nativePasswordToken(target.password, scramble), plugin: 'mysql_native_password' }),
        sequenceId,
      ),
    );
    const ok = await c.packet();
    if (ok[0] !== 0x00) throw new Error(`set-up: login refused: ${describe(ok)}`);
  }
  if (fuzzCase.stage === 'routed') {
    c.step = 'select library';
    c.write(frame(query(`select library ${fuzzCase.key}`), 0));
    const ok = await c.packet();
    if (ok[0] !== 0x00) {
      // `select library` never reaches a backend: any answer but OK or one of mysqlda's own errors (71xx) is
      // an earlier client session's, left on the pooled backend connection this client was given.
      const own = ok[0] === 0xff && ok.length >= 3 && Math.floor(ok.readUInt16LE(1) / 100) === 71;
      throw new Error(`set-up: select library answered with ${describe(ok)}${own ? '' : ' (a stale answer: an earlier client session left it on the pooled backend connection)'}`);
    }
  }
  c.step = 'writing';
  c.markAnswerStart();
  await c.writeAll(fuzzCase.chunks);
  return c.leave(fuzzCase);
}

function describe(payload: Buffer): string {
  if (payload[0] === 0xff) return `ERR ${payload.readUInt16LE(1)} ${payload.subarray(3).toString('utf8')}`;
  return payload.subarray(0, 32).toString('hex');
}

class CaseConnection {
  step = 'connect';
  localPort = 0;
  readonly connected: Promise<void>;
  private socket: net.Socket;
  /** Bytes read and not yet taken as packets (during the set-up). */
  private pending = Buffer.alloc(0);
  /** The last bytes of the answer, enough to find the marker across reads. */
  private tail = '';
  /** The first bytes of the answer, for the failure report. */
  private answerStart = Buffer.alloc(0);
  private answerBytes = -1;
  /** The first bytes of the answer: the header and type of its first packet. */
  private answerHead = Buffer.alloc(0);
  private closedByPeer = false;
  private waiters: (() => void)[] = [];
  private failure: string | null = null;
  private failWith: (err: Error) => void = () => {};
  /** Rejects when the case is failed from outside (its time is up). */
  private readonly failed = new Promise<never>((_, reject) => (this.failWith = reject));

  constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.setNoDelay(true);
    this.failed.catch(() => {});
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.localPort = this.socket.localPort ?? 0;
        resolve();
      });
      this.socket.once('error', (err) => reject(new Error(`set-up: cannot connect: ${err.message}`)));
    });
    this.listen(this.socket);
  }

  private listen(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.answerBytes >= 0) {
        if (this.answerHead.length < 5) this.answerHead = Buffer.concat([this.answerHead, chunk.subarray(0, 5)]);
        if (this.answerStart.length < ANSWER_KEPT) this.answerStart = Buffer.concat([this.answerStart, chunk.subarray(0, ANSWER_KEPT)]);
        this.answerBytes += chunk.length;
      }
      this.pending = this.collecting ? Buffer.concat([this.pending, chunk]) : this.pending;
      this.tail = (this.tail + chunk.toString('latin1')).slice(-256);
      this.wake();
    });
    socket.on('end', () => {
      this.closedByPeer = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closedByPeer = true;
      this.wake();
    });
    socket.on('error', () => {}); // writes after the proxy closed: ECONNRESET, EPIPE
  }

  /** Set-up packets are collected; the answer to the case's bytes is only watched. */
  private collecting = true;

  markAnswerStart(): void {
    this.collecting = false;
    this.pending = Buffer.alloc(0);
    this.answerBytes = 0;
    this.answerHead = Buffer.alloc(0);
    this.answerStart = Buffer.alloc(0);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter();
  }

  /** Resolves when `test` holds, re-checked on every read and close; rejects after `ms`, or when the case fails. */
  private until(test: () => boolean, ms: number, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        try {
          if (this.failure) throw new Error(this.failure);
          if (test()) {
            clearTimeout(timer);
            return resolve();
          }
        } catch (err) {
          clearTimeout(timer);
          return reject(err);
        }
        this.waiters.push(check);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== check);
        reject(new Error(`${what} within ${ms / 1000} s`));
      }, ms);
      check();
    });
  }

  /** The next whole set-up packet's payload. */
  async packet(): Promise<Buffer> {
    let payload: Buffer | null = null;
    await this.until(
      () => {
        if (this.pending.length >= 4) {
          const length = this.pending.readUIntLE(0, 3);
          if (this.pending.length >= 4 + length) {
            payload = this.pending.subarray(4, 4 + length);
            this.pending = this.pending.subarray(4 + length);
            return true;
          }
        }
        if (this.closedByPeer) throw new Error(`set-up: the proxy closed the connection at ${this.step}`);
        return false;
      },
      ANSWER_TIMEOUT_MS,
      `set-up: no answer at ${this.step}`,
    );
    return payload!;
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Writes each chunk as its own write, letting the event loop turn in between so they leave as separate segments. */
  async writeAll(chunks: Buffer[]): Promise<void> {
    for (let i = 0; i < chunks.length; i++) {
      if (this.closedByPeer || this.socket.destroyed) return;
      const last = i === chunks.length - 1;
      // The callback comes once the bytes are handed to the kernel (or with an error once the socket is gone).
      const written = new Promise<void>((resolve) => this.socket.write(chunks[i], () => resolve()));
      await Promise.race([written, this.failed]);
      if (!last) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** TLS over the connection after the SSLRequest. */
  async upgrade(): Promise<void> {
    const raw = this.socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('end');
    raw.removeAllListeners('close');
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    this.socket = secure;
    this.listen(secure);
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', (err) => reject(new Error(`set-up: TLS handshake failed: ${err.message}`)));
      secure.once('close', () => reject(new Error('set-up: the proxy closed the connection during the TLS handshake')));
    });
  }

  async leave(fuzzCase: FuzzCase): Promise<string | null> {
    this.step = `ending ${fuzzCase.ending}`;
    switch (fuzzCase.ending) {
      case 'end':
        this.socket.end();
        return null;
      case 'destroy':
        this.socket.destroy();
        return null;
      case 'mid-response':
        await this.until(() => this.answerBytes > 0 || this.closedByPeer, ANSWER_TIMEOUT_MS, 'no answer to the query').catch(() => {});
        this.socket.destroy();
        return null;
      case 'reply':
        return this.expect(() => this.answerBytes > 0 || this.closedByPeer, 'neither answered nor closed');
      case 'answer':
        return this.expect(() => this.tail.includes(fuzzCase.marker) || this.closedByPeer, 'neither answered the final query nor closed');
      case 'close':
        return this.expect(() => this.closedByPeer, 'did not close the connection');
      case 'err': {
        const problem = await this.expect(() => this.answerHead.length >= 5 || this.closedByPeer, 'did not answer');
        if (problem || this.answerHead.length < 5 || this.answerHead[4] === 0xff) return problem;
        return `answered with a packet of type 0x${this.answerHead[4].toString(16)}, not ERR: the command reached the backend`;
      }
    }
  }

  private async expect(test: () => boolean, what: string): Promise<string | null> {
    try {
      await this.until(test, ANSWER_TIMEOUT_MS, `the proxy ${what}`);
      return null;
    } catch (err) {
      const answer = this.answerBytes > 0 ? `${this.answerBytes} bytes: ${this.answerStart.toString('hex').slice(0, 2 * ANSWER_KEPT)}…` : 'nothing';
      return `${(err as Error).message} (answer so far: ${answer})`;
    }
  }

  fail(reason: string): void {
    this.failure = reason;
    this.failWith(new Error(reason));
    this.wake();
  }

  /** Drops the socket and waits until it is closed, so a batch ends with every fuzz socket gone. */
  async destroy(): Promise<void> {
    const socket = this.socket;
    if (!socket.destroyed) {
      if (!socket.writableEnded) socket.end();
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      // A half-closed socket waits for the proxy's FIN; a proxy that never sends it is the proxy's leak to find.
      const grace = setTimeout(() => socket.destroy(), 2_000);
      await closed;
      clearTimeout(grace);
    }
  }
}
