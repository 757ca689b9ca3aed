/**
 * The splice over real TCP socket pairs on 127.0.0.1. It only moves bytes, so no MySQL server is needed: the
 * "server" end writes captured MariaDB bytes (or built ones) and the "application" end reads what reaches it.
 * The backend connection is reduced to what the splice uses of it: its socket, a reader, and write().
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BackendConnection } from '../../src/backend/backend-connection.js';
import { Command, ServerStatus } from '../../src/protocol/constants.js';
import { ResponseTracker } from '../../src/protocol/response-tracker.js';
import { PauseReason, Splice, type SpliceOwner } from '../../src/session/splice.js';
import type { ChunkReader } from '../../src/socket/read-buffer.js';
import { captured } from '../protocol/fixtures/captured.js';
import { StreamBuilder } from '../protocol/fixtures.js';

const sockets: net.Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** Two connected sockets: [the end that connected, the end that was accepted]. */
async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const connecting = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await once(connecting, 'connect');
  const [peer] = await accepted;
  server.close();
  sockets.push(connecting, peer);
  return [connecting, peer];
}

/** A backend connection as the splice sees it, over the proxy's end of a real socket. */
function backendOver(socket: net.Socket, deprecateEof: boolean): BackendConnection {
  let reader: ChunkReader | null = null;
  socket.on('data', (chunk: Buffer) => reader?.(chunk, false));
  const tracker = new ResponseTracker(deprecateEof);
  tracker.statusFlags = ServerStatus.AUTOCOMMIT;
  return {
    socket,
    tracker,
    get statusFlags() {
      return tracker.statusFlags;
    },
    alive: true,
    setReader: (next: ChunkReader | null) => void (reader = next),
    write: (bytes: Buffer) => socket.write(bytes),
  } as unknown as BackendConnection;
}

/** Resolves with the first `n` bytes read from `socket` (which must be flowing or be resumed later). */
function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let have = 0;
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      if (have < n) return;
      socket.off('data', onData);
      resolve(Buffer.concat(chunks));
    };
    socket.on('data', onData);
  });
}

/**
 * A spliced session: `app` is the application's socket, `server` the MySQL server's; the splice sits between
 * `client` (its client socket) and the backend connection.
 */
async function spliced(options: { deprecateEof?: boolean } = {}) {
  const [app, client] = await socketPair();
  const [backendSocket, server] = await socketPair();
  const ended: [number, boolean][] = [];
  let closed = false;
  const owner: SpliceOwner = {
    responseEnded: (tag, ok) => void ended.push([tag, ok]),
    backendClosed: () => {},
    isClosed: () => closed,
    slowStatement: () => {},
    statementOverdue: () => {},
  };
  client.on('data', () => {}); // the session reads the client: its socket flows until the splice pauses it
  const splice = new Splice(client, owner, undefined, 'lib1');
  const connection = backendOver(backendSocket, options.deprecateEof ?? false);
  splice.attach(connection);
  return { app, client, server, backendSocket, splice, connection, ended, close: () => void (closed = true) };
}

/** Tells the splice a command went out, as the session does before forwarding it. */
function sendCommand(splice: Splice, command: number, tag = 1): void {
  const payload = Buffer.from([command]);
  splice.commandSent(payload, 0, payload.length, tag);
}

describe('Splice', () => {
  it("passes the server's bytes to the client unchanged and reports where the answer ends", async () => {
    const { app, server, splice, ended } = await spliced();
    const [{ received }] = captured('text-result', false);
    sendCommand(splice, Command.QUERY, 7);
    const arriving = readBytes(app, received.length);
    server.write(received);
    expect((await arriving).equals(received)).toBe(true);
    await splice.waitIdle();
    expect(ended).toEqual([[7, true]]);
    expect(splice.bytesToClient).toBe(received.length);
  });

  it('waitIdle resolves when the last byte of the answer has gone through, not before', async () => {
    const { app, server, splice } = await spliced();
    const [{ received }] = captured('overflow-mid-result', false);
    sendCommand(splice, Command.QUERY);
    let idle = false;
    const waiting = splice.waitIdle().then(() => void (idle = true));
    const allButLast = readBytes(app, received.length - 1);
    server.write(received.subarray(0, -1));
    await allButLast;
    expect(idle).toBe(false);
    server.write(received.subarray(-1));
    await waiting;
    expect(splice.tracker!.idle).toBe(true);
  });

  it('waitIdle resolves at once when nothing is outstanding, and when the session has closed', async () => {
    const { splice, close } = await spliced();
    await splice.waitIdle();
    sendCommand(splice, Command.QUERY);
    close();
    await splice.waitIdle();
  });

  it('releaseWaiters lets those waiting for an answer go when the session closes', async () => {
    const { splice } = await spliced();
    sendCommand(splice, Command.QUERY);
    const waiting = splice.waitIdle();
    splice.releaseWaiters();
    await waiting;
  });

  it('pauses the server while the client does not read, and resumes it when the client drains', async () => {
    const { app, server, backendSocket, splice } = await spliced();
    // 32 MB: more than the loopback socket buffers of both pairs hold, so the client's socket fills.
    const stream = new StreamBuilder().resultSet(1, 8000, { deprecateEof: false, rowBytes: 4000 }).build();
    sendCommand(splice, Command.QUERY);
    app.pause();
    const paused = once(backendSocket, 'pause');
    server.write(stream);
    await paused;
    const resumed = once(backendSocket, 'resume');
    const arriving = readBytes(app, stream.length);
    app.resume();
    await resumed;
    expect((await arriving).equals(stream)).toBe(true);
    await splice.waitIdle();
  });

  it("stops reading the client while the server's socket is full, and reads again when it drains", async () => {
    const { client, server, splice } = await spliced();
    server.pause();
    const paused = once(client, 'pause');
    const block = Buffer.alloc(1 << 20);
    let written = 0;
    // forward() is what the session calls with the client's bytes; it pauses the client once write() says full.
    while (!client.isPaused()) {
      splice.forward(block);
      written += block.length;
    }
    await paused;
    const resumed = once(client, 'resume');
    const arriving = readBytes(server, written);
    server.resume();
    await resumed;
    expect((await arriving).length).toBe(written);
  });

  it('reads the client again only when no pause reason is left', async () => {
    const { client, splice, close } = await spliced();
    splice.pause(PauseReason.HANDLING_COMMAND);
    splice.pause(PauseReason.BACKEND_FULL);
    expect(client.isPaused()).toBe(true);
    splice.unpause(PauseReason.BACKEND_FULL);
    expect(client.isPaused()).toBe(true);
    splice.unpause(PauseReason.BACKEND_FULL); // a reason not held changes nothing
    expect(client.isPaused()).toBe(true);
    splice.unpause(PauseReason.HANDLING_COMMAND);
    expect(client.isPaused()).toBe(false);
    splice.pause(PauseReason.HANDLING_COMMAND);
    close();
    splice.unpause(PauseReason.HANDLING_COMMAND);
    expect(client.isPaused()).toBe(true);
  });

  it('detaching hands the connection back, idle only at a response boundary, and stops relaying it', async () => {
    const { app, server, splice, connection } = await spliced();
    const [{ received }] = captured('text-result', true);
    sendCommand(splice, Command.QUERY);
    const arriving = readBytes(app, 10);
    server.write(received.subarray(0, 10));
    await arriving;
    expect(splice.detach()).toEqual({ connection, idle: false });
    expect(splice.connection).toBeNull();
    expect(splice.detach()).toBeNull();
  });

  it('gives the connection back idle after a whole answer, with the status flags the server reported', async () => {
    const { app, server, splice, connection } = await spliced();
    const [begin] = captured('transaction', false);
    sendCommand(splice, Command.QUERY);
    const arriving = readBytes(app, begin.received.length);
    server.write(begin.received);
    await arriving;
    await splice.waitIdle();
    expect(splice.detach()).toEqual({ connection, idle: true });
    expect(connection.statusFlags).toBe(ServerStatus.AUTOCOMMIT | ServerStatus.IN_TRANS);
  });

  it("counts the proxy's own replies with the relayed bytes", async () => {
    const { app, splice } = await spliced();
    const reply = new StreamBuilder().ok().build();
    const arriving = readBytes(app, reply.length);
    expect(splice.writeClient(reply)).toBe(true);
    expect((await arriving).equals(reply)).toBe(true);
    expect(splice.bytesToClient).toBe(reply.length);
  });
});
