import { chmod, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SaveFileWriter, type AppendTarget } from '../../src/store/save-file.js';
import { clearImmutable, immutableFilesWork, setImmutable } from '../support/immutable-file.js';

const canMakeImmutable = immutableFilesWork();

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mysqlda-savefile-'));
});
afterEach(async () => {
  if (canMakeImmutable) clearImmutable(join(dir, 'mysqlda.save'));
  await rm(dir, { recursive: true, force: true });
});

/** A real file whose write or datasync can be made to fail on demand. */
async function faultyTarget(path: string) {
  const handle = await open(path, 'a+');
  const faults = { write: 0, datasync: 0, truncate: 0, partialWrite: false, writes: 0 };
  const target: AppendTarget = {
    async write(data, offset, length, position) {
      faults.writes++;
      if (faults.partialWrite) {
        faults.partialWrite = false;
        await handle.write(data, offset, Math.floor(length / 2), position);
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      if (faults.write > 0 && faults.write--) throw new Error('EIO: write failed');
      return handle.write(data, offset, length, position);
    },
    async datasync() {
      if (faults.datasync > 0 && faults.datasync--) throw new Error('EIO: fsync failed');
      return handle.datasync();
    },
    async truncate(length) {
      if (faults.truncate > 0 && faults.truncate--) throw Object.assign(new Error('EPERM: operation not permitted'), { code: 'EPERM' });
      return handle.truncate(length);
    },
    close: () => handle.close(),
  };
  return { target, faults };
}

describe('SaveFileWriter', () => {
  it('creates the file with mode 0600 and appends whole lines in order', async () => {
    const path = join(dir, 'mysqlda.save');
    const writer = await SaveFileWriter.open(path);
    await writer.append('2017-09-03 12:00:00 1 a\n');
    await writer.append('2017-09-03 12:00:01 2 b\n');
    await writer.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe('2017-09-03 12:00:00 1 a\n2017-09-03 12:00:01 2 b\n');
  });

  it('appends to an existing file and tightens a world-writable one to 0600', async () => {
    const path = join(dir, 'mysqlda.save');
    await writeFile(path, 'old line\n');
    await chmod(path, 0o777);
    const writer = await SaveFileWriter.open(path);
    expect(writer.previousMode).toBe(0o777);
    await writer.append('new line\n');
    await writer.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readFile(path, 'utf8')).toBe('old line\nnew line\n');
  });

  it('refuses to open a file that ends in a torn line', async () => {
    const path = join(dir, 'mysqlda.save');
    await writeFile(path, 'whole\n2017-09-03 12:0');
    await expect(SaveFileWriter.open(path)).rejects.toThrow(/ends with a partial line/);
  });

  it('shares one write and one fsync among concurrent appends', async () => {
    const writer = await SaveFileWriter.open(join(dir, 'mysqlda.save'));
    const lines = Array.from({ length: 64 }, (_, i) => `2017-09-03 12:00:00 key${i} lib\n`);
    await Promise.all(lines.map((line) => writer.append(line)));
    expect(writer.stats()).toEqual({ records: 64, flushes: 1 });
    await writer.close();
    const text = await readFile(join(dir, 'mysqlda.save'), 'utf8');
    expect(text.split('\n').filter(Boolean).sort()).toEqual(lines.map((l) => l.slice(0, -1)).sort());
  });

  it('queues appends made while a flush is in flight into the next single flush', async () => {
    const writer = await SaveFileWriter.open(join(dir, 'mysqlda.save'));
    const first = writer.append('a\n');
    await new Promise((resolve) => setImmediate(resolve)); // the first flush has started
    const rest = Array.from({ length: 10 }, (_, i) => writer.append(`b${i}\n`));
    await Promise.all([first, ...rest]);
    expect(writer.stats()).toEqual({ records: 11, flushes: 2 });
    await writer.close();
  });

  it('rejects every append of a batch whose fsync failed, removes its bytes, and stays usable', async () => {
    const path = join(dir, 'mysqlda.save');
    await writeFile(path, 'kept\n');
    const { target, faults } = await faultyTarget(path);
    const writer = SaveFileWriter.over(target, path, 5);
    faults.datasync = 1;
    const results = await Promise.allSettled([writer.append('x1\n'), writer.append('x2\n')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/could not save to .*fsync failed/);
    expect(await readFile(path, 'utf8')).toBe('kept\n');
    await writer.append('later\n');
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('kept\nlater\n');
  });

  it('cuts back a short write so no partial line is left in the file', async () => {
    const path = join(dir, 'mysqlda.save');
    const { target, faults } = await faultyTarget(path);
    const writer = SaveFileWriter.over(target, path, 0);
    await writer.append('first\n');
    faults.partialWrite = true;
    await expect(writer.append('a-long-record-that-gets-torn\n')).rejects.toThrow(/ENOSPC/);
    await writer.append('after\n');
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('first\nafter\n');
  });

  it('removes a torn line it could not cut back at once before writing anything else, then works again', async () => {
    const path = join(dir, 'mysqlda.save');
    const { target, faults } = await faultyTarget(path);
    const writer = SaveFileWriter.over(target, path, 0);
    await writer.append('first\n');
    faults.partialWrite = true;
    faults.truncate = 2; // the cut right after the failure and the retry before the next record both fail
    await expect(writer.append('a-long-record-that-gets-torn\n')).rejects.toThrow(/ENOSPC/);
    expect(await readFile(path, 'utf8')).toBe('first\na-long-record-');
    await expect(writer.append('refused\n')).rejects.toThrow(/earlier failed write .*ENOSPC.* still to be removed .*EPERM/);
    expect(faults.writes).toBe(2); // nothing was written behind the torn line
    await writer.append('after\n');
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('first\nafter\n');
  });

  it('cuts back a failed batch on close when it could not before', async () => {
    const path = join(dir, 'mysqlda.save');
    const { target, faults } = await faultyTarget(path);
    const writer = SaveFileWriter.over(target, path, 0);
    await writer.append('first\n');
    faults.partialWrite = true;
    faults.truncate = 1;
    await expect(writer.append('torn-record\n')).rejects.toThrow(/ENOSPC/);
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('first\n');
  });

  it.skipIf(!canMakeImmutable)('refuses appends while the file is immutable (EPERM) and saves again once it is not', async () => {
    const path = join(dir, 'mysqlda.save');
    const writer = await SaveFileWriter.open(path);
    await writer.append('before\n');
    setImmutable(path, true);
    await expect(writer.append('refused-1\n')).rejects.toThrow(/EPERM/);
    await expect(writer.append('refused-2\n')).rejects.toThrow(/EPERM/);
    setImmutable(path, false);
    await Promise.all([writer.append('after-1\n'), writer.append('after-2\n')]);
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('before\nafter-1\nafter-2\n');
  });

  it('rejects records that are not exactly one line', async () => {
    const writer = await SaveFileWriter.open(join(dir, 'mysqlda.save'));
    await expect(writer.append('no newline')).rejects.toThrow(/one line ending in a newline/);
    await expect(writer.append('two\nlines\n')).rejects.toThrow(/one line/);
    await expect(writer.append('')).rejects.toThrow(/one line/);
    await writer.close();
  });

  it('waits for queued appends on close and refuses appends afterwards', async () => {
    const path = join(dir, 'mysqlda.save');
    const writer = await SaveFileWriter.open(path);
    const pending = [writer.append('a\n'), writer.append('b\n')];
    await writer.close();
    await Promise.all(pending);
    await expect(writer.append('c\n')).rejects.toThrow(/is closed/);
    await writer.close();
    expect(await readFile(path, 'utf8')).toBe('a\nb\n');
  });
});
