// DataLoader throughput: does running batch building + augmentation in worker threads pay?
//
//   npx tsx bench/data/loader.ts [--step-ms 20] [--epochs 2]
//
// Reads Fashion-MNIST training images (Debian's 60,000 if installed, else the shipped 6,000),
// batch 64, shuffled, and times full epochs for numWorkers 0, 1, 2:
//   - "no transform": only uint8 → float32 batching;
//   - "augment": randomCrop(28, 2) + randomHorizontalFlip + normalize + randomErasing;
//   - "augment + step": the same while the main thread also busy-waits `--step-ms` per batch,
//     standing in for the training step that workers could overlap with.
// Columns: wall time per epoch; how long the main thread waits in `next()` per batch (what
// workers can save); process CPU time per batch, all threads (what they cost; not shown with the
// busy-wait step, whose CPU time depends on how often the OS preempts it).
// Prints a Markdown table for BENCHMARKS.md. The first epoch with workers includes their start-up.
import { existsSync } from "node:fs";
import { cpus } from "node:os";
import { DataLoader } from "../../src/data/dataloader.js";
import { FashionMNIST } from "../../src/data/mnist.js";
import { compose, normalize, randomCrop, randomErasing, randomHorizontalFlip } from "../../src/data/transforms.js";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const stepMs = arg("--step-ms", 20);
const epochs = arg("--epochs", 2);

const full = existsSync("/usr/share/datasets/fashion-mnist");
const dataset = full ? new FashionMNIST({ root: "/usr/share/datasets/fashion-mnist" }) : new FashionMNIST({ subset: true });
const augment = compose(randomCrop(28, 2), randomHorizontalFlip(), normalize(0.286, 0.353), randomErasing());

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* stand-in for forward/backward */
  }
}

async function run(label: string, numWorkers: number, withTransform: boolean, step: number): Promise<string> {
  const loader = new DataLoader(dataset, {
    batchSize: 64,
    shuffle: true,
    seed: 1,
    numWorkers,
    ...(withTransform ? { transform: augment } : {}),
  });
  const times: number[] = [];
  const waits: number[] = [];
  const cpu: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    let waited = 0;
    const it = loader[Symbol.asyncIterator]();
    for (;;) {
      const w0 = performance.now();
      const r = await it.next();
      waited += performance.now() - w0;
      if (r.done) break;
      if (step > 0) busyWait(step);
    }
    const c = process.cpuUsage(c0);
    times.push(performance.now() - t0);
    waits.push(waited / loader.length);
    cpu.push((c.user + c.system) / 1000 / loader.length - step);
  }
  await loader.close();
  const best = times.indexOf(Math.min(...times));
  const imgs = (dataset.length / times[best]!) * 1000;
  return (
    `| ${label} | ${numWorkers} | ${times.map((t) => (t / 1000).toFixed(2)).join(" / ")} | ` +
    `${Math.round(imgs).toLocaleString("en")} | ${waits[best]!.toFixed(2)} | ${step > 0 ? "—" : cpu[best]!.toFixed(2)} |`
  );
}

console.log(`Fashion-MNIST ${full ? "full" : "subset"} training set, ${dataset.length} images, batch 64, ` +
  `${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Node ${process.version}, ${epochs} epochs each\n`);
console.log(
  "| pipeline | numWorkers | epoch times (s) | images/s (best epoch) | main thread waits for the loader (ms/batch) | CPU, all threads (ms/batch) |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const [label, transform, step] of [
  ["no transform", false, 0],
  ["augment", true, 0],
  [`augment + ${stepMs} ms step`, true, stepMs],
] as const) {
  for (const w of [0, 1, 2]) console.log(await run(label, w, transform, step));
}
