// ONNX export: every zoo model, traced by nabla, runs in ONNX Runtime with nabla's outputs; and
// exported files import back into nabla.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportOnnx, load, parseModel, save, traceToOnnx } from "../../src/io/onnx/index.js";
import { createModel, listModels } from "../../src/models/index.js";
import { manualSeed, rand, randn } from "../../src/tensor/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { Module } from "../../src/nn/module.js";
import { Sequential } from "../../src/nn/containers.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { Linear } from "../../src/nn/layers/linear.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import * as act from "../../src/nn/layers/activation.js";
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from "../../src/nn/layers/pooling.js";
import { Dropout, Flatten } from "../../src/nn/layers/misc.js";
import { NotSupportedError } from "../../src/errors.js";
import { cat, pad } from "../../src/autograd/ops/movement.js";
import * as F from "../../src/nn/functional.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { maxRelativeError, runOrt } from "../../scripts/onnx/torchvision-fixtures.js";

const TOLERANCE = 1e-4;

/** Random running statistics, so exported BatchNormalization nodes do real work. */
function randomizeBatchNorm(model: Module<unknown[], unknown>): void {
  for (const [key, b] of model.namedBuffers()) {
    if (key.endsWith("running_mean")) b.data.set(randn(b.shape).mul(0.1).data);
    if (key.endsWith("running_var")) b.data.set(rand(b.shape).add(0.5).data);
  }
}

/** The small input a zoo model is checked with (ImageNet-size models at 64×64). */
function exampleShape(channels: number, side: number): number[] {
  return [1, channels, Math.min(side, 64), Math.min(side, 64)];
}

// VGG's 100M-parameter classifier makes each VGG export take ~10 s: those are in
// onnx-export-vgg.test.ts.
for (const info of listModels().filter((m) => !m.name.startsWith("vgg"))) {
  test(`zoo ${info.name}: the exported model gives nabla's outputs in ONNX Runtime`, async () => {
    manualSeed(0);
    const imagenet = info.defaultInput[1] > 64;
    const model = createModel(info.name, imagenet ? { numClasses: 10 } : {});
    randomizeBatchNorm(model);
    model.eval();
    const x = randn(exampleShape(info.defaultInput[0], info.defaultInput[1]));
    const { bytes, output } = traceToOnnx(model, x);
    const err = maxRelativeError(output.data, await runOrt(bytes, x));
    assert.ok(err <= TOLERANCE, `${info.name}: max relative error ${err}`);
  });
}

/** Every layer type the exporter knows, plus tensor ops between layers. */
class Everything extends Module {
  readonly stem = this.registerModule(
    "stem",
    new Sequential(new Conv2d(3, 8, 3, { padding: "same" }), new BatchNorm2d(8), new act.ReLU6()),
  );
  readonly branch = this.registerModule(
    "branch",
    new Sequential(
      new Conv2d(8, 8, 3, { stride: 2, padding: 1, groups: 4, dilation: 1 }),
      new act.LeakyReLU(0.1),
      new act.ELU(0.5),
      new act.GELU(),
      new act.GELU("tanh"),
      new act.SiLU(),
      new act.Hardswish(),
      new act.Hardsigmoid(),
      new act.Tanh(),
      new act.Sigmoid(),
    ),
  );
  readonly pools = this.registerModule(
    "pools",
    new Sequential(
      new MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
      new AvgPool2d(2, { stride: 1, padding: 1, countIncludePad: false }),
      new AdaptiveAvgPool2d([3, 5]),
    ),
  );
  readonly head = this.registerModule(
    "head",
    new Sequential(new Flatten(), new Dropout(0.3), new Linear(8 * 15 + 8 + 8, 6)),
  );
  readonly softmax = this.registerModule("softmax", new act.LogSoftmax(1));

  forward(x: Tensor): Tensor {
    const n = x.shape[0]!;
    const s = this.stem.call(x);
    const b = this.branch.call(s);
    // A residual add of a strided slice, then the pools: [n, 8, 3, 5].
    const pooled = this.pools.call(b.add(s.slice(2, 0, 16, 2).slice(3, 1, 16, 2).mul(0.5)));
    // Tensor ops between layers: permute, reshape, pad, pow, sqrt, exp/log, neg.
    const t = pooled.permute(0, 1, 3, 2).reshape([n, -1]);
    const u = pad(t, [3, 5], 0.5).sub(0.25).pow(2).add(1).sqrt().neg().exp().log().neg();
    const gap = F.adaptiveAvgPool2d(s, 1).flatten(1); // mean over H and W: ReduceSum + Div
    const logits = this.head.call(cat([u, gap], 1));
    return this.softmax.call(logits).add(logits.amax(1, true).mul(0.01));
  }
}

test("a module built from every nabla layer type exports exactly (opsets 11, 13 and 17)", async () => {
  manualSeed(3);
  const model = new Everything();
  randomizeBatchNorm(model);
  model.eval();
  const x = randn([2, 3, 16, 16]);
  const y = noGrad(() => model.call(x));
  for (const opset of [11, 13, 17]) {
    const bytes = exportOnnx(model, x, { opset });
    const err = maxRelativeError(y.data, await runOrt(bytes, x));
    assert.ok(err <= TOLERANCE, `opset ${opset}: max relative error ${err}`);
  }
});

test("dynamic batch: a model exported at batch 1 runs at batch 5, and re-imports into nabla", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-onnx-export-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  manualSeed(4);
  const model = createModel("fmnist-cnn");
  randomizeBatchNorm(model);
  model.eval();
  const path = join(dir, "fmnist.onnx");
  save(model, randn([1, 1, 28, 28]), path, { opset: 13 });
  const x = randn([5, 1, 28, 28]);
  const y = noGrad(() => model.call(x));
  assert.ok(maxRelativeError(y.data, await runOrt(path, x)) <= TOLERANCE);
  const back = load(path).eval();
  assert.deepEqual(
    [...back.stateDict().keys()],
    [...model.stateDict().keys()].filter((k) => !k.endsWith("num_batches_tracked")),
  );
  const y2 = noGrad(() => back.call(x));
  assert.ok(maxRelativeError(y2.data, y.data) <= 1e-6);
});

test("a fixed-batch export declares the batch size", () => {
  const model = createModel("fmnist-cnn").eval();
  const m = parseModel(exportOnnx(model, randn([3, 1, 28, 28]), { dynamicBatch: false }));
  assert.deepEqual(m.inputs[0]!.shape, [3, 1, 28, 28]);
  const dyn = parseModel(exportOnnx(model, randn([3, 1, 28, 28])));
  assert.deepEqual(dyn.inputs[0]!.shape, ["batch", 1, 28, 28]);
});

test("an op the exporter cannot express is a NotSupportedError naming it", () => {
  class UsesWhere extends Module {
    forward(x: Tensor): Tensor {
      return x.clamp(-1, 1); // clamp is where() with an unrecorded condition
    }
  }
  assert.throws(
    () => exportOnnx(new UsesWhere(), randn([1, 4])),
    (err: unknown) => {
      assert.ok(err instanceof NotSupportedError);
      assert.match((err as Error).message, /cannot express op "where"/);
      return true;
    },
  );
  class FunctionalConv extends Module {
    readonly w = this.registerParameter("w", new Conv2d(1, 1, 3).weight);
    forward(x: Tensor): Tensor {
      return F.conv2d(x, this.w, null, { stride: 2 });
    }
  }
  assert.throws(() => exportOnnx(new FunctionalConv(), randn([1, 1, 8, 8])), /op "conv2d".*call the layer/);
});
