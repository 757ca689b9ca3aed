import { describe, expect, it } from 'vitest';
import { ProxyEvents } from '../../src/observability/proxy-events.js';
import { ProxyErrors } from '../../src/protocol/error-codes.js';
import type { LibraryConnection } from '../../src/session/library-connection.js';
import { connectWhenAvailable, lostBackendFate, relocationAfterLoss, relocationStep, routesAnew, type Relocation } from '../../src/session/session-relocation.js';

const idle = { busy: false, inTransaction: false, uncarried: null, draining: false };
const facts = { library: 'lib', read: null, configured: true, inTransaction: false, lastInsertId: 0, connectTimeoutMs: 2000, now: 1000 };
const leave = (deadline: number): Relocation => ({ kind: 'leave', reason: 'removed', deadline, timer: setTimeout(() => {}, 0) });

describe('a session whose server closed the connection', () => {
  it('is masked when idle outside a transaction with nothing that cannot be carried', () => {
    expect(lostBackendFate(idle)).toEqual({ kind: 'mask' });
  });

  it('ends at once when a command was in flight, or mysqlda is stopping: never a silent replay', () => {
    expect(lostBackendFate({ ...idle, busy: true })).toEqual({ kind: 'close' });
    expect(lostBackendFate({ ...idle, busy: true, inTransaction: true })).toEqual({ kind: 'close' });
    expect(lostBackendFate({ ...idle, draining: true })).toEqual({ kind: 'close' });
  });

  it('gets 2013 at its next command when idle with a transaction or state that cannot be carried', () => {
    expect(lostBackendFate({ ...idle, inTransaction: true })).toEqual({ kind: 'fail-next', what: 'an open transaction' });
    expect(lostBackendFate({ ...idle, uncarried: 'a temporary table' })).toEqual({ kind: 'fail-next', what: 'a temporary table' });
    const broken = relocationAfterLoss({ kind: 'fail-next', what: 'a temporary table' }, 'lib', 'm:1', 'EOF', 0);
    expect(broken).toMatchObject({ kind: 'broken', error: { code: 2013, message: expect.stringContaining('a temporary table') } });
    expect(relocationAfterLoss({ kind: 'mask' }, 'lib', 'm:1', 'EOF', 9)).toEqual({ kind: 'lost', reason: 'server m:1 of library lib closed the connection (EOF)', lastInsertId: 9 });
  });
});

describe('the next command of a session that must move', () => {
  it('waits up to connect_timeout_ms for a lost server\'s library, carrying LAST_INSERT_ID() and the read bound', () => {
    expect(relocationStep({ kind: 'lost', reason: 'r', lastInsertId: 7 }, { ...facts, read: 5 })).toEqual({
      kind: 'move',
      carry: { readMaxLagSeconds: 5, lastInsertId: 7 },
      waitMs: 2000,
    });
  });

  it('moves off a server that left at once outside a transaction, stays inside one until the deadline, then fails with 7110', () => {
    expect(relocationStep(leave(5000), { ...facts, lastInsertId: 3 })).toEqual({ kind: 'move', carry: { readMaxLagSeconds: null, lastInsertId: 3 }, waitMs: 0 });
    expect(relocationStep(leave(5000), { ...facts, inTransaction: true })).toEqual({ kind: 'stay' });
    expect(relocationStep(leave(500), { ...facts, inTransaction: true })).toMatchObject({ kind: 'fail', error: { code: 7110 } });
  });

  it('fails when broken, or when the library left the configuration', () => {
    const error = ProxyErrors.backendLostHolding('lib', 'm:1', 'an open transaction');
    expect(relocationStep({ kind: 'broken', reason: 'r', error }, facts)).toEqual({ kind: 'fail', error, reason: 'r' });
    expect(relocationStep({ kind: 'lost', reason: 'r', lastInsertId: 0 }, { ...facts, configured: false })).toMatchObject({ kind: 'fail', error: { code: 7106 } });
  });

  it('tries again at each failover until a server answers, and gives up with 7106 at the deadline', async () => {
    const events = new ProxyEvents();
    const unavailable: LibraryConnection = { ok: false, error: ProxyErrors.libraryUnavailable('lib', 'no usable server') };
    let attempts = 0;
    const connection = {} as never;
    const connect = async (): Promise<LibraryConnection> => (++attempts < 3 ? unavailable : { ok: true, connection, onReplica: false });
    const pending = connectWhenAvailable(connect, events, 10_000, () => false);
    for (let i = 0; i < 2; i++) {
      await new Promise((resolve) => setImmediate(resolve));
      events.emit('failover', { library: 'lib', from: 'm:1', to: 'r:1' });
    }
    expect(await pending).toEqual({ ok: true, connection, onReplica: false });
    expect(attempts).toBe(3);
    expect(await connectWhenAvailable(async () => unavailable, events, 0, () => false)).toBe(unavailable);
    const refusedSetting: LibraryConnection = { ok: false, error: { code: 1231, sqlState: '42000', message: 'bad value' } };
    expect(await connectWhenAvailable(async () => refusedSetting, events, 10_000, () => false)).toBe(refusedSetting);
  });
});

describe('a command that chooses the route anew', () => {
  const query = (sql: string) => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
  const lost: Relocation = { kind: 'lost', reason: 'r', lastInsertId: 0 };

  it('goes without the lost server\'s move first: select library, for read too', () => {
    expect(routesAnew(lost, query('select library other-key'))).toBe(true);
    expect(routesAnew(lost, query('SELECT LIBRARY_BY_CORREL_OBJECT order 7 for read'))).toBe(true);
  });

  it('is not any other command, nor a route change of a session that must hear its loss', () => {
    expect(routesAnew(lost, query('select 1'))).toBe(false);
    expect(routesAnew(lost, query('show library'))).toBe(false);
    expect(routesAnew(lost, query('select library'))).toBe(false);
    const broken: Relocation = { kind: 'broken', reason: 'r', error: ProxyErrors.backendLost('lib', 'm:1') };
    expect(routesAnew(broken, query('select library other-key'))).toBe(false);
  });
});
