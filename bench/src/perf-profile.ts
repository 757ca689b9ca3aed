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
  /** What each sample was doing, judged from its whole stack (see CATEGORIES). */
  byCategory: { category: string; percent: number }[];
  /** Each sample charged to the innermost mysqlda function on its stack, with the native and kernel work below it. */
  byMysqldaFunction: { fn: string; percent: number }[];
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

/** A sample of `perf script`: its frames, innermost first, as `symbol (dso)` lines. */
interface Sample {
  symbols: string[];
  leafDso: string;
}

function parseScript(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const block of text.split('\n\n')) {
    const frames = block.split('\n').slice(1).map((line) => line.trim()).filter(Boolean);
    if (frames.length === 0) continue;
    // "7f5a3c2b1a00 JS:*pump file:///…/client-session.js:430:9+0x1c (/tmp/perf-123.map)"
    const symbols = frames.map((frame) => frame.replace(/^[0-9a-f]+\s+/, '').replace(/\s+\([^)]*\)$/, ''));
    const leafDso = /\(([^)]*)\)$/.exec(frames[0])?.[1] ?? '';
    samples.push({ symbols, leafDso });
  }
  return samples;
}

const has = (symbols: readonly string[], needles: readonly string[]) => symbols.some((symbol) => needles.some((needle) => symbol.includes(needle)));

/** Ordered: the first that matches a sample's stack takes it. */
const CATEGORIES: { name: string; matches: (sample: Sample) => boolean }[] = [
  { name: 'V8 compiling (JIT, lazy compilation)', matches: (s) => has(s.symbols, ['compiler::', 'Compiler::', 'Maglev', 'CompileLazy', 'Parser::']) },
  { name: 'garbage collection', matches: (s) => has(s.symbols, ['ConcurrentMarking', 'Scavenge', 'MarkCompact', 'Heap::CollectGarbage', 'Sweeper', 'IncrementalMarking']) },
  { name: 'kernel: write(2), loopback TCP delivery to the reader included', matches: (s) => s.leafDso.includes('kernel') && has(s.symbols, ['ksys_write', '__libc_write', 'do_writev']) },
  { name: 'kernel: read(2)', matches: (s) => s.leafDso.includes('kernel') && has(s.symbols, ['ksys_read', 'sock_read_iter']) },
  { name: 'kernel: epoll', matches: (s) => s.leafDso.includes('kernel') && has(s.symbols, ['epoll']) },
  { name: 'kernel: other (accept, connect, close, scheduler)', matches: (s) => s.leafDso.includes('kernel') },
  { name: 'JavaScript: mysqlda (dist/)', matches: (s) => s.symbols[0].startsWith('JS:') && s.symbols[0].includes('/dist/') },
  { name: 'JavaScript: Node internals (streams, events, nextTick)', matches: (s) => s.symbols[0].startsWith('JS:') },
  {
    name: 'native: buffer allocation and free (a fresh ArrayBuffer per socket read)',
    matches: (s) => has(s.symbols, ['allocate_managed_buffer', 'BackingStore', 'NewJSArrayBuffer', 'CreateTypedArray', 'malloc', '_int_free', 'cfree']),
  },
  { name: 'native: V8 builtins (property-access ICs, calls, write barrier)', matches: (s) => s.symbols[0].startsWith('Builtins_') },
  { name: 'native: Node, libuv, V8 runtime and libc', matches: () => true },
];

function categorize(samples: readonly Sample[], top: number): Pick<PerfSummary, 'byCategory' | 'byMysqldaFunction'> {
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const sample of samples) {
    const category = CATEGORIES.find((c) => c.matches(sample))!.name;
    categories.set(category, (categories.get(category) ?? 0) + 1);
    const ours = sample.symbols.find((symbol) => symbol.startsWith('JS:') && symbol.includes('/dist/'));
    const match = ours && /^JS:[*^~]?(\S*) file:\/\/\S*?\/dist\/(\S+?):(\d+):\d+/.exec(ours);
    const fn = match ? `${match[1] || '(anonymous)'} (dist/${match[2]}:${match[3]})` : '(no mysqlda function on the stack)';
    functions.set(fn, (functions.get(fn) ?? 0) + 1);
  }
  const percentOf = (count: number) => (count / samples.length) * 100;
  const sorted = <K extends string>(map: Map<string, number>, key: K) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([name, count]) => ({ [key]: name, percent: percentOf(count) }) as Record<K, string> & { percent: number });
  return { byCategory: sorted(categories, 'category'), byMysqldaFunction: sorted(functions, 'fn').slice(0, top) };
}

export async function summarizePerf(file: string, top = 40): Promise<PerfSummary> {
  const { stdout: script } = await run('perf', ['script', '-i', file], { maxBuffer: 1 << 30 });
  const { byCategory, byMysqldaFunction } = categorize(parseScript(script), top);
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
  return { byCategory, byMysqldaFunction, byDso, topSelf, jsInclusive };
}
