// End-to-end sanity of layers + autograd + optimizer: a small MLP and the reference CNN must
// memorise a fixed random batch (100% training accuracy) within a few dozen SGD steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import * as nn from "../../src/nn/index.js";
import { SGD } from "../../src/optim/index.js";
import { fmnistCnn } from "../../src/models/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";

function accuracy(logits: Tensor, targets: Tensor): number {
  const pred = logits.argmax(1).data;
  let hits = 0;
  for (let i = 0; i < targets.numel; i++) if (pred[i] === targets.data[i]) hits++;
  return hits / targets.numel;
}

function fit(
  model: nn.Module,
  x: Tensor,
  y: Tensor,
  lr: number,
  maxSteps: number,
): { steps: number; loss: number } {
  const opt = new SGD(model.parameters(), { lr, momentum: 0.9 });
  let loss = Infinity;
  for (let step = 1; step <= maxSteps; step++) {
    model.train();
    opt.zeroGrad();
    const l = nn.F.crossEntropy(model.call(x), y);
    l.backward();
    opt.step();
    loss = l.item();
    model.eval();
    if (
      accuracy(
        nb.noGrad(() => model.call(x)),
        y,
      ) === 1
    )
      return { steps: step, loss };
  }
  return { steps: Infinity, loss };
}

test("an MLP memorises a fixed batch", () => {
  nb.manualSeed(0);
  const g = new nb.Generator(1);
  const x = nb.randn([64, 10], { generator: g });
  const y = nb.randint(0, 5, [64], { generator: g });
  const mlp = new nn.Sequential(
    new nn.Linear(10, 64),
    new nn.ReLU(),
    new nn.Linear(64, 64),
    new nn.GELU(),
    new nn.Linear(64, 5),
  );
  const untrained = accuracy(mlp.call(x), y);
  const { steps, loss } = fit(mlp, x, y, 0.1, 300);
  assert.ok(Number.isFinite(steps), `not memorised, final loss ${loss}`);
  assert.ok(untrained < 0.6);
});

test("the reference CNN (fmnist-cnn) memorises a fixed batch", () => {
  nb.manualSeed(0);
  const g = new nb.Generator(2);
  const x = nb.randn([16, 1, 28, 28], { generator: g });
  const y = nb.randint(0, 10, [16], { generator: g });
  const model = fmnistCnn();
  const { steps, loss } = fit(model, x, y, 0.05, 40);
  assert.ok(Number.isFinite(steps), `not memorised, final loss ${loss}`);
});
