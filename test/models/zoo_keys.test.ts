// The zoo against torchvision and shared/bench/models.py: parameter counts and state-dict keys
// (with shapes, in order) equal theirs exactly. Reference data: scripts/torch/zoo_keys.py ->
// data/zoo_keys.json. Models are only built here (no forward passes at ImageNet size).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createModel, listModels, modelInfo } from "../../src/models/index.js";
import { ValueError } from "../../src/errors.js";

const reference = JSON.parse(
  readFileSync(new URL("./data/zoo_keys.json", import.meta.url), "utf8"),
) as Record<string, { params: number; keys: [string, number[]][] }>;

// The counts the issue names, as a guard on the reference file itself.
const TORCHVISION_PARAMS: Record<string, number> = {
  resnet18: 11_689_512,
  resnet50: 25_557_032,
  vgg16: 138_357_544,
  densenet121: 7_978_856,
  mobilenet_v2: 3_504_872,
  resnext50_32x4d: 25_028_904,
  "fmnist-cnn": 421_834,
  resnet20: 272_474,
};

test("reference data holds the published parameter counts", () => {
  for (const [name, params] of Object.entries(TORCHVISION_PARAMS))
    assert.equal(reference[name]!.params, params, name);
});

for (const [name, ref] of Object.entries(reference)) {
  test(`${name}: parameter count and state-dict keys equal the PyTorch reference`, () => {
    const model = createModel(name);
    assert.equal(model.numParameters(), ref.params);
    const keys = [...model.stateDict()].map(([k, t]) => [k, [...t.shape]]);
    assert.deepEqual(keys, ref.keys);
  });
}

test("every registry model has reference data or a stated reason not to", () => {
  // resnet56, densenet_bc and resnext_cifar have no torchvision/bench counterpart; they are
  // checked for structure in zoo_forward tests instead.
  const noReference = new Set(["resnet56", "densenet_bc", "resnext_cifar"]);
  for (const { name } of listModels()) assert.ok(name in reference || noReference.has(name), name);
  assert.equal(listModels().length, 15);
});

test("createModel validates names and options", () => {
  assert.throws(
    () => createModel("resnet19"),
    (e: Error) => e instanceof ValueError && /available: fmnist-cnn/.test(e.message),
  );
  assert.throws(() => createModel("resnet18", { numClasses: 0 }), ValueError);
  assert.deepEqual(modelInfo("fmnist-cnn").defaultInput, [1, 28, 28]);
});

test("numClasses and inChannels reshape only the first conv and the classifier", () => {
  const model = createModel("resnet18", { numClasses: 7, inChannels: 1 });
  const sd = model.stateDict();
  assert.deepEqual(sd.get("conv1.weight")!.shape, [64, 1, 7, 7]);
  assert.deepEqual(sd.get("fc.weight")!.shape, [7, 512]);
  assert.equal(sd.size, reference.resnet18!.keys.length);
});
