// The README's demo: train the reference CNN (conv → BN → ReLU → pool, twice, then two fully
// connected layers) on the Fashion-MNIST subset shipped in data/, then test it on images it
// never saw. Runs offline; takes about a minute on the native backend.
//
//   npm run demo                 (or: npx tsx examples/demo.ts --epochs 3)
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { main } from "../src/cli/main.js";

const args = process.argv.slice(2);
const epochsFlag = args.indexOf("--epochs");
const epochs = epochsFlag >= 0 ? (args[epochsFlag + 1] ?? "3") : "3";
const out = join(mkdtempSync(join(tmpdir(), "nabla-demo-")), "run");

console.log(
  "nabla demo: training fmnist-cnn on the shipped Fashion-MNIST subset (6,000 train / 1,000 test images)",
);
const code = await main([
  "train",
  "--model",
  "fmnist-cnn",
  "--data",
  "fashion-mnist-subset",
  "--epochs",
  epochs,
  "--batch-size",
  "64",
  "--lr",
  "0.01",
  "--seed",
  "0",
  "--out",
  out,
]);
if (code === 0) console.log(`plots, checkpoints and log.jsonl are in ${out}`);
process.exitCode = code;
