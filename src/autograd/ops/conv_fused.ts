// A convolution with the layers an inference graph puts right after it, in one kernel:
//   y = pool?( relu?( conv2d(x, w)·scale[o] + shift[o] + residual ) )   (ReLU or ReLU6)
// An eval-mode BatchNorm2d folds into scale and shift (and the conv bias into shift), so
// conv → BN → ReLU → 2×2 max-pool reads the input once and writes only the pooled output. This is
// what nn's inference fusion (src/nn/fuse.ts) calls. When autograd would record the call, it is
// built from the separate ops instead, so its gradient is theirs and nothing new to get wrong.
import type { Tensor } from "../../tensor/tensor.js";
import { formatShape, shapesEqual } from "../../tensor/shape.js";
import { kernel } from "../../backend/registry.js";
import { isGradEnabled } from "../engine.js";
import { DTypeError, ShapeError, ValueError } from "../../errors.js";
import { conv2d, conv2dParams, type Conv2dOptions } from "./conv.js";
import { add, minimum, mul, relu } from "./elementwise.js";
import { maxPool2d } from "./pool.js";
import { checkFloat, raw, uninit } from "./util.js";

export interface ConvEpilogue {
  /** Per output channel, [O]: multiplies the convolution (a folded batch norm's scale). */
  scale?: Tensor | null;
  /** Per output channel, [O]: added after the scale (bias, or a folded batch norm's shift). */
  shift?: Tensor | null;
  /** Added after the shift; the convolution's output shape. */
  residual?: Tensor | null;
  relu?: boolean;
  /** ReLU6, min(max(·, 0), 6), in place of the ReLU (MobileNet's activation); not with relu. */
  relu6?: boolean;
  /** A 2×2, stride-2 max-pool (floor mode) last; not together with a residual. */
  pool?: boolean;
}

const rawOrNull = (t: Tensor | null) => (t === null ? null : raw(t));

export function conv2dFused(
  x: Tensor,
  w: Tensor,
  epilogue: ConvEpilogue,
  options: Conv2dOptions = {},
): Tensor {
  checkFloat("conv2dFused", x, w);
  const p = conv2dParams(x.shape, w.shape, options);
  const {
    scale = null,
    shift = null,
    residual = null,
    relu: withRelu = false,
    relu6: withRelu6 = false,
    pool = false,
  } = epilogue;
  if (withRelu && withRelu6) throw new ValueError("conv2dFused: choose relu or relu6, not both");
  for (const [name, t] of [
    ["scale", scale],
    ["shift", shift],
  ] as const) {
    if (t === null) continue;
    if (t.ndim !== 1 || t.shape[0] !== p.o)
      throw new ShapeError(`conv2dFused: ${name} must have shape [${p.o}], got ${formatShape(t.shape)}`);
    if (t.dtype !== x.dtype) throw new DTypeError(`conv2dFused: ${name} is ${t.dtype}, input is ${x.dtype}`);
  }
  const convShape = [p.n, p.o, p.outH, p.outW];
  if (residual !== null) {
    if (!shapesEqual(residual.shape, convShape))
      throw new ShapeError(
        `conv2dFused: residual must have the convolution's shape ${formatShape(convShape)}, got ${formatShape(residual.shape)}`,
      );
    if (residual.dtype !== x.dtype)
      throw new DTypeError(`conv2dFused: residual is ${residual.dtype}, input is ${x.dtype}`);
    if (pool) throw new ValueError("conv2dFused: a residual and a pool cannot be combined");
  }
  if (pool && (p.outH < 2 || p.outW < 2))
    throw new ShapeError(
      `conv2dFused: a 2×2 pool needs a convolution output of at least 2×2, got ${p.outH}×${p.outW}`,
    );

  const recorded = isGradEnabled() && [x, w, scale, shift, residual].some((t) => t?.requiresGrad);
  if (recorded) {
    const channel = (t: Tensor) => t.reshape([1, p.o, 1, 1]);
    let y = conv2d(x, w, null, options);
    if (scale) y = mul(y, channel(scale));
    if (shift) y = add(y, channel(shift));
    if (residual) y = add(y, residual);
    if (withRelu || withRelu6) y = relu(y);
    if (withRelu6) y = minimum(y, 6);
    return pool ? maxPool2d(y, { kernelSize: 2, stride: 2 }) : y;
  }
  const out = uninit(pool ? [p.n, p.o, p.outH >> 1, p.outW >> 1] : convShape, x.dtype);
  kernel("conv2dFused")(
    raw(x),
    raw(w),
    p,
    out.storage,
    rawOrNull(scale),
    rawOrNull(shift),
    rawOrNull(residual),
    withRelu || withRelu6,
    pool,
    withRelu6,
  );
  return out;
}
