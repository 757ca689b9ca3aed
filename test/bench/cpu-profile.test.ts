import { describe, expect, it } from 'vitest';
import { shortFile, summarizeProfile, type CpuProfile } from '../../bench/src/cpu-profile.js';

const ROOT = '/work/main';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

/**
 * (root) ─┬─ (idle)
 *         ├─ (garbage collector)
 *         └─ onClientData ── pump ─┬─ writeBuffer
 *                                  └─ pump (recursion) ── split
 */
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(garbage collector)') },
    { id: 4, callFrame: frame('onClientData', `file://${ROOT}/dist/session/client-session.js`, 152), children: [5] },
    { id: 5, callFrame: frame('pump', `file://${ROOT}/dist/session/client-session.js`, 372), children: [6, 7] },
    { id: 6, callFrame: frame('writeBuffer') },
    { id: 7, callFrame: frame('pump', `file://${ROOT}/dist/session/client-session.js`, 372), children: [8] },
    { id: 8, callFrame: frame('split', `file://${ROOT}/dist/protocol/command-splitter.js`, 20) },
  ],
  startTime: 0,
  endTime: 10_000,
  // 2 idle, 1 GC, 4 writeBuffer, 2 split, 1 in pump itself
  samples: [2, 2, 3, 6, 6, 6, 6, 8, 8, 5],
  timeDeltas: [],
};

describe('CPU profile summary', () => {
  const summary = summarizeProfile(PROFILE, ROOT);
  const cost = (label: string) => summary.functions.find((f) => f.label === label)!;

  it('counts idle samples apart from busy ones and derives the sampling interval', () => {
    expect(summary).toMatchObject({ samples: 10, idleSamples: 2, busySamples: 8, intervalMicros: 1000 });
  });

  it('gives each function its own samples and, inclusively, those of its callees', () => {
    expect(cost('writeBuffer')).toMatchObject({ selfSamples: 4, totalSamples: 4 });
    expect(cost('onClientData (dist/session/client-session.js:153)')).toMatchObject({ selfSamples: 0, totalSamples: 7 });
  });

  it('counts a recursive function once per sample', () => {
    expect(cost('pump (dist/session/client-session.js:373)')).toMatchObject({ selfSamples: 1, totalSamples: 7 });
  });

  it('sums self samples per file, pseudo-frames standing for themselves, idle left out', () => {
    const files = Object.fromEntries(summary.files.map((f) => [f.file, f.selfSamples]));
    expect(files).toEqual({ 'dist/session/client-session.js': 1, 'dist/protocol/command-splitter.js': 2, writeBuffer: 4, '(garbage collector)': 1 });
  });

  it('shortens project files to paths relative to the project and keeps node: modules as they are', () => {
    expect(shortFile(`file://${ROOT}/dist/server.js`, ROOT)).toBe('dist/server.js');
    expect(shortFile('node:net', ROOT)).toBe('node:net');
    expect(shortFile('', ROOT)).toBe('');
  });
});
