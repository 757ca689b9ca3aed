/**
 * Durable appends to a save file, with group commit.
 *
 * mysqlda wrote each record with six write() calls and never synced (behaviour §7.2). Here every batch of records
 * goes out in one write() and one fdatasync(), and an append resolves only after its bytes are on disk. While one
 * batch is in flight, new records queue; the next batch takes all of them, so concurrent appenders share the cost
 * of a flush. A batch that fails is cut off again (ftruncate to the previous size), so the file never keeps records
 * nobody was told about, and later batches can still succeed. If even that truncation fails (a file made immutable
 * or read-only, an I/O error), the cut is retried before each later batch: until it succeeds those batches fail
 * without writing anything, so no record ever lands behind a torn line, and the writer recovers by itself once
 * the file can be written again, as it does after a full disk.
 *
 * One writer per file, in one process: the writer tracks the file size itself.
 */

import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/** What the writer needs from an open file; a FileHandle opened for append provides it. */
export interface AppendTarget {
  write(data: Buffer, offset: number, length: number, position: null): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

interface PendingAppend {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class SaveFileWriter {
  private queue: PendingAppend[] = [];
  private flushing = false;
  private closing: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  /** A failed batch whose bytes may still be in the file past `size`, and why they could not be removed. */
  private uncut: Error | undefined;
  private flushCount = 0;
  private recordCount = 0;

  private constructor(
    readonly path: string,
    private readonly target: AppendTarget,
    private size: number,
    /** The permission bits the file had before open() tightened them to 0600, if it had to. */
    readonly previousMode: number | undefined,
  ) {}

  /**
   * Open (creating with mode 0600 if needed) for appending. A new file's directory is fsynced so the file itself
   * survives a crash. An existing file readable or writable by others is tightened to 0600 (see previousMode).
   * Rejects when the file does not end with a newline: a torn last line must be repaired by the loader first.
   */
  static async open(path: string): Promise<SaveFileWriter> {
    const flags = constants.O_RDWR | constants.O_APPEND;
    let handle: FileHandle;
    let created = true;
    try {
      handle = await open(path, flags | constants.O_CREAT | constants.O_EXCL, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      created = false;
      handle = await open(path, flags);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new Error(`${path} is not a regular file`);
      let previousMode: number | undefined;
      if ((stat.mode & 0o077) !== 0) {
        previousMode = stat.mode & 0o777;
        await handle.chmod(0o600);
      }
      if (stat.size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, stat.size - 1);
        if (last[0] !== 0x0a) {
          throw new Error(`${path} ends with a partial line; load the save files (which repairs it) before appending`);
        }
      }
      if (created) await syncDirectory(dirname(path));
      return new SaveFileWriter(path, handle, stat.size, previousMode);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** A writer over any append target (tests use it to inject failures). `size` is the target's current length. */
  static over(target: AppendTarget, path: string, size: number): SaveFileWriter {
    return new SaveFileWriter(path, target, size, undefined);
  }

  /**
   * Append one record: exactly one line ending in "\n". Resolves once it is fsynced; rejects when its batch could
   * not be written or synced (then the record is not in the file).
   */
  append(line: string): Promise<void> {
    if (line.length === 0 || line.indexOf('\n') !== line.length - 1) {
      return Promise.reject(new Error(`save-file record must be one line ending in a newline: ${JSON.stringify(line)}`));
    }
    if (this.closing !== undefined) return Promise.reject(new Error(`${this.path} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.flushing) {
        this.flushing = true;
        // Start on the next turn of the event loop, so a burst of appends from one tick shares the first flush.
        setImmediate(() => void this.flushLoop());
      }
    });
  }

  /** Records acknowledged and write+sync rounds done so far. */
  stats(): { records: number; flushes: number } {
    return { records: this.recordCount, flushes: this.flushCount };
  }

  /**
   * Refuse new appends, wait for the queued ones, close the file. Idempotent. Bytes of a failed batch still in the
   * file get one more attempt at removal. If that fails too, they are what a crash between write and fsync leaves:
   * the loader repairs a torn last line at the next start, and a whole record of the batch loads (its key was
   * never acknowledged, so no client was routed by another choice).
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.flushing) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      if (this.uncut !== undefined) await this.cutBack().catch(() => undefined);
      await this.target.close();
    })();
    return this.closing;
  }

  private async flushLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let text = '';
      for (const pending of batch) text += pending.line;
      try {
        await this.writeBatch(Buffer.from(text, 'utf8'));
        this.recordCount += batch.length;
        for (const pending of batch) pending.resolve();
      } catch (err) {
        for (const pending of batch) pending.reject(err as Error);
      }
    }
    this.flushing = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private async writeBatch(data: Buffer): Promise<void> {
    if (this.uncut !== undefined) {
      try {
        await this.cutBack();
      } catch (err) {
        // Appending now would put this batch behind the bytes left over (O_APPEND writes at the end).
        throw new Error(
          `could not save to ${this.path}: bytes of an earlier failed write (${this.uncut.message}) are still to be ` +
            `removed (${(err as Error).message}); retried with the next record`,
          { cause: err },
        );
      }
    }
    this.flushCount++;
    try {
      const { bytesWritten } = await this.target.write(data, 0, data.length, null);
      if (bytesWritten !== data.length) throw new Error(`short write (${bytesWritten} of ${data.length} bytes)`);
      await this.target.datasync();
      this.size += data.length;
    } catch (err) {
      this.uncut = err as Error;
      await this.cutBack().catch(() => undefined); // left for the next batch or close() to retry
      throw new Error(`could not save to ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Remove whatever part of a failed batch reached the file, so no unacknowledged record stays behind. */
  private async cutBack(): Promise<void> {
    await this.target.truncate(this.size);
    await this.target.datasync();
    this.uncut = undefined;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
