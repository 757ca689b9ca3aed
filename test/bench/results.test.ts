import { describe, expect, it } from 'vitest';
import { judge } from '../../bench/src/results.js';

describe('a target verdict', () => {
  it('is goal, bar or fail for a figure where higher is better', () => {
    expect(judge(1.02, 0.8, 1.0, 'higher')).toBe('goal');
    expect(judge(0.8, 0.8, 1.0, 'higher')).toBe('bar');
    expect(judge(0.79, 0.8, 1.0, 'higher')).toBe('fail');
  });

  it('is goal, bar or fail for a figure where lower is better', () => {
    expect(judge(40, 100, 50, 'lower')).toBe('goal');
    expect(judge(100, 100, 50, 'lower')).toBe('bar');
    expect(judge(101, 100, 50, 'lower')).toBe('fail');
  });
});
