/**
 * `-a directory-import` and `-a directory-export` of a large directory: a mysqlda.save of N keys (three libraries)
 * and one correl class of N/10 objects into a throwaway mariadbd with durable commits (as a directory server
 * runs), then the same import again (nothing new), then the export. Run alone:
 * `npm run build:tools && node build/bench/src/directory-transfer.js [keys]` prints JSON.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectoryClient } from '../../src/store/mysql/directory-client.js';
import { exportDirectory, importDirectory } from '../../src/store/mysql/directory-transfer.js';
import { MariadbServer } from '../../tools/sandbox/mariadb-server.js';
import { removeTree } from '../../tools/sandbox/tree.js';

export interface DirectoryTransferFigures {
  keys: number;
  correlObjects: number;
  saveFileBytes: number;
  importSeconds: number;
  /** The same files again: every record already there. */
  reimportSeconds: number;
  exportSeconds: number;
}

const LIBRARIES = ['mysqlda1', 'mysqlda2', 'mysqlda3'];
const LINES_PER_WRITE = 10_000;

async function writeLines(path: string, count: number, line: (i: number) => string): Promise<number> {
  const out = createWriteStream(path);
  for (let start = 0; start < count; start += LINES_PER_WRITE) {
    let chunk = '';
    for (let i = start; i < Math.min(count, start + LINES_PER_WRITE); i++) chunk += line(i);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return (await stat(path)).size;
}

export async function measureDirectoryTransfer(keys: number): Promise<DirectoryTransferFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'mysqlda-bench-transfer-'));
  const saveDir = join(dir, 'save');
  await mkdir(saveDir);
  const server = await MariadbServer.start({
    baseDir: join(dir, 'servers'),
    name: 'directory',
    serverId: 1,
    extraArgs: ['--innodb-flush-log-at-trx-commit=1', '--sync-binlog=1', '--innodb-buffer-pool-size=512M'],
  });
  const client = new DirectoryClient(
    { servers: [{ host: server.host, port: server.port }], user: 'root', password: '', database: 'mysqlda_directory', tls: null },
    { connectTimeoutMs: 10_000, connectionLimit: 2 },
  );
  try {
    const correlObjects = Math.floor(keys / 10);
    const saveFileBytes = await writeLines(join(saveDir, 'mysqlda.save'), keys, (i) => `2026-01-01 00:00:00 customer${i} ${LIBRARIES[i % 3]}\n`);
    await writeLines(join(saveDir, 'mysqlda.card.save'), correlObjects, (i) => `2026-01-01 00:00:00 card${i} customer${i * 10}\n`);
    const timed = async (work: () => Promise<unknown>) => {
      const started = performance.now();
      await work();
      return Math.round(performance.now() - started) / 1000;
    };
    const options = { saveDir, libraries: LIBRARIES, client };
    const importSeconds = await timed(() => importDirectory(options));
    const reimportSeconds = await timed(() => importDirectory(options));
    const exportSeconds = await timed(() => exportDirectory({ client, targetDir: join(dir, 'export'), force: false }));
    return { keys, correlObjects, saveFileBytes, importSeconds, reimportSeconds, exportSeconds };
  } finally {
    await client.close();
    await server.stop();
    await removeTree(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const keys = Number(process.argv[2] ?? 1_000_000);
  measureDirectoryTransfer(keys).then(
    (figures) => console.log(JSON.stringify(figures, null, 2)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
