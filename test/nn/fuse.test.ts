// Inference fusion (src/nn/fuse.ts): under noGrad, eval-mode models run conv → BN → ReLU → pool
// chains and residual blocks as fused kernels. The fused forward must match the layer-by-layer
// one (run with autograd on, where nothing fuses), hooks must still fire, and layers that must not
// fuse (training-mode batch norm, other pools) must not.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nb from "../../src/index.js";
import { randomizeBatchNorms } from "../support/batchnorm.js";
import { createModel } from "../../src/models/index.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";
import { Conv2d } from "../../src/nn/layers/conv.js";
import { ReLU } from "../../src/nn/layers/activation.js";
import { MaxPool2d } from "../../src/nn/layers/pooling.js";
import { Sequential } from "../../src/nn/containers.js";
import { Linear } from "../../src/nn/layers/linear.js";
import { runFusedChain, runFusedLinear } from "../../src/nn/fuse.js";
import { linearFused } from "../../src/autograd/ops/linear_fused.js";
import { conv2dFused, conv2dPairFused } from "../../src/autograd/ops/conv_fused.js";
import { ShapeError } from "../../src/errors.js";

function assertClose(got: nb.Tensor, want: nb.Tensor, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const w = want.data;
  const scale = Math.max(...Array.from(w, Math.abs));
  got.data.forEach((v, i) => {
    if (!(Math.abs(v - w[i]!) <= 1e-5 * scale))
      assert.fail(`${what}[${i}]: fused ${v}, layer by layer ${w[i]}`);
  });
}

for (const [name, shape] of [
  ["fmnist-cnn", [3, 1, 28, 28]],
  ["resnet20", [2, 3, 32, 32]],
  ["resnet20", [1, 3, 32, 32]],
  ["resnet18", [1, 3, 32, 32]],
  ["resnet18", [2, 3, 32, 32]],
] as const) {
  // (Residual blocks run as one conv2dPairFused call for a batch and as two conv2dFused for one image.)
  test(`${name}, batch ${shape[0]}: the fused inference forward matches the layer-by-layer one`, () => {
    const model = createModel(name, { numClasses: 10 });
    randomizeBatchNorms(model, 7);
    model.eval();
    const x = nb.randn([...shape], { generator: new nb.Generator(3) });
    const fused = nb.noGrad(() => model.call(x));
    const layered = model.call(x); // autograd on: nothing fuses
    assertClose(fused, layered, name);
  });
}

test("mobilenet_v2: the fused inference forward (conv → BN → ReLU6) matches the layer-by-layer one", () => {
  const model = createModel("mobilenet_v2", { numClasses: 10 });
  randomizeBatchNorms(model, 5);
  model.eval();
  const x = nb.randn([2, 3, 32, 32], { generator: new nb.Generator(4) });
  assertClose(
    nb.noGrad(() => model.call(x)),
    model.call(x),
    "mobilenet_v2",
  );
});

test("a cached batch-norm fold follows in-place changes to statistics, parameters and conv bias", () => {
  const conv = new Conv2d(2, 16, 3, { padding: 1 });
  const bn = new BatchNorm2d(16);
  const seq = new Sequential(conv, bn, new ReLU());
  randomizeBatchNorms(seq, 2);
  seq.eval();
  const x = nb.randn([1, 2, 6, 6], { generator: new nb.Generator(8) });
  const check = (what: string) =>
    assertClose(
      nb.noGrad(() => seq.call(x)),
      seq.call(x),
      what,
    );
  check("first call");
  check("second call (cached fold)");
  for (const [what, change] of [
    ["running mean", () => (bn.runningMean!.data[3]! += 0.5)],
    ["running var", () => (bn.runningVar!.data[5]! *= 3)],
    ["weight", () => (bn.weight!.data[0]! = -2)],
    ["bias", () => (bn.bias!.data[15]! += 1)],
    ["conv bias", () => (conv.bias!.data[7]! -= 1)],
  ] as const) {
    change();
    check(`after changing the ${what}`);
  }
});

test("a chain fuses only Conv2d → eval BatchNorm2d → ReLU → 2×2 MaxPool2d, and not around hooks", () => {
  const conv = new Conv2d(2, 16, 3, { padding: 1 });
  const bn = new BatchNorm2d(16);
  const seq = new Sequential(conv, bn, new ReLU(), new MaxPool2d(2));
  randomizeBatchNorms(seq, 1);
  const x = nb.randn([2, 2, 8, 8], { generator: new nb.Generator(2) });
  const modules = [...seq.children()];

  seq.eval();
  const fused = nb.noGrad(() => runFusedChain(modules, 0, x));
  assert.equal(fused?.count, 4, "the whole chain");
  assertClose(fused!.out, seq.call(x), "conv-bn-relu-pool");

  // Training-mode BN: the conv is not fused with it (nothing after a bare conv to fuse either).
  seq.train();
  assert.equal(
    nb.noGrad(() => runFusedChain(modules, 0, x)),
    null,
  );

  // A 3×3 pool is not the fused 2×2 one: the chain stops before it.
  seq.eval();
  const other = [conv, bn, new ReLU(), new MaxPool2d(3)];
  assert.equal(nb.noGrad(() => runFusedChain(other, 0, x))?.count, 3);

  // A hook on the batch norm must see the batch norm's own output: no fusion through it.
  let seen = 0;
  const handle = bn.registerForwardHook(() => {
    seen++;
  });
  assert.equal(
    nb.noGrad(() => runFusedChain(modules, 0, x)),
    null,
  );
  const hooked = nb.noGrad(() => seq.call(x));
  assert.equal(seen, 1, "the hook ran");
  handle.remove();
  assertClose(hooked, fused!.out, "hooked run");
});

test("Linear (→ ReLU) fuses under noGrad with the bits of matmul → add → relu, and not around hooks", () => {
  const g = new nb.Generator(5);
  const l1 = new Linear(50, 40);
  const l2 = new Linear(40, 7);
  const l3 = new Linear(7, 3, { bias: false });
  for (const l of [l1, l2]) l.bias!.data.set(nb.randn([l.outFeatures], { generator: g }).data);
  const seq = new Sequential(l1, new ReLU(), l2, l3);
  const x = nb.randn([6, 50], { generator: g });
  x.data[7] = NaN; // NaN rows come out NaN either way
  const bits = (t: nb.Tensor) => Array.from(t.data);
  const modules = [...seq.children()];

  // With autograd on nothing fuses: the layer-by-layer reference.
  const plain = seq.call(x);
  const h1 = nb.relu(l1.call(x));
  const fused = nb.noGrad(() => runFusedLinear(modules, 0, x));
  assert.equal(fused?.count, 2, "Linear → ReLU");
  assert.deepEqual(bits(fused!.out), bits(h1));
  assert.equal(nb.noGrad(() => runFusedLinear(modules, 2, h1))?.count, 1, "a Linear with no ReLU after it");
  assert.equal(
    nb.noGrad(() => runFusedLinear(modules, 3, h1)),
    null,
    "no bias: the plain ops",
  );
  assert.equal(
    nb.noGrad(() => runFusedLinear(modules, 0, x.reshape([2, 3, 50]))),
    null,
    "3-D input",
  );
  assert.deepEqual(bits(nb.noGrad(() => seq.call(x))), bits(plain), "the whole Sequential");

  // A hook on the Linear must see its own output (before the ReLU).
  let seen: nb.Tensor | null = null;
  const handle = l1.registerForwardHook((_m, _in, out) => {
    seen = out;
  });
  assert.equal(
    nb.noGrad(() => runFusedLinear(modules, 0, x)),
    null,
  );
  assert.deepEqual(bits(nb.noGrad(() => seq.call(x))), bits(plain));
  assert.ok(seen !== null && (seen as nb.Tensor).data.some((v) => v < 0), "the hook saw the pre-ReLU output");
  handle.remove();

  // Recorded by autograd: built from the plain ops, so the gradients are theirs.
  const w = l1.weight;
  const y = linearFused(x.detach().requiresGrad_(), w, l1.bias, true);
  assert.deepEqual(bits(y), bits(h1));
  assert.throws(() => linearFused(nb.randn([2, 49]), w, l1.bias, false), ShapeError);
  assert.throws(() => linearFused(x, w, nb.zeros([39]), false), ShapeError);
});

test("conv2dPairFused is conv2dFused twice, records the same graph, and checks its shapes", () => {
  const g = new nb.Generator(5);
  const x = nb.randn([2, 8, 6, 6], { generator: g });
  const w1 = nb.randn([16, 8, 3, 3], { generator: g }).mul(0.2);
  const w2 = nb.randn([16, 16, 3, 3], { generator: g }).mul(0.2);
  const [s1, b1, s2, b2] = [16, 16, 16, 16].map((c) => nb.randn([c], { generator: g }));
  const residual = nb.randn([2, 16, 6, 6], { generator: g });
  const first = { weight: w1, epilogue: { scale: s1!, shift: b1!, relu: true }, options: { padding: 1 } };
  const second = { weight: w2, epilogue: { scale: s2!, shift: b2!, relu6: true }, options: { padding: 1 } };
  const want = nb.noGrad(() =>
    conv2dFused(
      conv2dFused(x, w1, first.epilogue, { padding: 1 }),
      w2,
      { ...second.epilogue, residual },
      { padding: 1 },
    ),
  );
  assert.deepEqual(
    Array.from(nb.noGrad(() => conv2dPairFused(x, first, second, residual)).data),
    Array.from(want.data),
  );
  // With a weight that needs a gradient, the pair is built from recorded ops (which round
  // conv·scale + shift twice where the kernel may round once).
  const wg = w2.detach().requiresGrad_();
  const y = conv2dPairFused(x, first, { ...second, weight: wg }, residual);
  assert.ok(y.gradFn !== null);
  assertClose(y.detach(), want, "recorded conv2dPairFused");
  y.sum().backward();
  assert.deepEqual(wg.grad!.shape, [16, 16, 3, 3]);
  // The second convolution must take the first's 16 channels.
  const wrong = { ...second, weight: nb.randn([16, 8, 3, 3]) };
  assert.throws(() => nb.noGrad(() => conv2dPairFused(x, first, wrong, residual)), ShapeError);
  assert.throws(
    () => nb.noGrad(() => conv2dPairFused(x, first, second, nb.zeros([2, 16, 5, 5]))),
    ShapeError,
  );
});
