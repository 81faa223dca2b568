// `nabla export`, `nabla summary --onnx` and `nabla eval --onnx`, run through the CLI's main().
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.js";
import { loadModelForCli } from "../../src/cli/commands/export.js";
import { saveCheckpoint } from "../../src/train/checkpoint.js";
import { createModel } from "../../src/models/index.js";
import { load } from "../../src/io/onnx/index.js";
import { noGrad } from "../../src/autograd/engine.js";
import { manualSeed, randn } from "../../src/tensor/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { maxRelativeError, runOrt } from "../../scripts/onnx/torchvision-fixtures.js";

const here = dirname(fileURLToPath(import.meta.url));
const CLASSES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/** Run the CLI, capturing stdout/stderr. */
async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const write = (sink: "out" | "err") => (chunk: string | Uint8Array) => {
    if (sink === "out") out += String(chunk);
    else err += String(chunk);
    return true;
  };
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = write("out") as typeof process.stdout.write;
  process.stderr.write = write("err") as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
  }
}

/** A run folder as `nabla train` writes it, for an untrained fmnist-cnn. */
function fakeRun(dir: string) {
  manualSeed(5);
  const model = createModel("fmnist-cnn");
  const weights: Record<string, Tensor> = {};
  for (const [k, t] of model.stateDict()) weights[k] = t;
  const meta = {
    model: "fmnist-cnn",
    data: "fashion-mnist-subset",
    classes: CLASSES,
    input: [1, 28, 28],
    normalization: { mean: [0.286], std: [0.353] },
  };
  saveCheckpoint(dir, { epoch: 3, weights, state: { meta } });
  return model.eval();
}

test("nabla export writes an ONNX file equal to the checkpoint's model, with its run description", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-cli-onnx-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const model = fakeRun(join(dir, "run"));
  const path = join(dir, "m.onnx");
  const r = await run(["export", "--checkpoint", join(dir, "run"), "--onnx", path, "--opset", "13"]);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.out,
    /wrote .*m\.onnx: fmnist-cnn \(1×28×28 input, opset 13, 12 nodes, 421,834 parameters\)/,
  );
  const x = randn([4, 1, 28, 28]);
  const expected = noGrad(() => model.call(x));
  assert.ok(maxRelativeError(await runOrt(path, x), expected.data) <= 1e-4);
  // The ONNX file alone is enough for loadModelForCli: model, classes, input, normalisation.
  const cli = loadModelForCli({ onnx: path });
  assert.equal(cli.meta.model, "fmnist-cnn");
  assert.deepEqual(cli.meta.classes, CLASSES);
  assert.deepEqual(cli.input, [1, 28, 28]);
  assert.ok(maxRelativeError(noGrad(() => cli.model.call(x)).data, expected.data) <= 1e-6);
  assert.equal(load(path).opset, 13);
});

test("nabla export from a plain state dict needs --model and sizes the model from the weights", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-cli-onnx-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const weights = join(here, "weights", "fmnist8.safetensors");
  const path = join(dir, "f8.onnx");
  const missing = await run(["export", "--checkpoint", weights, "--onnx", path]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /nabla: ValueError: .*plain state dict .*--model NAME/);
  const ok = await run([
    "export",
    "--checkpoint",
    weights,
    "--model",
    "fmnist-cnn",
    "--onnx",
    path,
    "--fixed-batch",
  ]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /1×8×8 input/);
  assert.deepEqual(load(path).inputs[0]!.shape, [1, 1, 8, 8]);
  const wrong = await run(["export", "--checkpoint", weights, "--model", "resnet20", "--onnx", path]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.err, /StateDictError: .*fmnist8\.safetensors: .*Missing key/s);
});

test("nabla summary --onnx lists inputs, outputs, ops and parameters", async () => {
  const r = await run(["summary", "--onnx", join(here, "onnx", "small_cnn.onnx")]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /ONNX opset 13, produced by pytorch/);
  assert.match(r.out, /input {2}input: \[batch, 1, 28, 28\]/);
  assert.match(r.out, /BatchNormalization +2/);
  assert.match(r.out, /parameters: 9,130 .*buffers: 48/);
  const json = await run(["summary", "--onnx", join(here, "onnx", "small_cnn.onnx"), "--json"]);
  assert.equal((JSON.parse(json.out) as { ops: Record<string, number> }).ops["Conv"], 2);
});

test("nabla eval --onnx evaluates an exported model like its checkpoint", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-cli-onnx-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  fakeRun(join(dir, "run"));
  const path = join(dir, "m.onnx");
  const exported = await run(["export", "--checkpoint", join(dir, "run"), "--onnx", path]);
  assert.equal(exported.code, 0, exported.err);
  const fromOnnx = await run(["eval", "--onnx", path, "--json", "--out", dir]);
  assert.equal(fromOnnx.code, 0, fromOnnx.err + fromOnnx.out);
  const fromCkpt = await run(["eval", "--checkpoint", join(dir, "run"), "--json", "--out", dir]);
  const a = JSON.parse(fromOnnx.out) as { accuracy: number; loss: number; count: number };
  const b = JSON.parse(fromCkpt.out) as { accuracy: number; loss: number; count: number };
  assert.equal(a.count, 1000);
  assert.equal(a.accuracy, b.accuracy);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4);
  const neither = await run(["eval"]);
  assert.equal(neither.code, 1);
  assert.match(neither.err, /exactly one of --onnx/);
});
