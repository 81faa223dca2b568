// Buffer recycling in backward() (autograd/recycle.ts, nn/graph_owned.ts): dead gradients and
// graph-owned activations are handed back to the native backend and reused. Every test runs on
// the native backend with uninitialised (and recycled) outputs poisoned with NaN, and compares
// against the same computation with recycling off: a buffer reused while still in use changes
// the results.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import { setInferencePlans } from "../../src/nn/plan.js";
import { setBufferRecycling } from "../../src/autograd/recycle.js";
import { withBackend } from "../../src/backend/registry.js";
import { loadNativeBackend, setPoisonUninit } from "../../src/backend/native/index.js";
import { createModel } from "../../src/models/index.js";
import { Module } from "../../src/nn/module.js";
import { Sequential } from "../../src/nn/containers.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import { ReLU } from "../../src/nn/layers/activation.js";
import { Flatten } from "../../src/nn/layers/misc.js";
import { Linear } from "../../src/nn/layers/linear.js";
import { SGD } from "../../src/optim/index.js";
import { crossEntropy } from "../../src/nn/losses.js";
import type { Tensor } from "../../src/tensor/tensor.js";
import { skip } from "../support/native.js";

/** Runs fn on the native backend with poisoned outputs; counts the buffers handed back. */
function onNative<T>(recycling: boolean, fn: () => T): { result: T; recycled: number } {
  const backend = loadNativeBackend()!;
  const original = backend.recycle!;
  let recycled = 0;
  const spy = { ...backend, recycle: (b: ArrayBuffer) => (recycled++, original(b)) };
  const previous = setBufferRecycling(recycling);
  // These tests are about the forward's own recycling: inference plans (nn/plan.ts, tested in
  // test/nn/plan.test.ts) would replay the forwards without it.
  const plans = setInferencePlans(false);
  setPoisonUninit(true);
  try {
    return { result: withBackend(spy, fn), recycled };
  } finally {
    setPoisonUninit(false);
    setInferencePlans(plans);
    setBufferRecycling(previous);
  }
}

/** A few SGD steps; returns every parameter afterwards, flattened. */
function train(name: string, shape: number[], steps: number): number[][] {
  nb.manualSeed(7);
  const model = createModel(name, { numClasses: 10, inChannels: shape[1]! });
  const x = nb.randn(shape);
  const y = nb.randint(0, 10, [shape[0]!]);
  const opt = new SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  for (let i = 0; i < steps; i++) {
    opt.zeroGrad();
    crossEntropy(model.call(x), y).backward();
    opt.step();
  }
  return [...model.parameters()].map((p) => Array.from(p.data));
}

for (const [name, shape] of [
  ["fmnist-cnn", [16, 1, 28, 28]],
  ["resnet20", [4, 3, 32, 32]],
  ["resnext_cifar", [4, 3, 32, 32]],
  ["mobilenet_v2", [8, 3, 32, 32]],
] as const) {
  test(`recycling: ${name} training steps are bitwise those without recycling`, { skip }, () => {
    const off = onNative(false, () => train(name, [...shape], 3));
    const on = onNative(true, () => train(name, [...shape], 3));
    assert.equal(off.recycled, 0);
    assert.ok(on.recycled > 10, `expected buffers to be recycled, got ${on.recycled}`);
    assert.ok(on.result.flat().every(Number.isFinite), "a recycled buffer was read (NaN poison)");
    assert.deepEqual(on.result, off.result);
  });
}

/** A user layer that keeps its input and output, like a feature-visualisation probe. */
class Keeper extends Module {
  input: Tensor | null = null;
  output: Tensor | null = null;
  forward(x: Tensor): Tensor {
    this.input = x;
    this.output = x.relu();
    return this.output;
  }
}

test("recycling: activations a user layer or a forward hook keeps are never reused", { skip }, () => {
  const run = (recycling: boolean) =>
    onNative(recycling, () => {
      nb.manualSeed(3);
      const keeper = new Keeper();
      const probed = new Conv2d(16, 16, 3, { padding: 1 });
      const model = new Sequential(
        new Conv2d(1, 16, 3, { padding: 1 }),
        new BatchNorm2d(16),
        keeper,
        probed,
        new ReLU(),
        new Conv2d(16, 8, 3, { padding: 1 }),
        new Flatten(),
        new Linear(8 * 32 * 32, 10),
      );
      let hooked: Tensor | null = null;
      probed.registerForwardHook((_m, _in, out) => {
        hooked = out;
      });
      const x = nb.randn([4, 1, 32, 32]);
      const y = nb.randint(0, 10, [4]);
      const out = model.call(x);
      const kept = [keeper.input!, keeper.output!, hooked!];
      const atForward = kept.map((t) => Array.from(t.data));
      crossEntropy(out, y).backward();
      // A second step reuses any buffer the first wrongly handed back.
      crossEntropy(model.call(nb.randn([4, 1, 32, 32])), y).backward();
      assert.deepEqual(
        kept.map((t) => Array.from(t.data)),
        atForward,
        "a kept activation was overwritten",
      );
      return [...model.parameters()].map((p) => Array.from(p.grad!.data));
    });
  const off = run(false);
  const on = run(true);
  assert.ok(on.recycled > 0);
  assert.deepEqual(on.result, off.result);
});

test("recycling: gradients that alias each other (x + x, views, retainGrad, retainGraph)", { skip }, () => {
  const run = (recycling: boolean) =>
    onNative(recycling, () => {
      nb.manualSeed(5);
      const x = nb.randn([64, 512]).requiresGrad_();
      const w = nb.randn([512]).requiresGrad_();
      const h = x.mul(w);
      h.retainGrad();
      const doubled = h.add(h).reshape([64, 8, 64]);
      const loss = doubled.mul(doubled).sum().add(h.exp().sum());
      loss.backward(undefined, { retainGraph: true });
      const first = [x.grad!, w.grad!, h.grad!].map((t) => Array.from(t.data));
      loss.backward();
      return { first, second: [x.grad!, w.grad!].map((t) => Array.from(t.data)) };
    });
  const off = run(false);
  const on = run(true);
  assert.ok(on.recycled > 0);
  assert.deepEqual(on.result, off.result);
});

// ---- inference: activations recycled as soon as the next layer has consumed them ------------

for (const [name, shape] of [
  ["fmnist-cnn", [16, 1, 28, 28]],
  ["fmnist-cnn", [1, 1, 28, 28]], // batch 1: activations of 1 to 64 KiB are recycled too
  ["resnet20", [4, 3, 32, 32]],
  ["resnet20", [1, 3, 32, 32]],
  ["resnet18", [4, 3, 64, 64]],
  ["resnext_cifar", [2, 3, 32, 32]],
  ["mobilenet_v2", [2, 3, 32, 32]],
] as const) {
  test(
    `recycling: ${name} ${shape.join("×")} inference gives bitwise the same outputs, and earlier outputs stay intact`,
    { skip },
    () => {
      const run = (recycling: boolean) =>
        onNative(recycling, () => {
          nb.manualSeed(11);
          const model = createModel(name, { numClasses: 10, inChannels: shape[1]! });
          model.eval();
          const inputs = [nb.randn([...shape]), nb.randn([...shape]), nb.randn([...shape])];
          const inputCopies = inputs.map((x) => Array.from(x.data));
          const outputs = inputs.map((x) => nb.noGrad(() => model.call(x)));
          // Every output and input must have survived the later calls' reuse of recycled buffers.
          assert.deepEqual(
            inputs.map((x) => Array.from(x.data)),
            inputCopies,
            "an input was overwritten",
          );
          return outputs.map((y) => Array.from(y.data));
        });
      const off = run(false);
      const on = run(true);
      assert.equal(off.recycled, 0);
      assert.ok(on.recycled > 3, `expected activations to be recycled, got ${on.recycled}`);
      assert.ok(on.result.flat().every(Number.isFinite), "a recycled buffer was read (NaN poison)");
      assert.deepEqual(on.result, off.result);
    },
  );
}

test("recycling: inference keeps what a user layer, a hook or a view of the input holds", { skip }, () => {
  const run = (recycling: boolean) =>
    onNative(recycling, () => {
      nb.manualSeed(13);
      const keeper = new Keeper();
      const probed = new Conv2d(8, 8, 3, { padding: 1 });
      const model = new Sequential(
        new Flatten(0, 0), // a view of the caller's input: never recycled
        new Conv2d(1, 8, 3, { padding: 1 }),
        new ReLU(),
        keeper,
        new Conv2d(8, 8, 3, { padding: 1 }),
        probed,
        new ReLU(),
        new Flatten(0, 0), // a view of the ReLU's output, which the next conv still reads
        new Conv2d(8, 8, 3, { padding: 1 }),
        new Flatten(),
        new Linear(8 * 32 * 32, 10),
      );
      model.eval();
      let hooked: Tensor | null = null;
      probed.registerForwardHook((_m, _in, out) => {
        hooked = out;
      });
      const x = nb.randn([16, 1, 32, 32]); // 64 KiB: large enough to be recycled
      const xCopy = Array.from(x.data);
      const out = nb.noGrad(() => model.call(x));
      const kept = [keeper.input!, keeper.output!, hooked!, out];
      const atForward = kept.map((t) => Array.from(t.data));
      nb.noGrad(() => model.call(nb.randn([16, 1, 32, 32])));
      nb.noGrad(() => model.call(nb.randn([16, 1, 32, 32])));
      assert.deepEqual(Array.from(x.data), xCopy, "the input was overwritten");
      assert.deepEqual(
        kept.map((t) => Array.from(t.data)),
        atForward,
        "a kept activation was overwritten",
      );
      return atForward;
    });
  const off = run(false);
  const on = run(true);
  assert.ok(on.recycled > 0);
  assert.deepEqual(on.result, off.result);
});
