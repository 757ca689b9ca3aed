import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runForeground, type ForegroundDeps, type StoppableProxy } from '../../src/cli/foreground.js';
import { DEFAULT_CONFIG_TEXT } from '../../src/config/default-config.js';
import type { MysqldaConfig } from '../../src/config/types.js';
import { createLogger, type LogLevel } from '../../src/log/logger.js';
import type { ProxyStatus } from '../../src/server.js';
import { requestControl } from '../../src/supervisor/control-socket.js';

const PROXY_STATUS: ProxyStatus = {
  version: '1.2.3',
  pid: 0,
  startedAt: new Date(0).toISOString(),
  uptimeSeconds: 5,
  listen: '127.0.0.1:13306',
  sessions: { open: 2, routed: 1 },
  libraries: [{ name: 'mysqlda1', weight: 1, keys: 7, currentServer: '127.0.0.1:3306', servers: [{ address: '127.0.0.1:3306', state: 'up' }] }],
};

interface Harness {
  deps: ForegroundDeps;
  signals: EventEmitter;
  stderr: string[];
  logs: Array<{ level: number; msg: string; [key: string]: unknown }>;
  started: MysqldaConfig[];
  exits: number[];
  proxy: StoppableProxy & { drain: ReturnType<typeof vi.fn>; reload: ReturnType<typeof vi.fn> };
}

function harness(cwd: string, start?: (config: MysqldaConfig) => Promise<StoppableProxy>): Harness {
  const signals = new EventEmitter();
  const h: Harness = {
    signals,
    stderr: [],
    logs: [],
    started: [],
    exits: [],
    proxy: {
      address: { host: '127.0.0.1', port: 13306 },
      drain: vi.fn(async () => {}),
      status: () => ({ ...PROXY_STATUS, pid: process.pid }),
      reload: vi.fn(async () => ({ ok: false, message: 'not implemented in this fake', changes: [] })),
    },
    deps: undefined as unknown as ForegroundDeps,
  };
  h.deps = {
    cwd,
    stderr: (text) => void h.stderr.push(text),
    createLogger: (level: LogLevel) => createLogger(level, { write: (line: string) => void h.logs.push(JSON.parse(line)) }),
    startProxy: async (config) => {
      h.started.push(config);
      return start ? start(config) : h.proxy;
    },
    signals,
    exit: (code) => void h.exits.push(code),
    version: '1.2.3',
  };
  return h;
}

/** Resolves once the harness has logged a line whose message matches. */
async function logged(h: Harness, pattern: RegExp): Promise<void> {
  await vi.waitFor(() => expect(h.logs.map((l) => l.msg)).toContainEqual(expect.stringMatching(pattern)));
}

describe('runForeground (mysqlda -a start --no-daemon)', () => {
  let dir: string;
  let configFile: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-fg-'));
    configFile = path.join(dir, 'mysqlda.conf');
    await writeFile(configFile, DEFAULT_CONFIG_TEXT, { mode: 0o600 });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('starts the proxy, logs the listen address, and stops cleanly on SIGTERM', async () => {
    const h = harness(dir);
    const run = runForeground({ configFile: 'mysqlda.conf', logLevel: 'notice' }, h.deps);
    await logged(h, /^mysqlda listening on 127\.0\.0\.1:13306$/);
    expect(h.started[0]).toMatchObject({ configPath: configFile, listen: { host: '127.0.0.1', port: 13306 } });
    expect(h.proxy.drain).not.toHaveBeenCalled();

    h.signals.emit('SIGTERM');
    expect(await run).toBe(0);
    expect(h.proxy.drain).toHaveBeenCalledOnce();
    expect(h.logs.map((l) => l.msg)).toEqual([
      'mysqlda listening on 127.0.0.1:13306',
      'SIGTERM received: stopping',
      'mysqlda stopped',
    ]);
    expect(h.signals.listenerCount('SIGTERM') + h.signals.listenerCount('SIGINT')).toBe(0);
  });

  it('never logs the password', async () => {
    const h = harness(dir);
    const run = runForeground({ configFile, logLevel: 'debug' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGINT');
    await run;
    expect(JSON.stringify(h.logs)).not.toContain('calvin"'); // user and password are both "calvin"
  });

  it('exits at once on a second signal while draining', async () => {
    let finishClose!: () => void;
    const h = harness(dir);
    h.proxy.drain.mockImplementation(() => new Promise<void>((resolve) => (finishClose = resolve)));
    const run = runForeground({ configFile, logLevel: 'notice' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGINT');
    await vi.waitFor(() => expect(h.proxy.drain).toHaveBeenCalled());
    h.signals.emit('SIGTERM');
    expect(h.exits).toEqual([143]);
    finishClose();
    expect(await run).toBe(0);
  });

  it('stops right after starting when the signal came during start-up', async () => {
    let finishStart!: () => void;
    const h = harness(dir, () => new Promise<StoppableProxy>((resolve) => (finishStart = () => resolve(h.proxy))));
    const run = runForeground({ configFile, logLevel: 'notice' }, h.deps);
    await vi.waitFor(() => expect(h.started).toHaveLength(1));
    h.signals.emit('SIGTERM');
    finishStart();
    expect(await run).toBe(0);
    expect(h.proxy.drain).toHaveBeenCalledOnce();
  });

  it('prints every configuration problem to stderr and does not start', async () => {
    await writeFile(configFile, '{"server": {"listen_port": 70000}, "auth": {"user": ""}, "forwards": []}');
    const h = harness(dir);
    expect(await runForeground({ configFile, logLevel: 'notice' }, h.deps)).toBe(1);
    expect(h.stderr.join('')).toBe(
      `mysqlda: invalid configuration ${configFile}:\n` +
        '  server.listen_port: must be an integer 1..65535, got 70000\n' +
        '  auth.user: must not be empty\n' +
        '  forwards: must not be empty (an array of libraries)\n',
    );
    expect(h.started).toEqual([]);
  });

  it('prints the reason and exits 1 when the proxy cannot start', async () => {
    const h = harness(dir, async () => {
      throw new Error('listen EADDRINUSE: address already in use 127.0.0.1:13306');
    });
    expect(await runForeground({ configFile, logLevel: 'notice' }, h.deps)).toBe(1);
    expect(h.stderr).toEqual(['mysqlda: cannot start: listen EADDRINUSE: address already in use 127.0.0.1:13306\n']);
    expect(h.signals.listenerCount('SIGTERM')).toBe(0);
  });

  it('-s overrides the save directory with its own directory', async () => {
    const h = harness(dir);
    const run = runForeground({ configFile, saveFile: 'data/mysqlda.save', logLevel: 'notice' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGTERM');
    await run;
    expect(h.started[0].saveDir).toBe(path.join(dir, 'data'));
    expect(h.logs.filter((l) => l.msg.startsWith('-s'))).toEqual([]);
  });

  it('logs configuration warnings and a warning for an -s file not named mysqlda.save', async () => {
    await writeFile(configFile, DEFAULT_CONFIG_TEXT.replace('"db" : "calvindb"', '"db" : "calvindb" , "role" : "x"'));
    const h = harness(dir);
    const run = runForeground({ configFile, saveFile: '/var/keys.txt', logLevel: 'notice' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGTERM');
    await run;
    expect(h.started[0].saveDir).toBe('/var');
    const warnings = h.logs.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warnings).toEqual([
      'config: auth.role: unknown key, ignored',
      '-s: only the directory is used; the core save file is /var/mysqlda.save',
    ]);
  });

  it('holds the pid file and answers status and reload on the control socket while it serves', async () => {
    const h = harness(dir);
    const run = runForeground({ configFile, logLevel: 'notice' }, h.deps);
    await logged(h, /listening/);
    expect(await readFile(path.join(dir, 'mysqlda.pid'), 'utf8')).toBe(`${process.pid}\n`);
    const socket = path.join(dir, 'mysqlda.ctl');
    const status = await requestControl(socket, { command: 'status' }, 5_000);
    expect(status).toMatchObject({
      ok: true,
      status: { mode: 'foreground', version: '1.2.3', pid: process.pid, configPath: configFile, logFile: null, worker: null, proxy: { ...PROXY_STATUS, pid: process.pid } },
    });
    expect(await requestControl(socket, { command: 'reload' }, 5_000)).toEqual({
      ok: true,
      reload: { ok: false, message: 'not implemented in this fake', changes: [] },
    });
    h.signals.emit('SIGTERM');
    expect(await run).toBe(0);
    await expect(stat(path.join(dir, 'mysqlda.pid'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses to start while another mysqlda holds the pid file', async () => {
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'mysqlda'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => other.once('spawn', resolve));
      await writeFile(path.join(dir, 'mysqlda.pid'), `${other.pid}\n`);
      const h = harness(dir);
      expect(await runForeground({ configFile, logLevel: 'notice' }, h.deps)).toBe(1);
      expect(h.stderr).toEqual([`mysqlda: cannot start: mysqlda is already running (pid ${other.pid}, pid file ${path.join(dir, 'mysqlda.pid')})\n`]);
      expect(h.started).toEqual([]);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('reloads on SIGUSR1 and logs the result; ignores SIGHUP', async () => {
    const h = harness(dir);
    h.proxy.reload.mockResolvedValue({ ok: true, message: '1 change applied', changes: ['library mysqlda2 added'] });
    const run = runForeground({ configFile, logLevel: 'notice' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGHUP');
    h.signals.emit('SIGUSR1');
    await logged(h, /^SIGUSR1: reload applied: 1 change applied$/);
    expect(h.logs.find((l) => l.msg.startsWith('SIGUSR1'))).toMatchObject({ changes: ['library mysqlda2 added'] });
    h.signals.emit('SIGTERM');
    expect(await run).toBe(0);
  });

  it("starts with the config's daemon.log_level over the command line's", async () => {
    await writeFile(configFile, DEFAULT_CONFIG_TEXT.replace(/\n}\n?$/, ' ,\n"daemon" : { "log_level" : "debug" }\n}\n'), { mode: 0o600 });
    const levels: LogLevel[] = [];
    const h = harness(dir);
    const createLogger = h.deps.createLogger;
    h.deps.createLogger = (level) => {
      levels.push(level);
      return createLogger(level);
    };
    const run = runForeground({ configFile, logLevel: 'warn' }, h.deps);
    await logged(h, /listening/);
    h.signals.emit('SIGTERM');
    await run;
    expect(levels).toEqual(['debug']);
  });
});
