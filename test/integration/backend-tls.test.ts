import { execFile } from 'node:child_process';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/load.js';
import { silentLogger } from '../../src/log/logger.js';
import { findFreePort, MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { startProxy } from '../../src/server.js';
import { connectClient } from '../support/proxy-harness.js';

const run = promisify(execFile);
let dir: string;
let etc: string;
let server: MariadbServer;

/** A test CA, and from it a server certificate that names only `localhost` and a client certificate. */
async function makeCertificates(): Promise<void> {
  const file = (name: string) => path.join(etc, name);
  const selfSigned = (key: string, cert: string, subject: string) =>
    run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(key), '-out', file(cert), '-days', '1', '-subj', subject]);
  const signed = async (name: string, subject: string, extensions: string) => {
    await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file(`${name}-key.pem`), '-out', file(`${name}.csr`), '-subj', subject]);
    await writeFile(file(`${name}.ext`), extensions);
    await run('openssl', ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.pem'), '-CAkey', file('ca-key.pem'), '-CAcreateserial',
      '-out', file(`${name}.pem`), '-days', '1', '-extfile', file(`${name}.ext`)]);
  };
  await selfSigned('ca-key.pem', 'ca.pem', '/CN=mysqlda test CA');
  await selfSigned('rogue-ca-key.pem', 'rogue-ca.pem', '/CN=some other CA');
  await signed('server', '/CN=localhost', 'subjectAltName=DNS:localhost\n');
  await signed('client', '/CN=mysqlda-client', 'extendedKeyUsage=clientAuth\n');
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mysqlda-backend-tls-'));
  etc = path.join(dir, 'etc');
  await mkdir(etc);
  await makeCertificates();
  server = await MariadbServer.start({
    baseDir: path.join(dir, 'servers'),
    name: 'tls-master',
    serverId: 1,
    extraArgs: [`--ssl-ca=${path.join(etc, 'ca.pem')}`, `--ssl-cert=${path.join(etc, 'server.pem')}`, `--ssl-key=${path.join(etc, 'server-key.pem')}`],
  });
  await server.query("CREATE USER 'calvin'@'%' IDENTIFIED BY 'calvin'");
  await server.query("GRANT ALL ON *.* TO 'calvin'@'%'");
  await server.query("CREATE USER 'certified'@'%' REQUIRE X509");
  await server.query("GRANT ALL ON *.* TO 'certified'@'%'");
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Runs a proxy whose one library is this server reached with `tls` (and `entry`'s other keys), sends
 * `select library`, and reports what the client saw: the session's cipher and user, or the error.
 */
async function throughProxy(tls: unknown, entry: Record<string, unknown> = {}): Promise<{ cipher?: string; user?: string; error?: { errno?: number; message: string } }> {
  const port = await findFreePort();
  const text = JSON.stringify({
    server: { listen_ip: '127.0.0.1', listen_port: port },
    auth: { user: 'calvin', pass: 'calvin', db: '' },
    forwards: [{ instance: 'secure1', forward: [{ ip: '127.0.0.1', port: server.port, tls, ...entry }] }],
    health: { interval_ms: 60_000, timeout_ms: 1000 },
  });
  const configPath = path.join(etc, `mysqlda-${port}.conf`);
  await writeFile(configPath, text, { mode: 0o600 });
  const proxy = await startProxy(parseConfigText(text, configPath), silentLogger());
  const client = await connectClient(proxy.address.port);
  try {
    await client.query('select library tls-key');
    const [rows] = await client.query("show session status like 'Ssl_cipher'");
    const [[{ user }]] = (await client.query('select current_user() as user')) as unknown as [[{ user: string }]];
    return { cipher: (rows as { Value: string }[])[0].Value, user };
  } catch (err) {
    return { error: err as { errno?: number; message: string } };
  } finally {
    await client.end().catch(() => undefined);
    await proxy.close();
  }
}

describe('TLS to backends', () => {
  it('tls: true encrypts the backend connection without checking the certificate', async () => {
    const seen = await throughProxy(true);
    expect(seen.error).toBeUndefined();
    expect(seen.cipher).not.toBe('');
  });

  it('verify_ca accepts a certificate signed by the configured CA, whatever name it carries', async () => {
    const seen = await throughProxy({ mode: 'verify_ca', ca: 'ca.pem' });
    expect(seen.error).toBeUndefined();
    expect(seen.cipher).not.toBe('');
  });

  it('refuses a certificate from another CA: select library gets 7106 naming the certificate problem', async () => {
    const seen = await throughProxy({ mode: 'verify_ca', ca: 'rogue-ca.pem' });
    expect(seen.error?.errno).toBe(7106);
    expect(seen.error?.message).toMatch(/TLS to 127\.0\.0\.1:\d+ failed: .*certificate/i);
  });

  it('verify_identity (the default of the object form) refuses a certificate that does not name the configured address', async () => {
    const seen = await throughProxy({ ca: 'ca.pem' });
    expect(seen.error?.errno).toBe(7106);
    expect(seen.error?.message).toMatch(/does not match certificate's altnames|IP: 127\.0\.0\.1 is not in the cert's list/i);
  });

  it('verify_identity accepts the certificate when the server is configured by the name it carries', async () => {
    const seen = await throughProxy({ mode: 'verify_identity', ca: 'ca.pem' }, { ip: 'localhost' });
    expect(seen.error).toBeUndefined();
    expect(seen.cipher).not.toBe('');
  });

  it('reads a replaced CA file at the next backend connection, without a reload', async () => {
    const { copyFile } = await import('node:fs/promises');
    const trust = path.join(etc, 'rotating-ca.pem');
    await copyFile(path.join(etc, 'rogue-ca.pem'), trust);
    const port = await findFreePort();
    const text = JSON.stringify({
      server: { listen_ip: '127.0.0.1', listen_port: port },
      auth: { user: 'calvin', pass: 'calvin', db: '' },
      forwards: [{ instance: 'secure1', forward: [{ ip: '127.0.0.1', port: server.port, tls: { mode: 'verify_ca', ca: 'rotating-ca.pem' } }] }],
      health: { interval_ms: 60_000, timeout_ms: 1000 },
    });
    const configPath = path.join(etc, 'mysqlda-rotating.conf');
    await writeFile(configPath, text, { mode: 0o600 });
    const proxy = await startProxy(parseConfigText(text, configPath), silentLogger());
    try {
      const first = await connectClient(proxy.address.port);
      await expect(first.query('select library rotating-1')).rejects.toMatchObject({ errno: 7106 });
      await first.end();
      await copyFile(path.join(etc, 'ca.pem'), trust);
      const second = await connectClient(proxy.address.port);
      await second.query('select library rotating-2');
      const [rows] = await second.query("show session status like 'Ssl_cipher'");
      expect((rows as { Value: string }[])[0].Value).not.toBe('');
      await second.end();
    } finally {
      await proxy.close();
    }
  });

  it('presents a client certificate to a backend account created REQUIRE X509', async () => {
    const withCert = await throughProxy({ mode: 'verify_ca', ca: 'ca.pem', cert: 'client.pem', key: 'client-key.pem' }, { user: 'certified', pass: '' });
    expect(withCert.error).toBeUndefined();
    expect(withCert.user).toBe('certified@%');
    const without = await throughProxy({ mode: 'verify_ca', ca: 'ca.pem' }, { user: 'certified', pass: '' });
    expect(without.error?.errno).toBe(7106);
    expect(without.error?.message).toMatch(/Access denied/);
  });
});
