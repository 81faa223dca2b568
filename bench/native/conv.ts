// Native conv2d forward / backward-input / backward-weight on the fmnist-cnn layers (batch 64):
// conv1 1→32 28×28 k3 p1 and conv2 32→64 14×14 k3 p1. Prints one JSON line (ms per call).
// Usage: NABLA_NUM_THREADS=2 npx tsx bench/native/conv.ts
import type { Conv2dParams } from "../../src/backend/backend.js";
import { loadNativeBackend, nativeInfo } from "../../src/backend/native/index.js";
import { timeIt } from "./timing.js";

const be = loadNativeBackend();
if (!be) process.exit(1);
const k = be.kernels;
const layers: [string, number, number, number][] = [
  ["conv1", 1, 32, 28],
  ["conv2", 32, 64, 14],
];
const rnd = (n: number) => new Float32Array(n).map(() => Math.random() - 0.5);
const out = { system: "nabla-native", ...nativeInfo(), results: [] as object[] };
for (const [name, c, o, hw] of layers) {
  const n = 64;
  const p: Conv2dParams = {
    n,
    c,
    h: hw,
    w: hw,
    o,
    kh: 3,
    kw: 3,
    strideH: 1,
    strideW: 1,
    padH: 1,
    padW: 1,
    dilationH: 1,
    dilationW: 1,
    groups: 1,
    outH: hw,
    outW: hw,
  };
  const x = rnd(n * c * hw * hw);
  const w = rnd(o * c * 9);
  const y = new Float32Array(n * o * hw * hw);
  const gy = rnd(y.length);
  const gx = new Float32Array(x.length);
  const gw = new Float32Array(w.length);
  const opts = { warmS: 0.5, blockS: 0.25, reps: 7 };
  const fwd = timeIt(() => k.conv2d!(x, w, p, y), opts);
  const bi = timeIt(() => k.conv2dBackwardInput!(gy, w, p, gx), opts);
  const bw = timeIt(() => k.conv2dBackwardWeight!(x, gy, p, gw), opts);
  const gflop = (2 * n * o * hw * hw * c * 9) / 1e9;
  for (const [pass, t] of [
    ["forward", fwd],
    ["backward_input", bi],
    ["backward_weight", bw],
  ] as const) {
    out.results.push({
      layer: name,
      pass,
      median_ms: t.median * 1e3,
      best_ms: t.best * 1e3,
      gflops: gflop / t.median,
    });
  }
}
console.log(JSON.stringify(out));
