/**
 * Reads a V8 CPU profile (`node --cpu-prof`, a .cpuprofile file) into the figures a performance review needs:
 * where the samples fall by function (self and inclusive) and by source file. Pure: the caller reads the file.
 */

export interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface FunctionCost {
  /** `name (file:line)`, file relative to the project when it is the project's. */
  label: string;
  file: string;
  selfSamples: number;
  totalSamples: number;
}

export interface ProfileSummary {
  samples: number;
  /** Samples in (idle): the main thread waiting for I/O. */
  idleSamples: number;
  /** Samples anywhere else: the thread busy (JavaScript, native code, GC, (program)). */
  busySamples: number;
  /** Mean sampling interval, microseconds. */
  intervalMicros: number;
  functions: FunctionCost[];
  /** Self samples per source file (or per pseudo-frame such as (garbage collector)). */
  files: { file: string; selfSamples: number }[];
}

/** `file:///…/dist/session/client-session.js` → `dist/session/client-session.js`; node internals keep `node:`. */
export function shortFile(url: string, projectRoot: string): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice('file://'.length)) : url;
  return path.startsWith(`${projectRoot}/`) ? path.slice(projectRoot.length + 1) : path;
}

export function summarizeProfile(profile: CpuProfile, projectRoot: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfCount = new Map<number, number>();
  for (const id of profile.samples) selfCount.set(id, (selfCount.get(id) ?? 0) + 1);

  const keyOf = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    const file = shortFile(frame.url, projectRoot);
    const name = frame.functionName || '(anonymous)';
    return { key: `${name}\u0000${file}\u0000${frame.lineNumber}`, name, file, line: frame.lineNumber + 1 };
  };

  const functions = new Map<string, FunctionCost>();
  const entry = (id: number) => {
    const { key, name, file, line } = keyOf(id);
    let cost = functions.get(key);
    if (!cost) {
      cost = { label: file ? `${name} (${file}:${line})` : name, file, selfSamples: 0, totalSamples: 0 };
      functions.set(key, cost);
    }
    return { key, cost };
  };

  let idleSamples = 0;
  for (const [id, count] of selfCount) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') idleSamples += count;
    entry(id).cost.selfSamples += count;
    // Inclusive: every distinct function on the sample's stack (recursion counted once).
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { key, cost } = entry(at);
      if (seen.has(key)) continue;
      seen.add(key);
      cost.totalSamples += count;
    }
  }

  const files = new Map<string, number>();
  for (const cost of functions.values()) {
    if (cost.selfSamples === 0) continue;
    const file = cost.file || cost.label;
    files.set(file, (files.get(file) ?? 0) + cost.selfSamples);
  }

  const samples = profile.samples.length;
  return {
    samples,
    idleSamples,
    busySamples: samples - idleSamples,
    intervalMicros: samples > 0 ? (profile.endTime - profile.startTime) / samples : 0,
    functions: [...functions.values()].filter((cost) => cost.label !== '(root)' && cost.label !== '(idle)'),
    files: [...files.entries()].filter(([file]) => file !== '(idle)').map(([file, selfSamples]) => ({ file, selfSamples })),
  };
}
