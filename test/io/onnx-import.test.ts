// ONNX import: models exported by PyTorch run in nabla with ONNX Runtime's outputs, keep
// PyTorch's parameter names, and train.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import { load, OnnxModule, parseModel, traceToOnnx } from "../../src/io/onnx/index.js";
import { fromArray, manualSeed, randn } from "../../src/tensor/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { Parameter } from "../../src/nn/parameter.js";
import { crossEntropy } from "../../src/nn/losses/functional.js";
import { SGD } from "../../src/optim/sgd.js";
import { readIdx } from "../../src/data/idx.js";
import {
  maxRelativeError,
  runOrt,
  torchUnavailable,
  torchvisionFixtures,
} from "../../scripts/onnx/torchvision-fixtures.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => join(here, "onnx", name);
const TOLERANCE = 1e-4;

/** Every output of `model` on x, compared with ONNX Runtime's by name. */
async function compareAllOutputs(path: string, model: OnnxModule, x: Tensor): Promise<void> {
  const session = await ort.InferenceSession.create(path);
  const ref = await session.run({
    [session.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(x.data), [...x.shape]),
  });
  const ours = noGrad(() => model.run([x]));
  for (const name of session.outputNames) {
    const r = ref[name]!;
    const y = ours.get(name)!;
    assert.deepEqual([...y.shape], r.dims.map(Number), `${path}: shape of ${name}`);
    const err = maxRelativeError(y.data, r.data as Float32Array);
    assert.ok(err <= TOLERANCE, `${path}: output ${name} differs from ONNX Runtime by ${err}`);
  }
}

for (const name of [
  "small_cnn.onnx",
  "ops_opset11.onnx",
  "ops_opset13.onnx",
  "ops_opset17.onnx",
  "opset18.onnx",
]) {
  test(`${name}: every output equals ONNX Runtime's (batch 2, dynamic batch)`, async () => {
    manualSeed(1);
    const model = load(fixture(name)).eval();
    const shape = model.inputs[0]!.shape!.map((d, i) => (i === 0 ? 2 : (d as number)));
    await compareAllOutputs(fixture(name), model, randn(shape));
  });
}

test("small_cnn.onnx: PyTorch's state-dict keys; BN statistics are buffers, the rest parameters", () => {
  const model = load(fixture("small_cnn.onnx"));
  assert.deepEqual(
    [...model.namedParameters()].map(([k]) => k),
    [
      "conv1.weight",
      "conv1.bias",
      "bn1.weight",
      "bn1.bias",
      "conv2.weight",
      "bn2.weight",
      "bn2.bias",
      "fc.weight",
      "fc.bias",
    ],
  );
  assert.deepEqual([...model.namedBuffers()].map(([k]) => k).sort(), [
    "bn1.running_mean",
    "bn1.running_var",
    "bn2.running_mean",
    "bn2.running_var",
  ]);
  for (const p of model.parameters()) assert.ok(p instanceof Parameter && p.requiresGrad);
  assert.deepEqual([...model.stateDict().get("fc.weight")!.shape], [10, 784]);
});

test("an imported model fine-tunes: SGD lowers the loss on Fashion-MNIST batches", () => {
  const root = join(here, "..", "..", "data", "fashion-mnist-subset");
  const images = readIdx(join(root, "t10k-images-idx3-ubyte.gz"));
  const labels = readIdx(join(root, "t10k-labels-idx1-ubyte.gz"));
  const n = 32;
  const x = fromArray(
    Float32Array.from(images.data.subarray(0, n * 784), (v) => v / 255),
    [n, 1, 28, 28],
  );
  const y = fromArray(Int32Array.from(labels.data.subarray(0, n)), [n]);
  manualSeed(0);
  const model = load(fixture("small_cnn.onnx")).train();
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const before = noGrad(() => crossEntropy(model.eval().call(x), y).item());
  const runningMeanBefore = Float32Array.from(model.stateDict().get("bn1.running_mean")!.data);
  model.train();
  for (let step = 0; step < 8; step++) {
    for (let b = 0; b < n; b += 16) {
      opt.zeroGrad();
      const loss = crossEntropy(model.call(x.narrow(0, b, 16)), y.narrow(0, b, 16));
      loss.backward();
      opt.step();
    }
  }
  const after = noGrad(() => crossEntropy(model.eval().call(x), y).item());
  assert.ok(after < before * 0.8, `loss went from ${before} to ${after}`);
  // Training mode used batch statistics and updated the running ones, as in PyTorch.
  const runningMeanAfter = model.stateDict().get("bn1.running_mean")!.data;
  assert.ok(runningMeanAfter.some((v, i) => v !== runningMeanBefore[i]));
});

test("the ONNX file's bytes are not retained by the module (loading copies what it needs)", () => {
  const bytes = readFileSync(fixture("small_cnn.onnx"));
  const model = load(fixture("small_cnn.onnx"));
  bytes.fill(0);
  assert.ok(
    model
      .stateDict()
      .get("conv1.weight")!
      .data.some((v) => v !== 0),
  );
});

test("an imported model saves back to ONNX with its current (fine-tuned) weights", async () => {
  for (const name of ["small_cnn.onnx", "ops_opset11.onnx", "opset18.onnx"]) {
    manualSeed(6);
    const model = load(fixture(name));
    // Stand-in for fine-tuning: move every parameter.
    noGrad(() => {
      for (const p of model.parameters()) p.data.set(p.add(randn(p.shape).mul(0.01)).data);
    });
    const shape = model.inputs[0]!.shape!.map((d, i) => (i === 0 ? 3 : (d as number)));
    const x = randn(shape);
    const { bytes } = traceToOnnx(model, x);
    const back = parseModel(bytes);
    assert.equal(back.opset, model.opset);
    const session = await ort.InferenceSession.create(bytes);
    const ref = await session.run({
      input: new ort.Tensor("float32", Float32Array.from(x.data), [...x.shape]),
    });
    const ours = noGrad(() => model.eval().run([x]));
    for (const out of session.outputNames) {
      const err = maxRelativeError(ours.get(out)!.data, ref[out]!.data as Float32Array);
      assert.ok(err <= TOLERANCE, `${name}: re-saved output ${out} differs by ${err}`);
    }
  }
});

// Full-size torchvision architectures are exported by PyTorch into a cache folder (too big to
// commit); they need /usr/bin/python3 with torch and torchvision.
const TORCHVISION = [
  "resnet18",
  "mobilenet_v2",
  "densenet121",
  "resnext50_32x4d",
  "efficientnet_b0",
  "shufflenet_v2_x0_5",
  "squeezenet1_1",
  "googlenet",
  "mobilenet_v3_small",
];
const noTorch = torchUnavailable();
test(
  "torchvision models exported by PyTorch equal ONNX Runtime's outputs",
  { skip: noTorch ?? false },
  async (t) => {
    for (const f of torchvisionFixtures(TORCHVISION)) {
      await t.test(f.name, async () => {
        manualSeed(2);
        const x = randn([2, ...f.input.slice(1)]);
        const model = load(f.path).eval();
        const y = noGrad(() => model.call(x));
        const err = maxRelativeError(y.data, await runOrt(f.path, x));
        assert.ok(err <= TOLERANCE, `${f.name}: max relative error ${err}`);
      });
    }
  },
);

test(
  "vgg11 from torchvision (needs a 224×224 input, about a minute on the reference backend)",
  { skip: "too slow for the test suite; bench/onnx/import_check.ts checks it (see BENCHMARKS.md)" },
  () => {},
);
