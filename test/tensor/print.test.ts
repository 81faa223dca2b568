// Printing matches PyTorch: expected strings were printed by torch itself
// (fixtures/gen_print.py; regenerate with /usr/bin/python3 test/tensor/fixtures/gen_print.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { arange, tensor, zeros, type Tensor } from "../../src/index.js";

const expected = JSON.parse(
  readFileSync(new URL("./fixtures/print.json", import.meta.url), "utf8"),
) as Record<string, string>;

const xReq = tensor([1, 2], { requiresGrad: true });
const cases: Record<string, () => Tensor> = {
  floats: () => tensor([1.5, -2.25, 3.0]),
  "integral floats 2-D": () =>
    tensor([
      [1, 2],
      [3, 4],
    ]),
  "scientific (ratio)": () => tensor([1, 10000]),
  "scientific (small)": () => tensor([1e-5, 1]),
  "scientific (large)": () => tensor([1e9, 1]),
  "0-d": () => tensor(3.14159),
  "wrapped line": () => arange(20).float().div(3),
  "3-D": () => arange(24).float().reshape(2, 3, 4),
  "summarized 1-D": () => arange(2000).float().div(7),
  "summarized 2-D": () => arange(2000).float().reshape(100, 20).sub(1000),
  bool: () => tensor([true, false, true]),
  int: () => tensor([1, -20, 300], { dtype: "int32" }),
  float64: () => tensor([1.5, 2], { dtype: "float64" }),
  uint8: () => tensor([1, 2, 255], { dtype: "uint8" }),
  "requires grad": () => xReq,
  grad_fn: () => xReq.mul(2),
  "empty 1-D": () => zeros([0]),
  "empty 2-D": () => zeros([0, 3]),
  "empty int": () => zeros([0], { dtype: "int32" }),
  "nan and inf": () => tensor([NaN, Infinity, -Infinity, 1.5]),
  "nan with integers": () => tensor([NaN, 1, 2]),
  "negative zero": () => tensor([-0, 1]),
  "all zeros": () => zeros([3]),
  "0-d requires grad": () => tensor(-0.5, { requiresGrad: true }),
  "suffix on a new line": () => arange(9).double().mul(1.123456),
  "negative values": () =>
    tensor([
      [-1.25, 0.5],
      [100.125, -7],
    ]),
};

test("every fixture has a nabla case", () => {
  assert.deepEqual(Object.keys(cases).sort(), Object.keys(expected).sort());
});

for (const [name, make] of Object.entries(cases)) {
  test(`prints like PyTorch: ${name}`, () => {
    assert.equal(make().toString(), expected[name]);
  });
}

test("a non-contiguous view prints its logical order", () => {
  assert.equal(
    tensor([
      [1, 2],
      [3, 4],
    ])
      .t()
      .toString(),
    "tensor([[1., 3.],\n        [2., 4.]])",
  );
});
