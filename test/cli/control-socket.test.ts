import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LineSplitter, parseRequest, type DaemonStatus } from '../../src/supervisor/control-protocol.js';
import { ControlUnavailableError, listenControlSocket, requestControl, type ControlHandler } from '../../src/supervisor/control-socket.js';

const STATUS: DaemonStatus = {
  mode: 'foreground',
  version: '1.0.0',
  pid: 1,
  startedAt: '2026-01-01T00:00:00.000Z',
  uptimeSeconds: 1,
  configPath: '/etc/mysqlda/mysqlda.conf',
  logFile: null,
  worker: null,
  proxy: null,
};

const handler: ControlHandler = {
  status: async () => STATUS,
  reload: async () => ({ ok: false, message: 'forwards[1].instance: mysqlda2 owns 12 keys and cannot be removed', changes: [] }),
};

describe('the control socket', () => {
  let dir: string;
  let socketPath: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-ctl-'));
    socketPath = path.join(dir, 'mysqlda.ctl');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers status and reload, is mode 0600, and is removed on close', async () => {
    const errors: unknown[] = [];
    const server = await listenControlSocket(socketPath, handler, (e) => errors.push(e));
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect(await requestControl(socketPath, { command: 'status' }, 5_000)).toEqual({ ok: true, status: STATUS });
    expect(await requestControl(socketPath, { command: 'reload' }, 5_000)).toEqual({ ok: true, reload: await handler.reload() });
    await server.close();
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(errors).toEqual([]);
  });

  it('answers an error for a failing handler and for a request it does not know', async () => {
    const errors: unknown[] = [];
    const failing: ControlHandler = { ...handler, status: async () => Promise.reject(new Error('the worker exited')) };
    const server = await listenControlSocket(socketPath, failing, (e) => errors.push(e));
    try {
      expect(await requestControl(socketPath, { command: 'status' }, 5_000)).toEqual({ ok: false, error: 'the worker exited' });
      expect(errors).toHaveLength(1);
      const answer = await new Promise<string>((resolve) => {
        const socket = net.connect(socketPath, () => socket.write('{"command":"shutdown"}\n'));
        socket.setEncoding('utf8');
        socket.once('data', (line: string) => {
          socket.destroy();
          resolve(line);
        });
      });
      expect(JSON.parse(answer)).toEqual({ ok: false, error: 'bad request: unknown request "shutdown"' });
    } finally {
      await server.close();
    }
  });

  it('replaces a socket file left by a process that died', async () => {
    const script = `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`;
    const crashed = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    await new Promise((resolve) => crashed.once('exit', resolve));
    expect((await stat(socketPath)).isSocket()).toBe(true);
    await expect(requestControl(socketPath, { command: 'status' }, 5_000)).rejects.toThrow('nothing listens on it');

    const server = await listenControlSocket(socketPath, handler, () => {});
    expect(await requestControl(socketPath, { command: 'status' }, 5_000)).toMatchObject({ ok: true });
    await server.close();
  });

  it('says why it cannot be asked', async () => {
    const missing = requestControl(path.join(dir, 'none.ctl'), { command: 'status' }, 5_000);
    await expect(missing).rejects.toBeInstanceOf(ControlUnavailableError);
    await expect(missing).rejects.toThrow(`${path.join(dir, 'none.ctl')}: no such socket`);
  });

  it('refuses a path longer than a Unix socket can have', async () => {
    const long = path.join(dir, 'x'.repeat(120), 'mysqlda.ctl');
    await expect(listenControlSocket(long, handler, () => {})).rejects.toThrow(/longer than 107 bytes; set daemon\.pid_file to a shorter path/);
  });
});

describe('control lines', () => {
  it('are split across chunks', () => {
    const lines = new LineSplitter();
    expect(lines.push('{"command":')).toEqual([]);
    expect(lines.push('"status"}\n{"comm')).toEqual(['{"command":"status"}']);
    expect(lines.push('and":"reload"}\n\n')).toEqual(['{"command":"reload"}']);
  });

  it('parse to a known request or throw', () => {
    expect(parseRequest('{"command":"reload"}')).toEqual({ command: 'reload' });
    expect(() => parseRequest('{"command":"stop"}')).toThrow('unknown request "stop"');
    expect(() => parseRequest('not json')).toThrow(SyntaxError);
  });
});
