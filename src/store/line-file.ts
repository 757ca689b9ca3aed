import { open, type FileHandle } from 'node:fs/promises';

/**
 * One line: buf[start, end) without its LF. `offset` is where the line starts in the file; `torn` marks a last line
 * with no LF after it. The buffer is reused for the next lines.
 */
export type LineHandler = (buf: Buffer, start: number, end: number, offset: number, torn: boolean) => void;

const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * A text file read line by line through one reused buffer. A save file of any size then costs one chunk of
 * memory, not a copy of the whole file: fresh pages are what reading a large file costs most (a 44 MB save file on a 2-core AMD EPYC VM, the
 * machine of bench/results/latest.md: 126 ms read whole with readFile, 8 ms in 1 MB chunks).
 */
export class LineFile {
  private constructor(
    private readonly handle: FileHandle,
    /** Bytes in the file when it was opened. */
    readonly size: number,
    private readonly chunkBytes: number,
  ) {}

  static async open(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<LineFile> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      return new LineFile(handle, size, chunkBytes);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /**
   * Calls onLine for every line from the start of the file; a line longer than a chunk grows the buffer.
   * `afterChunk`, when given, is awaited after the lines of each chunk, before the next read: a consumer that
   * writes what it read somewhere slower keeps one chunk's worth in memory.
   */
  async forEachLine(onLine: LineHandler, afterChunk?: () => Promise<void>): Promise<void> {
    let buf: Buffer = Buffer.allocUnsafe(this.chunkBytes);
    let filled = 0; // bytes in buf: the start of an unfinished line, then what the last read brought
    let bufOffset = 0; // file offset of buf[0]
    for (;;) {
      if (filled === buf.length) buf = grown(buf);
      const { bytesRead } = await this.handle.read(buf, filled, buf.length - filled, bufOffset + filled);
      if (bytesRead === 0) break;
      const end = filled + bytesRead;
      let start = 0;
      for (let newline = buf.indexOf(0x0a, filled); newline !== -1 && newline < end; newline = buf.indexOf(0x0a, start)) {
        onLine(buf, start, newline, bufOffset + start, false);
        start = newline + 1;
      }
      // The unfinished line moves to the front for the next read.
      buf.copy(buf, 0, start, end);
      filled = end - start;
      bufOffset += start;
      if (afterChunk) await afterChunk();
    }
    if (filled > 0) onLine(buf, 0, filled, bufOffset, true);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

function grown(buf: Buffer): Buffer {
  const bigger = Buffer.allocUnsafe(2 * buf.length);
  buf.copy(bigger);
  return bigger;
}
