/**
 * `npm run sandbox`: mysqlda in front of real, throwaway MariaDB servers, to try it by hand. The proxy is the
 * built program itself (bin/mysqlda -a start --no-daemon); its JSON log lines are printed readably here.
 * Flags: --libraries N (default 2), --replicas N (per library, default 1), --port P (default 13306 if free).
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
import { assertMariadbInstalled } from './installation.js';
import { findFreePort, isPortFree } from './ports.js';
import { Sandbox } from './sandbox.js';

const PREFERRED_PORT = 13306;

interface Flags {
  libraries: number;
  replicas: number;
  port?: number;
}

function parseFlags(argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: { libraries: { type: 'string' }, replicas: { type: 'string' }, port: { type: 'string' } },
  });
  const integer = (name: string, text: string | undefined, min: number, max: number, fallback?: number) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, not "${text}"`);
    return value;
  };
  return {
    libraries: integer('libraries', values.libraries, 1, 64, 2)!,
    replicas: integer('replicas', values.replicas, 0, 7, 1)!,
    port: integer('port', values.port, 1, 65535),
  };
}

function printServers(sandbox: Sandbox, port: number, configPath: string): void {
  const rows = sandbox.libraries.flatMap((library) => [
    [library.name, 'master', library.master.port],
    ...library.replicas.map((replica, i) => [library.name, `replica ${i + 1}`, replica.port]),
  ]);
  console.log('\nMariaDB servers (root, no password, on 127.0.0.1):');
  for (const [library, role, serverPort] of rows) console.log(`  ${String(library).padEnd(12)} ${String(role).padEnd(10)} ${serverPort}`);
  console.log(`\nmysqlda listens on 127.0.0.1:${port} (config ${configPath}). Connect with:`);
  console.log(`  mariadb -h 127.0.0.1 -P ${port} -u ${sandbox.user} -p${sandbox.password} ${sandbox.database}`);
  console.log('then pick a home library for a key:');
  console.log('  select library <your-key>;');
  console.log('\nCtrl-C stops the proxy and the servers.\n');
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: npm run sandbox -- [--libraries N] [--replicas N] [--port P]`);
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

  // The proxy is the shipped program (bin/mysqlda on dist/, `--no-daemon`), in a process group of its own so that
  // Ctrl-C reaches it once, from here, after which it stops cleanly (a second signal would make it exit at once).
  let proxy: ChildProcess | undefined;
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (proxy && proxy.exitCode === null && proxy.signalCode === null) {
      const exited = once(proxy, 'exit');
      proxy.kill('SIGTERM');
      await exited;
    }
    await sandbox.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));
  process.once('exit', () => proxy?.kill('SIGKILL'));

  const port = flags.port ?? ((await isPortFree(PREFERRED_PORT)) ? PREFERRED_PORT : await findFreePort());
  await mkdir(etc, { recursive: true });
  const configPath = join(etc, 'mysqlda.conf');
  await writeFile(configPath, sandbox.configJson({ listenPort: port, saveDir: etc }), { mode: 0o600 });
  await chmod(configPath, 0o600); // it holds the password; an older file may have had another mode
  proxy = spawn(process.execPath, [join(PROJECT_ROOT, 'bin/mysqlda'), '-f', configPath, '-a', 'start', '--no-daemon', '--loglevel-info'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
  createInterface({ input: proxy.stdout! }).on('line', (line) => process.stdout.write(prettyLine(line, { colour })));
  proxy.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`mysqlda exited (${signal ?? `code ${code}`})`);
    console.error(`(keys saved by earlier runs are in ${etc}/mysqlda*.save: delete them to start over)`);
    void shutdown(1);
  });
  if (await acceptsConnections(port, proxy)) printServers(sandbox, port, configPath);
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
