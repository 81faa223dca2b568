// Optimizer update kernels. torch.optim.SGD's rule, element by element:
//   d = ±g (+ weightDecay·x);  b = first ? d : momentum·b + (1 − dampening)·d;
//   d = nesterov ? d + momentum·b : b;  x = x − lr·d
// For float32 every PyTorch tensor op rounds once (`fround` below); a product of two float32
// values is exact in a double, so `a + k·d` rounded once equals PyTorch's fused multiply-add.
import type { SgdHyper } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

const fround = Math.fround;

function sgdFloat32(
  x: Float32Array,
  xo: number,
  g: Float32Array,
  go: number,
  buf: Float32Array | null,
  n: number,
  h: SgdHyper,
): void {
  const wd = fround(h.weightDecay);
  const mom = fround(h.momentum);
  const keep = fround(1 - h.dampening);
  const negLr = fround(-h.lr);
  const sign = h.maximize ? -1 : 1;
  const { nesterov, first } = h;
  for (let i = 0; i < n; i++) {
    let d = sign * g[go + i]!;
    if (wd !== 0) d = fround(d + wd * x[xo + i]!);
    if (buf !== null) {
      const b = first ? d : fround(fround(buf[i]! * mom) + keep * d);
      buf[i] = b;
      d = nesterov ? fround(d + mom * b) : b;
    }
    x[xo + i] = fround(x[xo + i]! + negLr * d);
  }
}

function sgdFloat64(
  x: Float64Array,
  xo: number,
  g: Float64Array,
  go: number,
  buf: Float64Array | null,
  n: number,
  h: SgdHyper,
): void {
  const { weightDecay: wd, momentum: mom, nesterov, first } = h;
  const keep = 1 - h.dampening;
  const sign = h.maximize ? -1 : 1;
  for (let i = 0; i < n; i++) {
    let d = sign * g[go + i]!;
    if (wd !== 0) d = d + wd * x[xo + i]!;
    if (buf !== null) {
      const b = first ? d : buf[i]! * mom + keep * d;
      buf[i] = b;
      d = nesterov ? d + mom * b : b;
    }
    x[xo + i] = x[xo + i]! - h.lr * d;
  }
}

export function sgdStep(
  param: TypedArray,
  paramOffset: number,
  grad: TypedArray,
  gradOffset: number,
  buf: TypedArray | null,
  n: number,
  h: SgdHyper,
): void {
  if (
    param instanceof Float32Array &&
    grad instanceof Float32Array &&
    (buf === null || buf instanceof Float32Array)
  )
    return sgdFloat32(param, paramOffset, grad, gradOffset, buf, n, h);
  if (
    param instanceof Float64Array &&
    grad instanceof Float64Array &&
    (buf === null || buf instanceof Float64Array)
  )
    return sgdFloat64(param, paramOffset, grad, gradOffset, buf, n, h);
  throw new TypeError("sgdStep: param, grad and buffer must all be float32 or all float64");
}
