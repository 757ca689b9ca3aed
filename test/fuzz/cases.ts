/**
 * The fuzz case generators: pure functions of (seed, index) that say what a client writes in each of the four
 * places a client can be (before login, in the lobby, routed to a library, and any of those over TLS) and how it
 * leaves. No I/O here: test/fuzz/driver.ts plays a case against a proxy.
 */
import { Capability } from '../../src/protocol/constants.js';
import { mutate } from './mutate.js';
import { Prng } from './prng.js';
import { CLIENT_CAPABILITIES, command, frame, handshakeResponse, header, lenencBytes, nul, query, sslRequest, u16, u32 } from './wire.js';

export const PLACES = ['pre-login', 'lobby', 'routed', 'tls'] as const;
export type Place = (typeof PLACES)[number];
/** Where the driver takes the client before it writes the case's bytes. */
export type Stage = 'pre-login' | 'lobby' | 'routed';

/**
 * How the client leaves once its bytes are written:
 * - end / destroy: at once (half-close, or drop the socket);
 * - reply: the proxy must answer something (an ERR, an auth switch) or close, in bounded time;
 * - answer: the proxy must answer the marker query at the end of the bytes (or close) in bounded time;
 * - close: the proxy must close the connection in bounded time (a refused login, COM_QUIT);
 * - err: the first packet back must be an ERR (a command mysqlda must refuse, not pass on);
 * - mid-response: drop the socket as soon as the first byte of the answer arrives.
 */
export type Ending = 'end' | 'destroy' | 'reply' | 'answer' | 'close' | 'err' | 'mid-response';

export interface FuzzCase {
  seed: number;
  index: number;
  place: Place;
  stage: Stage;
  /** TLS upgrade (SSLRequest, handshake) before anything else; only against the proxy that offers TLS. */
  tls: boolean;
  /** Which proxy serves it: the TLS place has its own, configured with a certificate. */
  proxy: 'plain' | 'tls';
  kind: string;
  /** Written before the greeting has been read. */
  early: boolean;
  /** The library key of `select library` for a routed case. */
  key: string;
  /** One socket write each, in order. */
  chunks: Buffer[];
  ending: Ending;
  /** The text the answer to the marker query carries (ending 'answer'). */
  marker: string;
  /** Number of a known defect this case reproduces (the probes in campaign.ts list them). */
  knownDefect?: number;
}

export interface GeneratorOptions {
  /**
   * Let routed cases send admin and unknown command codes (COM_SHUTDOWN, COM_BINLOG_DUMP, ...). Off by default:
   * while they pass through to the backend, COM_SHUTDOWN stops a sandbox server.
   */
  adminCommands: boolean;
}

/** Commands that must never reach a backend from a client session (and the unknown codes above 0x1f). */
export const ADMIN_COMMANDS: ReadonlySet<number> = new Set([0x08, 0x0d, 0x12, 0x13, 0x14, 0x15, 0x1d]);
const isAdminCode = (code: number) => ADMIN_COMMANDS.has(code) || code > 0x1f;

/** Twenty-case cycle of places: a fixed share of each in any run of 20 consecutive indexes. */
const PLACE_CYCLE: readonly Place[] = [
  ...Array<Place>(6).fill('pre-login'),
  ...Array<Place>(5).fill('lobby'),
  ...Array<Place>(6).fill('routed'),
  ...Array<Place>(3).fill('tls'),
];

export const placeOf = (index: number): Place => PLACE_CYCLE[index % PLACE_CYCLE.length];

const ROUTING_KEYS = 8;
const HUGE = 0xffffff + 17; // past one frame: a continuation packet

export function generateCase(seed: number, index: number, options: GeneratorOptions): FuzzCase {
  const r = Prng.forCase(seed, index);
  const place = placeOf(index);
  const stage: Stage = place === 'tls' ? r.pick(['pre-login', 'lobby', 'routed'] as const) : place;
  const marker = `fz-${seed.toString(36)}-${index}`;
  const base = { seed, index, place, stage, tls: place === 'tls', proxy: place === 'tls' ? 'tls' : 'plain', early: false, key: `fz${r.int(ROUTING_KEYS)}`, marker } as const;
  if (place === 'tls' && stage === 'pre-login' && r.chance(0.15)) return { ...base, tls: false, ...sslRequestThenGarbage(r) };
  const body = stage === 'pre-login' ? preLogin(r) : commands(r, stage, marker, options);
  return { ...base, ...body };
}

type Body = Pick<FuzzCase, 'kind' | 'chunks' | 'ending'> & Partial<Pick<FuzzCase, 'early' | 'knownDefect'>>;

// ---- before login ---------------------------------------------------------------------------------------

const USERS = ['calvin', 'root', '', 'CALVIN', 'calvin\u0000x', 'ü'];

function someUser(r: Prng): Buffer {
  if (r.chance(0.7)) return Buffer.from(r.pick(USERS));
  // NUL ends a user name on the wire: random names avoid it so that their whole length reaches the proxy.
  return r.chance(0.8) ? Buffer.from(r.bytes(r.length(300)).map((b) => b || 1)) : Buffer.alloc(r.range(256, 70_000), 'u');
}

function validishResponse(r: Prng, capabilities = CLIENT_CAPABILITIES): Buffer {
  const withDb = r.chance(0.3);
  const caps = withDb ? capabilities | Capability.CONNECT_WITH_DB : capabilities;
  const attributes = lenencBytes(Buffer.concat([lenencBytes(Buffer.from('_client_name')), lenencBytes(Buffer.from('fuzz'))]));
  return handshakeResponse({
    capabilities: caps,
    charset: r.chance(0.9) ? 45 : r.int(256),
    user: someUser(r),
    authResponse: r.bytes(r.pick([0, 20, 20, 32, r.length(300)])),
    database: r.pick(['calvindb', 'nosuchdb', '']),
    plugin: r.pick(['mysql_native_password', 'caching_sha2_password', 'sha256_password', 'dialog', '']),
    attributes,
  });
}

function preLogin(r: Prng): Body {
  if (r.chance(0.001)) return sixteenMegabyteResponse(r);
  const kind = r.weighted([
    [8, 'garbage'],
    [8, 'framed-garbage'],
    [14, 'mutated-response'],
    [10, 'truncated-response'],
    [8, 'lying-header'],
    [12, 'capability-combination'],
    [6, 'ssl-request-then-garbage'],
    [10, 'auth-switch-answer'],
    [6, 'sha2-full-auth-garbage'],
    [6, 'pipelined-before-login'],
    [4, 'before-greeting'],
    [1, 'oversized-user'],
    [4, 'wrong-sequence-id'],
  ] as const);
  switch (kind) {
    case 'garbage':
      return { kind, chunks: [r.bytes(1 + r.length(400))], ending: r.pick(['end', 'destroy'] as const) };
    case 'framed-garbage':
      return { kind, chunks: [frame(r.bytes(r.length(400)), r.chance(0.8) ? 1 : r.int(256))], ending: 'reply' };
    case 'mutated-response':
      return { kind, chunks: [frame(mutate(r, validishResponse(r)), 1)], ending: 'reply' };
    case 'truncated-response': {
      const response = validishResponse(r);
      return { kind, chunks: [frame(response.subarray(0, r.int(response.length)), 1)], ending: 'reply' };
    }
    case 'lying-header': {
      const response = validishResponse(r);
      const claimed = r.chance(0.5) ? response.length + 1 + r.int(1000) : r.range(0x10000, 0xffffff);
      return { kind, chunks: [header(claimed, 1), response], ending: r.pick(['end', 'destroy'] as const) };
    }
    case 'capability-combination': {
      const caps = r.chance(0.5) ? r.u32() : CLIENT_CAPABILITIES ^ (1 << r.int(25)) ^ (r.chance(0.5) ? 1 << r.int(25) : 0);
      return { kind, chunks: [frame(validishResponse(r, caps), 1)], ending: 'reply' };
    }
    case 'ssl-request-then-garbage':
      return sslRequestThenGarbage(r);
    case 'auth-switch-answer': {
      // A plugin mysqlda does not speak: it switches the client to mysql_native_password, which wants 20 bytes.
      const response = handshakeResponse({ capabilities: CLIENT_CAPABILITIES, user: 'calvin', authResponse: r.bytes(20), plugin: r.pick(['sha256_password', 'dialog', 'x']) });
      const answer = r.bytes(r.pick([0, 1, 19, 21, 40, r.length(300)]));
      return { kind, chunks: [frame(response, 1), frame(answer, 3)], ending: 'close' };
    }
    case 'sha2-full-auth-garbage': {
      // A caching_sha2 token the cache does not know: full authentication, then RSA-key requests and garbage.
      const response = handshakeResponse({ capabilities: CLIENT_CAPABILITIES, user: 'calvin', authResponse: r.bytes(32), plugin: 'caching_sha2_password' });
      const next = r.chance(0.5) ? [frame(Buffer.from([0x02]), 3), frame(r.bytes(r.pick([0, 1, 255, 256, 257, r.length(600)])), 5)] : [frame(r.bytes(r.length(300)), 3)];
      return { kind, chunks: [frame(response, 1), Buffer.concat(next)], ending: 'close' };
    }
    case 'pipelined-before-login':
      // Commands behind a login that fails: none of them may run.
      return { kind, chunks: [Buffer.concat([frame(validishResponse(r), 1), ...Array.from({ length: 1 + r.int(5) }, () => frame(query('select 1'), 0))])], ending: 'reply' };
    case 'before-greeting':
      return { kind, chunks: [r.chance(0.5) ? frame(validishResponse(r), 1) : r.bytes(1 + r.length(100))], ending: r.pick(['end', 'destroy'] as const), early: true };
    case 'oversized-user': {
      const user = Buffer.alloc(r.pick([0x10000, 0x100000 - 100, 0x100000 + 100, r.range(1000, 0x100000)]), 'x');
      return { kind, chunks: [frame(handshakeResponse({ capabilities: CLIENT_CAPABILITIES, user, authResponse: r.bytes(20), plugin: 'mysql_native_password' }), 1)], ending: 'reply' };
    }
    case 'wrong-sequence-id':
      return { kind, chunks: [frame(validishResponse(r), r.pick([0, 2, 255, r.int(256)]))], ending: 'reply' };
  }
}

/** Known defect 3: a 16 MB packet before login (one frame just under the limit, or a continued one). */
export function sixteenMegabyteResponse(r: Prng): Body {
  return { kind: 'sixteen-mb-response', chunks: [frame(Buffer.alloc(r.pick([0xfffffe, 0xffffff]), 0x41), 1)], ending: 'end', knownDefect: 3 };
}

function sslRequestThenGarbage(r: Prng): Body {
  const request = r.chance(0.8) ? sslRequest() : mutate(r, sslRequest());
  const after = r.chance(0.5) ? r.bytes(1 + r.length(300)) : Buffer.from([0x16, 0x03, 0x01, ...r.bytes(r.length(60))]); // a ClientHello's first bytes, then noise
  return { kind: 'ssl-request-then-garbage', chunks: [Buffer.concat([frame(request, 1), after])], ending: r.pick(['end', 'destroy'] as const) };
}

// ---- logged in: the lobby and the routed session ------------------------------------------------------------

/** Statements worth mutating: set-up chatter, extension SQL, data statements, prepared statements' text. */
const STATEMENTS = [
  'select 1',
  'select @@version_comment limit 1',
  'select library fz1',
  'select library "odd key"',
  'select library_by_correl_object cls obj',
  'set correl_object cls obj fz2',
  'show library',
  'set names utf8mb4',
  'set autocommit=0',
  'set @x = 1',
  'use calvindb',
  'begin',
  'commit',
  'rollback',
  'show variables like "max_allowed_packet"',
  'select * from test_table',
  "insert into test_table values ('fuzz', 'x') on duplicate key update value = 'y'",
  'select ?, ?',
  'kill 4000000000',
  'kill query 4000000001',
  '/* comment */ select 2',
  'select 1; select 2',
];

const ODD_KEYS = ['', "''", '""', '``', '"a""b"', 'a;b', '-- x', '#x', '/*x*/', '\u0000', '\t', 'ключ', '😀', "'unterminated", '`', 'k'.repeat(64), 'k'.repeat(65), 'a b', 'a\nb'];

function extensionSql(r: Prng): string {
  const form = r.pick(['select library', 'select library_by_correl_object', 'set correl_object', 'show library', 'SeLeCt   LiBrArY', 'select/**/library']);
  const args = Array.from({ length: r.int(4) }, () => (r.chance(0.6) ? r.pick(ODD_KEYS) : r.bytes(r.length(80)).toString('latin1')));
  const tail = r.pick(['', ';', ' ;', ';;', ' -- c', ' /* c', ' extra']);
  return `${form} ${args.join(r.pick([' ', '\t', '  ', '\n']))}${tail}`;
}

function queryPayload(r: Prng): Buffer {
  const choice = r.int(10);
  if (choice < 3) return query(r.pick(STATEMENTS));
  if (choice < 5) return query(extensionSql(r));
  // The command byte stays: a mutated one could become an admin command (see GeneratorOptions).
  if (choice < 8) return query(mutate(r, Buffer.from(r.pick(STATEMENTS))));
  if (choice < 9) return query(r.bytes(r.length(200)));
  return query(Buffer.alloc(r.pick([4096, 4097, 65_536, r.range(100_000, 2_000_000)]), 0x20));
}

function executePayload(r: Prng): Buffer {
  const id = r.weighted([[6, 1], [2, 2], [1, 0], [1, 0xffffffff], [1, r.u32()]] as const);
  const types = Buffer.concat(Array.from({ length: 2 }, () => u16(r.pick([0x03, 0x08, 0x0f, 0xfd, 0xfe, 0x06, 0xfc, r.int(0x10000)]))));
  const values = r.chance(0.5) ? Buffer.concat([u32(r.u32()), lenencBytes(r.bytes(r.length(40)))]) : r.bytes(r.length(60));
  const body = Buffer.concat([u32(id), Buffer.from([r.pick([0, 1, 2, 4, r.int(256)])]), u32(r.chance(0.9) ? 1 : r.u32()), Buffer.from([r.int(4)]), Buffer.from([r.chance(0.8) ? 1 : 0]), types, values]);
  return command(0x17, r.chance(0.5) ? body : mutate(r, body));
}

function changeUserPayload(r: Prng): Buffer {
  const body = Buffer.concat([nul(someUser(r)), Buffer.from([20]), r.bytes(20), nul(r.pick(['calvindb', '', 'nosuchdb'])), u16(r.pick([45, 33, 0, r.int(0x10000)])), nul(r.pick(['mysql_native_password', 'caching_sha2_password', 'x']))]);
  return command(0x11, r.chance(0.3) ? body : mutate(r, body));
}

/** One command payload. In a routed session admin codes stay out unless the options let them in. */
function commandPayload(r: Prng, stage: Stage, options: GeneratorOptions): Buffer {
  const kind = r.weighted([
    [30, 'query'],
    [8, 'prepare'],
    [10, 'execute'],
    [6, 'statement'],
    [5, 'change-user'],
    [4, 'init-db'],
    [3, 'set-option'],
    [6, 'simple'],
    [8, 'any-code'],
  ] as const);
  switch (kind) {
    case 'query':
      return queryPayload(r);
    case 'prepare':
      return command(0x16, r.chance(0.6) ? r.pick(['select ?, ?', 'select 1', 'insert into test_table values (?, ?)']) : mutate(r, Buffer.from(r.pick(STATEMENTS))));
    case 'execute':
      return executePayload(r);
    case 'statement': {
      // SEND_LONG_DATA, CLOSE, RESET, FETCH with ids near the ones a session hands out, then whatever follows.
      const code = r.pick([0x18, 0x19, 0x1a, 0x1c]);
      return command(code, Buffer.concat([u32(r.pick([1, 2, 0, 0xffffffff, r.u32()])), r.bytes(r.length(20))]).subarray(0, r.chance(0.2) ? r.int(5) : undefined));
    }
    case 'change-user':
      return changeUserPayload(r);
    case 'init-db':
      return command(0x02, r.chance(0.5) ? r.pick(['calvindb', 'nosuchdb', '', 'information_schema']) : r.bytes(r.length(100)));
    case 'set-option':
      return command(0x1b, r.bytes(r.pick([0, 1, 2, 2, 3])));
    case 'simple':
      // Bodies are random: COM_CREATE_DB / COM_DROP_DB never name a real database.
      return command(r.pick([0x00, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0a, 0x0b, 0x0e, 0x0f, 0x10, 0x1f]), r.bytes(r.length(30)));
    case 'any-code': {
      let code = r.int(256);
      if (stage === 'routed' && !options.adminCommands) while (isAdminCode(code) || code === 0x01) code = r.int(0x20);
      return command(code, r.bytes(r.length(40)));
    }
  }
}

function commands(r: Prng, stage: Stage, marker: string, options: GeneratorOptions): Body {
  if (stage === 'routed') {
    const special = routedSpecial(r, marker);
    if (special) return special;
  }
  const count = r.weighted([[6, 1], [3, 1 + r.int(8)], [1, 10 + r.int(190)]] as const);
  const payloads = Array.from({ length: count }, () => commandPayload(r, stage, options));
  const sequenceId = () => (r.chance(0.95) ? 0 : r.int(256));
  let stream = Buffer.concat(payloads.map((payload) => frame(payload, sequenceId())));
  if (r.chance(0.002)) stream = Buffer.concat([stream, frame(query(Buffer.alloc(HUGE, 0x20)), 0)]);
  const ending = r.weighted([[6, 'answer'], [2, 'end'], [1, 'destroy'], [1, 'half-sent']] as const);
  if (ending === 'half-sent') {
    // The start of one more packet, then the client goes.
    const next = frame(commandPayload(r, stage, options), 0);
    stream = Buffer.concat([stream, next.subarray(0, 1 + r.int(next.length - 1))]);
    return { kind: `commands-half-sent`, chunks: split(r, stream), ending: r.pick(['end', 'destroy'] as const) };
  }
  if (ending === 'answer') stream = Buffer.concat([stream, frame(query(`select '${marker}'`), 0)]);
  return { kind: count > 1 ? 'pipeline' : 'command', chunks: split(r, stream), ending };
}

/** Routed only: prepared-statement executes, COM_QUIT in pipelines, byte-at-a-time writes, leaving mid-answer. */
function routedSpecial(r: Prng, marker: string): Body | null {
  const endQuery = frame(query(`select '${marker}'`), 0);
  if (r.chance(1 / 2000)) return binlogDumpGtidThenQuit(r);
  const kind = r.weighted([
    [70, null],
    [8, 'prepared-execute'],
    [6, 'quit-in-pipeline'],
    [6, 'split-at-every-byte'],
    [5, 'split-at-one-byte'],
    [5, 'close-mid-response'],
  ] as const);
  switch (kind) {
    case null:
      return null;
    case 'prepared-execute': {
      const executes = Array.from({ length: 1 + r.int(4) }, () => frame(executePayload(r), 0));
      return { kind, chunks: split(r, Buffer.concat([frame(command(0x16, 'select ?, ?'), 0), ...executes, endQuery])), ending: 'answer' };
    }
    case 'quit-in-pipeline': {
      const before = Array.from({ length: r.int(4) }, () => frame(query('select 1'), 0));
      const after = Array.from({ length: r.int(4) }, () => frame(r.chance(0.5) ? query('select 1') : r.bytes(r.length(20)), r.int(3)));
      const tail = r.chance(0.3) ? r.bytes(1 + r.int(3)) : Buffer.alloc(0);
      return { kind, chunks: split(r, Buffer.concat([...before, frame(command(0x01), 0), ...after, tail])), ending: r.pick(['close', 'end', 'destroy'] as const) };
    }
    case 'split-at-every-byte':
    case 'split-at-one-byte': {
      const stream = Buffer.concat([frame(query('select 1'), 0), frame(command(0x0e), 0), frame(command(0x16, 'select ?, ?'), 0), endQuery]);
      if (kind === 'split-at-one-byte') {
        const at = r.int(stream.length + 1);
        return { kind, chunks: [stream.subarray(0, at), stream.subarray(at)], ending: 'answer' };
      }
      return { kind, chunks: [...stream].map((byte) => Buffer.from([byte])), ending: 'answer' };
    }
    case 'close-mid-response':
      return { kind, chunks: [frame(query(`select seq, repeat('x', ${r.pick([10, 200, 1000])}) from seq_1_to_${r.pick([1000, 20_000, 100_000])}`), 0)], ending: 'mid-response' };
  }
}

/** Known defect 1: COM_BINLOG_DUMP_GTID, COM_QUIT and one more byte in one write, then the client closes. */
export function binlogDumpGtidThenQuit(r: Prng): Body {
  return { kind: 'binlog-dump-gtid-quit', chunks: [Buffer.concat([frame(command(0x1e), 0), frame(command(0x01), 0), Buffer.from([r.int(256)])])], ending: 'end', knownDefect: 1 };
}

/** The bytes in one write mostly; sometimes cut into a few writes at random places. */
function split(r: Prng, stream: Buffer): Buffer[] {
  if (stream.length < 2 || r.chance(0.75)) return [stream];
  const cuts = Array.from({ length: 1 + r.int(4) }, () => r.int(stream.length)).sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    if (cut > from) chunks.push(stream.subarray(from, cut));
    from = Math.max(from, cut);
  }
  return chunks;
}

/** Hex of the first `max` bytes of a case's writes, for failure reports. */
export function hexOf(fuzzCase: FuzzCase, max = 96): string {
  // All of it when replaying with MYSQLDA_FUZZ_TRACE=1: the report is then the reproduction.
  if (process.env.MYSQLDA_FUZZ_TRACE === '1') max = 1 << 16;
  const all = Buffer.concat(fuzzCase.chunks);
  const shown = all.subarray(0, max).toString('hex').replace(/(..)/g, '$1 ').trim();
  return all.length > max ? `${shown} … (${all.length} bytes in ${fuzzCase.chunks.length} writes)` : `${shown} (${all.length} bytes in ${fuzzCase.chunks.length} writes)`;
}

