// BN folding: the folded model computes what the unfolded one does in eval mode (1e-5), BN layers
// become Identity, layers gain the folded bias, and nothing is folded where it would be wrong.
import { test } from "node:test";
import assert from "node:assert/strict";
import { foldBatchNorm } from "../../src/compress/fold.js";
import { createModel } from "../../src/models/index.js";
import { randn, rand } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad } from "../../src/autograd/engine.js";
import { Module } from "../../src/nn/module.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import { Identity } from "../../src/nn/layers/misc.js";
import type { Tensor } from "../../src/tensor/tensor.js";

/** Give every BN non-trivial statistics and affine parameters. */
function randomizeBn(model: Module, g: Generator): void {
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const c = m.numFeatures;
    m.runningMean!.data.set(randn([c], { generator: g }).data);
    m.runningVar!.data.set(rand([c], { generator: g }).add(0.5).data);
    m.weight!.data.set(randn([c], { generator: g }).data);
    m.bias!.data.set(randn([c], { generator: g }).data);
  }
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  let d = 0;
  for (let i = 0; i < a.numel; i++) d = Math.max(d, Math.abs(a.data[i]! - b.data[i]!));
  return d;
}

for (const [name, shape] of [
  ["fmnist-cnn", [1, 28, 28]],
  ["resnet20", [3, 32, 32]],
  ["mobilenet_v2", [3, 32, 32]],
] as const) {
  test(`${name}: folded eval forward equals the unfolded one within 1e-5`, () => {
    const g = new Generator(1);
    const model = createModel(name, { numClasses: 10, inChannels: shape[0] });
    randomizeBn(model, g);
    model.eval();
    const x = randn([3, ...shape], { generator: g });
    const before = noGrad(() => model.call(x));
    const pairs = foldBatchNorm(model, shape);
    const bns = [...model.modules()].filter((m) => m instanceof BatchNorm2d).length;
    assert.equal(bns, 0, "every BN follows a conv in these models");
    assert.ok(pairs.length > 0);
    const after = noGrad(() => model.call(x));
    assert.ok(maxAbsDiff(before, after) < 1e-5, `max diff ${maxAbsDiff(before, after)}`);
    assert.ok(!model.stateDict().has(`${pairs[0]!.bn}.running_mean`));
    assert.ok(model.stateDict().has(`${pairs[0]!.layer}.bias`));
  });
}

test("a conv whose output also feeds something else than the BN is left alone", () => {
  class Branchy extends Module {
    readonly conv = this.registerModule("conv", new Conv2d(2, 3, 1));
    readonly bn = this.registerModule("bn", new BatchNorm2d(3));
    forward(x: Tensor): Tensor {
      const y = this.conv.call(x);
      return this.bn.call(y).add(y);
    }
  }
  const m = new Branchy();
  randomizeBn(m, new Generator(2));
  assert.deepEqual(foldBatchNorm(m, [2, 4, 4]), []);
  assert.ok(!(m.bn instanceof Identity));
});
