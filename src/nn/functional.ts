// Stateless layer math (torch.nn.functional): activations, linear, convolution, pooling,
// normalisation and dropout, composed from the core ops so their gradients (of every order)
// follow from the ops' rules. Layers in src/nn/layers call these.
import type { Tensor } from "../tensor/tensor.js";
import { formatShape } from "../tensor/shape.js";
import { isFloating } from "../tensor/dtype.js";
import {
  add,
  erf,
  gt,
  minimum,
  mul,
  relu as reluOp,
  tanh as tanhOp,
  where,
} from "../autograd/ops/elementwise.js";
import { exp, sigmoid as sigmoidOp } from "../autograd/ops/elementwise.js";
import { matmul } from "../autograd/ops/matmul.js";
import { linearFused } from "../autograd/ops/linear_fused.js";
import { transpose, flatten as flattenOp, pad } from "../autograd/ops/movement.js";
import { avgPool2d as avgPool2dOp, pool2dParams, type AvgPool2dOptions } from "../autograd/ops/pool.js";
import { empty } from "../autograd/ops/util.js";
import { ShapeError } from "../errors.js";

export { conv2d, type Conv2dOptions } from "../autograd/ops/conv.js";
export {
  maxPool2d,
  adaptiveAvgPool2d,
  type Pool2dOptions,
  type AvgPool2dOptions,
} from "../autograd/ops/pool.js";
export { batchNorm, dropout, type BatchNormOptions } from "../autograd/ops/normalization.js";
export { softmax, logSoftmax } from "../autograd/ops/reduce.js";
// Losses (crossEntropy, mseLoss, ...) live in ./losses; F.crossEntropy works as in PyTorch.
export * from "./losses/functional.js";

// ---- activations ----------------------------------------------------------------------------

export const relu = (x: Tensor): Tensor => reluOp(x);

/** min(max(x, 0), 6). */
export const relu6 = (x: Tensor): Tensor => minimum(reluOp(x), 6);

/** x for x > 0, negativeSlope·x otherwise. */
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor =>
  where(gt(x, 0), x, mul(x, negativeSlope));

/** x for x > 0, alpha·(eˣ − 1) otherwise. */
export const elu = (x: Tensor, alpha = 1): Tensor => where(gt(x, 0), x, mul(add(exp(x), -1), alpha));

/**
 * Gaussian error linear unit: x·Φ(x) = x/2·(1 + erf(x/√2)) ("none", exact), or the tanh
 * approximation x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))) ("tanh").
 */
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  if (approximate === "tanh") {
    const inner = mul(add(x, mul(mul(mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return mul(mul(x, 0.5), add(tanhOp(inner), 1));
  }
  return mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
}

/** x·σ(x) (also called swish). */
export const silu = (x: Tensor): Tensor => mul(x, sigmoidOp(x));

/** relu6(x + 3) / 6. */
export const hardsigmoid = (x: Tensor): Tensor => mul(relu6(add(x, 3)), 1 / 6);

/** x·relu6(x + 3) / 6. */
export const hardswish = (x: Tensor): Tensor => mul(x, hardsigmoid(x));

export const sigmoid = (x: Tensor): Tensor => sigmoidOp(x);
export const tanh = (x: Tensor): Tensor => tanhOp(x);

// ---- linear -----------------------------------------------------------------------------

/**
 * y = x·Wᵀ + b with W of shape [out, in]. Wᵀ is a transposed view: matmul reads it in place,
 * so no copy of the weight is made.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const inFeatures = weight.shape[1];
  if (weight.ndim !== 2 || x.ndim < 1 || x.shape[x.ndim - 1] !== inFeatures) {
    throw new ShapeError(
      `linear: input ${formatShape(x.shape)} does not match weight ${formatShape(weight.shape)} (expected last dim ${inFeatures})`,
    );
  }
  // A batch of rows with a bias: the product and the bias in two kernel calls (linearFused, which
  // builds the plain ops below itself when autograd records).
  if (
    x.ndim === 2 &&
    bias !== null &&
    x.dtype === weight.dtype &&
    bias.dtype === weight.dtype &&
    isFloating(x.dtype)
  )
    return linearFused(x, weight, bias, false);
  const y = matmul(x, transpose(weight, 0, 1));
  return bias ? add(y, bias) : y;
}

export const flatten = (x: Tensor, startDim = 1, endDim = -1): Tensor => flattenOp(x, startDim, endDim);

// ---- pooling ----------------------------------------------------------------------------

/**
 * Average pooling, like PyTorch's avg_pool2d, including ceilMode: windows that hang past the
 * bottom/right edge average over the part inside the (padded) input.
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  if (!options.ceilMode) return avgPool2dOp(x, options);
  const p = pool2dParams("avgPool2d", x.shape, options);
  const floorP = pool2dParams("avgPool2d", x.shape, { ...options, ceilMode: false });
  const plain = { ...options, ceilMode: false };
  if (p.outH === floorP.outH && p.outW === floorP.outW) return avgPool2dOp(x, plain);
  // Pad the overhang with zeros, pool the sums, and divide by each window's own size.
  const extraH = (p.outH - 1) * p.strideH + p.kh - (p.h + 2 * p.padH);
  const extraW = (p.outW - 1) * p.strideW + p.kw - (p.w + 2 * p.padW);
  const padded = pad(x, [p.padW, p.padW + Math.max(0, extraW), p.padH, p.padH + Math.max(0, extraH)]);
  const sums = mul(
    avgPool2dOp(padded, { kernelSize: [p.kh, p.kw], stride: [p.strideH, p.strideW] }),
    p.kh * p.kw,
  );
  const includePad = options.countIncludePad ?? true;
  const divisor = empty([1, 1, p.outH, p.outW], x.dtype);
  for (let i = 0; i < p.outH; i++) {
    for (let j = 0; j < p.outW; j++) {
      const h0 = i * p.strideH - p.padH;
      const w0 = j * p.strideW - p.padW;
      const rows = includePad
        ? Math.min(h0 + p.kh, p.h + p.padH) - h0
        : Math.min(h0 + p.kh, p.h) - Math.max(h0, 0);
      const cols = includePad
        ? Math.min(w0 + p.kw, p.w + p.padW) - w0
        : Math.min(w0 + p.kw, p.w) - Math.max(w0, 0);
      divisor.storage[i * p.outW + j] = rows * cols;
    }
  }
  return mul(sums, reciprocal(divisor));
}

function reciprocal(t: Tensor): Tensor {
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = 1 / t.storage[i]!;
  return t;
}
