/**
 * A mysqlda process under fuzz: `bin/mysqlda -a start --no-daemon` as a child (so a crash shows as an exit),
 * its log in a file of its own directory, the admin HTTP listener on for /status, and an admin account for
 * `show sessions`. Also reads the process's RSS and CPU time from /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import mysql from 'mysql2/promise';
import { findFreePort } from '../../tools/sandbox/mariadb-server.js';
import type { Sandbox } from '../../tools/sandbox/sandbox.js';
import { canConnect, exited, PROJECT_ROOT, writeProxyConfig } from '../support/proxy-harness.js';

export const ADMIN_USER = { user: 'fuzzadmin', password: 'fuzzadmin' };

export interface SessionCounts {
  open: number;
  closing: number;
}

export class FuzzProxy {
  private child: ChildProcess | null = null;
  private stderr = '';
  /** How the process ended, once it has. */
  exit: string | null = null;

  private constructor(
    readonly name: string,
    readonly dir: string,
    readonly configPath: string,
    readonly port: number,
    readonly adminPort: number,
    readonly tls: boolean,
  ) {}

  static async create(sandbox: Sandbox, dir: string, name: string, tls: { certFile: string; keyFile: string } | null): Promise<FuzzProxy> {
    const adminPort = await findFreePort();
    const etc = path.join(dir, name);
    const { configPath, port } = await writeProxyConfig(sandbox, etc, {
      admin: { http: `127.0.0.1:${adminPort}` },
      users: [{ user: ADMIN_USER.user, pass: ADMIN_USER.password, admin: true }],
      ...(tls ? { tls: { cert: tls.certFile, key: tls.keyFile } } : {}),
    });
    const proxy = new FuzzProxy(name, etc, configPath, port, adminPort, tls !== null);
    await proxy.start();
    return proxy;
  }

  get logFile(): string {
    return path.join(this.dir, 'mysqlda.out.log');
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  get alive(): boolean {
    return this.child !== null && this.exit === null;
  }

  /** Starts the process (again, after a crash) and resolves once it accepts connections. */
  async start(): Promise<void> {
    // --no-daemon logs to stdout: into a file, never the terminal (a failed login can log a megabyte).
    const log = openSync(this.logFile, 'a');
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin/mysqlda'), '-f', this.configPath, '-a', 'start', '--no-daemon'], {
      stdio: ['ignore', log, 'pipe'],
    });
    closeSync(log);
    this.child = child;
    this.exit = null;
    this.stderr = '';
    child.stderr!.on('data', (chunk) => (this.stderr = (this.stderr + chunk).slice(-4000)));
    child.once('exit', (code, signal) => (this.exit = `exited with ${signal ?? `code ${code}`}${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.exit !== null) throw new Error(`mysqlda ${this.name} ${this.exit}`);
      if ((await canConnect(this.port)) && (await canConnect(this.adminPort))) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`mysqlda ${this.name} did not start listening on ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exit !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited(child);
    clearTimeout(timer);
  }

  async sessionCounts(): Promise<SessionCounts> {
    const status = JSON.parse(await httpGet(this.adminPort, '/status')) as { sessions: { open: number; closing?: number } };
    return { open: status.sessions.open, closing: status.sessions.closing ?? 0 };
  }

  /** Client ports of the sessions the proxy holds (from `show sessions`), the admin's own left out. */
  async sessionClientPorts(): Promise<{ port: number; row: string }[]> {
    const connection = await mysql.createConnection({ host: '127.0.0.1', port: this.port, ...ADMIN_USER, ...(this.tls ? { ssl: { rejectUnauthorized: false } } : {}) });
    try {
      const [rows] = await connection.query('show sessions');
      return (rows as { user: string | null; client: string }[])
        .filter((row) => row.user !== ADMIN_USER.user)
        .map((row) => ({ port: Number(row.client.slice(row.client.lastIndexOf(':') + 1)), row: JSON.stringify(row) }));
    } finally {
      await connection.end();
    }
  }

  /** Resident set size in bytes (VmRSS). */
  async rss(): Promise<number> {
    const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0) * 1024;
  }

  /** User + system CPU seconds the process has used. */
  async cpuSeconds(): Promise<number> {
    const fields = (await readFile(`/proc/${this.pid}/stat`, 'utf8')).split(') ')[1].split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted from the state (field 3) here; clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }

  async logSize(): Promise<number> {
    return (await stat(this.logFile)).size;
  }

  /** The end of the log (a flood of failed logins can make the whole file large). */
  async logTail(bytes = 2000): Promise<string> {
    const file = await open(this.logFile, 'r');
    try {
      const { size } = await file.stat();
      const start = Math.max(0, size - bytes);
      const buffer = Buffer.alloc(size - start);
      await file.read(buffer, 0, buffer.length, start);
      return buffer.toString('utf8');
    } finally {
      await file.close();
    }
  }
}

function httpGet(port: number, urlPath: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve(body));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${urlPath} timed out`)));
    request.on('error', reject);
  });
}
