/**
 * A throwaway mariadbd for the shared key directory (storage.directory.mysql), with the durable settings the
 * directory needs (every commit flushed and synced), and the proxy's account allowed on the directory database.
 */
import { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import type { Sandbox } from '../../tools/sandbox/sandbox.js';

export const DIRECTORY_DATABASE = 'mysqlda_directory';

export async function startDirectoryServer(baseDir: string, account: Pick<Sandbox, 'user' | 'password'>): Promise<MariadbServer> {
  const server = await MariadbServer.start({
    baseDir,
    name: 'directory',
    serverId: 900,
    extraArgs: ['--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1'],
  });
  for (const host of ['%', 'localhost']) {
    await server.query(`CREATE USER IF NOT EXISTS '${account.user}'@'${host}' IDENTIFIED BY '${account.password}'`);
    await server.query(`GRANT ALL ON ${DIRECTORY_DATABASE}.* TO '${account.user}'@'${host}'`);
  }
  return server;
}

/** The config extra that puts a proxy's key directory on `server`. */
export function sharedDirectoryExtra(server: MariadbServer): Record<string, unknown> {
  return { storage: { directory: { mysql: { servers: [{ ip: server.host, port: server.port }] } } } };
}

/** key → library, as the directory's table holds it. */
export async function directoryRows(server: MariadbServer): Promise<Map<string, string>> {
  const rows: { k: string; library: string }[] = await server.query(`SELECT CAST(core_key AS CHAR) AS k, library FROM ${DIRECTORY_DATABASE}.mysqlda_keys`);
  return new Map(rows.map((row) => [row.k, row.library]));
}
