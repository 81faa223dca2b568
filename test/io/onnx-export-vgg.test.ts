// ONNX export of the zoo's VGG-16 (split from onnx-export.test.ts: VGGs carry a 100M-parameter
// classifier, so each export takes several seconds). At 32×32 the features are 1×1, so the
// AdaptiveAvgPool2d(7) exports through its general MatMul form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { traceToOnnx } from "../../src/io/onnx/index.js";
import { createModel } from "../../src/models/index.js";
import { manualSeed, rand, randn } from "../../src/tensor/index.js";
import { maxRelativeError, runOrt } from "../../scripts/onnx/torchvision-fixtures.js";

for (const name of ["vgg16"]) {
  test(`zoo ${name}: the exported model gives nabla's outputs in ONNX Runtime`, async () => {
    manualSeed(0);
    const model = createModel(name, { numClasses: 10 });
    for (const [key, b] of model.namedBuffers()) {
      if (key.endsWith("running_mean")) b.data.set(randn(b.shape).mul(0.1).data);
      if (key.endsWith("running_var")) b.data.set(rand(b.shape).add(0.5).data);
    }
    model.eval();
    const x = randn([1, 3, 32, 32]);
    const { bytes, output } = traceToOnnx(model, x);
    const err = maxRelativeError(output.data, await runOrt(bytes, x));
    assert.ok(err <= 1e-4, `${name}: max relative error ${err}`);
  });
}

test(
  "zoo vgg11, vgg11_bn and vgg16_bn",
  {
    skip: "same layer types as vgg16 and the BatchNorm models (~10 s each); bench/onnx/export_check.ts covers them",
  },
  () => {},
);
