// Inference plans (src/nn/plan.ts): under noGrad, an eval-mode model of built-in layers replays
// the kernel calls of a recorded forward. A replay must give exactly the forward's result for the
// new input, and anything the forward depended on that changed since (parameters in place, batch-
// norm statistics, hooks, modes, fields, shapes) must show in the next result.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import { randomizeBatchNorms } from "../support/batchnorm.js";
import { createModel } from "../../src/models/index.js";
import { Module } from "../../src/nn/module.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { Linear } from "../../src/nn/layers/linear.js";
import {
  inferencePlanGuardedFolds,
  inferencePlanPrograms,
  inferencePlanSteps,
  setInferencePlans,
} from "../../src/nn/plan.js";
import { setInferencePrograms } from "../../src/nn/plan_replay.js";
import { getBackend } from "../../src/backend/registry.js";

/** The forward without plans: what every planned call must equal, bit for bit. */
function eager(model: Module, x: nb.Tensor): number[] {
  const previous = setInferencePlans(false);
  try {
    return Array.from(nb.noGrad(() => model.call(x)).data);
  } finally {
    setInferencePlans(previous);
  }
}

function assertSame(got: nb.Tensor, want: number[], what: string): void {
  assert.equal(got.numel, want.length, `${what}: size`);
  got.data.forEach((v, i) => {
    if (!Object.is(v, want[i])) assert.fail(`${what}[${i}]: planned ${v}, forward ${want[i]}`);
  });
}

const input = (model: string, n: number, seed: number) =>
  nb.randn(model === "fmnist-cnn" ? [n, 1, 28, 28] : [n, 3, 32, 32], { generator: new nb.Generator(seed) });

// (MobileNetV2's classifier has a Dropout, which plans do not trust yet: it runs its forward.)
for (const [name, planned] of [
  ["fmnist-cnn", true],
  ["resnet20", true],
  ["resnet18", true],
  ["mobilenet_v2", false],
] as const) {
  test(`${name}: planned calls give the forward's bits for each new input, in new tensors`, () => {
    const model = createModel(name, { numClasses: 10 });
    randomizeBatchNorms(model, 1, false);
    model.eval();
    for (const n of [1, 2]) {
      const results: [nb.Tensor, number[]][] = [];
      for (let seed = 0; seed < 4; seed++) {
        const x = input(name, n, seed);
        const want = eager(model, x);
        results.push([nb.noGrad(() => model.call(x)), want]);
      }
      assert.equal(inferencePlanSteps(model) >= 4, planned, `${name}: planned`);
      // On the native backend a plan replays its calls as programs (plan_replay.ts).
      const native = getBackend().programs !== undefined;
      assert.equal(inferencePlanPrograms(model) > 0, planned && native, `${name}: programs`);
      // Each result is still its own after later calls (a replay writes into the plan's buffers).
      results.forEach(([got, want], i) => assertSame(got, want, `${name} batch ${n} call ${i}`));
      // Step by step, the same bits.
      const previous = setInferencePrograms(false);
      try {
        const x = input(name, n, 9);
        assertSame(
          nb.noGrad(() => model.call(x)),
          eager(model, x),
          `${name} batch ${n} without programs`,
        );
      } finally {
        setInferencePrograms(previous);
      }
    }
  });
}

test("a replay reads parameters and statistics changed in place, and sees new fields, hooks and modes", () => {
  const model = createModel("resnet20", { numClasses: 10 }) as Module & { fc: Linear };
  const replacement = new Linear(64, 10); // (made first: making a module counts as a structural change)
  randomizeBatchNorms(model, 2, false);
  model.eval();
  const x = input("resnet20", 1, 5);
  // The planned call first: the plain forward refreshes the batch-norm folds, which the plan
  // would then see as replaced whether or not it compared their inputs.
  const check = (what: string) => {
    const got = nb.noGrad(() => model.call(x));
    assertSame(got, eager(model, x), what);
  };
  check("first call");
  check("replayed");
  assert.ok(inferencePlanSteps(model) > 0);
  // On the native backend the folds' values are compared by one addon call (a guard).
  if (getBackend().programs?.holds) assert.equal(inferencePlanGuardedFolds(model), 21); // (every batch norm)
  const conv = [...model.modules()].find((m) => m instanceof Conv2d) as Conv2d;
  conv.weight.data[0] = 3;
  check("conv weight changed in place");
  const bn = [...model.modules()].find((m) => m instanceof BatchNorm2d) as BatchNorm2d;
  bn.runningVar!.data[1] = 9;
  check("running variance changed in place");
  (bn as unknown as { eps: number }).eps = 0.5; // (readonly to TypeScript, not to JavaScript)
  check("eps changed");
  bn.weight!.data[0] = 2.5;
  check("batch-norm weight changed in place");
  bn.bias!.data[0] = -1.25;
  check("batch-norm bias changed in place");
  bn.runningMean!.data[2] = 0.75;
  check("running mean changed in place");
  // An own property added later: a forward that shadows the class's (the key list changed).
  const fc = model.fc as unknown as { forward: (t: nb.Tensor) => nb.Tensor };
  const classForward = fc.forward;
  fc.forward = function (this: Linear, t: nb.Tensor) {
    return classForward.call(this, t).mul(2);
  };
  check("forward overridden");
  check("forward overridden, again");
  delete (fc as { forward?: unknown }).forward;
  check("override deleted");
  // A field replaced without registerModule (the forward reads the field).
  (model as unknown as { fc: Linear }).fc = replacement;
  check("fc replaced");
  let seen = 0;
  const handle = model.fc.registerForwardHook(() => {
    seen++;
  });
  check("hook added");
  assert.equal(seen, 2, "the hook ran in both calls");
  handle.remove();
  check("hook removed");
  // Training mode: batch statistics (nothing is planned), then back to eval.
  model.train();
  const train = Array.from(nb.noGrad(() => model.call(x)).data);
  assert.notDeepEqual(train, eager(model.eval(), x));
  check("back in eval mode");
});

test("a new input shape, a non-contiguous input and grad mode all run correctly", () => {
  const model = createModel("fmnist-cnn", { numClasses: 10 });
  randomizeBatchNorms(model, 3, false);
  model.eval();
  const x1 = input("fmnist-cnn", 1, 1);
  nb.noGrad(() => model.call(x1));
  nb.noGrad(() => model.call(x1));
  const x3 = input("fmnist-cnn", 3, 2);
  assertSame(
    nb.noGrad(() => model.call(x3)),
    eager(model, x3),
    "batch 3 after batch 1",
  );
  const strided = nb.randn([1, 1, 28, 56]).slice(3, 0, 28); // every other... a view with offset 0, strides not contiguous
  assertSame(
    nb.noGrad(() => model.call(strided)),
    eager(model, strided),
    "non-contiguous input",
  );
  // With autograd on, nothing is planned: the result has a graph.
  const y = model.call(x1);
  assert.ok(y.gradFn !== null);
});

test("a module the plan cannot account for runs its forward every time", () => {
  // A user subclass is never trusted: its forward may do anything between kernels.
  class Scaled extends Module {
    readonly conv = this.registerModule("conv", new Conv2d(1, 4, 3));
    factor = 1;
    forward(x: nb.Tensor): nb.Tensor {
      return this.conv.call(x).mul(this.factor).relu().add(1).mul(2);
    }
  }
  const model = new Scaled().eval();
  const x = nb.randn([1, 1, 8, 8]);
  const first = Array.from(nb.noGrad(() => model.call(x)).data);
  nb.noGrad(() => model.call(x));
  assert.equal(inferencePlanSteps(model), 0);
  model.factor = 3;
  const third = Array.from(nb.noGrad(() => model.call(x)).data);
  assert.notDeepEqual(first, third);
});

test("a plan is recorded on the second call at a structure version, so mode switches every call never record", () => {
  const model = createModel("fmnist-cnn", { numClasses: 10 }).eval();
  const x = input("fmnist-cnn", 1, 4);
  nb.noGrad(() => model.call(x));
  assert.equal(inferencePlanSteps(model), 0);
  nb.noGrad(() => model.call(x));
  assert.ok(inferencePlanSteps(model) > 0);
  const other = createModel("fmnist-cnn", { numClasses: 10 });
  for (let step = 0; step < 3; step++) {
    other.train(); // (a training step would run here)
    other.eval();
    nb.noGrad(() => other.call(x));
  }
  assert.equal(inferencePlanSteps(other), 0);
});

test("a batch-norm parameter whose buffer was detached makes the call throw, never read freed memory", () => {
  // (On the native backend the plan's guard holds that array's address: the plan must see the
  // detachment before the guard compares it, and fall back to the forward, which throws.)
  const model = createModel("resnet20", { numClasses: 10 }).eval();
  const x = input("resnet20", 1, 7);
  nb.noGrad(() => model.call(x));
  nb.noGrad(() => model.call(x));
  const bn = [...model.modules()].find((m) => m instanceof BatchNorm2d) as BatchNorm2d;
  const buffer = bn.weight!.storage.buffer as ArrayBuffer;
  structuredClone(buffer, { transfer: [buffer] });
  assert.throws(() => nb.noGrad(() => model.call(x)), /detached/);
});

test("a parameter whose buffer was detached makes the call fail cleanly, never read freed memory", () => {
  const model = createModel("fmnist-cnn", { numClasses: 10 }).eval();
  const x = input("fmnist-cnn", 1, 6);
  nb.noGrad(() => model.call(x));
  nb.noGrad(() => model.call(x)); // recorded (native: as programs holding the arrays' addresses)
  const fc = [...model.modules()].find((m) => m instanceof Linear) as Linear;
  const buffer = fc.weight.storage.buffer as ArrayBuffer;
  structuredClone(buffer, { transfer: [buffer] });
  assert.equal(fc.weight.storage.byteLength, 0, "detached");
  if (getBackend().programs !== undefined) {
    assert.throws(() => nb.noGrad(() => model.call(x)), /too short/);
  } else {
    // (The reference kernels read a detached array as empty, planned or not: NaN.)
    assertSame(
      nb.noGrad(() => model.call(x)),
      eager(model, x),
      "detached, reference kernels",
    );
  }
});
