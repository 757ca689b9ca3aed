import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { nextEvent } from '../support/next-event.js';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';
import { query, rawClient } from '../support/raw-client.js';

const env = useProxyFixture('splice', {
  libraries: 2,
  replicas: 0,
  extra: { session_pool: { unused_forward_session_timeout: 60, max_connections_per_server: 300 }, admin: { http: '127.0.0.1:0' } },
});

/** The proxy's backend connections to the server on `port` that are in use (not idle in its pool), from /metrics. */
async function activeConnections(port: number): Promise<number> {
  const admin = env.proxy.proxy.adminAddress()!;
  const text = await (await fetch(`http://${admin.host}:${admin.port}/metrics`)).text();
  const match = new RegExp(`^mysqlda_pool_connections\\{server="127\\.0\\.0\\.1:${port}",state="active"\\} (\\d+)$`, 'm').exec(text);
  if (!match) throw new Error(`no pool of 127.0.0.1:${port} in /metrics`);
  return Number(match[1]);
}

/**
 * A client that routes to `key`, leaves a user variable and a temporary table behind (and whatever `more` leaves),
 * then quits, and resolves once the proxy has closed its session. Returns the id of the backend connection it was
 * on and the port of that server.
 */
async function leaveStateBehind(key: string, table: string, more: string[]): Promise<{ id: number; port: number }> {
  const client = await connectClient(env.proxy.port);
  await client.query(`select library ${key}`);
  const [[{ id, port }]] = (await client.query('select connection_id() as id, @@port as port')) as unknown as [[{ id: number; port: number }]];
  await client.query('set @secret = 42');
  await client.query(`create temporary table ${table} (a int)`);
  for (const sql of more) await client.query(sql);
  const closed = sessionClosed(client.threadId);
  await client.end();
  await closed;
  return { id, port };
}

/** Resolves when the proxy has closed the session of that id (mysqlda's connection id, the client's threadId). */
function sessionClosed(id: number | null) {
  return nextEvent(env.proxy.proxy.events, 'session-closed', (event) => event.session === id);
}

/** The sandbox master whose @@port that is. */
const masterOnPort = (port: number) => env.sandbox.libraries.map((library) => library.master).find((master) => master.port === port)!;

/**
 * Resolves once `read()` (a count of bytes the proxy has moved) has stayed the same for `quietMs`: the proxy has
 * stopped moving them. Nothing is emitted when a splice holds back, so this watches for the count to settle.
 */
async function settled(read: () => number, quietMs = 200): Promise<void> {
  let last = read();
  let since = Date.now();
  await vi.waitFor(
    () => {
      const now = read();
      if (now !== last) {
        last = now;
        since = Date.now();
      }
      expect(Date.now() - since).toBeGreaterThanOrEqual(quietMs);
    },
    { timeout: 20_000, interval: 20 },
  );
}

describe('the splice', () => {
  it('relays a 100k-row result intact', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query('select library big-result');
    const [rows] = await c.query('select seq, concat("row-", seq) as label from seq_1_to_100000');
    const list = rows as { seq: number; label: string }[];
    expect(list.length).toBe(100_000);
    expect(list[99_999]).toEqual({ seq: 100_000, label: 'row-100000' });
    await c.end();
  });

  it('relays a 20 MB blob both ways, through the 16 MB packet boundary', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query('select library blob-owner');
    await c.query('create table if not exists blobs (id int primary key, body longblob)');
    const body = Buffer.alloc(20 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
    await c.query('replace into blobs values (1, ?)', [body]);
    const [rows] = await c.query('select body, length(body) as n from blobs where id = 1');
    const [row] = rows as { body: Buffer; n: number }[];
    expect(row.n).toBe(body.length);
    expect(row.body.equals(body)).toBe(true);
    const [prepared] = await c.execute('select body from blobs where id = ?', [1]);
    expect((prepared as { body: Buffer }[])[0].body.equals(body)).toBe(true);
    await c.end();
  });

  it('serves 200 concurrent clients, each on its own key, with correct data', async () => {
    const clients = await Promise.all(Array.from({ length: 200 }, () => connectClient(env.proxy.port)));
    await Promise.all(
      clients.map(async (c, i) => {
        const key = `concurrent-${i}`;
        await c.query(`select library ${key}`);
        await c.query('replace into test_table values (?, ?)', [key, `value-${i}`]);
        const [rows] = await c.query('select value from test_table where name = ?', [key]);
        expect(rows).toEqual([{ value: `value-${i}` }]);
        await c.end();
      }),
    );
  });

  it('resets a pooled connection: no user variable, temporary table or open transaction leaks to the next client', async () => {
    const { id, port } = await leaveStateBehind('leak-check', 'tmp_leak', ['begin', "insert into test_table values ('uncommitted', 'x')"]);
    // A connection left inside a transaction is reset as soon as its client has gone: wait for the server to have
    // rolled the transaction back (the pool takes the connection back on the reset's OK, right after).
    const master = masterOnPort(port);
    await vi.waitFor(
      async () => {
        const rows = (await master.query('select count(*) as open from information_schema.innodb_trx where trx_mysql_thread_id = ?', [id])) as { open: number }[];
        expect(Number(rows[0].open)).toBe(0);
      },
      { timeout: 10_000, interval: 20 },
    );
    // ...and for the pool to have the connection back: between the server's rollback and the reset's OK reaching
    // the pool, a new client would get another connection.
    await vi.waitFor(async () => expect(await activeConnections(port)).toBe(0), { timeout: 10_000, interval: 20 });

    const b = await connectClient(env.proxy.port);
    await b.query('select library leak-check');
    const [[reused]] = (await b.query('select connection_id() as id, @secret as secret')) as unknown as [[{ id: number; secret: unknown }]];
    expect(reused.id).toBe(id); // the same pooled backend connection...
    expect(reused.secret).toBeNull(); // ...reset
    await expect(b.query('select * from tmp_leak')).rejects.toMatchObject({ errno: 1146 });
    const [rows] = await b.query("select * from test_table where name = 'uncommitted'");
    expect(rows).toEqual([]);
    await b.end();
  });

  it('hands a pooled connection on with its reset in the first command: nothing of the last client is left, no stray answer', async () => {
    // A first client, so that the backend connection has been reset once (only then is a reset deferred).
    const first = await connectClient(env.proxy.port);
    await first.query('select library reset-in-flight');
    const firstClosed = sessionClosed(first.threadId);
    await first.end();
    await firstClosed;
    const { id } = await leaveStateBehind('reset-in-flight', 'tmp_gone', ["select get_lock('splice-reset', 0)"]);

    // Straight after: the reset still owed goes out with b's first statement, and b sees only its own answers.
    const b = await connectClient(env.proxy.port);
    await b.query('select library reset-in-flight');
    const [[reused]] = (await b.query('select connection_id() as id, @secret as secret, is_used_lock(\'splice-reset\') as holder')) as unknown as [
      [{ id: number; secret: unknown; holder: unknown }],
    ];
    expect(reused.id).toBe(id);
    expect(reused.secret).toBeNull();
    expect(reused.holder).toBeNull();
    await expect(b.query('select * from tmp_gone')).rejects.toMatchObject({ errno: 1146 });
    const [[{ one }]] = (await b.query('select 1 as one')) as unknown as [[{ one: number }]];
    expect(one).toBe(1);
    await b.end();
  });

  it("lets go of a gone client's named lock within the reset delay even when no one reuses its connection", async () => {
    const a = await connectClient(env.proxy.port);
    await a.query('select library lock-holder');
    const [[{ port }]] = (await a.query('select @@port as port')) as unknown as [[{ port: number }]];
    await a.query("select get_lock('splice-idle-lock', 0)");
    await a.end();
    const master = masterOnPort(port);
    await vi.waitFor(
      async () => {
        const rows = (await master.query("select is_free_lock('splice-idle-lock') as free")) as { free: number }[];
        expect(rows[0].free).toBe(1);
      },
      { timeout: 5_000, interval: 20 },
    );
  });

  it('stops reading a client whose backend stops reading, serves others meanwhile, and delivers every byte once the backend reads again', async () => {
    const writer = await connectClient(env.proxy.port);
    await writer.query('select library slow-backend');
    await writer.query('create table if not exists slow_sink (id int primary key, body longblob)');
    const [[{ port, pidFile }]] = (await writer.query('select @@port as port, @@pid_file as pidFile')) as unknown as [[{ port: number; pidFile: string }]];
    const { readFile } = await import('node:fs/promises');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    const other = env.sandbox.libraries.map((library) => library.master).find((master) => master.port !== port)!;
    // 24 MB, sent as a 48 MB statement (hex): far more than the kernel's socket buffers between proxy and server hold.
    const body = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4096) body.writeUInt32LE(i, i);
    const session = () => env.proxy.proxy.sessions().find((summary) => summary.key === 'slow-backend')!;
    // A key of the other library, found while both servers answer.
    const finder = await connectClient(env.proxy.port);
    let otherKey = '';
    for (let i = 0; i < 50 && !otherKey; i++) {
      await finder.query(`select library bystander-${i}`);
      const [[{ servedBy }]] = (await finder.query('select @@port as servedBy')) as unknown as [[{ servedBy: number }]];
      if (servedBy === other.port) otherKey = `bystander-${i}`;
    }
    await finder.end();
    expect(otherKey).not.toBe('');
    // A stopped mariadbd reads nothing: the proxy's writes to it fill the kernel's buffers and must stop there.
    process.kill(pid, 'SIGSTOP');
    let inserted: Promise<unknown> = Promise.resolve();
    try {
      const before = session().bytesFromClient;
      inserted = writer.query('replace into slow_sink values (1, ?)', [body]);
      await vi.waitFor(() => expect(session().bytesFromClient).toBeGreaterThan(before), { timeout: 10_000, interval: 20 });
      await settled(() => session().bytesFromClient);
      const taken = session().bytesFromClient - before;
      expect(taken).toBeGreaterThan(0);
      expect(taken).toBeLessThan(16 * 1024 * 1024); // no further than the socket buffers toward the server take
      // A client of another library is not held up.
      const bystander = await connectClient(env.proxy.port);
      await bystander.query(`select library ${otherKey}`);
      const [[{ servedBy }]] = (await bystander.query('select @@port as servedBy')) as unknown as [[{ servedBy: number }]];
      expect(servedBy).toBe(other.port);
      await bystander.end();
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await inserted;
    const [[stored]] = (await writer.query('select length(body) as n, md5(body) as digest from slow_sink where id = 1')) as unknown as [[{ n: number; digest: string }]];
    expect(stored.n).toBe(body.length);
    expect(stored.digest).toBe(createHash('md5').update(body).digest('hex'));
    await writer.end();
  });

  it('holds no unbounded memory for a client that stops reading a large result, and keeps serving others', async () => {
    const { rawClient, query } = await import('../support/raw-client.js');
    const slow = await rawClient(env.proxy.port);
    await slow.query('select library slow-reader');
    const before = process.memoryUsage().rss;
    // ~200 MB of result that the client never reads.
    slow.connection.socket.pause();
    const { encodePacket } = await import('../../src/protocol/packet.js');
    slow.connection.socket.write(encodePacket(query(`select repeat('x', 2000) from seq_1_to_100000`), 0));
    const session = () => env.proxy.proxy.sessions().find((summary) => summary.key === 'slow-reader')!;
    await vi.waitFor(() => expect(session().bytesToClient).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    await settled(() => session().bytesToClient); // the proxy has stopped reading the server
    const other = await connectClient(env.proxy.port);
    await other.query('select library while-slow');
    const [rows] = await other.query('select 1 as ok');
    expect(rows).toEqual([{ ok: 1 }]);
    await other.end();
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
    slow.connection.destroy();
  });

  it('relays every byte of a 55 MB result to a client that keeps stalling (back-pressure with reused read buffers)', async () => {
    const { rawClient, query } = await import('../support/raw-client.js');
    const { encodePacket, PacketFramer } = await import('../../src/protocol/packet.js');
    const stalling = await rawClient(env.proxy.port);
    await stalling.query('select library stalling-reader');
    const socket = stalling.connection.socket;
    const framer = new PacketFramer();
    // Without DEPRECATE_EOF: column count, 2 column definitions, EOF, the rows, EOF.
    const rows: Buffer[] = [];
    let eofs = 0;
    const done = new Promise<void>((resolve) => {
      stalling.connection.setReader((chunk) => {
        for (const packet of framer.push(Buffer.from(chunk))) {
          const isEof = packet.payload[0] === 0xfe && packet.payload.length < 9;
          if (isEof && ++eofs === 2) resolve();
          else if (eofs === 1 && !isEof) rows.push(packet.payload);
        }
        return false;
      });
    });
    // The client stops reading every few milliseconds, so the proxy's writes to it queue up again and again.
    // ~55 MB in all: more than the kernel's socket buffers hold, so writes stay queued while the client stalls.
    const stall = setInterval(() => {
      socket.pause();
      setTimeout(() => socket.resume(), 20);
    }, 30);
    socket.write(encodePacket(query('select seq, repeat(md5(seq), 8) from seq_1_to_200000'), 0));
    await done;
    clearInterval(stall);
    socket.resume();
    expect(rows.length).toBe(200_000);
    for (let seq = 1; seq <= 200_000; seq++) {
      const row = rows[seq - 1];
      const text = String(seq);
      const md5 = createHash('md5').update(text).digest('hex').repeat(8);
      const expected = Buffer.concat([Buffer.from([text.length]), Buffer.from(text), Buffer.from([0xfc, 0, 1]), Buffer.from(md5)]);
      if (!row.equals(expected)) throw new Error(`row ${seq} differs: ${row.toString('latin1')}`);
    }
    stalling.connection.destroy();
  });

  it('keeps 60,000 small pipelined answers intact for a client with a 4 KB receive buffer that reads slowly', async () => {
    // The proxy's writes to this client go partial while the answers are still small chunks, so a chunk stays
    // queued without pausing the backend: the next backend read must not go into the buffer that chunk is in.
    // With that rule broken on purpose, 4 runs in 5 saw overwritten answers.
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const script = new URL('../support/slow-pipeliner.py', import.meta.url).pathname;
    const { stdout } = await promisify(execFile)('/usr/bin/python3', [script, String(env.proxy.port), 'calvin', 'calvin', 'calvindb', '60000'], { timeout: 60_000 });
    expect(stdout.trim()).toBe('ok 60000');
  });

  it('honours DEPRECATE_EOF and multi-statements exactly as the client negotiated them', async () => {
    const c = await connectClient(env.proxy.port, { multipleStatements: true });
    await c.query('select library multi');
    const [results] = await c.query('select 1 as a; select 2 as b; select 3 as c');
    expect(results).toEqual([[{ a: 1 }], [{ b: 2 }], [{ c: 3 }]]);
    await c.end();
  });

  it('closes the socket of a client that quits at once, not after the grace period for silent clients', async () => {
    // A session paused while it handled COM_QUIT once never read the client's FIN: every socket, and the whole
    // session behind it, stayed until the 1 s grace timer (thousands of them under connection churn).
    for (let round = 0; round < 20; round++) {
      const c = await connectClient(env.proxy.port);
      await c.query('select library quitter');
      await c.query('select 1');
      await c.end();
    }
    const status = () => env.proxy.proxy.status().sessions;
    await vi.waitFor(() => expect(status()).toMatchObject({ open: 0, closing: 0 }), { timeout: 500, interval: 10 });
  });

  it('delivers a whole result pipelined before COM_QUIT, then closes the socket', async () => {
    const client = await rawClient(env.proxy.port);
    const closed = new Promise<void>((resolve) => client.connection.socket.once('close', () => resolve()));
    // OK for select library; then column count, column definition, EOF, 100,000 rows, EOF; nothing for COM_QUIT.
    const packets = await client.pipeline([query('select library quit-after-rows'), query('select seq from seq_1_to_100000'), Buffer.from([0x01])], 100_005);
    expect(packets.length).toBe(100_005);
    expect(packets[packets.length - 2].subarray(1).toString()).toBe('100000');
    expect(packets[packets.length - 1][0]).toBe(0xfe);
    client.connection.socket.resume(); // the pipeline helper pauses it; the proxy's FIN is read from here on
    await closed;
  });
});
