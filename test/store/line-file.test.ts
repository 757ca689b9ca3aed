import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineFile } from '../../src/store/line-file.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mysqlda-lines-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Line {
  text: string;
  offset: number;
  torn: boolean;
}

async function linesOf(content: string | Buffer, chunkBytes: number): Promise<Line[]> {
  const path = join(dir, `f-${Math.random()}`);
  await writeFile(path, content);
  const file = await LineFile.open(path, chunkBytes);
  const lines: Line[] = [];
  try {
    await file.forEachLine((buf, start, end, offset, torn) => lines.push({ text: buf.toString('utf8', start, end), offset, torn }));
  } finally {
    await file.close();
  }
  return lines;
}

/** The lines and offsets a plain split gives, to compare with what the chunked reader saw. */
function expected(content: string): Line[] {
  const lines: Line[] = [];
  let offset = 0;
  const parts = content.split('\n');
  parts.forEach((text, i) => {
    const last = i === parts.length - 1;
    if (last && text === '') return;
    lines.push({ text, offset, torn: last });
    offset += Buffer.byteLength(text) + 1;
  });
  return lines;
}

describe('LineFile', () => {
  const content = 'alpha\nbeta\n\ngamma delta\n' + 'x'.repeat(40) + '\nomega';

  it('gives every line with its file offset, whatever the chunk size, a long line growing the buffer', async () => {
    for (const chunkBytes of [1, 2, 3, 5, 7, 16, 64, 1 << 20]) {
      expect(await linesOf(content, chunkBytes)).toEqual(expected(content));
    }
  });

  it('marks only a last line without a newline as torn', async () => {
    expect(await linesOf('a\nb\n', 4)).toEqual([
      { text: 'a', offset: 0, torn: false },
      { text: 'b', offset: 2, torn: false },
    ]);
    expect(await linesOf('a\nb', 4)).toEqual([
      { text: 'a', offset: 0, torn: false },
      { text: 'b', offset: 2, torn: true },
    ]);
  });

  it('reads an empty file as no lines, and a lone newline as one empty line', async () => {
    expect(await linesOf('', 8)).toEqual([]);
    expect(await linesOf('\n', 8)).toEqual([{ text: '', offset: 0, torn: false }]);
  });

  it('keeps multi-byte characters whole across chunk edges', async () => {
    const text = '张三 李四\nZoë 😀\n';
    for (const chunkBytes of [1, 2, 3, 4, 5]) expect(await linesOf(text, chunkBytes)).toEqual(expected(text));
  });

  it('reports the size the file had when opened', async () => {
    const path = join(dir, 'sized');
    await writeFile(path, 'abc\n');
    const file = await LineFile.open(path);
    expect(file.size).toBe(4);
    await file.close();
  });

  it('rejects a file that cannot be opened', async () => {
    await expect(LineFile.open(join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});
