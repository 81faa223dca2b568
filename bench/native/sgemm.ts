// Native SGEMM throughput, same workload and timing as /work/shared/bench/numpy_sgemm.py:
// row-major n×n×n float32, n = 256 and 1024, GFLOP/s = 2n³/t. Prints one JSON line.
// Threads come from NABLA_NUM_THREADS (the pool size is fixed when the addon loads).
// Usage: NABLA_NUM_THREADS=2 npx tsx bench/native/sgemm.ts [n ...]
import { nativeAddon } from "../../src/backend/native/index.js";
import { timeIt } from "./timing.js";

const lib = nativeAddon();
if (!lib) {
  console.error("native addon unavailable; build it with `npm run install`");
  process.exit(1);
}
if (process.env["NABLA_GEMM_ISA"]) lib.selectIsa(process.env["NABLA_GEMM_ISA"]);
const sizes = process.argv.slice(2).map(Number);
const info = lib.info();
const out = {
  system: "nabla-native",
  isa: info.isa,
  threads: info.threads,
  tile: info.gemmTile,
  results: [] as object[],
};
for (const n of sizes.length ? sizes : [256, 1024]) {
  const a = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const b = new Float32Array(n * n).map(() => Math.random() - 0.5);
  const c = new Float32Array(n * n);
  const t = timeIt(() => lib.matmul(a, b, c, 1, n, n, n, 0, 0, false, false));
  const fl = 2 * n ** 3;
  out.results.push({
    workload: `sgemm${n}`,
    median: fl / t.median / 1e9,
    best: fl / t.best / 1e9,
    unit: "GFLOP/s",
  });
}
console.log(JSON.stringify(out));
