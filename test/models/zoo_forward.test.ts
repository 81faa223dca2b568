// Every zoo model runs on small inputs: [2, 1, 28, 28] (Fashion-MNIST) and [2, 3, 32, 32]
// (CIFAR) give [2, numClasses] finite logits. ImageNet stems must not collapse 28×28 inputs.
//
// Cost control (reference backend): the VGG-16/VGG-11-BN builds (133–138M parameters) take
// seconds each, so those three are built once with 3 channels and run on 3×28×28 and 3×32×32;
// the one-channel stem of the VGG builder is covered by vgg11 (same builder code).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import { createModel, listModels } from "../../src/models/index.js";

const SHARED_BUILD = new Set(["vgg16", "vgg16_bn", "vgg11_bn"]);

function run(
  name: string,
  inChannels: number,
  side: number,
  model = createModel(name, { numClasses: 10, inChannels, inputSize: side }),
) {
  model.eval();
  const x = nb.randn([2, inChannels, side, side], { generator: new nb.Generator(1) });
  const y = nb.noGrad(() => model.call(x));
  assert.deepEqual(y.shape, [2, 10], `${name} on ${inChannels}×${side}×${side}`);
  assert.ok(Array.from(y.data).every(Number.isFinite), `${name}: finite logits`);
  return model;
}

for (const { name } of listModels()) {
  test(`${name} runs on 28×28 and 32×32 inputs`, () => {
    if (SHARED_BUILD.has(name)) {
      const model = createModel(name, { numClasses: 10, inChannels: 3 });
      run(name, 3, 28, model);
      run(name, 3, 32, model);
      return;
    }
    // fmnist-cnn's first Linear depends on the input size (inputSize), so it is rebuilt.
    run(name, 1, 28);
    run(name, 3, 32);
  });
}

test("BatchNorm in training mode works through a whole model (batch 2)", () => {
  const model = createModel("resnet20");
  const y = model.call(nb.randn([2, 3, 32, 32]));
  y.sum().backward();
  const conv = model.stateDict({ keepVars: true }).get("stem.0.weight")!;
  assert.ok(conv.grad !== null && Array.from(conv.grad.data).some((v) => v !== 0));
  assert.equal(model.stateDict().get("stem.1.num_batches_tracked")!.item(), 1);
});
