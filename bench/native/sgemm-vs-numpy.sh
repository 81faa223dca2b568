#!/usr/bin/env bash
# SGEMM: nabla's native backend against numpy/OpenBLAS in the same sitting, 1 and 2 threads,
# alternating the two systems (twice each) so machine drift hits both. Prints a ratio table.
#
# OpenBLAS 0.3.21 (Debian) does not recognise Sapphire Rapids and falls back to its "Prescott"
# (SSE3) kernels, ~5x slower; OPENBLAS_CORETYPE=SkylakeX selects its AVX-512 kernels, which is the
# peer we compare against (the auto-detected figure is printed too, for reference).
# Usage: bench/native/sgemm-vs-numpy.sh     (from the repository root; needs /usr/bin/python3 + numpy)
set -euo pipefail
cd "$(dirname "$0")/../.."
NUMPY=/work/shared/bench/numpy_sgemm.py
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for t in 1 2; do
  for round in 1 2; do
    OPENBLAS_CORETYPE=SkylakeX OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$NUMPY" "t$t" >>"$tmp/numpy$t"
    NABLA_NUM_THREADS=$t npx tsx bench/native/sgemm.ts >>"$tmp/nabla$t"
  done
  OPENBLAS_NUM_THREADS=$t /usr/bin/python3 "$NUMPY" "t$t" >>"$tmp/numpy_auto$t"
done
node - "$tmp" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
const load = (f) => fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const best = (runs, w, key) => Math.max(...runs.map((r) => r.results.find((x) => x.workload === w)[key]));
console.log("| threads | size | nabla median | nabla best | OpenBLAS(SkylakeX) median | best | ratio (median) | OpenBLAS auto-detected median |");
console.log("|---|---|---|---|---|---|---|---|");
for (const t of [1, 2]) {
  const nb = load(`nabla${t}`), np = load(`numpy${t}`), auto = load(`numpy_auto${t}`);
  for (const w of ["sgemm256", "sgemm1024"]) {
    const a = best(nb, w, "median"), b = best(np, w, "median");
    console.log(`| ${t} | ${w} | ${a.toFixed(1)} | ${best(nb, w, "best").toFixed(1)} | ${b.toFixed(1)} | ${best(np, w, "best").toFixed(1)} | ${(a / b).toFixed(2)} | ${best(auto, w, "median").toFixed(1)} (${auto[0].openblas_core}) |`);
  }
}
console.log(`isa: ${load("nabla1")[0].isa}, tile ${load("nabla1")[0].tile}; GFLOP/s, best-of-2-runs of the median of 9 blocks`);
JS
