/**
 * The control socket: served by the process named in the pid file, used by `mysqlda -a status | reload`.
 * A Unix socket (mode 0600, so only mysqlda's own user and root can ask), JSON lines (control-protocol.ts).
 */
import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import type { ReloadResult } from '../server.js';
import {
  encodeLine,
  LineSplitter,
  parseRequest,
  type ControlRequest,
  type ControlResponse,
  type DaemonStatus,
} from './control-protocol.js';
import { ignoreMissing } from './pid-file.js';

/** What the serving process answers. */
export interface ControlHandler {
  status(): Promise<DaemonStatus>;
  reload(): Promise<ReloadResult>;
}

export interface ControlServer {
  readonly path: string;
  /** Stops answering and removes the socket file. */
  close(): Promise<void>;
}

/** Linux's sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH_BYTES = 107;

/**
 * Listens on `socketPath`, replacing a socket file left by a process that died (the caller holds the pid file,
 * so no live mysqlda uses it). `onError` hears about requests that failed inside the handler.
 */
export async function listenControlSocket(
  socketPath: string,
  handler: ControlHandler,
  onError: (error: unknown) => void,
): Promise<ControlServer> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH_BYTES) {
    throw new Error(
      `the control socket path ${socketPath} is longer than ${MAX_SOCKET_PATH_BYTES} bytes; set daemon.pid_file to a shorter path`,
    );
  }
  await unlink(socketPath).catch(ignoreMissing);
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    serveConnection(socket, handler, onError);
  });
  // The socket file is created by bind(2) with the umask's permissions: make them 0600 from the start.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw new Error(`cannot listen on the control socket ${socketPath}: ${(error as Error).message}`);
  } finally {
    process.umask(umask);
  }
  await chmod(socketPath, 0o600);
  server.on('error', onError);
  return {
    path: socketPath,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of connections) socket.destroy();
      await closed;
      await unlink(socketPath).catch(ignoreMissing);
    },
  };
}

function serveConnection(socket: net.Socket, handler: ControlHandler, onError: (error: unknown) => void): void {
  const lines = new LineSplitter();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    let received: string[];
    try {
      received = lines.push(chunk);
    } catch (error) {
      socket.end(encodeLine({ ok: false, error: (error as Error).message }));
      return;
    }
    for (const line of received) {
      void answer(line, handler, onError).then((response) => {
        if (!socket.destroyed) socket.write(encodeLine(response));
      });
    }
  });
}

async function answer(line: string, handler: ControlHandler, onError: (error: unknown) => void): Promise<ControlResponse> {
  let request: ControlRequest;
  try {
    request = parseRequest(line);
  } catch (error) {
    return { ok: false, error: `bad request: ${(error as Error).message}` };
  }
  try {
    switch (request.command) {
      case 'status':
        return { ok: true, status: await handler.status() };
      case 'reload':
        return { ok: true, reload: await handler.reload() };
    }
  } catch (error) {
    onError(error);
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/** Why the control socket could not be asked: it names the socket and what went wrong, for the operator. */
export class ControlUnavailableError extends Error {}

/** Sends one request and resolves with the answer; rejects with ControlUnavailableError. */
export function requestControl(socketPath: string, request: ControlRequest, timeoutMs: number): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    const lines = new LineSplitter();
    const fail = (reason: string) => {
      socket.destroy();
      reject(new ControlUnavailableError(`${socketPath}: ${reason}`));
    };
    const timer = setTimeout(() => fail(`no answer within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(encodeLine(request)));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      fail(describeSocketError(error));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      fail('the connection closed without an answer');
    });
    socket.on('data', (chunk: string) => {
      let line: string | undefined;
      try {
        line = lines.push(chunk)[0];
        if (line === undefined) return;
        const response = JSON.parse(line) as ControlResponse;
        clearTimeout(timer);
        socket.removeAllListeners('close');
        socket.end();
        resolve(response);
      } catch (error) {
        clearTimeout(timer);
        fail(`unreadable answer: ${(error as Error).message}`);
      }
    });
  });
}

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such socket';
    case 'ECONNREFUSED':
      return 'nothing listens on it';
    case 'EACCES':
      return 'permission denied (run as the user mysqlda runs as)';
    default:
      return error.message;
  }
}
