import net from 'node:net';
import type { Connection as CallbackConnection } from 'mysql2';
import { describe, expect, it } from 'vitest';
import { connectClient, useProxyFixture } from '../support/proxy-harness.js';

const env = useProxyFixture('bad-input', { libraries: 2, replicas: 0 });

async function stillServes(): Promise<void> {
  const c = await connectClient(env.proxy.port);
  await c.query('select library still-serving');
  const [rows] = await c.query('select 1 as ok');
  expect(rows).toEqual([{ ok: 1 }]);
  await c.end();
}

describe('bad input', () => {
  it('refuses a wrong password with 1045/28000 in MySQL wording', async () => {
    await expect(connectClient(env.proxy.port, { password: 'wrong' })).rejects.toMatchObject({
      errno: 1045,
      sqlState: '28000',
      message: expect.stringMatching(/^Access denied for user 'calvin'@'127\.0\.0\.1' \(using password: YES\)$/),
    });
    await expect(connectClient(env.proxy.port, { user: 'nobody' })).rejects.toMatchObject({ errno: 1045 });
    await stillServes();
  });

  it('refuses an unknown database with 1049/42000', async () => {
    await expect(connectClient(env.proxy.port, { database: 'nosuchdb' })).rejects.toMatchObject({ errno: 1049, sqlState: '42000' });
    await stillServes();
  });

  it('closes a connection that sends garbage instead of a handshake, and serves others', async () => {
    const reply = await new Promise<Buffer>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: env.proxy.port });
      const chunks: Buffer[] = [];
      let greeted = false;
      socket.on('data', (chunk) => {
        if (!greeted) {
          greeted = true;
          socket.write(Buffer.from([0x05, 0x00, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x00]));
          return;
        }
        chunks.push(chunk);
      });
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(reply[4]).toBe(0xff); // an ERR packet before the close
    await stillServes();
  });

  it('survives a client that vanishes in the middle of a large result', async () => {
    for (let i = 0; i < 3; i++) {
      const c = await connectClient(env.proxy.port);
      await c.query('select library vanishing');
      // The promise wrapper's underlying callback connection streams rows as they arrive.
      const raw = (c as unknown as { connection: CallbackConnection }).connection;
      const stream = raw.query('select seq, repeat("x", 200) from seq_1_to_200000');
      await new Promise<void>((resolve) => stream.once('result', () => resolve()));
      (raw as unknown as { stream: { destroy(): void } }).stream.destroy();
    }
    await stillServes();
  });
});
