import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Capability, Command } from '../../src/protocol/constants.js';
import { parseErr } from '../../src/protocol/generic-packets.js';
import { nextEvent } from '../support/next-event.js';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';
import { query, rawClient } from '../support/raw-client.js';

const env = useProxyFixture('protocol', { libraries: 2, replicas: 0 });

/** Text of the single value of a one-row, one-column result among raw packets (no DEPRECATE_EOF). */
const isOk = (p: Buffer) => p[0] === 0x00 && p.length < 16;

describe('protocol completeness', () => {
  it('answers pipelined commands in order, with an extension statement taking effect at its place', async () => {
    const client = await rawClient(env.proxy.port);
    // set-up chatter, then routing, then data: all written at once, like Connector/J does.
    const packets = await client.pipeline(
      [query('SET autocommit=1'), query('SELECT @@max_allowed_packet'), query('select library pipelined-key'), query('SELECT @@port'), query('SELECT 2')],
      // OK; (count, col, eof, row, eof); OK; (count, col, eof, row, eof); (count, col, eof, row, eof)
      1 + 5 + 1 + 5 + 5,
    );
    expect(isOk(packets[0])).toBe(true);
    expect(isOk(packets[6])).toBe(true); // the OK of `select library`, in its place
    const port = Number(packets[10].subarray(1).toString());
    const home = env.sandbox.libraries.find((l) => l.master.port === port);
    expect(home).toBeDefined();
    expect(packets[15].subarray(1).toString()).toBe('2');
    client.close();
  });

  it('keeps thousands of pipelined statements in order', async () => {
    const client = await rawClient(env.proxy.port);
    await client.query('select library pipeline-batch');
    const count = 3000;
    const packets = await client.pipeline(
      Array.from({ length: count }, (_, i) => query(`SELECT ${i}`)),
      count * 5,
    );
    for (let i = 0; i < count; i++) expect(packets[i * 5 + 3].subarray(1).toString()).toBe(String(i));
    client.close();
  });

  it('relays COM_FIELD_LIST, COM_STATISTICS and COM_PING once routed, and refuses data commands before', async () => {
    const client = await rawClient(env.proxy.port);
    const early = await client.command(Buffer.concat([Buffer.from([Command.FIELD_LIST]), Buffer.from('test_table\0')]));
    expect(parseErr(early.packets[0]).code).toBe(7101);
    const stats = await client.command(Buffer.from([Command.STATISTICS]));
    expect(stats.packets[0].toString()).toMatch(/Uptime/);
    await client.query('select library field-list');
    const fields = await client.command(Buffer.concat([Buffer.from([Command.FIELD_LIST]), Buffer.from('test_table\0')]));
    expect(fields.ok).toBe(true);
    expect(fields.packets.length).toBe(3); // two column definitions and EOF
    expect((await client.command(Buffer.from([Command.PING]))).ok).toBe(true);
    client.close();
  });

  it('follows a cursor: COM_STMT_EXECUTE with a read-only cursor, then COM_STMT_FETCH', async () => {
    const client = await rawClient(env.proxy.port);
    await client.query('select library cursor-key');
    const prepared = await client.command(Buffer.concat([Buffer.from([Command.STMT_PREPARE]), Buffer.from('select seq from seq_1_to_10')]));
    expect(prepared.ok).toBe(true);
    const statementId = prepared.packets[0].readUInt32LE(1);
    const execute = Buffer.alloc(10);
    execute[0] = Command.STMT_EXECUTE;
    execute.writeUInt32LE(statementId, 1);
    execute[5] = 0x01; // CURSOR_TYPE_READ_ONLY
    execute.writeUInt32LE(1, 6);
    const opened = await client.command(execute);
    expect(opened.ok).toBe(true);
    const fetch = Buffer.alloc(9);
    fetch[0] = Command.STMT_FETCH;
    fetch.writeUInt32LE(statementId, 1);
    fetch.writeUInt32LE(4, 5);
    const rows = await client.command(fetch);
    expect(rows.ok).toBe(true);
    expect(rows.packets.length).toBe(5); // 4 rows and EOF
    expect((await client.query('select 1')).ok).toBe(true); // the stream is still in step
    client.close();
  });

  it('passes LOAD DATA LOCAL INFILE through to the client: the proxy never reads its own disk', async () => {
    const file = path.join(env.dir, 'rows.csv');
    await writeFile(file, Array.from({ length: 1000 }, (_, i) => `local-${i},v${i}`).join('\n'));
    const c = await connectClient(env.proxy.port);
    await c.query('select library load-data');
    await c.query('create table if not exists loaded (name varchar(32), value varchar(32))');
    await c.query({ sql: "load data local infile 'rows.csv' into table loaded fields terminated by ','", infileStreamFactory: () => createReadStream(file) });
    const [rows] = await c.query('select count(*) as n from loaded');
    expect(rows).toEqual([{ n: 1000 }]);
    await c.end();
  });

  it('executes a prepared statement with a parameter of more than 16 MB', async () => {
    const c = await connectClient(env.proxy.port);
    await c.query('select library big-param');
    await c.query('create table if not exists big (id int primary key, body longblob)');
    const body = Buffer.alloc(17 * 1024 * 1024, 0x5a);
    await c.execute('replace into big values (?, ?)', [1, body]);
    const [rows] = await c.execute('select length(body) as n from big where id = ?', [1]);
    expect(rows).toEqual([{ n: body.length }]);
    await c.end();
  });

  it('does not offer compression, and a client that asks for it still connects', async () => {
    const client = await rawClient(env.proxy.port, Capability.MULTI_RESULTS | Capability.COMPRESS);
    expect(client.connection.greeting.capabilities & Capability.COMPRESS).toBe(0);
    expect(client.connection.greeting.capabilities & Capability.SSL).toBe(0);
    expect((await client.query('select 1')).ok).toBe(true);
    client.close();
  });
});

describe('KILL with mysqlda connection ids', () => {
  it('KILL QUERY with the id from the greeting stops the statement (Connector/J cancel), KILL closes the session', async () => {
    const victim = await connectClient(env.proxy.port);
    await victim.query('select library kill-target');
    const [[backend]] = (await victim.query('select @@port as port, connection_id() as id')) as unknown as [[{ port: number; id: number }]];
    const master = env.sandbox.libraries.map((library) => library.master).find((server) => server.port === backend.port)!;
    const running = victim.query('select sleep(20) as slept').catch((err: unknown) => err);
    // KILL QUERY only once the statement runs on the backend: sent earlier, it would find nothing to stop.
    await vi.waitFor(
      async () => {
        const rows = (await master.query('select state from information_schema.processlist where id = ?', [backend.id])) as { state: string }[];
        expect(rows[0]?.state).toBe('User sleep');
      },
      { timeout: 10_000, interval: 20 },
    );
    const killer = await connectClient(env.proxy.port);
    await killer.query(`KILL QUERY ${victim.threadId}`);
    // The statement ends with ER_QUERY_INTERRUPTED, and the session stays usable.
    expect(await running).toMatchObject({ errno: 1317, sqlState: '70100' });
    const [rows] = await victim.query('select 3 as still_here');
    expect(rows).toEqual([{ still_here: 3 }]);
    await expect(killer.query('KILL 999999')).rejects.toMatchObject({ errno: 1094 });
    const sessionClosed = nextEvent(env.proxy.proxy.events, 'session-closed', (event) => event.session === victim.threadId);
    // Closed without an answer, as a server closes a killed idle connection: mysql2 reports the connection lost.
    const lost = once(victim, 'error');
    await killer.query(`KILL ${victim.threadId}`);
    await sessionClosed;
    expect((await lost)[0]).toMatchObject({ code: 'PROTOCOL_CONNECTION_LOST', fatal: true });
    await killer.end();
  });
});
