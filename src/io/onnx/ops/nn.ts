// The layer-like ONNX ops: convolutions, batch norm, pooling, Gemm/MatMul, dropout, softmax and
// reductions — each mapped onto nabla's differentiable primitives.
import { conv2d, convBackwardInput } from "../../../autograd/ops/conv.js";
import { avgPool2d, maxPool2d } from "../../../autograd/ops/pool.js";
import { batchNorm, dropout } from "../../../autograd/ops/normalization.js";
import { matmul } from "../../../autograd/ops/matmul.js";
import * as mv from "../../../autograd/ops/movement.js";
import * as red from "../../../autograd/ops/reduce.js";
import * as ew from "../../../autograd/ops/elementwise.js";
import { numel } from "../../../tensor/shape.js";
import { ones } from "../../../tensor/creation.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { DataType, value, type Value } from "../values.js";
import type { OpContext, OpImpl } from "./context.js";
import { lift, spatialParams, symmetric, torchPads, type Spatial } from "./spatial.js";

/** Check rank 3 or 4 and return [input as 4-D, spatial params as 2-D, whether it was 1-D]. */
function prepare(ctx: OpContext, x: Tensor, kernel: readonly number[]): [Tensor, Spatial, boolean] {
  if (x.ndim !== 3 && x.ndim !== 4) {
    throw ctx.unsupported(
      `only 1-D and 2-D inputs ([N, C, L] or [N, C, H, W]) are supported, got rank ${x.ndim}`,
    );
  }
  const p = spatialParams(ctx, x.shape.slice(2), kernel);
  return x.ndim === 3 ? [mv.unsqueeze(x, 2), lift(p), true] : [x, p, false];
}

const pair = (v: readonly number[]): [number, number] => [v[0]!, v[1]!];

const conv: OpImpl = (ctx) => {
  const xv = ctx.input(0);
  let w = ctx.input(1).tensor;
  const bias = ctx.optional(2)?.tensor ?? null;
  const kernel = ctx.ints("kernel_shape") ?? w.shape.slice(2);
  const [x0, p, oneD] = prepare(ctx, xv.tensor, kernel);
  let x = x0;
  if (oneD) w = mv.unsqueeze(w, 2);
  let padding = pair(p.begin);
  if (!symmetric(p)) {
    x = mv.pad(x, torchPads(p), 0);
    padding = [0, 0];
  }
  let y = conv2d(x, w, bias, {
    stride: pair(p.strides),
    padding,
    dilation: pair(p.dilations),
    groups: ctx.int("group", 1),
  });
  if (oneD) y = mv.squeeze(y, 2);
  return [value(y, xv.type)];
};

/**
 * ConvTranspose is the adjoint of a convolution, i.e. nabla's convBackwardInput. It is computed
 * unpadded at full size s·(in−1) + output_padding + d·(k−1) + 1 and then cropped by the pads.
 */
const convTranspose: OpImpl = (ctx) => {
  const xv = ctx.input(0);
  let w = ctx.input(1).tensor;
  const bias = ctx.optional(2)?.tensor ?? null;
  const group = ctx.int("group", 1);
  const kernel = ctx.ints("kernel_shape") ?? w.shape.slice(2);
  const rank = xv.tensor.ndim;
  if (rank !== 3 && rank !== 4)
    throw ctx.unsupported(`only 1-D and 2-D inputs are supported, got rank ${rank}`);
  const inSizes = xv.tensor.shape.slice(2);
  const n = inSizes.length;
  const strides = ctx.ints("strides") ?? new Array<number>(n).fill(1);
  const dilations = ctx.ints("dilations") ?? new Array<number>(n).fill(1);
  const outPad = ctx.ints("output_padding") ?? new Array<number>(n).fill(0);
  const full = inSizes.map(
    (s, i) => strides[i]! * (s - 1) + outPad[i]! + (kernel[i]! - 1) * dilations[i]! + 1,
  );
  ctx.checkShape([...xv.tensor.shape.slice(0, 2), ...full], "full output");
  outPad.forEach((op, i) => {
    if (op < 0 || op >= Math.max(strides[i]!, dilations[i]!))
      throw ctx.fail(`output_padding ${op} must be smaller than stride or dilation`);
  });
  let begin = new Array<number>(n).fill(0);
  let end = new Array<number>(n).fill(0);
  const autoPad = ctx.string("auto_pad", "NOTSET");
  const outputShape = ctx.ints("output_shape");
  if (outputShape || autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const target = outputShape ? outputShape.slice(-n) : inSizes.map((s, i) => s * strides[i]!);
    const total = full.map((f, i) => Math.max(0, f - target[i]!));
    const upper = autoPad === "SAME_UPPER";
    begin = total.map((t) => (upper ? Math.floor(t / 2) : t - Math.floor(t / 2)));
    end = total.map((t, i) => t - begin[i]!);
  } else if (autoPad === "NOTSET") {
    const pads = ctx.ints("pads");
    if (pads) {
      if (pads.length !== 2 * n) throw ctx.fail(`pads must have ${2 * n} entries`);
      begin = pads.slice(0, n);
      end = pads.slice(n);
    }
  }
  let x = xv.tensor;
  let k = kernel;
  let s = strides;
  let d = dilations;
  let fullHW = full;
  if (rank === 3) {
    x = mv.unsqueeze(x, 2);
    w = mv.unsqueeze(w, 2);
    [k, s, d, fullHW, begin, end] = [
      [1, ...k],
      [1, ...s],
      [1, ...d],
      [1, ...full],
      [0, ...begin],
      [0, ...end],
    ];
  }
  const [nb, c, h, wd] = x.shape as [number, number, number, number];
  if (w.shape[0] !== c) throw ctx.fail(`weight has ${w.shape[0]} input channels, the input has ${c}`);
  const params = {
    n: nb,
    c: w.shape[1]! * group,
    h: fullHW[0]!,
    w: fullHW[1]!,
    o: c,
    kh: k[0]!,
    kw: k[1]!,
    strideH: s[0]!,
    strideW: s[1]!,
    padH: 0,
    padW: 0,
    dilationH: d[0]!,
    dilationW: d[1]!,
    groups: group,
    outH: h,
    outW: wd,
  };
  let y = convBackwardInput(x, w, params);
  for (let i = 0; i < 2; i++) {
    const size = y.shape[2 + i]!;
    if (begin[i]! > 0 || end[i]! > 0) y = mv.narrow(y, 2 + i, begin[i]!, size - begin[i]! - end[i]!);
  }
  if (bias) y = ew.add(y, mv.reshape(bias, [1, bias.numel, 1, 1]));
  if (rank === 3) y = mv.squeeze(y, 2);
  return [value(y, xv.type)];
};

const batchNormalization: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const [weight, bias, runningMean, runningVar] = [1, 2, 3, 4].map((i) => ctx.input(i).tensor) as [
    Tensor,
    Tensor,
    Tensor,
    Tensor,
  ];
  const y = batchNorm(x.tensor, {
    weight,
    bias,
    runningMean,
    runningVar,
    training: ctx.training,
    // ONNX: running = running·momentum + batch·(1 − momentum); nabla/PyTorch use the complement.
    momentum: 1 - ctx.float("momentum", 0.9),
    eps: ctx.float("epsilon", 1e-5),
  });
  const out: (Value | null)[] = [value(y, x.type)];
  if (ctx.wantsOutput(1)) out.push(value(runningMean, x.type));
  if (ctx.wantsOutput(2)) out.push(value(runningVar, x.type));
  return out;
};

const maxPool: OpImpl = (ctx) => {
  const xv = ctx.input(0);
  if (ctx.wantsOutput(1)) throw ctx.unsupported("the Indices output is not supported");
  const kernel = ctx.ints("kernel_shape");
  if (!kernel) throw ctx.fail("kernel_shape is required");
  const [x0, p, oneD] = prepare(ctx, xv.tensor, kernel);
  let x = x0;
  let padding = pair(p.begin);
  if (!symmetric(p) || p.begin.some((b, i) => 2 * b > p.kernel[i]!)) {
    x = mv.pad(x, torchPads(p), -Infinity);
    padding = [0, 0];
  }
  let y = maxPool2d(x, {
    kernelSize: pair(p.kernel),
    stride: pair(p.strides),
    padding,
    dilation: pair(p.dilations),
    ceilMode: ctx.int("ceil_mode", 0) === 1,
  });
  if (oneD) y = mv.squeeze(y, 2);
  return [value(y, xv.type)];
};

const averagePool: OpImpl = (ctx) => {
  const xv = ctx.input(0);
  const kernel = ctx.ints("kernel_shape");
  if (!kernel) throw ctx.fail("kernel_shape is required");
  const [x, p, oneD] = prepare(ctx, xv.tensor, kernel);
  if (p.dilations.some((d) => d !== 1)) throw ctx.unsupported("dilated average pooling is not supported");
  if (ctx.int("ceil_mode", 0) === 1) {
    // nabla pools with floor sizes; accept ceil_mode only when it changes nothing.
    const differs = x.shape.slice(2).some((size, i) => {
      const span = size + p.begin[i]! + p.end[i]! - p.kernel[i]!;
      return span % p.strides[i]! !== 0;
    });
    if (differs) throw ctx.unsupported("ceil_mode=1 that changes the output size is not supported");
  }
  const includePad = ctx.int("count_include_pad", 0) === 1;
  const base = { kernelSize: pair(p.kernel), stride: pair(p.strides) };
  const padded = p.begin.some((b) => b > 0) || p.end.some((e) => e > 0);
  let y: Tensor;
  if (!padded) y = avgPool2d(x, base);
  else if (symmetric(p) && p.begin.every((b, i) => 2 * b <= p.kernel[i]!)) {
    y = avgPool2d(x, { ...base, padding: pair(p.begin), countIncludePad: includePad });
  } else {
    const pads = torchPads(p);
    y = avgPool2d(mv.pad(x, pads, 0), base);
    if (!includePad) {
      // Divide by the number of real (unpadded) inputs under each window.
      const inside = ones([1, 1, x.shape[2]!, x.shape[3]!], { dtype: x.dtype });
      y = ew.div(y, avgPool2d(mv.pad(inside, pads, 0), base));
    }
  }
  if (oneD) y = mv.squeeze(y, 2);
  return [value(y, xv.type)];
};

const spatialAxes = (x: Tensor) => x.shape.map((_, i) => i).slice(2);

const globalAveragePool: OpImpl = (ctx) => {
  const x = ctx.input(0);
  return [value(red.mean(x.tensor, spatialAxes(x.tensor), true), x.type)];
};

const globalMaxPool: OpImpl = (ctx) => {
  const x = ctx.input(0);
  return [value(red.amax(x.tensor, spatialAxes(x.tensor), true), x.type)];
};

const gemm: OpImpl = (ctx) => {
  const av = ctx.input(0);
  const a = ctx.int("transA", 0) ? mv.transpose(av.tensor, 0, 1) : av.tensor;
  const bt = ctx.input(1).tensor;
  const b = ctx.int("transB", 0) ? mv.transpose(bt, 0, 1) : bt;
  let y = matmul(a, b);
  const alpha = ctx.float("alpha", 1);
  if (alpha !== 1) y = ew.mul(y, alpha);
  const c = ctx.optional(2);
  if (c) {
    const beta = ctx.float("beta", 1);
    y = ew.add(y, beta === 1 ? c.tensor : ew.mul(c.tensor, beta));
  }
  return [value(y, av.type)];
};

const matMul: OpImpl = (ctx) => {
  const a = ctx.input(0);
  return [value(matmul(a.tensor, ctx.input(1).tensor), a.type)];
};

const dropoutOp: OpImpl = (ctx) => {
  const x = ctx.input(0);
  let ratio = 0.5;
  let training = ctx.training;
  if (ctx.opset < 12) ratio = ctx.float("ratio", 0.5);
  else {
    const r = ctx.optional(1);
    if (r) ratio = r.tensor.data[0] ?? 0.5;
    const t = ctx.optional(2);
    if (t && t.tensor.data[0]) training = true;
  }
  const out: (Value | null)[] = [value(dropout(x.tensor, ratio, training), x.type)];
  if (ctx.wantsOutput(1)) {
    if (training && ratio > 0) throw ctx.unsupported("the mask output in training mode is not supported");
    out.push(value(ones(x.tensor.shape, { dtype: "bool" }), DataType.BOOL));
  }
  return out;
};

function softmaxLike(fn: (x: Tensor, dim: number) => Tensor): OpImpl {
  return (ctx) => {
    const x = ctx.input(0);
    const rank = x.tensor.ndim;
    const axis = ctx.axis(ctx.int("axis", ctx.opset < 13 ? 1 : -1), rank);
    if (ctx.opset >= 13) return [value(fn(x.tensor, axis), x.type)];
    // Before opset 13 the input is read as a 2-D [prod(before axis), prod(from axis)] matrix.
    const dims = x.tensor.shape;
    const flat = mv.reshape(x.tensor, [numel(dims.slice(0, axis)), numel(dims.slice(axis))]);
    return [value(mv.reshape(fn(flat, 1), dims), x.type)];
  };
}

function reduce(fn: (x: Tensor, axes: number[], keep: boolean) => Tensor, axesInputSince: number): OpImpl {
  return (ctx) => {
    const x = ctx.input(0);
    const rank = x.tensor.ndim;
    let axes = ctx.intsFromAttrOrInput("axes", 1, axesInputSince);
    const keep = ctx.int("keepdims", 1) === 1;
    if (axes === null || axes.length === 0) {
      if (ctx.int("noop_with_empty_axes", 0) === 1) return [x];
      axes = Array.from({ length: rank }, (_, i) => i);
    }
    return [value(fn(x.tensor, [...new Set(axes.map((a) => ctx.axis(a, rank)))], keep), x.type)];
  };
}

const argMax: OpImpl = (ctx) => {
  const x = ctx.input(0);
  if (ctx.int("select_last_index", 0) === 1) throw ctx.unsupported("select_last_index=1 is not supported");
  const axis = ctx.axis(ctx.int("axis", 0), x.tensor.ndim);
  const idx = red.argmax(x.tensor, axis, ctx.int("keepdims", 1) === 1);
  return [value(ew.cast(idx, "float64"), DataType.INT64)];
};

export const nnOps: Record<string, OpImpl> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  BatchNormalization: batchNormalization,
  MaxPool: maxPool,
  AveragePool: averagePool,
  GlobalAveragePool: globalAveragePool,
  GlobalMaxPool: globalMaxPool,
  Gemm: gemm,
  MatMul: matMul,
  Dropout: dropoutOp,
  Softmax: softmaxLike(red.softmax),
  LogSoftmax: softmaxLike(red.logSoftmax),
  ReduceMean: reduce(red.mean, 18),
  ReduceSum: reduce(red.sum, 13),
  ReduceMax: reduce(red.amax, 18),
  ReduceMin: reduce(red.amin, 18),
  ArgMax: argMax,
};
