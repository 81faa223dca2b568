// A linear layer with the ReLU an inference graph puts right after it, as two kernel calls:
//   y = relu?( x · wᵀ + bias )      x [N, in], w [out, in] (as nn.Linear stores it), bias [out]
// The product goes straight into the output (w is read transposed in place, as matmul does), and
// the bias and ReLU are added in place by the per-channel affine kernel with a scale of ones:
// x·1 + b is x + b rounded once, so the result has the bits of matmul → add → relu. What
// nn's inference fusion (src/nn/fuse.ts) calls; when autograd would record the call, it is built
// from the separate ops instead, so its gradient is theirs.
import type { Tensor } from "../../tensor/tensor.js";
import { formatShape } from "../../tensor/shape.js";
import type { DType, TypedArray } from "../../tensor/dtype.js";
import { allocArray } from "../../tensor/dtype.js";
import { kernel, noteConstant } from "../../backend/registry.js";
import { isGradEnabled } from "../engine.js";
import { DTypeError, ShapeError } from "../../errors.js";
import { add, relu as reluOp } from "./elementwise.js";
import { matmul } from "./matmul.js";
import { transpose } from "./movement.js";
import { checkFloat, raw, uninit } from "./util.js";

/** Arrays of ones by dtype and length, for the affine kernel's scale (never written). */
const onesCache = new Map<string, TypedArray>();
function ones(dtype: DType, n: number): TypedArray {
  const key = `${dtype}:${n}`;
  let a = onesCache.get(key);
  if (a === undefined) {
    a = allocArray(dtype, n).fill(1);
    onesCache.set(key, a);
  }
  noteConstant(a);
  return a;
}

export function linearFused(x: Tensor, w: Tensor, bias: Tensor | null, withRelu: boolean): Tensor {
  checkFloat("linearFused", x, w);
  if (x.ndim !== 2 || w.ndim !== 2 || x.shape[1] !== w.shape[1])
    throw new ShapeError(
      `linearFused: input ${formatShape(x.shape)} does not match weight ${formatShape(w.shape)} (expected [N, ${w.shape[1]}])`,
    );
  const [n, k] = x.shape as [number, number];
  const o = w.shape[0]!;
  if (bias !== null) {
    if (bias.ndim !== 1 || bias.shape[0] !== o)
      throw new ShapeError(`linearFused: bias must have shape [${o}], got ${formatShape(bias.shape)}`);
    if (bias.dtype !== x.dtype)
      throw new DTypeError(`linearFused: bias is ${bias.dtype}, input is ${x.dtype}`);
  }
  const recorded = isGradEnabled() && [x, w, bias].some((t) => t?.requiresGrad);
  // (Without a bias, x·1 + 0 would turn −0 into +0: the plain ops keep their own bits.)
  if (recorded || bias === null || k === 0) {
    let y = matmul(x, transpose(w, 0, 1));
    if (bias) y = add(y, bias);
    return withRelu ? reluOp(y) : y;
  }
  const out = uninit([n, o], x.dtype);
  kernel("matmul")(raw(x), raw(w), out.storage, 1, n, k, o, 0, 0, false, true);
  kernel("channelAffine")(out.storage, n, o, 1, ones(x.dtype, o), raw(bias), withRelu, out.storage);
  return out;
}
