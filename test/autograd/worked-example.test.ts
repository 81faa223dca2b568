// The worked example: z = u²·ln v with u = y/x and v = x² + y², built from tensors.
// First and mixed second derivatives from autograd must match the closed forms to 1e-10.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Generator, grad, tensor, type Tensor } from "../../src/index.js";

function z(x: Tensor, y: Tensor): Tensor {
  const u = y.div(x);
  const v = x.mul(x).add(y.mul(y));
  return u.mul(u).mul(v.log());
}

function closeTo(actual: number, expected: number, tol = 1e-10): void {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${actual} vs closed form ${expected}`,
  );
}

test("z = u² ln v: ∂z/∂x, ∂z/∂y and ∂²z/∂x∂y equal the closed forms at random points", () => {
  const g = new Generator(2024);
  for (let trial = 0; trial < 20; trial++) {
    // Random points away from x = 0 (u = y/x has a pole there), both signs.
    const xv = (0.3 + 2 * g.random()) * (g.random() < 0.5 ? -1 : 1);
    const yv = 4 * g.random() - 2;
    const x = tensor(xv, { dtype: "float64", requiresGrad: true });
    const y = tensor(yv, { dtype: "float64", requiresGrad: true });
    const out = z(x, y);
    const [dx, dy] = grad(out, [x, y], { createGraph: true }) as [Tensor, Tensor];
    // retainGraph: dx and dy share the forward graph, and dy is differentiated next.
    const [dxy] = grad(dx, [y], { retainGraph: true }) as [Tensor];

    const v = xv * xv + yv * yv;
    const lnv = Math.log(v);
    closeTo(out.item(), (yv / xv) ** 2 * lnv);
    closeTo(dx.item(), (-2 * yv * yv * lnv) / xv ** 3 + (2 * yv * yv) / (xv * v));
    closeTo(dy.item(), (2 * yv * lnv) / (xv * xv) + (2 * yv ** 3) / (xv * xv * v));
    closeTo(
      dxy.item(),
      (-4 * yv * lnv) / xv ** 3 -
        (4 * yv ** 3) / (xv ** 3 * v) +
        (4 * yv) / (xv * v) -
        (4 * yv ** 3) / (xv * v * v),
    );
    // The mixed partials agree whichever order they are taken in.
    const [dyx] = grad(dy, [x]) as [Tensor];
    closeTo(dyx.item(), dxy.item());
  }
});

test("the same derivatives hold elementwise on tensors of points", () => {
  const x = tensor([0.5, -1.5, 2], { dtype: "float64", requiresGrad: true });
  const y = tensor([1, 0.25, -3], { dtype: "float64", requiresGrad: true });
  const out = z(x, y);
  const ones = tensor([1, 1, 1], { dtype: "float64" });
  const [dx] = grad(out, [x], { gradOutputs: [ones], createGraph: true }) as [Tensor];
  const [dxy] = grad(dx, [y], { gradOutputs: [ones] }) as [Tensor];
  const xs = x.toArray() as number[];
  const ys = y.toArray() as number[];
  (dxy.toArray() as number[]).forEach((got, i) => {
    const [xv, yv] = [xs[i]!, ys[i]!];
    const v = xv * xv + yv * yv;
    const lnv = Math.log(v);
    closeTo(
      got,
      (-4 * yv * lnv) / xv ** 3 -
        (4 * yv ** 3) / (xv ** 3 * v) +
        (4 * yv) / (xv * v) -
        (4 * yv ** 3) / (xv * v * v),
    );
  });
});
