/**
 * Linux perf on the proxy process: where its CPU goes including the kernel and Node's own C++ (libuv, streams,
 * ArrayBuffers), which `node --cpu-prof` cannot see: V8's sampler charges a whole write(2), kernel loopback
 * delivery included, to the JavaScript frame that called it. The proxy runs with --perf-basic-prof so that perf
 * names JIT-compiled functions (`JS:*pump file:///…/dist/session/client-session.js:373:9`).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PERF_NODE_FLAGS = ['--perf-basic-prof'];

export interface PerfShare {
  /** Shared object: [kernel.kallsyms], node, libc.so.6, [JIT] tid N. */
  dso: string;
  symbol: string;
  /** Share of the process's samples (all threads). */
  percent: number;
}

export interface PerfSummary {
  byDso: { dso: string; percent: number }[];
  /** Self time, most expensive first. */
  topSelf: PerfShare[];
  /** Inclusive time of JavaScript functions (callees, kernel included). */
  jsInclusive: PerfShare[];
}

/** Starts `perf record` on `pid` for `seconds`; resolves when perf has written `file`. */
export function recordPerf(pid: number, seconds: number, file: string): { done: Promise<void>; child: ChildProcess } {
  const child = spawn('perf', ['record', '-e', 'cpu-clock', '-F', '1999', '-g', '-p', String(pid), '-o', file, '--', 'sleep', String(seconds)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const done = once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`perf record exited with ${code}: ${stderr.trim()} (Debian: apt-get install -y linux-perf)`);
  });
  return { done, child };
}

/** `  12.34%  [kernel.kallsyms]  [k] tcp_sendmsg` and, with --children, `  57.24%  1.38%  [.] JS:*writeOrBuffer …`. */
const SELF_LINE = /^\s*([\d.]+)%\s+(\[JIT\] tid \d+|\[[^\]]+\]|\S+)\s+\[[.k]\]\s+(.+?)\s*$/;
const DSO_LINE = /^\s*([\d.]+)%\s+(.+?)\s*$/;
const CHILDREN_LINE = /^\s*([\d.]+)%\s+[\d.]+%\s+\[[.k]\]\s+(.+?)\s*$/;

async function report(file: string, args: string[]): Promise<string[]> {
  const { stdout } = await run('perf', ['report', '-i', file, '--stdio', '-g', 'none', ...args], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'));
}

export function jitDso(dso: string): boolean {
  return dso.startsWith('[JIT]');
}

export async function summarizePerf(file: string, top = 40): Promise<PerfSummary> {
  const byDso = (await report(file, ['--no-children', '--sort', 'dso']))
    .map((line) => DSO_LINE.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ dso: match[2], percent: Number(match[1]) }));
  const topSelf = (await report(file, ['--no-children', '--sort', 'dso,sym']))
    .map((line) => SELF_LINE.exec(line))
    .filter((match) => match !== null)
    .map((match) => ({ dso: match[2], symbol: match[3], percent: Number(match[1]) }))
    .slice(0, top);
  const jsInclusive = (await report(file, ['--children', '--sort', 'sym']))
    .map((line) => CHILDREN_LINE.exec(line))
    .filter((match) => match !== null && match[2].startsWith('JS:'))
    .map((match) => ({ dso: '[JIT]', symbol: match![2], percent: Number(match![1]) }))
    .slice(0, top);
  return { byDso, topSelf, jsInclusive };
}
