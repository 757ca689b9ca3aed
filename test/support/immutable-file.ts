import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real write failures on a file, even for root (whom chmod does not stop): the immutable attribute makes open for
 * writing, write() and ftruncate() fail with EPERM. Needs chattr, CAP_LINUX_IMMUTABLE and a file system that
 * supports it (ext4, xfs, btrfs; not tmpfs or overlayfs).
 */
export function setImmutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path], { stdio: 'ignore' });
}

/** Whether setImmutable works for files under os.tmpdir() on this machine. */
export function immutableFilesWork(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'mysqlda-chattr-'));
  const file = join(dir, 'probe');
  try {
    writeFileSync(file, '');
    setImmutable(file, true);
    setImmutable(file, false);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Clears the attribute (for afterEach: a failed test must not leave a file rm cannot delete); no file is fine. */
export function clearImmutable(path: string): void {
  if (existsSync(path)) setImmutable(path, false);
}
