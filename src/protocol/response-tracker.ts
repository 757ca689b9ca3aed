import { Command, MAX_PACKET_PAYLOAD, PacketHeader, ServerStatus } from './constants.js';

/** How a server answers a command: the shapes the tracker must recognise to find where a response ends. */
export const ResponseKind = {
  /** No response at all (COM_QUIT, COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA). */
  NONE: 0,
  /** One packet: OK, ERR or EOF (COM_PING, COM_INIT_DB, COM_RESET_CONNECTION, ...). */
  SINGLE: 1,
  /** OK, ERR, LOCAL INFILE request, or result sets, possibly several (COM_QUERY, COM_STMT_EXECUTE). */
  RESULT: 2,
  /** COM_STMT_PREPARE: prepare-OK followed by parameter and column definitions. */
  PREPARE: 3,
  /** COM_FIELD_LIST: column definitions up to EOF. */
  FIELD_LIST: 4,
  /** COM_STMT_FETCH: rows up to EOF. */
  FETCH: 5,
  /** COM_CHANGE_USER: an authentication exchange ending in OK or ERR. */
  AUTH: 6,
  /**
   * COM_BINLOG_DUMP, COM_BINLOG_DUMP_GTID: events (each packet led by 0x00) while the connection lives; ended by
   * an ERR (the server refused or stopped the dump) or an EOF (a non-blocking dump has caught up).
   */
  STREAM: 7,
} as const;
export type ResponseKind = (typeof ResponseKind)[keyof typeof ResponseKind];

export function responseKindOf(command: number): ResponseKind {
  switch (command) {
    case Command.QUIT:
    case Command.STMT_CLOSE:
    case Command.STMT_SEND_LONG_DATA:
      return ResponseKind.NONE;
    case Command.QUERY:
    case Command.STMT_EXECUTE:
    case Command.PROCESS_INFO:
      return ResponseKind.RESULT;
    case Command.STMT_PREPARE:
      return ResponseKind.PREPARE;
    case Command.FIELD_LIST:
      return ResponseKind.FIELD_LIST;
    case Command.STMT_FETCH:
      return ResponseKind.FETCH;
    case Command.CHANGE_USER:
      return ResponseKind.AUTH;
    case Command.BINLOG_DUMP:
    case Command.BINLOG_DUMP_GTID:
      return ResponseKind.STREAM;
    default:
      return ResponseKind.SINGLE;
  }
}

const enum Phase {
  /** Waiting for the first packet of a response (or of the next result of a multi-result response). */
  START,
  COLUMNS,
  ROWS,
  /** Server asked for a LOCAL INFILE; the client is sending the file. */
  INFILE,
  PREPARE_PARAMS,
  PREPARE_PARAMS_EOF,
  PREPARE_COLUMNS,
  PREPARE_COLUMNS_EOF,
  FIELD_LIST,
  AUTH,
  STREAM,
}

/** The first bytes of a response packet the tracker needs: enough for an OK packet's status flags. */
const HEAD_BYTES = 24;

/**
 * Called when a response ends: the tag given to commandSent, whether it ended in success, and whether the server
 * answered at all (false for commands that have no answer, which end as they are sent).
 */
export type ResponseEndListener = (tag: number, ok: boolean, answered: boolean) => void;

export const ignoreResponseEnd: ResponseEndListener = () => {};

/**
 * Follows a backend's responses to the commands forwarded to it, reading only packet headers and the first
 * bytes of each packet, so the session knows (without buffering or copying the stream) where each response
 * ends, whether a transaction is open, and when the connection is idle and may change hands.
 */
export class ResponseTracker {
  /** Last status flags the server reported (OK and EOF packets). */
  statusFlags: number = ServerStatus.AUTOCOMMIT;
  /** The server asked for a LOCAL INFILE: client packets are file data until an empty packet. */
  expectingClientData = false;
  /** An authentication exchange (COM_CHANGE_USER) is waiting for the client's next auth packet. */
  expectingClientAuth = false;
  /** Set when the server sent a packet no forwarded command asked for (e.g. an ERR before it closes). */
  unsolicitedPackets = 0;
  /**
   * The last non-zero insert id an OK packet of a statement reported (the session's LAST_INSERT_ID()), so that a
   * session moved to another server keeps it; 0 after a reset (the owner clears it).
   */
  lastInsertId = 0;

  private readonly kinds: number[] = [];
  private readonly tags: number[] = [];
  private queueHead = 0;

  private phase = Phase.START;
  private count = 0;
  private awaitingMetadataEof = false;
  private prepareColumns = 0;

  // Frame walking state, kept across chunks.
  private payloadRemaining = 0;
  /** Scratch for a header or head split across reads; allocated the first time one is (one tracker per connection). */
  private header: Buffer | null = null;
  private headerHave = 0;
  private head: Buffer | null = null;
  private headHave = 0;
  private headNeed = 0;
  private headPayloadLength = 0;
  private previousFrameWasFull = false;
  /**
   * A response ended on a packet whose head has been read but not yet its last byte: its end is told once that
   * byte has passed, so that whoever takes the connection then (execute()'s caller, the pool) starts at a packet
   * boundary.
   */
  private endPending = false;
  private pendingTag = 0;
  private pendingOk = false;

  constructor(
    private readonly deprecateEof: boolean,
    /** Who hears where responses end: changes hands with the connection (the splice, or a command of mysqlda's own). */
    public onResponseEnd: ResponseEndListener = ignoreResponseEnd,
  ) {}

  /** No response outstanding and the stream is at a packet boundary. */
  get idle(): boolean {
    return this.queueHead === this.kinds.length && this.phase === Phase.START && this.atPacketBoundary;
  }

  get atPacketBoundary(): boolean {
    return this.payloadRemaining === 0 && this.headerHave === 0 && this.headNeed === 0 && !this.previousFrameWasFull;
  }

  get inTransaction(): boolean {
    return (this.statusFlags & ServerStatus.IN_TRANS) !== 0;
  }

  /** Responses still expected (including the one being received). */
  get outstanding(): number {
    return this.kinds.length - this.queueHead;
  }

  /** True while the current response has not sent its first packet yet (an ERR can still be injected cleanly). */
  get awaitingResponseStart(): boolean {
    return this.outstanding > 0 && this.phase === Phase.START && this.atPacketBoundary && !this.expectingClientData;
  }

  /** A command went to the server; its response is expected after those already in flight. */
  commandSent(command: number, tag = 0): void {
    const kind = responseKindOf(command);
    if (kind === ResponseKind.NONE) {
      this.onResponseEnd(tag, true, false);
      return;
    }
    this.kinds.push(kind);
    this.tags.push(tag);
  }

  /** The client ended its LOCAL INFILE data with an empty packet: the server answers next. */
  clientDataEnded(): void {
    this.expectingClientData = false;
    if (this.phase === Phase.INFILE) this.phase = Phase.START;
  }

  /** The client sent the auth packet the server asked for. */
  clientAuthSent(): void {
    this.expectingClientAuth = false;
  }

  /** Reads server bytes exactly as they are forwarded. */
  scan(chunk: Buffer): void {
    let i = 0;
    const end = chunk.length;
    while (i < end) {
      if (this.headNeed > 0) {
        const n = Math.min(this.headNeed, end - i);
        chunk.copy(this.head!, this.headHave, i, i + n);
        this.headHave += n;
        this.headNeed -= n;
        this.payloadRemaining -= n;
        i += n;
        if (this.headNeed === 0) this.onPacket(this.head!, 0, this.headHave, this.headPayloadLength);
        continue;
      }
      if (this.payloadRemaining > 0) {
        const n = Math.min(this.payloadRemaining, end - i);
        this.payloadRemaining -= n;
        i += n;
        if (this.endPending && this.payloadRemaining === 0) this.tellPendingEnd();
        continue;
      }
      let length: number;
      if (this.headerHave > 0 || end - i < 4) {
        const header = (this.header ??= Buffer.allocUnsafe(4));
        const n = Math.min(4 - this.headerHave, end - i);
        chunk.copy(header, this.headerHave, i, i + n);
        this.headerHave += n;
        i += n;
        if (this.headerHave < 4) break;
        this.headerHave = 0;
        length = header[0] | (header[1] << 8) | (header[2] << 16);
      } else {
        length = chunk[i] | (chunk[i + 1] << 8) | (chunk[i + 2] << 16);
        i += 4;
      }
      const continuation = this.previousFrameWasFull;
      this.previousFrameWasFull = length === MAX_PACKET_PAYLOAD;
      this.payloadRemaining = length;
      if (continuation) continue;
      const headLength = Math.min(length, HEAD_BYTES);
      if (end - i >= headLength) {
        this.onPacket(chunk, i, headLength, length);
      } else {
        const n = end - i;
        chunk.copy((this.head ??= Buffer.allocUnsafe(HEAD_BYTES)), 0, i, end);
        this.headHave = n;
        this.headNeed = headLength - n;
        this.headPayloadLength = length;
        this.payloadRemaining -= n;
        i = end;
      }
    }
  }

  private complete(ok: boolean): void {
    const tag = this.tags[this.queueHead];
    this.queueHead++;
    if (this.queueHead === this.kinds.length) {
      this.kinds.length = 0;
      this.tags.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024) {
      this.kinds.splice(0, this.queueHead);
      this.tags.splice(0, this.queueHead);
      this.queueHead = 0;
    }
    this.phase = Phase.START;
    if (this.payloadRemaining === 0) {
      this.onResponseEnd(tag, ok, true);
    } else {
      this.endPending = true;
      this.pendingTag = tag;
      this.pendingOk = ok;
    }
  }

  private tellPendingEnd(): void {
    this.endPending = false;
    this.onResponseEnd(this.pendingTag, this.pendingOk, true);
  }

  /** Status flags of an OK packet (or an OK sent with the EOF header) whose head is at buf[start]. */
  private okStatus(buf: Buffer, start: number, headLength: number): number {
    let p = start + 1;
    for (let field = 0; field < 2; field++) {
      const first = buf[p];
      p += first < 0xfb ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
    }
    return p + 2 <= start + headLength ? buf[p] | (buf[p + 1] << 8) : this.statusFlags;
  }

  /** A non-zero insert id of an OK packet whose affected-rows field is at buf[p], when the head holds it whole. */
  private noteInsertId(buf: Buffer, p: number, end: number): void {
    p += lenencSize(buf[p]);
    if (p >= end || buf[p] === 0) return;
    const size = lenencSize(buf[p]) - 1;
    if (size === 0) this.lastInsertId = buf[p];
    else if (p + 1 + size <= end) this.lastInsertId = size === 8 ? Number(buf.readBigUInt64LE(p + 1)) : buf.readUIntLE(p + 1, size);
  }

  /** Status flags of an end-of-rows packet: OK layout with DEPRECATE_EOF, classic EOF layout otherwise. */
  private terminatorStatus(buf: Buffer, start: number, headLength: number): number {
    if (this.deprecateEof) return this.okStatus(buf, start, headLength);
    return headLength >= 5 ? buf[start + 3] | (buf[start + 4] << 8) : this.statusFlags;
  }

  private isTerminator(first: number, payloadLength: number): boolean {
    return first === PacketHeader.EOF && (this.deprecateEof ? payloadLength < MAX_PACKET_PAYLOAD : payloadLength < 9);
  }

  private isClassicEof(first: number, payloadLength: number): boolean {
    return first === PacketHeader.EOF && payloadLength < 9;
  }

  private finishResult(status: number): void {
    this.statusFlags = status;
    if (status & ServerStatus.MORE_RESULTS_EXISTS) this.phase = Phase.START;
    else this.complete(true);
  }

  private onPacket(buf: Buffer, start: number, headLength: number, payloadLength: number): void {
    if (this.queueHead === this.kinds.length) {
      this.unsolicitedPackets++;
      return;
    }
    const first = headLength > 0 ? buf[start] : -1;
    const kind = this.kinds[this.queueHead];
    switch (this.phase) {
      case Phase.START:
        return this.onFirstPacket(kind, first, buf, start, headLength, payloadLength);
      case Phase.COLUMNS:
        if (first === PacketHeader.ERR) return this.complete(false);
        if (--this.count === 0) {
          this.phase = Phase.ROWS;
          this.awaitingMetadataEof = !this.deprecateEof;
        }
        return;
      case Phase.ROWS:
        if (first === PacketHeader.ERR) return this.complete(false);
        if (this.awaitingMetadataEof) {
          if (!this.isClassicEof(first, payloadLength)) return; // tolerate: treat as a row
          this.awaitingMetadataEof = false;
          const status = this.terminatorStatus(buf, start, headLength);
          this.statusFlags = status;
          if (status & ServerStatus.CURSOR_EXISTS && kind === ResponseKind.RESULT) this.finishResult(status);
          return;
        }
        if (this.isTerminator(first, payloadLength)) this.finishResult(this.terminatorStatus(buf, start, headLength));
        return;
      case Phase.INFILE:
        this.unsolicitedPackets++;
        return;
      case Phase.PREPARE_PARAMS:
        if (--this.count === 0) {
          if (!this.deprecateEof) this.phase = Phase.PREPARE_PARAMS_EOF;
          else this.startPrepareColumns();
        }
        return;
      case Phase.PREPARE_PARAMS_EOF:
        return this.startPrepareColumns();
      case Phase.PREPARE_COLUMNS:
        if (--this.count === 0) {
          if (!this.deprecateEof) this.phase = Phase.PREPARE_COLUMNS_EOF;
          else this.complete(true);
        }
        return;
      case Phase.PREPARE_COLUMNS_EOF:
        return this.complete(true);
      case Phase.FIELD_LIST:
        if (first === PacketHeader.ERR) return this.complete(false);
        if (this.isTerminator(first, payloadLength) || this.isClassicEof(first, payloadLength)) return this.complete(true);
        return;
      case Phase.AUTH:
        return this.onAuthPacket(first, buf, start, headLength);
      case Phase.STREAM:
        return this.onStreamPacket(first, payloadLength);
    }
  }

  private onStreamPacket(first: number, payloadLength: number): void {
    if (first === PacketHeader.ERR) return this.complete(false);
    if (this.isClassicEof(first, payloadLength)) return this.complete(true);
  }

  private onFirstPacket(kind: number, first: number, buf: Buffer, start: number, headLength: number, payloadLength: number): void {
    switch (kind) {
      case ResponseKind.SINGLE:
        if (first === PacketHeader.OK) this.statusFlags = this.okStatus(buf, start, headLength);
        else if (this.isClassicEof(first, payloadLength)) this.statusFlags = this.terminatorStatus(buf, start, headLength);
        return this.complete(first !== PacketHeader.ERR);
      case ResponseKind.RESULT:
        if (first === PacketHeader.OK) {
          this.noteInsertId(buf, start + 1, start + headLength);
          return this.finishResult(this.okStatus(buf, start, headLength));
        }
        if (first === PacketHeader.ERR) return this.complete(false);
        if (first === PacketHeader.LOCAL_INFILE) {
          this.phase = Phase.INFILE;
          this.expectingClientData = true;
          return;
        }
        if (first === PacketHeader.EOF && payloadLength < 9) return this.finishResult(this.terminatorStatus(buf, start, headLength));
        this.count = this.columnCount(buf, start, headLength);
        this.phase = Phase.COLUMNS;
        return;
      case ResponseKind.PREPARE:
        if (first !== PacketHeader.OK || headLength < 9) return this.complete(false);
        this.prepareColumns = buf[start + 5] | (buf[start + 6] << 8);
        this.count = buf[start + 7] | (buf[start + 8] << 8);
        if (this.count > 0) this.phase = Phase.PREPARE_PARAMS;
        else this.startPrepareColumns();
        return;
      case ResponseKind.FIELD_LIST:
        this.phase = Phase.FIELD_LIST;
        return this.onPacket(buf, start, headLength, payloadLength);
      case ResponseKind.FETCH:
        this.phase = Phase.ROWS;
        this.awaitingMetadataEof = false;
        return this.onPacket(buf, start, headLength, payloadLength);
      case ResponseKind.AUTH:
        this.phase = Phase.AUTH;
        return this.onAuthPacket(first, buf, start, headLength);
      case ResponseKind.STREAM:
        this.phase = Phase.STREAM;
        return this.onStreamPacket(first, payloadLength);
    }
  }

  private startPrepareColumns(): void {
    this.count = this.prepareColumns;
    if (this.count > 0) this.phase = Phase.PREPARE_COLUMNS;
    else this.complete(true);
  }

  private onAuthPacket(first: number, buf: Buffer, start: number, headLength: number): void {
    if (first === PacketHeader.OK) {
      this.statusFlags = this.okStatus(buf, start, headLength);
      return this.complete(true);
    }
    if (first === PacketHeader.ERR) return this.complete(false);
    // Auth switch (0xFE) or more data (0x01): the client answers with an auth packet, not a command.
    this.expectingClientAuth = true;
  }

  private columnCount(buf: Buffer, start: number, headLength: number): number {
    const first = buf[start];
    if (first < 0xfb) return first;
    if (first === 0xfc && headLength >= 3) return buf[start + 1] | (buf[start + 2] << 8);
    if (first === 0xfd && headLength >= 4) return buf[start + 1] | (buf[start + 2] << 8) | (buf[start + 3] << 16);
    return 0;
  }
}

/** Bytes of a length-encoded integer whose first byte is `first` (0xfb, NULL, counts as one). */
function lenencSize(first: number): number {
  return first < 0xfc ? 1 : first === 0xfc ? 3 : first === 0xfd ? 4 : 9;
}
