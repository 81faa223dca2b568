// Loss values and input gradients against PyTorch (float64), on the fixed inputs of
// test/nn/data/losses_reference.json (made by scripts/torch/losses_reference.py): class-index and
// probability cross entropy with weights, ignoreIndex, label smoothing and spatial dims; nll;
// mse/l1/smooth-L1/huber; bce, bce-with-logits (posWeight, ±1e4 logits); klDiv (all reductions).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fromArray, tensor } from "../../src/tensor/creation.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { DTypeError, ShapeError, ValueError } from "../../src/errors.js";
import * as L from "../../src/nn/losses.js";

interface Encoded {
  dtype: "int32" | "float64";
  shape: number[];
  values: number[];
}
interface Case {
  name: string;
  fn:
    | "crossEntropy"
    | "nllLoss"
    | "mseLoss"
    | "l1Loss"
    | "smoothL1Loss"
    | "huberLoss"
    | "bceLoss"
    | "bceWithLogitsLoss"
    | "klDiv";
  options: Record<string, unknown>;
  tensors: Record<string, Encoded>;
  input: Encoded;
  target: Encoded;
  output: Encoded;
  grad: Encoded;
}
const data = JSON.parse(readFileSync(new URL("./data/losses_reference.json", import.meta.url), "utf8")) as {
  cases: Case[];
};

function decode(e: Encoded): Tensor {
  const arr = e.dtype === "int32" ? Int32Array.from(e.values) : Float64Array.from(e.values);
  return fromArray(arr, e.shape);
}

type LossFn = (input: Tensor, target: Tensor, options: object) => Tensor;
const FNS = L as unknown as Record<Case["fn"], LossFn>;

function assertClose(got: ArrayLike<number>, expected: number[], what: string): void {
  assert.equal(got.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => {
    const a = got[i]!;
    assert.ok(Math.abs(a - e) <= 1e-12 + 1e-10 * Math.abs(e), `${what}[${i}]: got ${a}, PyTorch ${e}`);
  });
}

for (const c of data.cases) {
  test(`${c.fn} ${c.name} matches PyTorch (value and gradient)`, () => {
    const x = decode(c.input).requiresGrad_();
    const options: Record<string, unknown> = { ...c.options };
    for (const [k, v] of Object.entries(c.tensors)) options[k] = decode(v);
    const out = FNS[c.fn](x, decode(c.target), options);
    assert.deepEqual(out.shape, c.output.shape, "output shape");
    assertClose(out.data, c.output.values, "value");
    out.sum().backward();
    assertClose(x.grad!.data, c.grad.values, "gradient");
  });
}

test("module wrappers apply their options", () => {
  const x = tensor([
    [1, 2, 0.5],
    [0, -1, 3],
  ]);
  const t = tensor([2, -100], { dtype: "int32" });
  const m = new L.CrossEntropyLoss({ labelSmoothing: 0.1, reduction: "sum" });
  assert.equal(m.call(x, t).item(), L.crossEntropy(x, t, { labelSmoothing: 0.1, reduction: "sum" }).item());
  const y = tensor([
    [0.5, 1, 0],
    [1, 1, 2],
  ]);
  assert.equal(new L.MSELoss().call(x, y).item(), L.mseLoss(x, y).item());
  assert.equal(
    new L.HuberLoss({ delta: 0.5 }).forward(x, y).item(),
    L.huberLoss(x, y, { delta: 0.5 }).item(),
  );
  assert.equal(new L.KLDivLoss({ reduction: "batchmean" }).call(x, y.softmax(1)).shape.length, 0);
  assert.match(m.toString(), /labelSmoothing=0.1/);
});

test("losses name the problem with bad inputs", () => {
  const x = tensor([
    [1, 2, 0.5],
    [0, -1, 3],
  ]);
  assert.throws(
    () => L.crossEntropy(x, tensor([0, 3], { dtype: "int32" })),
    /target 3 is out of bounds for 3 classes/,
  );
  assert.throws(() => L.crossEntropy(x, tensor([0, 1, 2], { dtype: "int32" })), ShapeError);
  assert.throws(() => L.crossEntropy(x, tensor([[0.5, 0.5]])), ShapeError);
  assert.throws(
    () => L.crossEntropy(x, tensor([0, 1], { dtype: "int32" }), { weight: tensor([1, 2]) }),
    /weight/,
  );
  assert.throws(
    () => L.crossEntropy(x, tensor([0, 1], { dtype: "int32" }), { labelSmoothing: 2 }),
    ValueError,
  );
  assert.throws(() => L.nllLoss(x, tensor([0, 1])), DTypeError);
  assert.throws(() => L.nllLoss(x, tensor([[0, 1]], { dtype: "int32" })), ShapeError);
  assert.throws(() => L.nllLoss(x, tensor([0, 1], { dtype: "bool" })), DTypeError);
  assert.throws(
    () => L.mseLoss(x, tensor([1, 2, 3])),
    /mseLoss: target shape \[3\] must equal input shape \[2, 3\]/,
  );
  assert.throws(() => L.bceLoss(x, x), /probability in \[0, 1\]/);
  assert.throws(() => L.mseLoss(x, x, { reduction: "avg" as "mean" }), /reduction/);
});

test("all-ignored targets: sum is 0, mean is NaN (0/0), as in PyTorch", () => {
  const x = tensor([
    [1, 2, 0.5],
    [0, -1, 3],
  ]);
  const t = tensor([-100, -100], { dtype: "int32" });
  assert.equal(L.crossEntropy(x, t, { reduction: "sum" }).item(), 0);
  assert.ok(Number.isNaN(L.crossEntropy(x, t).item()));
});
