import { describe, expect, it } from 'vitest';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import type { Packet } from '../../src/protocol/packet.js';
import type { SessionAction } from '../../src/session/session-action.js';
import { SessionHistory } from '../../src/session/session-history.js';
import { StatementBroker } from '../../src/session/statement-broker.js';

const prepare = (sql: string): Packet => ({ sequenceId: 0, payload: Buffer.concat([Buffer.from([Command.STMT_PREPARE]), Buffer.from(sql)]) });

/** COM_STMT_EXECUTE of statement `id` with one VAR_STRING parameter (types sent). */
function execute(id: number, value: string): Packet {
  const head = Buffer.from([Command.STMT_EXECUTE, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x00, 0x01, 0xfd, 0x00, value.length]);
  head.writeUInt32LE(id, 1);
  return { sequenceId: 0, payload: Buffer.concat([head, Buffer.from(value)]) };
}

/** A command on statement `id` with no more than the id (COM_STMT_CLOSE, COM_STMT_RESET, ...). */
function onStatement(command: number, id: number): Packet {
  const payload = Buffer.from([command, 0, 0, 0, 0]);
  payload.writeUInt32LE(id, 1);
  return { sequenceId: 0, payload };
}

/** The statement id of a prepare-OK answer. */
function preparedId(action: SessionAction): number {
  if (action.kind !== 'reply-packets') throw new Error(`expected a prepare-OK, got ${action.kind}`);
  return action.payloads[0].readUInt32LE(1);
}

const errorCode = (action: SessionAction) => (action.kind === 'reply-error' ? action.error.code : action.kind);

describe('StatementBroker', () => {
  it('answers the prepare of extension SQL itself, and runs it bound as extension SQL', () => {
    const broker = new StatementBroker(new SessionHistory());
    const id = preparedId(broker.prepare(prepare('select library ?'), false, true));
    expect(broker.handle(execute(id, 'k1'))).toEqual({ kind: 'extension', command: { kind: 'select_library', key: 'k1' } });
    const show = preparedId(broker.prepare(prepare('show library'), true, true));
    const noParams = Buffer.from([Command.STMT_EXECUTE, 0, 0, 0, 0, 0, 1, 0, 0, 0]);
    noParams.writeUInt32LE(show, 1);
    expect(broker.handle({ sequenceId: 0, payload: noParams })).toEqual({ kind: 'show-library', binary: true });
  });

  it('before routing, records a prepared setting and runs it as text on the lobby server once earlier answers are out', async () => {
    const history = new SessionHistory();
    const broker = new StatementBroker(history);
    const id = preparedId(broker.prepare(prepare('SET @a = ?'), false, true));
    const run = broker.handle(execute(id, 'x\\y'));
    if (run.kind !== 'when-idle') throw new Error(`expected a wait, got ${run.kind}`);
    // Escaped as the server reads it then: with backslashes, unless NO_BACKSLASH_ESCAPES.
    const plain = await run.decide(ServerStatus.AUTOCOMMIT);
    expect(plain.kind === 'forward' && plain.packet.payload.toString('utf8', 1)).toBe("SET @a = 'x\\\\y'");
    expect(plain.kind === 'forward' && plain.tag).not.toBe(0);
    const noEscapes = await run.decide(ServerStatus.NO_BACKSLASH_ESCAPES);
    expect(noEscapes.kind === 'forward' && noEscapes.packet.payload.toString('utf8', 1)).toBe("SET @a = 'x\\y'");
  });

  it('refuses the prepare of a data statement before routing with 7101', () => {
    const broker = new StatementBroker(new SessionHistory());
    expect(errorCode(broker.prepare(prepare('SELECT * FROM t WHERE id = ?'), false, true))).toBe(7101);
  });

  it('prepares other statements on the server aside, and answers with an id of its own under which executes are renamed', () => {
    const broker = new StatementBroker(new SessionHistory());
    const action = broker.prepare(prepare('SELECT ?'), true, true);
    if (action.kind !== 'run-aside') throw new Error(`expected a command aside, got ${action.kind}`);
    const serverOk = Buffer.from([0x00, 0x2a, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]); // statement 42, 0 columns, 1 parameter
    const id = preparedId(action.decide({ ok: true, packets: [serverOk] }));
    expect(id).not.toBe(42);
    const run = broker.handle(execute(id, 'v'));
    expect(run.kind === 'forward' && run.packet.payload.readUInt32LE(1)).toBe(42);
  });

  it('answers COM_STMT_CLOSE with nothing, COM_STMT_RESET of its own statements with OK, an unknown id with 1243', () => {
    const broker = new StatementBroker(new SessionHistory());
    const id = preparedId(broker.prepare(prepare('select library ?'), false, true));
    expect(broker.handle(onStatement(Command.STMT_RESET, id))).toEqual({ kind: 'reply-ok' });
    expect(broker.handle(onStatement(Command.STMT_CLOSE, id))).toEqual({ kind: 'none' });
    expect(errorCode(broker.handle(execute(id, 'k1')))).toBe(1243);
    expect(broker.handle(onStatement(Command.STMT_CLOSE, 999))).toEqual({ kind: 'none' });
  });
});
