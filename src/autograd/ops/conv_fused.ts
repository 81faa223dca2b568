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
import type { Conv2dParams } from "../../backend/backend.js";
import { recycleDead } from "../recycle.js";
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

/** Throws unless the epilogue fits a convolution with parameters p of input x. */
function checkEpilogue(op: string, p: Conv2dParams, x: Tensor, e: ConvEpilogue): void {
  const { scale = null, shift = null, residual = null, relu = false, relu6 = false, pool = false } = e;
  if (relu && relu6) throw new ValueError(`${op}: choose relu or relu6, not both`);
  for (const [name, t] of [
    ["scale", scale],
    ["shift", shift],
  ] as const) {
    if (t === null) continue;
    if (t.ndim !== 1 || t.shape[0] !== p.o)
      throw new ShapeError(`${op}: ${name} must have shape [${p.o}], got ${formatShape(t.shape)}`);
    if (t.dtype !== x.dtype) throw new DTypeError(`${op}: ${name} is ${t.dtype}, input is ${x.dtype}`);
  }
  if (residual !== null) {
    const convShape = [p.n, p.o, p.outH, p.outW];
    if (!shapesEqual(residual.shape, convShape))
      throw new ShapeError(
        `${op}: residual must have the convolution's shape ${formatShape(convShape)}, got ${formatShape(residual.shape)}`,
      );
    if (residual.dtype !== x.dtype)
      throw new DTypeError(`${op}: residual is ${residual.dtype}, input is ${x.dtype}`);
    if (pool) throw new ValueError(`${op}: a residual and a pool cannot be combined`);
  }
  if (pool && (p.outH < 2 || p.outW < 2))
    throw new ShapeError(
      `${op}: a 2×2 pool needs a convolution output of at least 2×2, got ${p.outH}×${p.outW}`,
    );
}

export function conv2dFused(
  x: Tensor,
  w: Tensor,
  epilogue: ConvEpilogue,
  options: Conv2dOptions = {},
): Tensor {
  checkFloat("conv2dFused", x, w);
  const p = conv2dParams(x.shape, w.shape, options);
  checkEpilogue("conv2dFused", p, x, epilogue);
  const {
    scale = null,
    shift = null,
    residual = null,
    relu: withRelu = false,
    relu6: withRelu6 = false,
    pool = false,
  } = epilogue;
  const convShape = [p.n, p.o, p.outH, p.outW];

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

/** One convolution of conv2dPairFused: its weights, epilogue (no residual or pool) and options. */
export interface FusedConv {
  weight: Tensor;
  epilogue: Omit<ConvEpilogue, "residual" | "pool">;
  options?: Conv2dOptions;
}

/**
 * conv2dFused twice, the second on the first's output and with the residual: a residual block's
 * body, conv → BN → ReLU → conv → BN (+ shortcut) → ReLU, as one kernel call. The native backend
 * then hands the intermediate from one convolution to the next in its own layout, in cache,
 * instead of writing it out and reading it back. Same values as the two calls (and built from them
 * when autograd records).
 */
export function conv2dPairFused(
  x: Tensor,
  first: FusedConv,
  second: FusedConv,
  residual: Tensor | null = null,
): Tensor {
  const operands = [x, residual, first.weight, second.weight];
  for (const e of [first.epilogue, second.epilogue]) operands.push(e.scale ?? null, e.shift ?? null);
  const recorded = isGradEnabled() && operands.some((t) => t?.requiresGrad);
  if (recorded) {
    const mid = conv2dFused(x, first.weight, first.epilogue, first.options);
    return conv2dFused(mid, second.weight, { ...second.epilogue, residual }, second.options);
  }
  checkFloat("conv2dPairFused", x, first.weight);
  checkFloat("conv2dPairFused", x, second.weight);
  const p1 = conv2dParams(x.shape, first.weight.shape, first.options ?? {});
  checkEpilogue("conv2dPairFused", p1, x, first.epilogue);
  const mid = uninit([p1.n, p1.o, p1.outH, p1.outW], x.dtype);
  const p2 = conv2dParams(mid.shape, second.weight.shape, second.options ?? {});
  checkEpilogue("conv2dPairFused", p2, x, { ...second.epilogue, residual });
  const out = uninit([p2.n, p2.o, p2.outH, p2.outW], x.dtype);
  kernel("conv2dPairFused")(
    raw(x),
    step(first, p1),
    mid.storage,
    step(second, p2),
    residual === null ? null : raw(residual),
    out.storage,
  );
  recycleDead(mid, x, out);
  return out;
}

function step(conv: FusedConv, p: Conv2dParams) {
  const { scale = null, shift = null, relu = false, relu6 = false } = conv.epilogue;
  return {
    w: raw(conv.weight),
    p,
    scale: rawOrNull(scale),
    shift: rawOrNull(shift),
    relu: relu || relu6,
    relu6,
  };
}
