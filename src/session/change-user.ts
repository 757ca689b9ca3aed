/**
 * COM_CHANGE_USER on a ready session: a new login, checked against mysqlda's accounts with the scramble of the
 * session's greeting. Until the new user is accepted or refused, the client's packets (auth-switch answers)
 * belong to this exchange, not to the command path. What acceptance does to the session (start afresh, stay on
 * its library) is the session's part.
 */
import { clip } from '../log/clip.js';
import { ProxyErrors, type ProxyError } from '../protocol/error-codes.js';
import { parseChangeUser } from '../protocol/handshake.js';
import { encodePacket, PacketFramer, type Packet } from '../protocol/packet.js';
import { ClientAuthExchange, type AuthContext, type AuthStep } from './client-auth.js';
import type { ClientAccount, SessionServices } from './session-services.js';

/** What the exchange needs from its client session. */
export interface ChangeUserHost {
  readonly services: SessionServices;
  readonly clientAddress: string;
  write(bytes: Buffer): void;
  /** Answers ERR and closes the session. */
  refuse(error: ProxyError, sequenceId: number, reason: string): void;
  /** The new user is in: the session starts afresh and answers (OK, or ERR and closes). */
  accepted(account: ClientAccount, charset: number, sequenceId: number): Promise<void>;
  /** Bytes that came behind the exchange go back to the command path, ahead of any read since. */
  requeue(bytes: Buffer): void;
}

/** What the session agreed on at login, which a COM_CHANGE_USER keeps. */
export interface SessionLogin {
  capabilities: number;
  charset: number;
}

export class ChangeUserExchange {
  private readonly framer = new PacketFramer(1 << 20);
  /** Resolves when the exchange has ended: the new user answered, or refused. */
  readonly ended: Promise<void>;
  private end!: () => void;

  private constructor(
    private readonly host: ChangeUserHost,
    private readonly exchange: ClientAuthExchange,
    private readonly charset: number,
    /** The user the client asked to become, named when the change is refused. */
    private readonly user: string,
  ) {
    this.ended = new Promise((resolve) => (this.end = resolve));
  }

  /** The exchange a COM_CHANGE_USER packet asks for; null after refusing a malformed one. */
  static open(host: ChangeUserHost, packet: Packet, login: SessionLogin, context: AuthContext): ChangeUserExchange | null {
    let request;
    try {
      request = parseChangeUser(packet.payload, login.capabilities);
    } catch {
      host.refuse(ProxyErrors.badHandshake(), packet.sequenceId + 1, 'malformed COM_CHANGE_USER');
      return null;
    }
    const exchange = new ClientAuthExchange({ ...request, capabilities: login.capabilities }, context);
    return new ChangeUserExchange(host, exchange, request.charset || login.charset, request.user);
  }

  /** Checks what came with the COM_CHANGE_USER packet; `sequenceId` numbers the answer. */
  start(sequenceId: number): void {
    void this.onStep(this.exchange.start(), sequenceId);
  }

  /** Client bytes while the exchange runs: whole packets go to the authentication steps. */
  receive(chunk: Buffer): void {
    const packets = this.framer.tryPush(chunk);
    if (packets === null) return this.host.refuse(ProxyErrors.badHandshake(), 1, 'malformed handshake');
    for (let i = 0; i < packets.length; i++) {
      const step = this.exchange.next(packets[i].payload);
      void this.onStep(step, packets[i].sequenceId + 1);
      if (step.kind === 'accept') {
        // Commands sent right behind the exchange (pipelining clients) go to the command path.
        const later = packets.slice(i + 1).map((p) => encodePacket(p.payload, p.sequenceId));
        return this.host.requeue(Buffer.concat([...later, this.framer.takeRemainder()]));
      }
      if (step.kind === 'refuse') return;
    }
  }

  private async onStep(step: AuthStep, sequenceId: number): Promise<void> {
    if (step.kind === 'send') {
      this.host.write(encodePacket(step.payload, sequenceId));
      return;
    }
    for (const payload of step.kind === 'accept' ? step.before : []) this.host.write(encodePacket(payload, sequenceId++));
    if (step.kind === 'refuse') {
      this.host.services.events.emit('auth-failed', { client: this.host.clientAddress, user: clip(this.user) });
      this.host.refuse(step.error, sequenceId, `COM_CHANGE_USER refused: ${step.error.message}`);
    } else {
      await this.host.accepted(step.account, this.charset, sequenceId);
    }
    this.host.requeue(this.framer.takeRemainder());
    this.end();
  }
}
