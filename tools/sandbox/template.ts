import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mariadbInstallation } from './installation.js';
import { copyTree, removeTree } from './tree.js';

const execFileAsync = promisify(execFile);

/**
 * Options shared by mariadb-install-db and mariadbd: the template's InnoDB redo log must have the size the
 * servers ask for, or every server would resize it on its first start.
 */
export const INNODB_SIZE_OPTIONS = ['--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M'];

/** Bump when the way the template is built changes, so old caches are not reused. */
const TEMPLATE_FORMAT = 1;
const READY_MARKER = '.ready';
const LOCK_POLL_MS = 100;
const LOCK_TIMEOUT_MS = 120_000;
const ORPHAN_LOCK_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** mkdir is atomic: whoever creates the lock dir builds the template; a lock whose owner died is broken. */
async function withLock<T>(lockDir: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + LOCK_TIMEOUT_MS;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(join(lockDir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(await readFile(join(lockDir, 'pid'), 'utf8').catch(() => ''));
      const age = Date.now() - ((await stat(lockDir).catch(() => undefined))?.mtimeMs ?? Date.now());
      // A dead owner, or one that died between mkdir and writing its pid.
      if (owner > 0 ? !isAlive(owner) : age > ORPHAN_LOCK_MS) {
        await rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for the template lock ${lockDir}`);
      await sleep(LOCK_POLL_MS);
    }
  }
  try {
    return await body();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}

async function buildTemplate(dir: string): Promise<void> {
  const { installDb } = mariadbInstallation();
  await removeTree(dir);
  await mkdir(dir, { recursive: true });
  const args = [
    '--no-defaults',
    `--datadir=${dir}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ...INNODB_SIZE_OPTIONS,
  ];
  try {
    await execFileAsync(installDb, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`mariadb-install-db failed:\n${stderr || stdout}`);
  }
  await writeFile(join(dir, READY_MARKER), new Date().toISOString());
}

let templateDir: Promise<string> | undefined;

/**
 * The path of a freshly initialised datadir (root with no password, no test db), created once per MariaDB
 * version and user and shared by every process: mariadb-install-db costs far more than a copy.
 */
export function mariadbTemplate(): Promise<string> {
  templateDir ??= (async () => {
    const { version } = mariadbInstallation();
    const uid = process.getuid?.() ?? 0;
    const dir = join(tmpdir(), `mysqlda-mariadb-template-${version}-f${TEMPLATE_FORMAT}-u${uid}`);
    if (await exists(join(dir, READY_MARKER))) return dir;
    await withLock(`${dir}.lock`, async () => {
      if (!(await exists(join(dir, READY_MARKER)))) await buildTemplate(dir);
    });
    return dir;
  })();
  templateDir.catch(() => (templateDir = undefined));
  return templateDir;
}

/** Creates `dataDir` (which must not exist) as a copy of the template. */
export async function copyTemplate(dataDir: string): Promise<void> {
  const template = await mariadbTemplate();
  await copyTree(template, dataDir);
  await unlink(join(dataDir, READY_MARKER));
}
