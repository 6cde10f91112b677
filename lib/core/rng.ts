/**
 * Seeded random numbers. Every random choice in lib/ flows from one seed through `createRng` and
 * `deriveSeed`; `Math.random` is never used (a test greps for it).
 *
 * Generator: sfc32 (Chris Doty-Humphrey's Small Fast Counter, as in PractRand), seeded through
 * splitmix32 so that nearby seeds give unrelated streams.
 */
import { createHash } from "crypto";

/** An independent stream of random numbers. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Fisher-Yates shuffle of a copy of `items`. */
  shuffle<T>(items: readonly T[]): T[];
  /** The seed this stream was created from. */
  readonly seed: number;
}

function splitmix32(a: number): () => number {
  return () => {
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

/** Create a seeded random stream. The same seed always gives the same sequence. */
export function createRng(seed: number): Rng {
  if (!Number.isInteger(seed)) throw new RangeError(`createRng: seed must be an integer, got ${seed}`);
  const init = splitmix32(seed >>> 0);
  let a = init(), b = init(), c = init(), d = init();
  const next32 = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    const r = (t + d) | 0;
    c = (c + r) | 0;
    return r >>> 0;
  };
  for (let i = 0; i < 12; i++) next32(); // discard the warm-up outputs
  const rng: Rng = {
    seed,
    next: () => next32() / 4294967296,
    int: (n: number) => {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`rng.int: n must be a positive integer, got ${n}`);
      return Math.floor((next32() / 4294967296) * n);
    },
    shuffle<T>(items: readonly T[]): T[] {
      const out = items.slice();
      for (let i = out.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const tmp = out[i];
        out[i] = out[j];
        out[j] = tmp;
      }
      return out;
    },
  };
  return rng;
}

/** Derive a per-purpose seed, e.g. `deriveSeed(seed, "bootstrap/ndcg@10")`: stable across runs and platforms. */
export function deriveSeed(seed: number, purpose: string): number {
  const h = createHash("sha256").update(`${seed}\u0000${purpose}`).digest();
  return h.readUInt32LE(0) & 0x7fffffff;
}
