/**
 * `npm run sandbox`: mysqlda in front of real, throwaway MariaDB servers, to try it by hand. The proxy is the
 * built program itself (bin/mysqlda -a start --no-daemon); its JSON log lines are printed readably here.
 * Flags: --libraries N (default 2), --replicas N (per library, default 1), --port P (default 13306 if free),
 * --proxies N (default 1) on consecutive ports from P, --directory mysql | galera (default: the save files; several
 * proxies need one): the proxies share a key directory on one more mariadbd, or on a 3-node Galera cluster.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { prettyLine } from '../../src/log/pretty.js';
import { PROJECT_ROOT } from '../project-root.js';
import { GaleraCluster } from './galera.js';
import { assertMariadbInstalled } from './installation.js';
import { MariadbServer } from './mariadb-server.js';
import { findFreePort, isPortFree } from './ports.js';
import { Sandbox } from './sandbox.js';

const PREFERRED_PORT = 13306;

const DIRECTORY_KINDS = ['mysql', 'galera'] as const;
type DirectoryKind = (typeof DIRECTORY_KINDS)[number];
const DIRECTORY_DATABASE = 'mysqlda_directory';

interface Flags {
  libraries: number;
  replicas: number;
  port?: number;
  proxies: number;
  directory?: DirectoryKind;
}

/** Where the proxies' shared key directory runs, when they share one. */
type SharedDirectory = { kind: 'mysql'; server: MariadbServer } | { kind: 'galera'; cluster: GaleraCluster };

const USAGE = 'usage: npm run sandbox -- [--libraries N] [--replicas N] [--port P] [--proxies N] [--directory mysql|galera]';

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      libraries: { type: 'string' },
      replicas: { type: 'string' },
      port: { type: 'string' },
      proxies: { type: 'string' },
      directory: { type: 'string' },
    },
  });
  const integer = (name: string, text: string | undefined, min: number, max: number, fallback?: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not "${text}"`);
    return value;
  };
  const directory = values.directory;
  if (directory !== undefined && !(DIRECTORY_KINDS as readonly string[]).includes(directory)) {
    throw new Error(`--directory must be ${DIRECTORY_KINDS.join(' or ')}, not "${directory}"`);
  }
  const proxies = integer('proxies', values.proxies, 1, 16, 1)!;
  if (proxies > 1 && directory === undefined) {
    throw new Error('several proxies need a shared key directory: add --directory mysql (or galera)');
  }
  return {
    libraries: integer('libraries', values.libraries, 1, 64, 2)!,
    replicas: integer('replicas', values.replicas, 0, 7, 1)!,
    port: integer('port', values.port, 1, 65535),
    proxies,
    directory: directory as DirectoryKind | undefined,
  };
}

interface RunningProxy {
  port: number;
  configPath: string;
  child: ChildProcess;
}

function printServers(sandbox: Sandbox, proxies: readonly RunningProxy[], shared: SharedDirectory | undefined): void {
  const rows = sandbox.libraries.flatMap((library) => [
    [library.name, 'master', library.master.port],
    ...library.replicas.map((replica, i) => [library.name, `replica ${i + 1}`, replica.port]),
  ]);
  if (shared?.kind === 'mysql') rows.push(['directory', 'mariadbd', shared.server.port]);
  if (shared?.kind === 'galera') shared.cluster.nodes.forEach((node, i) => rows.push(['directory', `galera ${i + 1}`, node.port]));
  console.log('\nMariaDB servers (root, no password, on 127.0.0.1):');
  for (const [library, role, serverPort] of rows) console.log(`  ${String(library).padEnd(12)} ${String(role).padEnd(10)} ${serverPort}`);
  if (shared) console.log(`\nThe proxies share their key directory in ${DIRECTORY_DATABASE} (mysqlda_keys, mysqlda_correl_objects, ...).`);
  if (proxies.length === 1) {
    const [{ port, configPath }] = proxies;
    console.log(`\nmysqlda listens on 127.0.0.1:${port} (config ${configPath}). Connect with:`);
    console.log(`  mariadb -h 127.0.0.1 -P ${port} -u ${sandbox.user} -p${sandbox.password} ${sandbox.database}`);
  } else {
    console.log(`\n${proxies.length} mysqlda proxies:`);
    for (const { port, configPath } of proxies) console.log(`  127.0.0.1:${port}  (config ${configPath})`);
    console.log('Connect to any of them with:');
    console.log(`  mariadb -h 127.0.0.1 -P ${proxies[0].port} -u ${sandbox.user} -p${sandbox.password} ${sandbox.database}`);
  }
  console.log('then pick a home library for a key:');
  console.log('  select library <your-key>;');
  console.log(`\nCtrl-C stops the ${proxies.length === 1 ? 'proxy' : 'proxies'} and the servers.\n`);
}

/** Starts the shared key directory's server(s) and lets the proxies' account use its database. */
async function startSharedDirectory(kind: DirectoryKind, dir: string, sandbox: Sandbox): Promise<SharedDirectory> {
  const baseDir = join(dir, 'directory');
  const log = (line: string) => console.log(`  ${line}`);
  const shared: SharedDirectory =
    kind === 'mysql'
      ? { kind, server: await MariadbServer.start({ baseDir, name: 'directory', serverId: 900, extraArgs: ['--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1'] }) }
      : { kind, cluster: await GaleraCluster.start({ baseDir, nodes: 3, name: 'directory', log }) };
  if (shared.kind === 'mysql') log(`directory: 127.0.0.1:${shared.server.port} (datadir ${shared.server.dataDir})`);
  // One node is enough for accounts on Galera: they replicate like any other write.
  const server = shared.kind === 'mysql' ? shared.server : shared.cluster.nodes[0];
  for (const host of ['%', 'localhost']) {
    const account = `'${sandbox.user}'@'${host}'`;
    await server.query(`CREATE USER IF NOT EXISTS ${account} IDENTIFIED BY '${sandbox.password}'`);
    await server.query(`GRANT ALL ON ${DIRECTORY_DATABASE}.* TO ${account}`);
  }
  return shared;
}

function stopSharedDirectory(shared: SharedDirectory | undefined): Promise<void> {
  if (!shared) return Promise.resolve();
  return shared.kind === 'mysql' ? shared.server.stop() : shared.cluster.stop();
}

/** The config extra that puts a proxy's key directory on the shared servers. */
function directoryExtra(shared: SharedDirectory | undefined): Record<string, unknown> | undefined {
  if (!shared) return undefined;
  const servers = shared.kind === 'mysql' ? [shared.server] : shared.cluster.nodes;
  return { storage: { directory: { mysql: { servers: servers.map((server) => ({ ip: server.host, port: server.port })) } } } };
}

/** `count` consecutive free ports, from `preferred` when given (or 13306 when that block is free). */
async function consecutivePorts(count: number, preferred: number | undefined): Promise<number[]> {
  const block = (first: number) => Array.from({ length: count }, (_, i) => first + i);
  const allFree = async (ports: number[]) => ports.every((port) => port <= 65535) && (await Promise.all(ports.map((port) => isPortFree(port)))).every(Boolean);
  if (preferred !== undefined) return block(preferred);
  if (await allFree(block(PREFERRED_PORT))) return block(PREFERRED_PORT);
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = block(await findFreePort());
    if (await allFree(ports)) return ports;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  try {
    assertMariadbInstalled();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }

  const dir = join(PROJECT_ROOT, 'sandbox');
  const etc = join(dir, 'etc');
  const plural = (n: number, noun: string) => `${n} ${n === 1 ? noun : noun.replace(/y$/, 'ie') + 's'}`;
  console.log(`Starting ${plural(flags.libraries, 'library')} × (master + ${plural(flags.replicas, 'replica')}) in ${dir} ...`);
  const sandbox = await Sandbox.start({ dir, libraries: flags.libraries, replicas: flags.replicas, log: (line) => console.log(`  ${line}`) });
  let shared: SharedDirectory | undefined;
  if (flags.directory) {
    console.log(`Starting the shared key directory (${flags.directory === 'mysql' ? 'one mariadbd' : 'a 3-node Galera cluster'}) ...`);
    try {
      shared = await startSharedDirectory(flags.directory, dir, sandbox);
    } catch (error) {
      await sandbox.stop();
      throw error;
    }
  }

  // Each proxy is the shipped program (bin/mysqlda on dist/, `--no-daemon`), in a process group of its own so that
  // Ctrl-C reaches it once, from here, after which it stops cleanly (a second signal would make it exit at once).
  const proxies: RunningProxy[] = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await Promise.all(
      proxies.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        await exited;
      }),
    );
    await Promise.all([sandbox.stop(), stopSharedDirectory(shared)]);
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  process.once('exit', () => proxies.forEach(({ child }) => child.kill('SIGKILL')));

  const ports = await consecutivePorts(flags.proxies, flags.port);
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  for (const [i, port] of ports.entries()) {
    // One proxy keeps today's layout (sandbox/etc); several get one directory each, for their pid files and state.
    const proxyEtc = flags.proxies === 1 ? etc : join(etc, `proxy${i + 1}`);
    await mkdir(proxyEtc, { recursive: true });
    const configPath = join(proxyEtc, 'mysqlda.conf');
    await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: proxyEtc, extra: directoryExtra(shared) }), { mode: 0o600 });
    await chmod(configPath, 0o600); // it holds the password; an older file may have had another mode
    const child = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/mysqlda'), '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-info'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    const prefix = flags.proxies === 1 ? '' : `[proxy${i + 1}] `;
    createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(prefix + prettyLine(line, { colour })));
    child.once('exit', (code, signal) => {
      if (stopping) return;
      console.error(`mysqlda${prefix ? ` ${prefix.trim()}` : ''} exited (${signal ?? `code ${code}`})`);
      if (!shared) console.error(`(keys saved by earlier runs are in ${etc}/mysqlda*.save: delete them to start over)`);
      void shutdown(1);
    });
    proxies.push({ port, configPath, child });
  }
  const listening = await Promise.all(proxies.map(({ port, child }) => acceptsConnections(port, child)));
  if (listening.every(Boolean)) printServers(sandbox, proxies, shared);
}

/** Waits until the proxy listens on `port`; false if it exits first. */
async function acceptsConnections(port: number, proxy: ChildProcess): Promise<boolean> {
  while (proxy.exitCode === null && proxy.signalCode === null) {
    const connected = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (connected) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

main().catch((error: unknown) => {
  console.error((error as Error).stack ?? String(error));
  process.exit(1);
});
