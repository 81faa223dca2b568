// The compression figures of BENCHMARKS.md on a trained fmnist-cnn checkpoint: int8 PTQ,
// 50% channel pruning + fine-tuning, and both combined, each against the float32 original in the
// same process (same backend, same load).
//
//   npx tsx bench/compress/fmnist.ts runs/fmnist [outDir] [finetuneEpochs] [kd|-] [finetuneLr]
//     [batchSize]
// With "kd", the pruned models are fine-tuned with knowledge distillation from the original.
import { join } from "node:path";
import { initBackend } from "../../src/cli/backend.js";
import { compress, type CompressOptions, type CompressReport } from "../../src/compress/pipeline.js";
import { formatReport } from "../../src/compress/report.js";

const [checkpoint, outDir = "runs/compress-bench", epochs = "3", kd, lr = "0.01", batch = "64"] =
  process.argv.slice(2);
if (!checkpoint) {
  console.error("usage: npx tsx bench/compress/fmnist.ts <checkpoint> [outDir] [finetuneEpochs]");
  process.exit(2);
}
initBackend();
const finetune = Number(epochs);
const prune: Partial<CompressOptions> = {
  pruneChannels: 0.5,
  finetune,
  lr: Number(lr),
  batchSize: Number(batch),
  ...(kd === "kd" ? { distillFrom: checkpoint } : {}),
};
// Three recipes: int8 alone; 50% of the conv channels pruned (hidden Linear units kept: the
// accuracy check); 50% of every prunable layer pruned, then int8 (the size check).
const runs: [string, Partial<CompressOptions>][] = [
  ["int8", { quantize: "int8", calib: 512 }],
  ["prune50", { ...prune, pruneLinear: false }],
  ["prune50-all-int8", { ...prune, pruneLinear: true, quantize: "int8", calib: 512 }],
];
const results: Record<string, CompressReport> = {};
for (const [name, opts] of runs) {
  const report = await compress({
    checkpoint,
    latencyRuns: 200,
    outDir: join(outDir, name),
    log: (l) => console.error(l),
    ...opts,
  });
  results[name] = report;
  console.log(`\n## ${name}\n${formatReport(report)}`);
}
const pts = (r: Pick<CompressReport, "before" | "after">) =>
  (100 * (r.after.accuracy - r.before.accuracy)).toFixed(2);
const q = results["int8"]!;
const p = results["prune50"]!;
const pq = results["prune50-all-int8"]!;
console.log(`
checks:
  int8: weights ${(q.before.sizeBytes / q.after.sizeBytes).toFixed(2)}× smaller (≥ 3.9), accuracy ${pts(q)} pts (≥ −0.3), latency ${(q.before.latencyMs! / q.after.latencyMs!).toFixed(2)}× faster (≥ 2)
  prune 50% + ${finetune} epochs: MACs ${((100 * p.after.macs) / p.before.macs).toFixed(1)}% (≤ 30), accuracy ${pts(p)} pts (≥ −0.5)
  prune + int8: ${(pq.before.sizeBytes / pq.after.sizeBytes).toFixed(2)}× smaller on disk (≥ 10), accuracy ${pts(pq)} pts (≥ −1)`);
