// fit() in-process: divergence keeps the last good checkpoint; early stopping; evaluate().
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fit, evaluate, TrainingDivergedError, type Batch } from "../../src/train/fit.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { Sequential, Linear, ReLU, crossEntropy } from "../../src/nn/index.js";
import { SGD } from "../../src/optim/index.js";
import { manualSeed, randn, tensor } from "../../src/index.js";

function toyData(n: number, seed: number): Batch[] {
  manualSeed(seed);
  const batches: Batch[] = [];
  for (let b = 0; b < n; b++) {
    const x = randn([16, 4]);
    const labels = Array.from(x.toArray() as number[][], (row) => (row[0]! + row[1]! > 0 ? 1 : 0));
    batches.push({ inputs: x, targets: tensor(labels, { dtype: "int32" }) });
  }
  return batches;
}

function loader(batches: Batch[]) {
  return { length: batches.length, [Symbol.iterator]: () => batches[Symbol.iterator]() };
}

function setup() {
  manualSeed(0);
  const model = new Sequential(new Linear(4, 16), new ReLU(), new Linear(16, 2));
  const optimizer = new SGD([...model.parameters()], { lr: 0.1, momentum: 0.9 });
  return { model, optimizer };
}

test("a loss that turns NaN stops training and the last good checkpoint stays loadable", async () => {
  const out = mkdtempSync(join(tmpdir(), "nabla-fit-nan-"));
  const { model, optimizer } = setup();
  let epoch = 0;
  const train = toyData(4, 1);
  await assert.rejects(
    fit({
      model,
      optimizer,
      lossFn: (logits, targets) =>
        epoch >= 2 ? crossEntropy(logits, targets).mul(NaN) : crossEntropy(logits, targets),
      trainLoader: loader(train),
      testLoader: loader(toyData(2, 2)),
      epochs: 5,
      numClasses: 2,
      outDir: out,
      progress: "none",
      onEpochEnd: (r) => (epoch = r.epoch),
    }),
    (e: unknown) =>
      e instanceof TrainingDivergedError &&
      /epoch 3, batch 1/.test((e as Error).message) &&
      /checkpoint \(epoch 2\)/.test((e as Error).message),
  );
  assert.equal(loadCheckpoint(out).epoch, 2);
});

test("early stopping ends the run once the test accuracy stops improving", async () => {
  const { model, optimizer } = setup();
  const result = await fit({
    model,
    optimizer,
    lossFn: (l, t) => crossEntropy(l, t),
    trainLoader: loader(toyData(4, 3)),
    testLoader: loader(toyData(2, 4)),
    epochs: 200,
    numClasses: 2,
    progress: "none",
    earlyStoppingPatience: 3,
  });
  assert.ok(result.stoppedEarly);
  assert.equal(result.history.length, result.best!.epoch + 3);
  const report = evaluate(model, loader(toyData(2, 4)), { numClasses: 2 });
  assert.ok(report.accuracy > 0.8, `learned the toy task (${report.accuracy})`);
});
