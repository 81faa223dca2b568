// The tape engine: PyTorch's leaf / non-leaf semantics and error messages, grad() options,
// noGrad / detach, un-broadcasting, higher-order derivatives, a Hessian-vector product by double
// backward, and a 100,000-op chain that must not overflow the stack.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AutogradError,
  DTypeError,
  Generator,
  Tensor,
  backward,
  enableGrad,
  grad,
  gradcheck,
  gradgradcheck,
  noGrad,
  randn,
  tensor,
} from "../../src/index.js";
import { record } from "../../src/autograd/engine.js";

const f64 = (v: Parameters<typeof tensor>[0], requiresGrad = true) =>
  tensor(v, { dtype: "float64", requiresGrad });

test("backward accumulates into leaves' .grad; non-leaves keep none unless retainGrad()", () => {
  const x = f64([1, 2, 3]);
  const h = x.mul(x); // non-leaf
  const kept = x.mul(3).retainGrad();
  h.add(kept).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [5, 7, 9]); // 2x + 3
  assert.equal(h.grad, null);
  assert.deepEqual(kept.grad!.toArray(), [1, 1, 1]);
  assert.ok(x.isLeaf && !h.isLeaf);
  // A second backward over a fresh graph adds to .grad.
  x.mul(2).sum().backward();
  assert.deepEqual(x.grad!.toArray(), [7, 9, 11]);
  assert.equal(x.grad!.requiresGrad, false);
});

test("backward twice without retainGraph fails like PyTorch; with it, gradients add up", () => {
  const x = f64([1, 2]);
  const y = x.exp().sum();
  y.backward();
  assert.throws(
    () => y.backward(),
    (e: unknown) =>
      e instanceof AutogradError && /second time/.test(e.message) && /retainGraph/.test(e.message),
  );
  const x2 = f64([1, 2]);
  const y2 = x2.mul(x2).sum();
  y2.backward(undefined, { retainGraph: true });
  y2.backward();
  assert.deepEqual(x2.grad!.toArray(), [4, 8]);
});

test("grad of a non-scalar needs gradOutputs; gradOutputs must match the output's shape", () => {
  const x = f64([1, 2, 3]);
  const y = x.mul(2);
  assert.throws(
    () => y.backward(),
    (e: unknown) =>
      e instanceof AutogradError && /only for scalar outputs/.test(e.message) && /\[3\]/.test(e.message),
  );
  assert.throws(
    () => grad(y, x, { gradOutputs: [f64([1], false)] }),
    (e: unknown) => e instanceof AutogradError && /\[1\]/.test(e.message) && /\[3\]/.test(e.message),
  );
  const [g] = grad(y, x, { gradOutputs: [f64([1, 10, 100], false)] });
  assert.deepEqual(g!.toArray(), [2, 20, 200]);
});

test("grad() leaves .grad alone, reports unused inputs, and supports non-leaf inputs", () => {
  const x = f64([1, 2]);
  const unused = f64([5]);
  const h = x.mul(x);
  const y = h.sum();
  assert.throws(
    () => grad(y, [x, unused], { retainGraph: true }),
    (e: unknown) => e instanceof AutogradError && /not have been used/.test(e.message),
  );
  const [gx, gu, gh] = grad(y, [x, unused, h], { allowUnused: true });
  assert.deepEqual(gx!.toArray(), [2, 4]);
  assert.equal(gu, null);
  assert.deepEqual(gh!.toArray(), [1, 1]);
  assert.equal(x.grad, null);
  assert.throws(() => grad(y, [f64([1], false)]), AutogradError);
});

test("an output that does not require grad has nothing to differentiate", () => {
  const x = f64([1, 2], false);
  assert.throws(
    () => x.mul(2).sum().backward(),
    (e: unknown) => e instanceof AutogradError && /does not require grad/.test(e.message),
  );
});

test("noGrad records nothing, enableGrad re-enables inside it, detach cuts the graph but shares storage", () => {
  const x = f64([1, 2]);
  const y = noGrad(() => x.mul(2));
  assert.equal(y.requiresGrad, false);
  assert.equal(y.gradFn, null);
  const z = noGrad(() => enableGrad(() => x.mul(2)));
  assert.equal(z.requiresGrad, true);
  const d = x.detach();
  assert.equal(d.requiresGrad, false);
  assert.equal(d.storage, x.storage);
  d.data[0] = 7;
  assert.deepEqual(x.toArray(), [7, 2]);
});

test("only floating tensors can require grad", () => {
  assert.throws(() => tensor([1, 2], { dtype: "int32", requiresGrad: true }), DTypeError);
});

test("the engine sums broadcast gradients back to each input's shape", () => {
  const a = f64([[1], [2], [3]]); // [3, 1]
  const b = f64([10, 20, 30, 40]); // [4]
  a.mul(b).sum().backward();
  assert.deepEqual(a.grad!.shape, [3, 1]);
  assert.deepEqual(a.grad!.toArray(), [[100], [100], [100]]);
  assert.deepEqual(b.grad!.toArray(), [6, 6, 6, 6]);
});

test("a diamond (x used twice) accumulates both paths", () => {
  const x = f64(3);
  const y = x.sin().mul(x.cos());
  y.backward();
  assert.ok(Math.abs(x.grad!.item() - Math.cos(6)) < 1e-12);
});

test("higher order: d³/dx³ x⁴ = 24x, and createGraph results require grad", () => {
  const x = f64(1.5);
  const y = x.pow(4);
  const [d1] = grad(y, x, { createGraph: true });
  assert.ok(d1!.requiresGrad);
  const [d2] = grad(d1!, x, { createGraph: true });
  const [d3] = grad(d2!, x);
  assert.ok(Math.abs(d1!.item() - 4 * 1.5 ** 3) < 1e-12);
  assert.ok(Math.abs(d2!.item() - 12 * 1.5 ** 2) < 1e-12);
  assert.ok(Math.abs(d3!.item() - 24 * 1.5) < 1e-12);
});

/** A small MLP's loss as a function of its flat parameter list. */
function mlpLoss(params: Tensor[], x: Tensor, target: Tensor): Tensor {
  const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
  const h = x.matmul(w1).add(b1).tanh();
  const out = h.matmul(w2).add(b2);
  return out.sub(target).square().mean().add(out.softmax(-1).max().mul(0.1));
}

test("Hessian-vector product of a small MLP loss by double backward equals finite differences", () => {
  const g = new Generator(11);
  const opts = { dtype: "float64" as const, generator: g };
  const x = randn([5, 3], opts);
  const target = randn([5, 2], opts);
  const params = [randn([3, 4], opts), randn([4], opts), randn([4, 2], opts), randn([2], opts)];
  params.forEach((p) => (p.requiresGrad = true));
  const v = params.map((p) => randn(p.shape, opts));

  // Hv = ∇(∇L · v), by double backward.
  const grads = grad(mlpLoss(params, x, target), params, { createGraph: true }) as Tensor[];
  const dot = grads.map((gr, i) => gr.mul(v[i]!).sum()).reduce((a, b) => a.add(b));
  const hv = grad(dot, params) as Tensor[];

  // Central differences of the gradient along v.
  const eps = 1e-5;
  const gradAt = (sign: number) => {
    const shifted = params.map((p, i) =>
      p
        .detach()
        .add(v[i]!.mul(sign * eps))
        .requiresGrad_(),
    );
    return grad(mlpLoss(shifted, x, target), shifted) as Tensor[];
  };
  const plus = gradAt(1);
  const minus = gradAt(-1);
  hv.forEach((h, i) => {
    const hd = h.data;
    const p = plus[i]!.data;
    const m = minus[i]!.data;
    for (let k = 0; k < hd.length; k++) {
      const fd = (p[k]! - m[k]!) / (2 * eps);
      assert.ok(
        Math.abs(hd[k]! - fd) < 1e-6 * Math.max(1, Math.abs(fd)),
        `param ${i}[${k}]: ${hd[k]} vs ${fd}`,
      );
    }
  });
});

test("backward through a chain of 100,000 elementwise ops does not overflow the stack", () => {
  const x = f64([1, 2]);
  let y: Tensor = x;
  for (let i = 0; i < 100_000; i++) y = i % 2 === 0 ? y.mul(1.00001) : y.add(0.5);
  y.sum().backward();
  const expected = 1.00001 ** 50_000;
  for (const g of x.grad!.data) assert.ok(Math.abs(g - expected) < 1e-9 * expected);
});

test("gradcheck and gradgradcheck catch a wrong gradient rule", () => {
  // An op whose first derivative is wrong (2x instead of 3x²) ...
  const cubeWrong = (t: Tensor) =>
    record(
      "cube",
      [t],
      noGrad(() => t.mul(t).mul(t)),
      (g) => [g.mul(t).mul(2)],
    );
  // ... and one whose first derivative is right but built from a detached x (second order lost).
  const cubeFlat = (t: Tensor) =>
    record(
      "cube",
      [t],
      noGrad(() => t.mul(t).mul(t)),
      (g) => [g.mul(t.detach().square().mul(3))],
    );
  const x = f64([0.5, -1.2, 2]);
  assert.throws(
    () => gradcheck(cubeWrong, [x]),
    (e: unknown) => e instanceof AutogradError && /Jacobian mismatch/.test(e.message),
  );
  assert.equal(gradcheck(cubeWrong, [x], { raiseException: false }), false);
  assert.ok(gradcheck(cubeFlat, [x]));
  assert.throws(() => gradgradcheck(cubeFlat, [x]), AutogradError);
  assert.ok(gradgradcheck((t: Tensor) => t.mul(t).mul(t), [x]));
});

test("gradcheck handles non-contiguous leaves and several outputs", () => {
  const base = randn([3, 2], { dtype: "float64", generator: new Generator(3) });
  const xt = base.t().detach().requiresGrad_(); // a [2, 3] leaf stored transposed
  assert.equal(xt.isContiguous, false);
  assert.ok(gradcheck((t: Tensor) => [t.exp(), t.sum(1)], [xt]));
  assert.ok(gradgradcheck((t: Tensor) => [t.sin(), t.square().sum()], [xt]));
});

test("backward(): several outputs at once, each with its gradient", () => {
  const x = f64([1, 2]);
  backward([x.mul(2).sum(), x.mul(x)], { gradOutputs: [null, f64([1, 1], false)] });
  assert.deepEqual(x.grad!.toArray(), [4, 6]);
});
