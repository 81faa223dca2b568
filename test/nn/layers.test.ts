// Every layer: a float64 gradcheck (input and parameters, op-info style), shape behaviour, and
// activations against values PyTorch computed (scripts/torch/nn_reference.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as nb from "../../src/index.js";
import * as nn from "../../src/nn/index.js";
import type { Tensor } from "../../src/tensor/tensor.js";

const gen = () => new nb.Generator(42);
const input = (shape: number[], seed = 1) => {
  const x = nb.randn(shape, { dtype: "float64", generator: new nb.Generator(seed) });
  x.requiresGrad = true;
  return x;
};

interface Case {
  name: string;
  make: () => nn.Module;
  shape: number[];
  /** Evaluate in eval mode (BatchNorm's running-stat path). */
  eval?: boolean;
}

const cases: Case[] = [
  { name: "Linear", make: () => new nn.Linear(4, 3), shape: [2, 4] },
  { name: "Linear (3-D input, no bias)", make: () => new nn.Linear(3, 2, { bias: false }), shape: [2, 2, 3] },
  { name: "Conv2d", make: () => new nn.Conv2d(2, 3, 3, { padding: 1 }), shape: [2, 2, 4, 4] },
  {
    name: "Conv2d stride/dilation/groups, no bias",
    make: () => new nn.Conv2d(4, 2, [3, 2], { stride: 2, dilation: [1, 2], groups: 2, bias: false }),
    shape: [1, 4, 5, 6],
  },
  {
    name: "Conv2d padding same",
    make: () => new nn.Conv2d(2, 2, 3, { padding: "same", dilation: 2 }),
    shape: [1, 2, 5, 5],
  },
  { name: "BatchNorm1d train", make: () => new nn.BatchNorm1d(3), shape: [4, 3] },
  { name: "BatchNorm1d eval", make: () => new nn.BatchNorm1d(3), shape: [4, 3, 2], eval: true },
  { name: "BatchNorm2d train", make: () => new nn.BatchNorm2d(2), shape: [3, 2, 2, 2] },
  { name: "BatchNorm2d eval", make: () => new nn.BatchNorm2d(2), shape: [2, 2, 2, 2], eval: true },
  { name: "ReLU", make: () => new nn.ReLU(), shape: [3, 4] },
  { name: "ReLU6", make: () => new nn.ReLU6(), shape: [3, 4] },
  { name: "LeakyReLU", make: () => new nn.LeakyReLU(0.2), shape: [3, 4] },
  { name: "ELU", make: () => new nn.ELU(1.3), shape: [3, 4] },
  { name: "GELU", make: () => new nn.GELU(), shape: [3, 4] },
  { name: "GELU tanh", make: () => new nn.GELU("tanh"), shape: [3, 4] },
  { name: "SiLU", make: () => new nn.SiLU(), shape: [3, 4] },
  { name: "Hardswish", make: () => new nn.Hardswish(), shape: [3, 4] },
  { name: "Hardsigmoid", make: () => new nn.Hardsigmoid(), shape: [3, 4] },
  { name: "Sigmoid", make: () => new nn.Sigmoid(), shape: [3, 4] },
  { name: "Tanh", make: () => new nn.Tanh(), shape: [3, 4] },
  { name: "Softmax", make: () => new nn.Softmax(1), shape: [2, 4] },
  { name: "LogSoftmax", make: () => new nn.LogSoftmax(-1), shape: [2, 4] },
  { name: "MaxPool2d", make: () => new nn.MaxPool2d(2), shape: [1, 2, 4, 4] },
  {
    name: "MaxPool2d ceil/padding",
    make: () => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }),
    shape: [1, 1, 6, 6],
  },
  { name: "AvgPool2d", make: () => new nn.AvgPool2d(2), shape: [1, 2, 4, 4] },
  { name: "AvgPool2d ceilMode", make: () => new nn.AvgPool2d(2, { ceilMode: true }), shape: [1, 2, 5, 3] },
  { name: "AdaptiveAvgPool2d", make: () => new nn.AdaptiveAvgPool2d([2, 3]), shape: [1, 2, 5, 4] },
  { name: "Flatten", make: () => new nn.Flatten(), shape: [2, 2, 3] },
  { name: "Dropout (eval)", make: () => new nn.Dropout(0.3), shape: [3, 3], eval: true },
  { name: "Identity", make: () => new nn.Identity(), shape: [2, 2] },
];

for (const c of cases) {
  test(`gradcheck: ${c.name}`, () => {
    const layer = c.make().double();
    if (c.eval) {
      // Non-trivial running statistics for the eval path.
      for (const b of layer.buffers())
        if (b.dtype === "float64")
          b.data.set(nb.rand(b.shape, { dtype: "float64", generator: gen() }).add(0.5).data);
      layer.eval();
    }
    const params = [...layer.parameters()];
    for (const p of params) assert.equal(p.dtype, "float64");
    // Move activations' inputs away from kinks by using a smooth random draw.
    const x = input(c.shape);
    assert.ok(nb.gradcheck((xx) => layer.call(xx), [x, ...params]));
  });
}

test("gradcheck: Dropout in training mode with a fixed mask", () => {
  const x = input([4, 5]);
  const fn = (xx: Tensor) => new nn.Dropout(0.4, { generator: new nb.Generator(3) }).call(xx);
  assert.ok(nb.gradcheck(fn, [x]));
  const y = fn(x);
  const kept = Array.from(y.data).filter((v) => v !== 0).length;
  assert.ok(kept > 0 && kept < 20);
  for (let i = 0; i < 20; i++) {
    const v = y.data[i]!;
    if (v !== 0) assert.ok(Math.abs(v - x.data[i]! / 0.6) < 1e-12);
  }
});

test("activations match PyTorch", () => {
  const ref = JSON.parse(readFileSync(new URL("./data/activations.json", import.meta.url), "utf8")) as {
    x: number[];
    out: Record<string, number[]>;
  };
  const x = nb.tensor(ref.x, { dtype: "float64" });
  const ours: Record<string, Tensor> = {
    relu: nn.F.relu(x),
    relu6: nn.F.relu6(x.mul(2)),
    "leaky_relu_0.1": nn.F.leakyRelu(x, 0.1),
    "elu_1.5": nn.F.elu(x, 1.5),
    gelu: nn.F.gelu(x),
    gelu_tanh: nn.F.gelu(x, "tanh"),
    silu: nn.F.silu(x),
    hardswish: nn.F.hardswish(x),
    hardsigmoid: nn.F.hardsigmoid(x),
    sigmoid: nn.F.sigmoid(x),
    tanh: nn.F.tanh(x),
  };
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(ref.out).sort());
  for (const [name, t] of Object.entries(ours)) {
    const expected = ref.out[name]!;
    Array.from(t.data).forEach((v, i) => {
      assert.ok(
        Math.abs(v - expected[i]!) <= 1e-12 + 1e-10 * Math.abs(expected[i]!),
        `${name}[${i}]: ${v} vs ${expected[i]}`,
      );
    });
  }
});

test("Linear reads the weight transposed in place and matches x·Wᵀ + b", () => {
  const lin = new nn.Linear(3, 2, { generator: gen() });
  const x = nb.tensor([[1, 2, 3]]);
  const w = lin.weight.toArray() as number[][];
  const b = Array.from(lin.bias!.data);
  const y = lin.call(x).toArray() as number[][];
  for (let o = 0; o < 2; o++) {
    const expected = w[o]![0]! + 2 * w[o]![1]! + 3 * w[o]![2]! + b[o]!;
    assert.ok(Math.abs(y[0]![o]! - expected) < 1e-5);
  }
  assert.throws(() => lin.call(nb.ones([1, 4])), nb.ShapeError);
});

test("Conv2d output shapes for stride, padding, dilation and 'same'", () => {
  const x = nb.randn([1, 4, 9, 7]);
  assert.deepEqual(new nn.Conv2d(4, 6, 3).call(x).shape, [1, 6, 7, 5]);
  assert.deepEqual(new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1 }).call(x).shape, [1, 6, 5, 4]);
  assert.deepEqual(new nn.Conv2d(4, 6, 3, { dilation: 2 }).call(x).shape, [1, 6, 5, 3]);
  assert.deepEqual(new nn.Conv2d(4, 6, 5, { padding: "same" }).call(x).shape, [1, 6, 9, 7]);
  assert.deepEqual(new nn.Conv2d(4, 8, 3, { groups: 4, padding: 1 }).weight.shape, [8, 1, 3, 3]);
  assert.throws(() => new nn.Conv2d(4, 6, 3, { groups: 3 }), nb.ValueError);
  assert.throws(() => new nn.Conv2d(4, 6, 3, { padding: "same", stride: 2 }), nb.ValueError);
  assert.throws(() => new nn.Conv2d(3, 6, 3).call(x), nb.ShapeError);
});

test("default initialisation follows PyTorch: U(±1/√fan_in) for weights and biases, BN 1/0", () => {
  const conv = new nn.Conv2d(8, 16, 3, { generator: gen() });
  const bound = 1 / Math.sqrt(8 * 9);
  for (const t of [conv.weight, conv.bias!]) {
    const v = Array.from(t.data);
    assert.ok(v.every((e) => Math.abs(e) <= bound));
    // Spread over the whole range (not all tiny).
    assert.ok(Math.max(...v.map(Math.abs)) > 0.8 * bound);
  }
  const lin = new nn.Linear(50, 40, { generator: gen() });
  const w = Array.from(lin.weight.data);
  const variance = w.reduce((s, e) => s + e * e, 0) / w.length;
  assert.ok(Math.abs(variance - 1 / (3 * 50)) < 0.1 / (3 * 50), `variance ${variance}`);
  const bn = new nn.BatchNorm2d(3);
  assert.deepEqual(Array.from(bn.weight!.data), [1, 1, 1]);
  assert.deepEqual(Array.from(bn.bias!.data), [0, 0, 0]);
  // Same generator seed, same weights.
  assert.deepEqual(
    new nn.Linear(3, 3, { generator: gen() }).weight.toArray(),
    new nn.Linear(3, 3, { generator: gen() }).weight.toArray(),
  );
});

test("BatchNorm layers check their input rank and channels", () => {
  assert.throws(() => new nn.BatchNorm2d(3).call(nb.ones([2, 3])), /BatchNorm2d: expected 4-D input/);
  assert.throws(() => new nn.BatchNorm1d(3).call(nb.ones([2, 4])), /has 4 channels, expected 3/);
  assert.throws(() => new nn.BatchNorm1d(3).call(nb.ones([1, 3])), /more than 1 value per channel/);
});
