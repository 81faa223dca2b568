// Pooling. Max pooling finds each window's argmax with a kernel and then is just a gather, so
// its gradient is the scatter-add that gather already has. Average pooling is a depthwise
// convolution with a constant 1/(kH·kW) kernel, so it reuses the convolution's gradients.
import { Tensor } from "../../tensor/tensor.js";
import { formatShape } from "../../tensor/shape.js";
import type { Pool2dParams } from "../../backend/backend.js";
import { kernel } from "../../backend/registry.js";
import { isGradEnabled, record } from "../engine.js";
import { ShapeError, ValueError } from "../../errors.js";
import { cat, contiguous, reshape } from "./movement.js";
import { gather, scatterAdd } from "./indexing.js";
import { conv2d, pair, type Pair } from "./conv.js";
import { div } from "./elementwise.js";
import { empty, uninit } from "./util.js";

export interface Pool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}

function outSize(
  op: string,
  size: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  // With ceil mode the last window must start inside the input or left padding (PyTorch rule).
  if (ceil && (out - 1) * s >= size + p) out--;
  if (out < 1) throw new ShapeError(`${op}: input size ${size} is too small for kernel ${k}`);
  return out;
}

export function pool2dParams(op: string, shape: readonly number[], options: Pool2dOptions): Pool2dParams {
  if (shape.length !== 4)
    throw new ShapeError(`${op}: input must be 4-D [N, C, H, W], got ${formatShape(shape)}`);
  const [n, c, h, w] = shape as [number, number, number, number];
  const [kh, kw] = pair(options.kernelSize, "kernelSize", op);
  const [strideH, strideW] = pair(options.stride ?? options.kernelSize, "stride", op);
  const [padH, padW] = pair(options.padding ?? 0, "padding", op);
  const [dilationH, dilationW] = pair(options.dilation ?? 1, "dilation", op);
  if (kh < 1 || kw < 1 || strideH < 1 || strideW < 1)
    throw new ValueError(`${op}: kernel size and stride must be ≥ 1`);
  if (2 * padH > kh || 2 * padW > kw)
    throw new ValueError(`${op}: padding must be at most half the kernel size`);
  const ceil = options.ceilMode ?? false;
  return {
    n,
    c,
    h,
    w,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    outH: outSize(op, h, kh, strideH, padH, dilationH, ceil),
    outW: outSize(op, w, kw, strideW, padW, dilationW, ceil),
  };
}

export function maxPool2d(x: Tensor, options: Pool2dOptions): Tensor {
  const p = pool2dParams("maxPool2d", x.shape, options);
  const src = contiguous(x.detach());
  const values = uninit([p.n, p.c, p.outH, p.outW], x.dtype);
  const indices = uninit([p.n, p.c, p.outH * p.outW], "int32");
  kernel("maxPool2d")(src.storage.subarray(src.offset), p, values.storage, indices.storage as Int32Array);
  // Forward values come straight from the kernel; the gradient is that of gather on the planes,
  // run as one scatter kernel unless it is being recorded for higher derivatives.
  return record("maxPool2d", [x], values, (g) => [
    isGradEnabled() ? maxPool2dGradComposite(g, indices, p, x.shape) : maxPool2dGrad(g, indices, p, x.shape),
  ]);
}

function maxPool2dGrad(g: Tensor, indices: Tensor, p: Pool2dParams, shape: readonly number[]): Tensor {
  const gc = contiguous(g);
  const out = empty(shape, g.dtype);
  kernel("maxPool2dBackward")(gc.storage.subarray(gc.offset), indices.storage as Int32Array, p, out.storage);
  return out;
}

function maxPool2dGradComposite(
  g: Tensor,
  indices: Tensor,
  p: Pool2dParams,
  shape: readonly number[],
): Tensor {
  const planes = [p.n, p.c, p.h * p.w];
  const gFlat = reshape(g, [p.n, p.c, p.outH * p.outW]);
  return reshape(scatterAdd(empty(planes, g.dtype), 2, indices, gFlat), shape);
}

/** Max pooling that also returns the flat (h*W + w) index of each max within its plane. */
export function maxPool2dWithIndices(x: Tensor, options: Pool2dOptions): { values: Tensor; indices: Tensor } {
  const p = pool2dParams("maxPool2d", x.shape, options);
  const src = contiguous(x.detach());
  const values = uninit([p.n, p.c, p.outH, p.outW], x.dtype);
  const indices = uninit([p.n, p.c, p.outH * p.outW], "int32");
  kernel("maxPool2d")(src.storage.subarray(src.offset), p, values.storage, indices.storage as Int32Array);
  const v = reshape(gather(reshape(x, [p.n, p.c, p.h * p.w]), 2, indices), values.shape);
  return { values: v, indices: reshape(indices, values.shape) };
}

export interface AvgPool2dOptions extends Pool2dOptions {
  /** Count zero padding in the divisor (PyTorch's default: true). */
  countIncludePad?: boolean;
}

export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const p = pool2dParams("avgPool2d", x.shape, options);
  if (options.ceilMode) throw new ValueError("avgPool2d: ceilMode is not supported");
  const weight = empty([p.c, 1, p.kh, p.kw], x.dtype);
  weight.storage.fill(1 / (p.kh * p.kw));
  const conv = {
    stride: [p.strideH, p.strideW] as const,
    padding: [p.padH, p.padW] as const,
    dilation: [p.dilationH, p.dilationW] as const,
    groups: p.c,
  };
  const y = conv2d(x, weight, null, conv);
  if (options.countIncludePad ?? true) return y;
  // Divide by the share of each window that lies inside the image instead.
  const ones = empty([1, 1, p.h, p.w], x.dtype);
  ones.storage.fill(1);
  const coverage = conv2d(ones, weight.narrow(0, 0, 1), null, { ...conv, groups: 1 });
  return div(y, coverage);
}

/** Global or adaptive average pooling to `outputSize` (exact when the input divides evenly). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  if (x.ndim !== 4)
    throw new ShapeError(`adaptiveAvgPool2d: input must be 4-D [N, C, H, W], got ${formatShape(x.shape)}`);
  const [oh, ow] = pair(outputSize, "outputSize", "adaptiveAvgPool2d");
  const h = x.shape[2]!;
  const w = x.shape[3]!;
  if (oh === 1 && ow === 1) return x.mean([2, 3], true);
  if (h % oh === 0 && w % ow === 0) return avgPool2d(x, { kernelSize: [h / oh, w / ow] });
  // General case: PyTorch's windows [floor(i*H/oh), ceil((i+1)*H/oh)), built from slices.
  const rows: Tensor[] = [];
  for (let i = 0; i < oh; i++) {
    const h0 = Math.floor((i * h) / oh);
    const h1 = Math.ceil(((i + 1) * h) / oh);
    const cols: Tensor[] = [];
    for (let j = 0; j < ow; j++) {
      const w0 = Math.floor((j * w) / ow);
      const w1 = Math.ceil(((j + 1) * w) / ow);
      cols.push(
        x
          .narrow(2, h0, h1 - h0)
          .narrow(3, w0, w1 - w0)
          .mean([2, 3], true),
      );
    }
    rows.push(cat(cols, 3));
  }
  return cat(rows, 2);
}
