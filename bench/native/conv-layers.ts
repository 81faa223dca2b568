// Native conv2d forward / backward-input / backward-weight on every distinct layer shape of
// fmnist-cnn and resnet20 (batch 64 unless given), best of a few ~0.15 s blocks. One line per
// layer: ms per call and GFLOP/s. NABLA_CONV_DIRECT=0 forces the GEMM paths for comparison.
// Usage: NABLA_NUM_THREADS=2 npx tsx bench/native/conv-layers.ts [name prefix|all] [batch]
import type { Conv2dParams } from "../../src/backend/backend.js";
import { loadNativeBackend } from "../../src/backend/native/index.js";
import { timeIt } from "./timing.js";

const be = loadNativeBackend();
if (!be) process.exit(1);
const k = be.kernels;
const only = process.argv[2] ?? "all";
const n = Number(process.argv[3] ?? 64);
// name, in channels, out channels, input side, kernel, stride
const layers: [string, number, number, number, number, number][] = [
  ["fmnist-conv1 1→32 28²", 1, 32, 28, 3, 1],
  ["fmnist-conv2 32→64 14²", 32, 64, 14, 3, 1],
  ["resnet-stem 3→16 32²", 3, 16, 32, 3, 1],
  ["resnet-c16 16→16 32²", 16, 16, 32, 3, 1],
  ["resnet-c32 32→32 16²", 32, 32, 16, 3, 1],
  ["resnet-c64 64→64 8²", 64, 64, 8, 3, 1],
  ["resnet-s2a 16→32 s2", 16, 32, 32, 3, 2],
  ["resnet-s2b 32→64 s2", 32, 64, 16, 3, 2],
  ["resnet-short 16→32 1×1 s2", 16, 32, 32, 1, 2],
  // A larger stride-2 layer (64² input), where one image is worth splitting between threads.
  ["wide-s2 32→64 64² s2", 32, 64, 64, 3, 2],
];
const rnd = (len: number) => new Float32Array(len).map(() => Math.random() - 0.5);
for (const [name, c, o, hw, kk, s] of layers) {
  if (only !== "all" && !name.startsWith(only)) continue;
  const pad = (kk - 1) / 2;
  const oh = Math.floor((hw + 2 * pad - kk) / s) + 1;
  const p: Conv2dParams = {
    n,
    c,
    h: hw,
    w: hw,
    o,
    kh: kk,
    kw: kk,
    strideH: s,
    strideW: s,
    padH: pad,
    padW: pad,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outH: oh,
    outW: oh,
  };
  const x = rnd(n * c * hw * hw);
  const w = rnd(o * c * kk * kk);
  const y = new Float32Array(n * o * oh * oh);
  const gy = rnd(y.length);
  const gx = new Float32Array(x.length);
  const gw = new Float32Array(w.length);
  const opts = { warmS: 0.2, blockS: 0.15, reps: 5 };
  const gflop = (2 * n * o * oh * oh * c * kk * kk) / 1e9;
  const cell = (f: () => void) => {
    const t = timeIt(f, opts).best;
    return `${(t * 1e3).toFixed(3)} ms ${(gflop / t).toFixed(0)} GF/s`;
  };
  const f = cell(() => k.conv2d!(x, w, p, y));
  const bi = cell(() => k.conv2dBackwardInput!(gy, w, p, gx));
  const bw = cell(() => k.conv2dBackwardWeight!(x, gy, p, gw));
  console.log(`${name.padEnd(27)} fwd ${f} | bwd-input ${bi} | bwd-weight ${bw}`);
}
