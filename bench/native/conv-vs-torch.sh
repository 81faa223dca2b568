#!/usr/bin/env bash
# conv2d (fmnist-cnn layers, batch 64): nabla native vs PyTorch, 2 threads, same sitting,
# alternating twice. Prints a table of ms per call (best-of-2 of the per-run medians) and ratios.
# Usage: bench/native/conv-vs-torch.sh [threads]    (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
T=${1:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for round in 1 2; do
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/native/conv_torch.py "$T" >>"$tmp/torch"
  NABLA_NUM_THREADS=$T npx tsx bench/native/conv.ts >>"$tmp/nabla"
done
node - "$tmp" <<'JS'
const fs = require("fs");
const dir = process.argv[2];
const load = (f) => fs.readFileSync(`${dir}/${f}`, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const nb = load("nabla"), th = load("torch");
const ms = (runs, l, p) => Math.min(...runs.map((r) => r.results.find((x) => x.layer === l && x.pass === p).median_ms));
console.log(`| layer | pass | nabla ms | torch ${th[0].version} ms | torch/nabla (>1: nabla faster) | nabla GFLOP/s |`);
console.log("|---|---|---|---|---|---|");
for (const l of ["conv1", "conv2"]) for (const p of ["forward", "backward_input", "backward_weight"]) {
  const a = ms(nb, l, p), b = ms(th, l, p);
  const g = nb[0].results.find((x) => x.layer === l && x.pass === p);
  console.log(`| ${l} | ${p} | ${a.toFixed(3)} | ${b.toFixed(3)} | ${(b / a).toFixed(2)} | ${(g.gflops * g.median_ms / a).toFixed(1)} |`);
}
console.log(`threads ${nb[0].threads}, isa ${nb[0].isa}`);
JS
