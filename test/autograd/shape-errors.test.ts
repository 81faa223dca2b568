// Shape errors: a ShapeError whose message names the op and both shapes, and no op that quietly
// broadcasts where PyTorch would refuse (matrix dims, bias / weight sizes, index shapes, cat).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ShapeError,
  add,
  batchNorm,
  cat,
  conv2d,
  gather,
  grad,
  matmul,
  maxPool2d,
  ones,
  scatterAdd,
  stack,
  tensor,
  where,
  zeros,
  type Tensor,
} from "../../src/index.js";

const f = (...shape: number[]) => ones(shape, { dtype: "float64", requiresGrad: true });
const idx = (...shape: number[]) => zeros(shape, { dtype: "int32" });

const cases: [string, () => unknown, string[]][] = [
  ["add: incompatible broadcast", () => add(f(2, 3), f(3, 2)), ["add", "[2, 3]", "[3, 2]"]],
  ["mul (method form)", () => f(4).mul(f(5)), ["mul", "[4]", "[5]"]],
  ["matmul: matrix dims never broadcast", () => matmul(f(3, 4), f(1, 4)), ["matmul", "[3, 4]", "[1, 4]"]],
  ["matmul: vector of the wrong length", () => matmul(f(3, 4), f(3)), ["matmul", "[3, 4]", "[3]"]],
  [
    "conv2d: a bias of size 1 is not broadcast",
    () => conv2d(f(1, 2, 4, 4), f(3, 2, 3, 3), f(1)),
    ["conv2d", "[3]", "[1]"],
  ],
  [
    "conv2d: channels",
    () => conv2d(f(1, 3, 4, 4), f(3, 2, 3, 3)),
    ["conv2d", "[1, 3, 4, 4]", "[3, 2, 3, 3]"],
  ],
  [
    "batchNorm: a weight of size 1 is not broadcast",
    () => batchNorm(f(2, 3, 4), { weight: f(1) }),
    ["batchNorm", "[2, 3, 4]", "[1]"],
  ],
  [
    "gather: index must match the input outside dim",
    () => gather(f(2, 3), 1, idx(1, 2)),
    ["gather", "[1, 2]", "[2, 3]"],
  ],
  [
    "scatterAdd: src must equal index",
    () => scatterAdd(f(2, 3), 1, idx(2, 2), f(2, 1)),
    ["scatterAdd", "[2, 1]", "[2, 2]"],
  ],
  ["cat: other dims must match", () => cat([f(2, 3), f(1, 4)], 0), ["cat", "[2, 3]", "[1, 4]"]],
  ["stack: shapes must be equal", () => stack([f(2, 3), f(1, 3)]), ["stack", "[2, 3]", "[1, 3]"]],
  [
    "where: condition must broadcast",
    () => where(tensor([true, false, true]), f(2), f(2)),
    ["where", "[3]", "[2]"],
  ],
  ["maxPool2d: needs 4-D", () => maxPool2d(f(3, 4), { kernelSize: 2 }), ["maxPool2d", "[3, 4]"]],
  ["expand: a non-1 dim cannot grow", () => f(2, 3).expand(4, 3), ["expand", "[2, 3]", "[4, 3]"]],
  ["reshape: element counts differ", () => f(2, 3).reshape(5), ["reshape", "[5]", "[2, 3]"]],
];

for (const [name, call, mentions] of cases) {
  test(`shape error — ${name}`, () => {
    assert.throws(call, (e: unknown) => {
      assert.ok(e instanceof ShapeError, `expected ShapeError, got ${String(e)}`);
      for (const m of mentions) assert.ok(e.message.includes(m), `"${e.message}" should mention ${m}`);
      return true;
    });
  });
}

test("gradOutputs are not broadcast to the output's shape either", () => {
  const x = f(3);
  const y: Tensor = x.mul(2);
  assert.throws(() => grad(y, x, { gradOutputs: [ones([1], { dtype: "float64" })] }), /\[1\].*\[3\]/);
});
