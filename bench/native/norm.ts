// Native batch-norm kernels on fmnist-cnn's two BN layers (batch 64), warm caches, median of five
// ~0.2 s blocks: statistics, affine (+ReLU), backward, backward through a ReLU, the separate ReLU
// backward it replaces, and a plain copy of the same bytes for scale. One line per layer, in ms.
// Usage: NABLA_NUM_THREADS=1 npx tsx bench/native/norm.ts
import { loadNativeBackend } from "../../src/backend/native/index.js";
import { timeIt } from "./timing.js";

const be = loadNativeBackend();
if (!be) process.exit(1);
const k = be.kernels;
const rnd = (n: number) => new Float32Array(n).map(() => Math.random() - 0.5);
for (const [n, c, inner] of [
  [64, 32, 784],
  [64, 64, 196],
] as const) {
  const len = n * c * inner;
  const [x, g, reluOut] = [rnd(len), rnd(len), rnd(len)];
  const out = new Float32Array(len);
  const [mean, variance, weight] = [rnd(c), new Float32Array(c), rnd(c)];
  const invstd = new Float32Array(c).fill(1);
  const [gw, gb] = [new Float32Array(c), new Float32Array(c)];
  const ms = (f: () => void) => (timeIt(f, { warmS: 0.3, blockS: 0.2, reps: 5 }).median * 1e3).toFixed(3);
  const row = {
    stats: ms(() => k.batchNormStats!(x, n, c, inner, mean, variance)),
    affineRelu: ms(() => k.channelAffine!(x, n, c, inner, weight, mean, true, out)),
    backward: ms(() => k.batchNormBackward!(x, g, n, c, inner, mean, invstd, weight, out, gw, gb, null)),
    backwardThroughRelu: ms(() =>
      k.batchNormBackward!(x, g, n, c, inner, mean, invstd, weight, out, gw, gb, reluOut),
    ),
    reluBackward: ms(() => k.reluBackward!(g, reluOut, out)),
    copy: ms(() => out.set(x)),
  };
  console.log(`[${n}, ${c}, ${inner}] (${((len * 4) / 1e6).toFixed(1)} MB)`, JSON.stringify(row));
}
