import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_AFTER_MS, ConnectionPool } from '../../src/backend/connection-pool.js';
import type { ServerConfig } from '../../src/config/types.js';
import { DEFAULT_CHARSET } from '../../src/protocol/constants.js';
import { findFreePort, MariadbServer } from '../../tools/sandbox/mariadb-server.js';

let dir: string;
let server: MariadbServer;
let config: ServerConfig;
const shape = { capabilities: 0, charset: DEFAULT_CHARSET };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-pool-'));
  server = await MariadbServer.start({ baseDir: dir, name: 'pool', serverId: 1 });
  config = { host: '127.0.0.1', port: server.port, user: 'root', password: '', database: '', tls: null };
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('ConnectionPool', () => {
  it('reuses a released connection, reset, instead of opening another', async () => {
    const pool = new ConnectionPool(config, shape, { maxConnections: 4, idleTimeoutMs: 60_000, connectTimeoutMs: 2000, maxResetDelayMs: 0 });
    const first = await pool.acquire();
    await first.execute(Buffer.from('\x03set @x = 1'));
    await pool.release(first);
    const second = await pool.acquire();
    expect(second).toBe(first);
    const result = await second.execute(Buffer.from('\x03select @x'));
    expect(result.packets[result.packets.length - 2].subarray(1).length).toBe(0); // NULL row: reset
    pool.close();
  });

  it('never opens more than its maximum; a waiter gets the next released connection', async () => {
    const pool = new ConnectionPool(config, shape, { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 2000, maxResetDelayMs: 0 });
    const a = await pool.acquire();
    await pool.acquire();
    const waiting = pool.acquire();
    expect(pool.stats()).toEqual({ idle: 0, active: 2, waiting: 1 });
    await pool.release(a);
    expect(await waiting).toBe(a);
    pool.close();
  });

  it('fails a waiter after the connect timeout when every connection stays busy', async () => {
    const pool = new ConnectionPool(config, shape, { maxConnections: 1, idleTimeoutMs: 60_000, connectTimeoutMs: 200, maxResetDelayMs: 0 });
    await pool.acquire();
    await expect(pool.acquire()).rejects.toThrow(/busy/);
    pool.close();
  });

  it('closes idle connections after the idle timeout', async () => {
    const pool = new ConnectionPool(config, shape, { maxConnections: 2, idleTimeoutMs: 300, connectTimeoutMs: 2000, maxResetDelayMs: 0 });
    const connection = await pool.acquire();
    await pool.release(connection);
    expect(pool.stats().idle).toBe(1);
    const started = Date.now();
    await new Promise<void>((resolve) => connection.onClose(resolve));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300 - 10); // timers may fire a few ms early
    expect(pool.stats()).toEqual({ idle: 0, active: 0, waiting: 0 });
    pool.close();
  });

  it('drops an idle connection the server closed, and never hands it out', async () => {
    const pool = new ConnectionPool(config, shape, { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 2000, maxResetDelayMs: 0 });
    const connection = await pool.acquire();
    await pool.release(connection);
    await server.query(`KILL ${connection.threadId}`);
    await new Promise<void>((resolve) => connection.onClose(resolve));
    const fresh = await pool.acquire();
    expect(fresh).not.toBe(connection);
    expect(fresh.alive).toBe(true);
    pool.close();
  });

  describe('deferred reset', () => {
    const options = { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 2000 };
    const isFree = async (lock: string) => {
      const rows = (await server.query(`SELECT IS_FREE_LOCK('${lock}') AS free`)) as { free: number }[];
      return rows[0].free === 1;
    };
    const until = async (condition: () => Promise<boolean>, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await condition())) {
        if (Date.now() > deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return true;
    };
    const textRows = (result: { packets: Buffer[] }) => result.packets.slice(3, -1).map((row) => row.subarray(1).toString());
    /** A connection whose first release has reset it at once (a reset is deferred only once one has worked). */
    const provenConnection = async (pool: ConnectionPool) => {
      const connection = await pool.acquire();
      await pool.release(connection);
      expect(connection.owesReset).toBe(false);
      expect(await pool.acquire()).toBe(connection);
      return connection;
    };

    it('sends the reset with the next command and drops its answer', async () => {
      const pool = new ConnectionPool(config, shape, { ...options, maxResetDelayMs: 60_000 });
      const first = await provenConnection(pool);
      await first.execute(Buffer.from("\x03set @x = 'left over'"));
      await pool.release(first);
      expect(first.owesReset).toBe(true);
      const second = await pool.acquire();
      expect(second).toBe(first);
      const result = await second.execute(Buffer.from("\x03select concat('x=', ifnull(@x, 'null'))"));
      expect(result.ok).toBe(true);
      expect(textRows(result)).toEqual(['x=null']);
      expect(second.owesReset).toBe(false);
      pool.close();
    });

    it('resets an unused idle connection within the delay: its last user\'s locks are let go', async () => {
      const pool = new ConnectionPool(config, shape, { ...options, maxResetDelayMs: 100 });
      const connection = await provenConnection(pool);
      await connection.execute(Buffer.from("\x03select get_lock('pool-idle', 0)"));
      expect(await isFree('pool-idle')).toBe(false);
      await pool.release(connection);
      expect(await until(() => isFree('pool-idle'), 5_000)).toBe(true);
      expect(connection.owesReset).toBe(false);
      expect(pool.stats()).toEqual({ idle: 1, active: 0, waiting: 0 });
      const again = await pool.acquire();
      expect(again).toBe(connection);
      expect((await again.execute(Buffer.from('\x03select 1'))).ok).toBe(true);
      pool.close();
    });

    it('sends the reset on its own when the next user sends nothing within the delay', async () => {
      const pool = new ConnectionPool(config, shape, { ...options, maxResetDelayMs: 100 });
      const connection = await provenConnection(pool);
      await connection.execute(Buffer.from("\x03select get_lock('pool-held', 0)"));
      await pool.release(connection);
      const next = await pool.acquire();
      expect(next).toBe(connection);
      expect(next.owesReset).toBe(true);
      expect(await until(() => isFree('pool-held'), 5_000)).toBe(true);
      // The reset's answer arrived while nobody read; it is dropped before the next command's answer.
      const result = await next.execute(Buffer.from("\x03select 'mine'"));
      expect(textRows(result)).toEqual(['mine']);
      pool.close();
    });

    it('resets at once a connection released inside a transaction', async () => {
      const pool = new ConnectionPool(config, shape, { ...options, maxResetDelayMs: 60_000 });
      const connection = await provenConnection(pool);
      await connection.execute(Buffer.from('\x03begin'));
      await connection.execute(Buffer.from("\x03select get_lock('pool-in-trx', 0)"));
      await pool.release(connection);
      expect(connection.owesReset).toBe(false);
      expect(await isFree('pool-in-trx')).toBe(true);
      pool.close();
    });
  });

  it('checks an idle connection the server has not answered on lately; a frozen server fails the acquire within the connect timeout and the connection is destroyed', async () => {
    // Released connections are reset at once: no reset is in flight when the server freezes.
    const pool = new ConnectionPool(config, shape, { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 300, maxResetDelayMs: 0 });
    const connection = await pool.acquire();
    await pool.release(connection);
    // Connections the server answered on within CHECK_AFTER_MS are reused without a check: this one was last
    // heard from longer ago (set back rather than waited for).
    const heardLongAgo = () => (connection.lastAnswerAt = Date.now() - CHECK_AFTER_MS * 2);
    heardLongAgo();
    expect(await pool.acquire()).toBe(connection); // checked, answered
    expect(Date.now() - connection.lastAnswerAt).toBeLessThan(CHECK_AFTER_MS); // the check's answer
    await pool.release(connection);
    heardLongAgo();
    server.signal('SIGSTOP');
    try {
      const started = Date.now();
      await expect(pool.acquire()).rejects.toThrow(/timed out after 300 ms/);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(connection.alive).toBe(false);
      expect(pool.stats()).toEqual({ idle: 0, active: 0, waiting: 0 });
    } finally {
      server.signal('SIGCONT');
    }
    const fresh = await pool.acquire();
    expect(fresh).not.toBe(connection);
    expect((await fresh.execute(Buffer.from('\x03select 1'))).ok).toBe(true);
    pool.close();
  });

  it('closes a connection released while its server is marked down instead of keeping it idle', async () => {
    let down = false;
    const pool = new ConnectionPool(config, shape, { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 2000, maxResetDelayMs: 0 }, () => down);
    const connection = await pool.acquire();
    down = true;
    await pool.release(connection);
    expect(connection.alive).toBe(false);
    expect(pool.stats()).toEqual({ idle: 0, active: 0, waiting: 0 });
    pool.close();
  });

  it('hands a refused connect straight to the caller instead of waiting for the connect timeout', async () => {
    const pool = new ConnectionPool({ ...config, port: await findFreePort() }, shape, { maxConnections: 2, idleTimeoutMs: 60_000, connectTimeoutMs: 30_000, maxResetDelayMs: 0 });
    const started = Date.now();
    await expect(pool.acquire()).rejects.toThrow(/ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(15_000); // far below the 30 s timeout: not waited out
    pool.close();
  });
});
