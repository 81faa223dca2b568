// Deriving independent random streams from one user seed. The DataLoader needs one permutation
// per epoch and one augmentation stream per batch; deriving each from (seed, epoch, batch) by
// hashing — instead of drawing them one after another from a single generator — makes any
// epoch or batch reproducible on its own: a resumed run, or a worker thread that happens to
// process batch 17, gets exactly the numbers an uninterrupted single-threaded run would.
import { Generator } from "../tensor/random.js";

/** Stream tags, so the shuffle and augmentation streams of the same (seed, epoch) differ. */
export const STREAM_SHUFFLE = 1;
export const STREAM_AUGMENT = 2;

function mix32(h: number, v: number): number {
  // murmur3-style combine of one 32-bit word into the hash.
  let k = Math.imul(v >>> 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) >>> 0;
}

function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A 53-bit seed derived from a user seed (any safe integer) and a few non-negative integers. */
export function deriveSeed(seed: number, ...parts: number[]): number {
  const words = [seed >>> 0, Math.floor(seed / 2 ** 32) >>> 0, ...parts.map((p) => p >>> 0)];
  let a = 0x9747b28c;
  let b = 0x2545f491;
  for (const w of words) {
    a = mix32(a, w);
    b = mix32(b, w ^ 0x5bd1e995);
  }
  return (finalize(a) & 0x1fffff) * 2 ** 32 + finalize(b);
}

/** A fresh generator for (seed, parts...). */
export function derivedGenerator(seed: number, ...parts: number[]): Generator {
  return new Generator(deriveSeed(seed, ...parts));
}
