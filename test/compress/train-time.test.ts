// Training-time compression pieces: magnitude-pruning masks survive optimizer steps, the
// distillation loss matches its definition, and QAT's fake-quant passes gradients straight
// through and leaves parameters (and state-dict keys) in place.
import { test } from "node:test";
import assert from "node:assert/strict";
import { magnitudePrune } from "../../src/compress/sparsity.js";
import { distillationLoss, softTargetLoss } from "../../src/compress/distill.js";
import { FakeQuant, finishQat, prepareQat } from "../../src/compress/qat.js";
import { createModel } from "../../src/models/index.js";
import { randn, tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { SGD } from "../../src/optim/index.js";
import { crossEntropy } from "../../src/nn/losses.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { Linear } from "../../src/nn/layers/linear.js";

test("magnitude pruning: layer-wise and global sparsity, masks re-applied after every step", () => {
  const g = new Generator(4);
  for (const scope of ["layer", "global"] as const) {
    const model = createModel("fmnist-cnn");
    const masks = magnitudePrune(model, { sparsity: 0.8, scope });
    assert.ok(Math.abs(masks.sparsity() - 0.8) < 0.01, `${scope}: ${masks.sparsity()}`);
    if (scope === "layer") {
      for (const m of model.modules()) {
        if (!(m instanceof Conv2d || m instanceof Linear)) continue;
        const zeros = Array.from(m.weight.data).filter((v) => v === 0).length;
        assert.equal(zeros, Math.floor(0.8 * m.weight.numel));
      }
    }
    const opt = masks.wrapOptimizer(new SGD([...model.parameters()], { lr: 0.1, momentum: 0.9 }));
    for (let i = 0; i < 2; i++) {
      opt.zeroGrad();
      const x = randn([4, 1, 28, 28], { generator: g });
      crossEntropy(model.call(x), tensor([0, 1, 2, 3], { dtype: "int32" })).backward();
      opt.step();
    }
    for (const [p, mask] of masks.masks) mask.forEach((keep, i) => keep || assert.equal(p.data[i], 0));
  }
});

test("distillation loss = α·T²·KL(softmax(t/T) ‖ softmax(s/T)) + (1−α)·CE", () => {
  const s = tensor([[1, 2, 0.5], [0, -1, 2]]); // prettier-ignore
  const t = tensor([[2, 0, 1], [0.5, 0.5, 3]]); // prettier-ignore
  const y = tensor([1, 2], { dtype: "int32" });
  const T = 3;
  const softmax = (row: number[]) => {
    const e = row.map((v) => Math.exp(v / T));
    const z = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / z);
  };
  let kl = 0;
  for (let i = 0; i < 2; i++) {
    const p = softmax(Array.from(t.data.subarray(3 * i, 3 * i + 3)));
    const q = softmax(Array.from(s.data.subarray(3 * i, 3 * i + 3)));
    for (let j = 0; j < 3; j++) kl += p[j]! * Math.log(p[j]! / q[j]!);
  }
  kl = (kl / 2) * T * T;
  assert.ok(Math.abs(softTargetLoss(s, t, T).item() - kl) < 1e-5);
  const ce = crossEntropy(s, y).item();
  assert.ok(
    Math.abs(distillationLoss(s, t, y, { temperature: T, alpha: 0.3 }).item() - (0.3 * kl + 0.7 * ce)) < 1e-5,
  );
  assert.ok(softTargetLoss(t, t, T).item() < 1e-6);
});

test("QAT: gradients reach the weights through fake-quant, parameters and keys stay in place", () => {
  const g = new Generator(6);
  const model = createModel("fmnist-cnn");
  const x = randn([4, 1, 28, 28], { generator: g });
  model.eval();
  const keys = [...model.stateDict().keys()].filter(
    (k) => !k.startsWith("features.1.") && !k.startsWith("features.5."),
  );
  prepareQat(model, [1, 28, 28]);
  model.train();
  assert.equal([...model.modules()].filter((m) => m instanceof FakeQuant).length, 4);
  assert.deepEqual([...model.stateDict().keys()], keys); // BN folded away, the rest as before
  const out = model.call(x);
  crossEntropy(out, tensor([1, 2, 3, 4], { dtype: "int32" })).backward();
  for (const p of model.parameters()) assert.ok(p.grad && Array.from(p.grad.data).some((v) => v !== 0));
  finishQat(model);
  assert.equal([...model.modules()].filter((m) => m instanceof FakeQuant).length, 0);
  assert.deepEqual([...model.stateDict().keys()], keys);
});
