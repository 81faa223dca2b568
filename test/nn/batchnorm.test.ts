// BatchNorm1d/2d against PyTorch (scripts/torch/nn_reference.py -> data/batchnorm.json): outputs
// and input gradients in training mode, running mean / unbiased running variance updates,
// num_batches_tracked (incl. momentum=null, the cumulative average), and eval-mode outputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as nb from "../../src/index.js";
import * as nn from "../../src/nn/index.js";

interface Step {
  x: number[];
  shape: number[];
  y: number[];
  g: number[];
  dx: number[];
  running_mean: number[];
  running_var: number[];
  num_batches_tracked: number;
}
interface Case {
  name: string;
  num_features: number;
  momentum: number | null;
  eps: number;
  affine: boolean;
  weight: number[] | null;
  bias: number[] | null;
  train: Step[];
  eval: { x: number[]; shape: number[]; y: number[] };
}

const cases = JSON.parse(readFileSync(new URL("./data/batchnorm.json", import.meta.url), "utf8")) as Case[];

function close(actual: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-10 + 1e-9 * Math.abs(expected[i]!);
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

for (const c of cases) {
  test(`BatchNorm matches PyTorch: ${c.name}`, () => {
    const Layer = c.train[0]!.shape.length === 4 ? nn.BatchNorm2d : nn.BatchNorm1d;
    const bn = new Layer(c.num_features, {
      momentum: c.momentum,
      eps: c.eps,
      affine: c.affine,
      dtype: "float64",
    });
    if (c.affine) {
      bn.weight!.data.set(c.weight!);
      bn.bias!.data.set(c.bias!);
    }
    for (const [i, step] of c.train.entries()) {
      const x = nb.tensor(step.x, { dtype: "float64" }).reshape(step.shape);
      x.requiresGrad = true;
      const y = bn.call(x);
      close(y.data, step.y, `step ${i} y`);
      y.mul(nb.tensor(step.g, { dtype: "float64" }).reshape(y.shape))
        .sum()
        .backward();
      close(x.grad!.data, step.dx, `step ${i} dx`);
      close(bn.runningMean!.data, step.running_mean, `step ${i} running_mean`);
      close(bn.runningVar!.data, step.running_var, `step ${i} running_var`);
      assert.equal(bn.numBatchesTracked!.item(), step.num_batches_tracked);
    }
    bn.eval();
    const x = nb.tensor(c.eval.x, { dtype: "float64" }).reshape(c.eval.shape);
    close(bn.call(x).data, c.eval.y, "eval y");
    assert.equal(bn.numBatchesTracked!.item(), c.train.length, "eval does not count batches");
  });
}

test("BatchNorm without running stats uses batch statistics in eval mode too", () => {
  const bn = new nn.BatchNorm2d(2, { trackRunningStats: false });
  assert.equal(bn.runningMean, null);
  assert.deepEqual([...bn.stateDict().keys()], ["weight", "bias"]);
  const x = nb.randn([3, 2, 2, 2], { generator: new nb.Generator(1) });
  const train = bn.call(x).toArray();
  bn.eval();
  assert.deepEqual(bn.call(x).toArray(), train);
});

test("resetRunningStats restores mean 0, variance 1, count 0", () => {
  const bn = new nn.BatchNorm1d(2);
  bn.call(nb.randn([4, 2]));
  bn.resetRunningStats();
  assert.deepEqual(Array.from(bn.runningMean!.data), [0, 0]);
  assert.deepEqual(Array.from(bn.runningVar!.data), [1, 1]);
  assert.equal(bn.numBatchesTracked!.item(), 0);
});
