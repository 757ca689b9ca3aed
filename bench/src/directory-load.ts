/**
 * Start-up of the proxy with a large directory: a mysqlda.save of N lines in mysqlda's format
 * (`YYYY-MM-DD HH:MM:SS <key> <library>`), timed from spawning the process to its port accepting connections,
 * with its RSS at that moment and its peak RSS (VmHWM) while loading.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { peakRssBytes, rssBytes } from './proc-stats.js';
import type { Stage } from './stage.js';
import { median } from './stats.js';

export interface StartFigures {
  /** Spawn to first accepted connection: Node's own start-up, loading the directory, probing the server, listening. */
  startSeconds: number;
  rssBytes: number;
  peakRssBytes: number;
}

export interface DirectoryLoad {
  keys: number;
  saveFileBytes: number;
  /** The same start with an empty directory, for scale. */
  empty: StartFigures;
  loaded: StartFigures;
  runs: { empty: StartFigures; loaded: StartFigures }[];
}

const LINES_PER_WRITE = 10_000;

/** Writes `keys` core records, all on `library`, and returns the file's size. */
export async function writeSaveFile(path: string, keys: number, library: string): Promise<number> {
  const out = createWriteStream(path);
  let bytes = 0;
  for (let start = 0; start < keys; start += LINES_PER_WRITE) {
    let chunk = '';
    for (let i = start; i < Math.min(keys, start + LINES_PER_WRITE); i++) chunk += `2026-01-01 00:00:00 customer${i} ${library}\n`;
    bytes += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return bytes;
}

async function timedStart(stage: Stage, name: string, saveDir: string): Promise<StartFigures> {
  const proxy = await stage.startProxy(name, { saveDir });
  try {
    return {
      startSeconds: proxy.process.startMs / 1000,
      rssBytes: rssBytes(proxy.process.pid),
      peakRssBytes: peakRssBytes(proxy.process.pid),
    };
  } finally {
    await stage.stopProxy(proxy.process);
  }
}

export async function measureDirectoryLoad(stage: Stage, keys: number, repetitions: number): Promise<DirectoryLoad> {
  const loadedDir = join(stage.dir, 'directory-load');
  const emptyDir = join(stage.dir, 'directory-empty');
  await mkdir(loadedDir, { recursive: true, mode: 0o700 });
  await mkdir(emptyDir, { recursive: true, mode: 0o700 });
  const saveFileBytes = await writeSaveFile(join(loadedDir, 'mysqlda.save'), keys, stage.sandbox.libraries[0].name);
  const runs: DirectoryLoad['runs'] = [];
  for (let repetition = 0; repetition < repetitions; repetition++) {
    const empty = await timedStart(stage, 'start-empty', emptyDir);
    const loaded = await timedStart(stage, 'start-loaded', loadedDir);
    runs.push({ empty, loaded });
  }
  const medianOf = (pick: (run: DirectoryLoad['runs'][number]) => StartFigures): StartFigures => ({
    startSeconds: median(runs.map((run) => pick(run).startSeconds)),
    rssBytes: median(runs.map((run) => pick(run).rssBytes)),
    peakRssBytes: median(runs.map((run) => pick(run).peakRssBytes)),
  });
  return { keys, saveFileBytes, empty: medianOf((run) => run.empty), loaded: medianOf((run) => run.loaded), runs };
}
