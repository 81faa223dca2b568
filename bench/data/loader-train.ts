// Do DataLoader worker threads pay while a real model trains? Times `--batches` training steps
// of the reference FmnistCNN (SGD, cross-entropy, batch 64) on Fashion-MNIST with the usual
// augmentation, for numWorkers 0, 1, 2, on whatever backend src/index.ts picks (native when
// its addon is built: its kernels use every core).
//
//   npx tsx bench/data/loader-train.ts [--batches 60] [--repeats 2]
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import * as nb from "../../src/index.js";
import { FmnistCNN } from "../../src/models/fmnist.js";
import { SGD } from "../../src/optim/sgd.js";
import { crossEntropy } from "../../src/nn/losses/functional.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const batches = arg("--batches", 60);
const repeats = arg("--repeats", 2);

const root = "/usr/share/datasets/fashion-mnist";
const dataset = existsSync(root) ? new nb.data.FashionMNIST({ root }) : new nb.data.FashionMNIST({ subset: true });
const T = nb.data.transforms;
const augment = T.compose(T.randomCrop(28, 2), T.randomHorizontalFlip(), T.normalize(0.286, 0.353));

async function timeSteps(numWorkers: number): Promise<number> {
  nb.manualSeed(0);
  const model = new FmnistCNN();
  model.train();
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  const loader = new nb.data.DataLoader(dataset, { batchSize: 64, shuffle: true, seed: 1, transform: augment, numWorkers });
  let k = 0;
  let t0 = 0;
  for await (const { inputs, targets } of loader) {
    if (k === 3) t0 = performance.now(); // skip warm-up (worker start-up, first allocations)
    const loss = crossEntropy(model.forward(inputs), targets);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    if (++k === batches + 3) break;
  }
  const ms = (performance.now() - t0) / batches;
  await loader.close();
  return ms;
}

const backend = nb.getBackend().name ?? "?";
console.log(
  `FmnistCNN training steps, batch 64, ${batches} steps after 3 warm-up, backend ${backend}, ` +
    `${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start\n`,
);
console.log("| numWorkers | ms per training step (each repeat) |");
console.log("| --- | --- |");
for (const w of [0, 1, 2]) {
  const runs: number[] = [];
  for (let r = 0; r < repeats; r++) runs.push(await timeSteps(w));
  console.log(`| ${w} | ${runs.map((m) => m.toFixed(1)).join(" / ")} |`);
}
console.log(`\nload average at end ${loadavg()[0]!.toFixed(1)}`);
