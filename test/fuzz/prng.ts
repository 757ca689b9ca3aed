/**
 * A small deterministic PRNG for the fuzz generators (mulberry32 over a splitmix-style seed mix). Each case has
 * its own stream, derived from the run's seed and the case index, so any one case can be generated again alone.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The stream of case `index` of a run with `seed`. */
  static forCase(seed: number, index: number): Prng {
    return new Prng(mix32((seed >>> 0) ^ mix32(index + 0x9e3779b9)));
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [min, max]. */
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    const total = choices.reduce((sum, [weight]) => sum + weight, 0);
    let r = this.int(total);
    for (const [weight, value] of choices) {
      if (r < weight) return value;
      r -= weight;
    }
    return choices[choices.length - 1][1];
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.u32();
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }

  /** A length skewed towards small values: most fuzz bugs sit at 0, 1 and the edges of length fields. */
  length(max: number): number {
    const edges = [0, 1, 2, 3, 4, 250, 251, 252, 253, 255, 256, 0xffff, 0x10000];
    if (this.chance(0.15)) return Math.min(max, this.pick(edges));
    return this.int(Math.min(max, this.chance(0.8) ? 64 : max) + 1);
  }
}

function mix32(x: number): number {
  let z = x >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
