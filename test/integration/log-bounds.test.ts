import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { DestinationStream } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.js';
import { Capability, DEFAULT_CHARSET } from '../../src/protocol/constants.js';
import { encodeHandshakeResponse } from '../../src/protocol/handshake.js';
import { encodePacket } from '../../src/protocol/packet.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startTestProxy } from '../support/proxy-harness.js';

let dir: string;
let sandbox: Sandbox;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-log-bounds-'));
  sandbox = await Sandbox.start({ dir: path.join(dir, 'servers'), libraries: 1, replicas: 0 });
});

afterAll(async () => {
  await sandbox?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The proxy's log as it is written: its size, and its lines while they are few enough to keep. */
function capturedLog() {
  const log = { bytes: 0, lines: [] as string[] };
  const destination = {
    write(line: string) {
      log.bytes += Buffer.byteLength(line);
      if (log.bytes < 1 << 20) log.lines.push(line);
    },
  } as DestinationStream;
  return { log, destination };
}

/** Greeting in, the handshake response out, everything the proxy answers until it closes the connection. */
function login(port: number, handshakeResponse: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reply: Buffer[] = [];
    let greeted = false;
    socket.on('data', (chunk) => {
      if (greeted) return void reply.push(chunk);
      greeted = true;
      socket.write(handshakeResponse);
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(reply)));
  });
}

describe('the log under a flood of failed logins', () => {
  // Failed-login throttling is off here: it would rightly slow this flood down to one attempt per 10 s.
  it('stays bounded for 1,000 refused logins with a 12 KB user name (the largest a handshake may carry), counting the repeats', async () => {
    const { log, destination } = capturedLog();
    const proxy = await startTestProxy(sandbox, path.join(dir, 'etc'), { server: { max_login_failures: 0 } }, undefined, createLogger('info', destination));
    const user = 'u'.repeat(12_000);
    const handshakeResponse = encodePacket(
      encodeHandshakeResponse({
        capabilities: Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION | Capability.PLUGIN_AUTH,
        maxPacketSize: 1 << 24,
        charset: DEFAULT_CHARSET,
        user,
        authResponse: Buffer.alloc(20, 7),
        database: null,
        authPluginName: 'mysql_native_password',
        connectAttributes: new Map(),
      }),
      1,
    );
    const attempts = 1000;
    const replies: Buffer[] = [];
    try {
      let next = 0;
      const worker = async () => {
        while (next < attempts) {
          next++;
          replies.push(await login(proxy.port, handshakeResponse));
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
    } finally {
      await proxy.stop(); // writes what is still only counted
    }

    // The client hears MySQL's refusal with the user name cut short.
    expect(replies).toHaveLength(attempts);
    for (const reply of replies) {
      expect(reply[4]).toBe(0xff);
      expect(reply.readUInt16LE(5)).toBe(1045);
      expect(reply.length).toBeLessThan(1000);
    }
    expect(replies[0].subarray(13).toString()).toBe(`Access denied for user '${'u'.repeat(256)}…(+11744 bytes)'@'127.0.0.1' (using password: YES)`);

    expect(log.bytes).toBeLessThan(100_000);
    const entries = log.lines.map((line) => JSON.parse(line) as { msg: string; repeated?: number });
    const written = entries.filter((e) => e.msg.startsWith('session closed: login refused for user ')).length;
    const counted = entries.filter((e) => /^\d+ more like this \(login refused with error 1045\) from 127\.0\.0\.1 /.test(e.msg)).reduce((sum, e) => sum + e.repeated!, 0);
    expect(written).toBeGreaterThan(0);
    expect(written + counted).toBe(attempts);
  });
});
