// The op-info conformance suite on the reference backend: for every op in the table, forward
// against the naive loop reference, gradcheck and gradgradcheck, and typed shape errors. Also:
// the table covers every exported op, and the driver does fail a backend with a wrong kernel.
import { test } from "node:test";
import assert from "node:assert/strict";
import { opInfos, checkOpInfo, refBackend, type Backend, type Kernels } from "../../src/index.js";
import * as elementwise from "../../src/autograd/ops/elementwise.js";
import * as reduce from "../../src/autograd/ops/reduce.js";
import * as movement from "../../src/autograd/ops/movement.js";
import * as matmul from "../../src/autograd/ops/matmul.js";
import * as indexing from "../../src/autograd/ops/indexing.js";
import * as conv from "../../src/autograd/ops/conv.js";
import * as pool from "../../src/autograd/ops/pool.js";
import * as normalization from "../../src/autograd/ops/normalization.js";

for (const info of opInfos) {
  test(`conformance: ${info.name}`, () => {
    const failures = checkOpInfo(info, { backend: refBackend });
    assert.deepEqual(
      failures.map((f) => `${f.sample} [${f.check}]: ${f.message}`),
      [],
    );
  });
}

// Exported functions that are helpers, not ops.
const NOT_OPS = new Set([
  "asTensor",
  "checkSameShape",
  "viewStrides",
  "pair",
  "conv2dParams",
  "pool2dParams",
]);

test("the op-info table covers every exported op, and checks derivatives of the differentiable ones", () => {
  const modules = [elementwise, reduce, movement, matmul, indexing, conv, pool, normalization];
  const exported = modules.flatMap((m) =>
    Object.entries(m)
      .filter(([name, v]) => typeof v === "function" && !NOT_OPS.has(name))
      .map(([name]) => name),
  );
  const covered = new Set(opInfos.map((i) => i.name));
  assert.deepEqual(
    exported.filter((name) => !covered.has(name)),
    [],
  );
  // Only ops without a derivative opt out of gradcheck, and none opts out of gradgradcheck alone.
  const notDifferentiable = opInfos.filter((i) => !i.differentiable).map((i) => i.name);
  assert.deepEqual(notDifferentiable.sort(), [
    "argmax",
    "argmin",
    "batchNorm (running statistics update)",
    "eq",
    "ge",
    "gt",
    "le",
    "logicalNot",
    "lt",
    "ne",
  ]);
  assert.deepEqual(
    opInfos.filter((i) => i.differentiable && i.gradgrad === false).map((i) => i.name),
    [],
  );
});

test("the driver fails a backend whose kernel is wrong, and names the op and sample", () => {
  const unary: Kernels["unary"] = (op, x, shape, out) => {
    refBackend.kernels.unary!(op, x, shape, out);
    if (op === "exp" && out.length > 1) out[1] = out[1]! * 1.001;
  };
  const broken: Backend = { name: "broken", alloc: refBackend.alloc, kernels: { unary } };
  const exp = opInfos.find((i) => i.name === "exp")!;
  const failures = checkOpInfo(exp, { backend: broken, gradcheck: false });
  assert.ok(failures.length > 0);
  assert.ok(failures.every((f) => f.op === "exp" && f.check === "forward"));
  assert.match(failures[0]!.message, /element 1/);
  // Other ops that do not use exp still pass on it.
  assert.deepEqual(
    checkOpInfo(
      opInfos.find((i) => i.name === "sin")!,
      { backend: broken, gradcheck: false },
    ),
    [],
  );
});
