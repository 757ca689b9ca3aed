import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import type { MysqldaConfig } from '../../src/config/types.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { findFreePort } from '../../tools/sandbox/mariadb-server.js';
import { Sandbox } from '../../tools/sandbox/sandbox.js';
import { startProxy, type RunningProxy } from '../../src/server.js';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

export interface ProxyUnderTest {
  proxy: RunningProxy;
  config: MysqldaConfig;
  configPath: string;
  port: number;
  stop(): Promise<void>;
}

/** Writes a mysqlda.conf for the sandbox into `dir` and returns its path and the port it listens on. */
export async function writeProxyConfig(sandbox: Sandbox, dir: string, extra?: Record<string, unknown>): Promise<{ configPath: string; port: number }> {
  await mkdir(dir, { recursive: true });
  const port = await findFreePort();
  const configPath = path.join(dir, 'mysqlda.conf');
  await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: dir, extra }), { mode: 0o600 });
  return { configPath, port };
}

/** Starts the proxy in this process in front of the sandbox, saving into `dir`. */
export async function startTestProxy(
  sandbox: Sandbox,
  dir: string,
  extra?: Record<string, unknown>,
  adjust?: (config: MysqldaConfig) => void,
  logger: Logger = silentLogger(),
): Promise<ProxyUnderTest> {
  const { configPath, port } = await writeProxyConfig(sandbox, dir, extra);
  const { readFile } = await import('node:fs/promises');
  const config = parseConfigText(await readFile(configPath, 'utf8'), configPath);
  adjust?.(config);
  const proxy = await startProxy(config, logger);
  return { proxy, config, configPath, port, stop: () => proxy.close() };
}

export interface ClientOptions {
  user?: string;
  password?: string;
  database?: string;
  multipleStatements?: boolean;
}

/** A mysql2 connection to the proxy, with mysqlda's default credentials. */
export function connectClient(port: number, options: ClientOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port,
    user: options.user ?? 'calvin',
    password: options.password ?? 'calvin',
    database: options.database,
    multipleStatements: options.multipleStatements ?? false,
    supportBigNumbers: true,
  });
}

/** Runs `bin/mysqlda -a start --no-daemon` as a separate process and resolves once it accepts connections. */
export async function spawnProxyProcess(configPath: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/mysqlda'), '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-warn'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`mysqlda exited with ${child.exitCode}: ${stderr}`);
    if (await canConnect(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`mysqlda did not start listening on ${port}: ${stderr}`);
}

export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** The server a session's statements run on, as `host:port` of the MariaDB server (its @@port). */
export async function backendPort(connection: mysql.Connection): Promise<number> {
  const [rows] = await connection.query('select @@port as port');
  return Number((rows as { port: number }[])[0].port);
}

export interface ProxyFixture {
  dir: string;
  sandbox: Sandbox;
  proxy: ProxyUnderTest;
}

/**
 * A sandbox of real MariaDB servers and a proxy in front of it, started before the file's tests and stopped
 * after them. The returned object is filled in by beforeAll.
 */
export function useProxyFixture(
  name: string,
  options: { libraries?: number; replicas?: number; extra?: Record<string, unknown>; adjust?: (config: MysqldaConfig) => void } = {},
): ProxyFixture {
  const fixture = {} as ProxyFixture;
  beforeAll(async () => {
    fixture.dir = await mkdtemp(path.join(os.tmpdir(), `mysqlda-${name}-`));
    fixture.sandbox = await Sandbox.start({ dir: path.join(fixture.dir, 'servers'), libraries: options.libraries ?? 2, replicas: options.replicas ?? 0 });
    fixture.proxy = await startTestProxy(fixture.sandbox, path.join(fixture.dir, 'etc'), options.extra, options.adjust);
  });
  afterAll(async () => {
    await fixture.proxy?.stop();
    await fixture.sandbox?.stop();
    if (fixture.dir) await rm(fixture.dir, { recursive: true, force: true });
  });
  return fixture;
}
