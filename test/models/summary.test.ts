// summary(): per-layer output shapes, parameters and MACs from a hooked batch-1 forward pass,
// checked against shared/bench/models.py's MAC counter (data/zoo_keys.json), and the CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { summary, formatSummary } from "../../src/compress/summary.js";
import { createModel } from "../../src/models/index.js";
import { main } from "../../src/cli/main.js";

const reference = JSON.parse(
  readFileSync(new URL("./data/zoo_keys.json", import.meta.url), "utf8"),
) as Record<string, { params: number; macs?: { input: number[]; macs: number } }>;

test("MACs and parameter totals match the PyTorch reference counter", () => {
  for (const name of ["fmnist-cnn", "resnet20", "mobilenet_v2"]) {
    const ref = reference[name]!;
    const model = createModel(name, { inChannels: ref.macs!.input[0]! });
    const s = summary(model, ref.macs!.input);
    assert.equal(s.macs, ref.macs!.macs, name);
    assert.equal(s.params, ref.params, name);
    assert.equal(s.trainableParams, ref.params, name);
  }
});

test("fmnist-cnn rows: leaf layers with output shapes, own parameters and MACs", () => {
  const model = createModel("fmnist-cnn");
  model.train();
  const s = summary(model, [1, 28, 28]);
  assert.equal(s.rows.length, 12);
  assert.deepEqual(s.rows[0], {
    name: "features.0",
    type: "Conv2d",
    outputShape: [1, 32, 28, 28],
    params: 320,
    macs: 32 * 28 * 28 * 9,
    activationBytes: 32 * 28 * 28 * 4,
  });
  assert.deepEqual(s.rows[7], {
    name: "features.7",
    type: "MaxPool2d",
    outputShape: [1, 64, 7, 7],
    params: 0,
    macs: 0,
    activationBytes: 64 * 7 * 7 * 4,
  });
  assert.deepEqual(s.rows[9], {
    name: "classifier.1",
    type: "Linear",
    outputShape: [1, 128],
    params: 401_536,
    macs: 3136 * 128,
    activationBytes: 128 * 4,
  });
  assert.equal(
    s.rows.reduce((a, r) => a + r.params, 0),
    s.params,
  );
  // The model is left as it was: training mode, no hooks, running stats untouched.
  assert.ok([...model.modules()].every((m) => m.training));
  assert.equal(model.stateDict().get("features.1.num_batches_tracked")!.item(), 0);
  const text = formatSummary(s);
  assert.match(text, /features\.4\s+Conv2d\s+\[1, 64, 14, 14\]\s+18,496/);
  assert.match(text, /Total params: 421,834/);
});

test("grouped convolutions count (Cin/groups)·kH·kW MACs per output element", () => {
  const model = createModel("resnext_cifar");
  const s = summary(model, [3, 32, 32]);
  const grouped = s.rows.find((r) => r.name === "layer1.0.conv2")!;
  // 32 channels in 8 groups: each output element reads 4 channels × 3 × 3.
  assert.equal(grouped.macs, 32 * 32 * 32 * 4 * 9);
});

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => {
    chunks.push(String(chunk));
    return true;
  }) as typeof process.stdout.write;
  try {
    const code = await main(args);
    return { code, out: chunks.join("") };
  } finally {
    process.stdout.write = write;
  }
}

test("nabla summary --json prints one object with params, trainable_params, input and layers", async () => {
  const { code, out } = await cli([
    "summary",
    "--model",
    "resnet20",
    "--input",
    "1,28,28",
    "--num-classes",
    "5",
    "--json",
  ]);
  assert.equal(code, 0);
  const j = JSON.parse(out) as {
    params: number;
    trainable_params: number;
    input: number[];
    macs: number;
    layers: { name: string; output_shape: number[] }[];
  };
  assert.deepEqual(j.input, [1, 28, 28]);
  assert.equal(j.params, 272_474 - 3 * 16 * 9 + 16 * 9 - 5 * 65);
  assert.equal(j.trainable_params, j.params);
  assert.deepEqual(j.layers.at(-1), {
    name: "fc",
    type: "Linear",
    output_shape: [1, 5],
    params: 325,
    macs: 320,
    activation_bytes: 20,
  });
});

test("nabla summary prints a table, and rejects bad flags with a typed error", async () => {
  const { code, out } = await cli(["summary", "--model", "fmnist-cnn"]);
  assert.equal(code, 0);
  assert.match(out, /classifier\.3\s+Linear\s+\[1, 10\]/);
  const stderr: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => {
    stderr.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    assert.equal((await cli(["summary", "--model", "nope"])).code, 1);
    assert.equal((await cli(["summary", "--model", "resnet20", "--input", "3,32"])).code, 1);
  } finally {
    process.stderr.write = write;
  }
  assert.match(stderr.join(""), /unknown model "nope"/);
  assert.match(stderr.join(""), /--input must be C,H,W/);
});
