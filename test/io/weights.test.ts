// loadWeights / saveWeights: PyTorch state dicts (written by scripts/onnx/export_weights.py)
// load into zoo models and reproduce PyTorch's outputs; problems are reported by key.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadWeights, saveWeights } from "../../src/io/weights.js";
import { loadSafetensors, saveSafetensors } from "../../src/io/safetensors.js";
import { createModel } from "../../src/models/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { StateDictError } from "../../src/nn/module.js";
import { zeros } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import {
  CACHE_DIR,
  maxRelativeError,
  PYTHON,
  torchUnavailable,
} from "../../scripts/onnx/torchvision-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) => join(here, "weights", name);

function checkAgainstPyTorch(model: ReturnType<typeof createModel>, ioPath: string): void {
  const { tensors } = loadSafetensors(ioPath);
  const y = noGrad(() => model.eval().call(tensors["input"]!));
  const err = maxRelativeError(y.data, tensors["output"]!.data);
  assert.ok(err <= 1e-4, `max relative error vs PyTorch ${err}`);
}

test("a PyTorch fmnist-cnn state dict loads into the zoo model and gives PyTorch's outputs", () => {
  const model = createModel("fmnist-cnn", { inputSize: 8 });
  const report = loadWeights(model, fixture("fmnist8.safetensors"));
  assert.deepEqual(report, { missingKeys: [], unexpectedKeys: [], metadata: { format: "pt" } });
  // int64 counters arrive as nabla's int32.
  assert.equal(model.stateDict().get("features.1.num_batches_tracked")!.item(), 123);
  checkAgainstPyTorch(model, fixture("fmnist8.io.safetensors"));
});

test("missing, unexpected and mis-shaped keys are all reported, naming the file", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-weights-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const { tensors } = loadSafetensors(fixture("fmnist8.safetensors"));
  const edited: Record<string, Tensor> = { ...tensors, "head.extra": zeros([3]) };
  delete edited["classifier.3.bias"];
  edited["features.0.weight"] = zeros([32, 3, 3, 3]);
  const path = join(dir, "bad.safetensors");
  saveSafetensors(path, edited, {});
  const model = createModel("fmnist-cnn", { inputSize: 8 });
  assert.throws(
    () => loadWeights(model, path),
    (err: unknown) => {
      assert.ok(err instanceof StateDictError);
      assert.deepEqual(err.missingKeys, ["classifier.3.bias"]);
      assert.deepEqual(err.unexpectedKeys, ["head.extra"]);
      assert.deepEqual(
        err.shapeMismatches.map((m) => m.key),
        ["features.0.weight"],
      );
      assert.match(err.message, /bad\.safetensors: .*Missing key\(s\).*"classifier\.3\.bias"/s);
      assert.match(err.message, /size mismatch for features\.0\.weight: .*\[32, 3, 3, 3\].*\[32, 1, 3, 3\]/);
      return true;
    },
  );
  // Non-strict loading reports missing/unexpected keys instead (shape mismatches still throw).
  delete edited["features.0.weight"];
  saveSafetensors(path, edited, {});
  const report = loadWeights(model, path, { strict: false });
  assert.deepEqual(report.missingKeys, ["features.0.weight", "classifier.3.bias"]);
  assert.deepEqual(report.unexpectedKeys, ["head.extra"]);
});

test("saveWeights writes PyTorch's keys and a file loadWeights reads back exactly", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-weights-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const source = createModel("fmnist-cnn", { inputSize: 8 });
  loadWeights(source, fixture("fmnist8.safetensors"));
  const path = join(dir, "out.safetensors");
  saveWeights(source, path, { model: "fmnist-cnn" });
  const { tensors, metadata } = loadSafetensors(path);
  assert.deepEqual(metadata, { format: "pt", model: "fmnist-cnn" });
  assert.deepEqual(
    Object.keys(tensors),
    Object.keys(loadSafetensors(fixture("fmnist8.safetensors")).tensors),
  );
  const copy = createModel("fmnist-cnn", { inputSize: 8 });
  loadWeights(copy, path);
  checkAgainstPyTorch(copy, fixture("fmnist8.io.safetensors"));
});

const noTorch = torchUnavailable();
test(
  "torchvision resnet18 weights written by PyTorch load into the zoo's resnet18",
  { skip: noTorch ?? false },
  () => {
    const out = join(CACHE_DIR, "weights");
    const script = join(here, "..", "..", "scripts", "onnx", "export_weights.py");
    const r = spawnSync(PYTHON, [script, "--out", out, "--only", "resnet18"], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const model = createModel("resnet18", { numClasses: 10 });
    loadWeights(model, join(out, "resnet18.safetensors"));
    checkAgainstPyTorch(model, join(out, "resnet18.io.safetensors"));
  },
);
