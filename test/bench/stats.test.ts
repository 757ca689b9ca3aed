import { describe, expect, it } from 'vitest';
import { interleaved, median, medianRecord } from '../../bench/src/stats.js';

describe('median', () => {
  it('is the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow('median of nothing');
  });
});

describe('medianRecord', () => {
  it('takes the median of every numeric field, nested objects field by field', () => {
    const runs = [
      { qps: 100, latency: { p95: 3 }, cpu: 0.5 },
      { qps: 300, latency: { p95: 1 }, cpu: 0.1 },
      { qps: 200, latency: { p95: 2 }, cpu: 0.3 },
    ];
    expect(medianRecord(runs)).toEqual({ qps: 200, latency: { p95: 2 }, cpu: 0.3 });
  });

  it('leaves out a field that some runs lack (the direct path has no forwarder CPU)', () => {
    expect(medianRecord<{ qps: number; cpu?: number }>([{ qps: 1, cpu: 2 }, { qps: 3 }])).toEqual({ qps: 2 });
  });
});

describe('interleaved', () => {
  it('runs the paths in order, then in reverse, alternately', () => {
    expect(interleaved(['A', 'B', 'C'], 0)).toEqual(['A', 'B', 'C']);
    expect(interleaved(['A', 'B', 'C'], 1)).toEqual(['C', 'B', 'A']);
    expect(interleaved(['A', 'B', 'C'], 2)).toEqual(['A', 'B', 'C']);
  });
});
