// 2-D convolution as three primitives that are each other's gradients. With
// y = conv(x, w) bilinear, its adjoints are
//   ∂/∂x <g, conv(x, w)> = convBackwardInput(g, w)     (a transposed convolution)
//   ∂/∂w <g, conv(x, w)> = convBackwardWeight(x, g)
// and both of those are bilinear too, so their own gradients are again these three ops:
// every order of derivative stays inside the set.
import { Tensor } from "../../tensor/tensor.js";
import { formatShape } from "../../tensor/shape.js";
import type { Conv2dParams } from "../../backend/backend.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../engine.js";
import { ShapeError, ValueError } from "../../errors.js";
import { sum } from "./reduce.js";
import { checkFloat, raw, uninit } from "./util.js";

export type Pair = number | readonly [number, number];

export interface Conv2dOptions {
  stride?: Pair;
  /** Zero padding on each side, or "same" (stride 1 only) / "valid". */
  padding?: Pair | "same" | "valid";
  dilation?: Pair;
  groups?: number;
}

export function pair(v: Pair, name: string, op: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((n) => Number.isInteger(n) && n >= 0))
    throw new ValueError(`${op}: ${name} must be non-negative integers, got ${String(v)}`);
  return p;
}

/** Validate shapes and work out every size the kernels need. */
export function conv2dParams(
  xShape: readonly number[],
  wShape: readonly number[],
  options: Conv2dOptions,
): Conv2dParams {
  if (xShape.length !== 4)
    throw new ShapeError(`conv2d: input must be 4-D [N, C, H, W], got ${formatShape(xShape)}`);
  if (wShape.length !== 4)
    throw new ShapeError(`conv2d: weight must be 4-D [O, C/groups, kH, kW], got ${formatShape(wShape)}`);
  const [n, c, h, w] = xShape as [number, number, number, number];
  const [o, cg, kh, kw] = wShape as [number, number, number, number];
  const groups = options.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0) {
    throw new ShapeError(`conv2d: groups=${groups} must divide input channels ${c} and output channels ${o}`);
  }
  if (cg !== c / groups) {
    throw new ShapeError(
      `conv2d: input ${formatShape(xShape)} has ${c} channels but weight ${formatShape(wShape)} expects ${cg * groups} (groups=${groups})`,
    );
  }
  const [strideH, strideW] = pair(options.stride ?? 1, "stride", "conv2d");
  const [dilationH, dilationW] = pair(options.dilation ?? 1, "dilation", "conv2d");
  if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1)
    throw new ValueError("conv2d: stride and dilation must be ≥ 1");
  let padH: number;
  let padW: number;
  const padding = options.padding ?? 0;
  if (padding === "valid") [padH, padW] = [0, 0];
  else if (padding === "same") {
    if (strideH !== 1 || strideW !== 1) throw new ValueError("conv2d: padding='same' needs stride 1");
    const th = dilationH * (kh - 1);
    const tw = dilationW * (kw - 1);
    if (th % 2 !== 0 || tw % 2 !== 0)
      throw new ValueError("conv2d: padding='same' needs an odd effective kernel size");
    [padH, padW] = [th / 2, tw / 2];
  } else [padH, padW] = pair(padding, "padding", "conv2d");
  const outH = Math.floor((h + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const outW = Math.floor((w + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  if (outH < 1 || outW < 1) {
    throw new ShapeError(
      `conv2d: input ${formatShape(xShape)} is too small for kernel ${kh}×${kw} (output would be ${outH}×${outW})`,
    );
  }
  return { n, c, h, w, o, kh, kw, strideH, strideW, padH, padW, dilationH, dilationW, groups, outH, outW };
}

/** y = conv2d(x, w) + bias (bias broadcast over N, H, W). */
export function conv2d(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null = null,
  options: Conv2dOptions = {},
): Tensor {
  checkFloat("conv2d", x, w);
  const p = conv2dParams(x.shape, w.shape, options);
  if (bias === null) return convForward(x, w, p);
  if (bias.ndim !== 1 || bias.shape[0] !== p.o)
    throw new ShapeError(`conv2d: bias must have shape [${p.o}], got ${formatShape(bias.shape)}`);
  if (bias.dtype !== x.dtype) return convForward(x, w, p).add(bias.reshape([1, p.o, 1, 1]));
  // The kernel adds the bias while the output is still in cache (no second pass), and the op
  // records [x, w, bias] as one node: the bias gradient is the per-channel sum of g.
  const y = uninit([p.n, p.o, p.outH, p.outW], x.dtype);
  kernel("conv2d")(raw(x), raw(w), p, y.storage, raw(bias));
  return record("conv2d", [x, w, bias], y, (g) => [
    x.requiresGrad ? convBackwardInput(g, w, p) : null,
    w.requiresGrad ? convBackwardWeight(x, g, p) : null,
    bias.requiresGrad ? sum(g, [0, 2, 3]) : null,
  ]);
}

function convForward(x: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const y = uninit([p.n, p.o, p.outH, p.outW], x.dtype);
  kernel("conv2d")(raw(x), raw(w), p, y.storage);
  return record("conv2d", [x, w], y, (g) => [
    x.requiresGrad ? convBackwardInput(g, w, p) : null,
    w.requiresGrad ? convBackwardWeight(x, g, p) : null,
  ]);
}

export function convBackwardInput(g: Tensor, w: Tensor, p: Conv2dParams): Tensor {
  const gx = uninit([p.n, p.c, p.h, p.w], g.dtype);
  kernel("conv2dBackwardInput")(raw(g), raw(w), p, gx.storage);
  return record("conv2dBackwardInput", [g, w], gx, (h) => [
    g.requiresGrad ? convForward(h, w, p) : null,
    w.requiresGrad ? convBackwardWeight(h, g, p) : null,
  ]);
}

export function convBackwardWeight(x: Tensor, g: Tensor, p: Conv2dParams): Tensor {
  const gw = uninit([p.o, p.c / p.groups, p.kh, p.kw], g.dtype);
  kernel("conv2dBackwardWeight")(raw(x), raw(g), p, gw.storage);
  return record("conv2dBackwardWeight", [x, g], gw, (h) => [
    x.requiresGrad ? convBackwardInput(g, h, p) : null,
    g.requiresGrad ? convForward(x, h, p) : null,
  ]);
}
