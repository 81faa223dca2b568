// The linear layers' products (x · Wᵀ, W stored out×in as nn.Linear keeps it): fmnist-cnn's
// 3136→128 at batch 1 (the one-row AVX-512 kernels of gemv_avx512.cpp), 64 (training) and 256
// (inference), and 128→10. Best of five ~0.2 s blocks, ms per call and GFLOP/s.
// Usage: NABLA_NUM_THREADS=2 npx tsx bench/native/linear.ts
import { loadNativeBackend } from "../../src/backend/native/index.js";
import { timeIt } from "./timing.js";

const be = loadNativeBackend();
if (!be) process.exit(1);
const rnd = (len: number) => new Float32Array(len).map(() => Math.random() - 0.5);
const shapes: [number, number, number][] = [
  [1, 3136, 128],
  [64, 3136, 128],
  [256, 3136, 128],
  [1, 128, 10],
  [256, 128, 10],
];
for (const [m, k, n] of shapes) {
  const [a, w, c] = [rnd(m * k), rnd(n * k), new Float32Array(m * n)];
  const t = timeIt(() => be.kernels.matmul!(a, w, c, 1, m, k, n, 0, 0, false, true), {
    warmS: 0.3,
    blockS: 0.2,
    reps: 5,
  }).best;
  const label = `${m}×${k} · (${n}×${k})ᵀ`.padEnd(24);
  console.log(`${label} ${(t * 1e3).toFixed(3)} ms ${((2 * m * n * k) / t / 1e9).toFixed(0)} GFLOP/s`);
}
