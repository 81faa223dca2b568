// Gradient clipping: clipGradNorm (2-norm, 1-norm, max-norm; total norm returned) and clipGradValue.
import { test } from "node:test";
import assert from "node:assert/strict";
import { tensor } from "../../src/tensor/creation.js";
import { Parameter } from "../../src/nn/parameter.js";
import { clipGradNorm, clipGradValue } from "../../src/optim/index.js";

function params(...grads: number[][]): Parameter[] {
  return grads.map((g) => {
    const p = new Parameter(tensor(g.map(() => 0)));
    p.grad = tensor(g);
    return p;
  });
}

const close = (a: number, b: number, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test("clipGradNorm scales all gradients together to maxNorm and returns the total norm", () => {
  const ps = params([3, 0], [0, 4]);
  const total = clipGradNorm(ps, 1);
  close(total, 5);
  const g = ps.flatMap((p) => Array.from(p.grad!.data));
  [0.6, 0, 0, 0.8].forEach((e, i) => close(g[i]!, e));
  // The clipped gradients now have norm (just under) maxNorm.
  close(clipGradNorm(ps, 10), 1, 1e-5);
});

test("clipGradNorm leaves gradients alone when their norm is below maxNorm", () => {
  const ps = params([0.3, -0.4]);
  close(clipGradNorm(ps, 1), 0.5);
  assert.deepEqual(Array.from(ps[0]!.grad!.data), [Math.fround(0.3), Math.fround(-0.4)]);
});

test("clipGradNorm supports the 1-norm and the max-norm, and skips parameters without gradients", () => {
  const none = new Parameter(tensor([1]));
  close(clipGradNorm([...params([1, -2], [3]), none], 100, 1), 6);
  const ps = params([1, -2], [3]);
  close(clipGradNorm(ps, 1.5, Infinity), 3);
  close(ps[1]!.grad!.item(), 1.5, 1e-5);
  assert.equal(none.grad, null);
});

test("clipGradNorm does not double-scale a gradient tensor shared by two parameters", () => {
  const [a, b] = params([3], [4]);
  const shared = tensor([3]);
  a!.grad = shared;
  b!.grad = shared;
  close(clipGradNorm([a!, b!], 1), Math.sqrt(18));
  close(a!.grad!.item(), 3 / Math.sqrt(18), 1e-6);
  close(b!.grad!.item(), 3 / Math.sqrt(18), 1e-6);
  assert.equal(shared.item(), 3);
});

test("clipGradNorm reports non-finite norms, and throws on them when asked", () => {
  const ps = params([Infinity, 1]);
  assert.equal(clipGradNorm(ps, 1), Infinity);
  assert.throws(() => clipGradNorm(params([NaN]), 1, 2, { errorIfNonfinite: true }), /NaN/);
  assert.throws(() => clipGradNorm(ps, -1), /maxNorm/);
});

test("clipGradValue clamps every element", () => {
  const ps = params([-3, 0.5, 2], [10]);
  clipGradValue(ps, 1);
  assert.deepEqual(Array.from(ps[0]!.grad!.data), [-1, 0.5, 1]);
  assert.equal(ps[1]!.grad!.item(), 1);
  assert.throws(() => clipGradValue(ps, -1), /clipValue/);
});
