import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where Debian puts the server binaries, searched after PATH (root's PATH has /usr/sbin, a user's often does not). */
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin'];

export const MARIADB_MISSING_MESSAGE =
  "mariadbd not found: install Debian's mariadb-server (apt-get install -y mariadb-server)";

/** The two programs the sandbox runs: the server, and the tool that creates a fresh datadir. */
export interface MariadbInstallation {
  mariadbd: string;
  installDb: string;
  /** e.g. "10.11.19-MariaDB-0+deb12u1", from `mariadbd --version`. */
  version: string;
}

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here: keep looking
    }
  }
  return undefined;
}

let cached: MariadbInstallation | undefined;

/** Locates mariadbd and mariadb-install-db once per process; throws MARIADB_MISSING_MESSAGE when either is absent. */
export function mariadbInstallation(): MariadbInstallation {
  if (cached) return cached;
  const mariadbd = findExecutable('mariadbd');
  const installDb = findExecutable('mariadb-install-db');
  if (!mariadbd || !installDb) throw new Error(MARIADB_MISSING_MESSAGE);
  const banner = execFileSync(mariadbd, ['--version'], { encoding: 'utf8' });
  const version = /Ver\s+(\S+)/.exec(banner)?.[1];
  if (!version) throw new Error(`cannot read the MariaDB version from "${banner.trim()}"`);
  cached = { mariadbd, installDb, version: version.replace(/-log$/, '') };
  return cached;
}

export function assertMariadbInstalled(): void {
  mariadbInstallation();
}
