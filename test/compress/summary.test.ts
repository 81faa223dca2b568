// summary(): the published MAC counts of the ImageNet models (shape-only pass, so it is fast),
// FLOPs/activation/weight-byte totals, and the shape-only pass agreeing with a real forward.
import { test } from "node:test";
import assert from "node:assert/strict";
import { summary } from "../../src/compress/summary.js";
import { createModel } from "../../src/models/index.js";

test("ImageNet MACs match the published counts within 1% (resnet18 1.82 G, mobilenet_v2 0.30 G, vgg16 15.47 G)", () => {
  const published: [string, number][] = [
    ["resnet18", 1.82e9],
    ["mobilenet_v2", 0.3e9],
    ["vgg16", 15.47e9],
  ];
  for (const [name, macs] of published) {
    const s = summary(createModel(name), [3, 224, 224]);
    assert.ok(Math.abs(s.macs - macs) / macs < 0.01, `${name}: ${s.macs} vs ${macs}`);
    assert.equal(s.flops, 2 * s.macs);
  }
});

test("totals: FLOPs, activation memory, weight bytes by dtype", () => {
  const model = createModel("fmnist-cnn");
  const s = summary(model, [1, 28, 28]);
  assert.equal(s.macs, 32 * 784 * 9 + 64 * 196 * 32 * 9 + 3136 * 128 + 128 * 10);
  assert.equal(s.flops, 2 * s.macs);
  // float32 parameters and BN running stats, int32 num_batches_tracked (2 BN layers).
  assert.equal(s.weightBytes.float32, (421_834 + 2 * (32 + 64)) * 4);
  assert.equal(s.weightBytes.int32, 2 * 4);
  assert.equal(s.totalWeightBytes, s.weightBytes.float32! + 8);
  assert.equal(
    s.activationBytes,
    s.rows.reduce((a, r) => a + r.activationBytes, 0),
  );
  assert.equal(s.rows[0]!.activationBytes, 32 * 28 * 28 * 4);
});

test("shape-only pass gives the same rows as a real forward pass", () => {
  const model = createModel("resnet20");
  const fast = summary(model, [3, 32, 32]);
  const real = summary(model, [3, 32, 32], { shapeOnly: false });
  assert.deepEqual(fast, real);
  // The temporary forward overrides are gone: the model computes again.
  assert.ok([...model.modules()].every((m) => !Object.prototype.hasOwnProperty.call(m, "forward")));
});
