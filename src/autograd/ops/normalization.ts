// Batch normalization (fused primitives with a tensor-op fallback) and dropout.
import type { Tensor } from "../../tensor/tensor.js";
import { isFloating, type TypedArray } from "../../tensor/dtype.js";
import { formatShape, numel, shapesEqual } from "../../tensor/shape.js";
import { fromArray } from "../../tensor/creation.js";
import { defaultGenerator, type Generator } from "../../tensor/random.js";
import { kernel } from "../../backend/registry.js";
import { isGradEnabled, noGrad, ownByGraph, record } from "../engine.js";
import { ShapeError, ValueError } from "../../errors.js";
import { add, cast, gt, mul, neg, relu, rsqrt, sub, where } from "./elementwise.js";
import { mean, sum, variance } from "./reduce.js";
import { contiguous, reshape } from "./movement.js";
import { scatterAdd } from "./indexing.js";
import { maxPool2d } from "./pool.js";
import { empty, uninit } from "./util.js";

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with batch statistics and update the running ones (else use the running ones). */
  training?: boolean;
  momentum?: number;
  eps?: number;
  /** A ReLU on the output, in the same pass (and its gradient inside the batch norm's). */
  relu?: boolean;
  /**
   * Added to the normalised output before the ReLU, in the same pass: a residual block's
   * shortcut (relu(bn(x) + residual)). Same shape as x.
   */
  residual?: Tensor | null;
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the channel dim 1 of [N, C, ...].
 * Training uses the batch's biased variance and updates the running variance with the unbiased
 * one, as PyTorch does: running = (1 - momentum) * running + momentum * batch.
 *
 * Float inputs of one dtype run as fused primitives: one pass for the statistics, one for the
 * normalisation (statistics and affine folded into a per-channel scale and shift), and one fused
 * kernel for the whole gradient. When the gradient itself is being recorded (createGraph), the
 * gradient rule is written in tensor ops instead, so higher derivatives follow.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): Tensor {
  const { training, ...params } = batchNormParams("batchNorm", x, options);
  const { runningMean, runningVar, weight, bias } = params;
  // Mixed or integer dtypes take the composite path, which promotes like the tensor ops do.
  const fusable =
    isFloating(x.dtype) &&
    [runningMean, runningVar, weight, bias, params.residual].every((t) => !t || t.dtype === x.dtype);
  if (!fusable) {
    let y = batchNormComposite(x, training, params);
    if (params.residual) y = add(y, params.residual);
    return params.relu ? relu(y) : y;
  }
  return training ? batchNormTraining(x, params) : batchNormEval(x, params);
}

interface BatchNormParams {
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  weight: Tensor | null;
  bias: Tensor | null;
  momentum: number;
  eps: number;
  relu: boolean;
  residual: Tensor | null;
}

/** The options checked against x and completed with their defaults (batchNorm, batchNormReluPool). */
function batchNormParams(
  op: string,
  x: Tensor,
  options: BatchNormOptions,
): BatchNormParams & { training: boolean } {
  if (x.ndim < 2) throw new ShapeError(`${op}: input must be [N, C, ...], got ${formatShape(x.shape)}`);
  const c = x.shape[1]!;
  const { runningMean = null, runningVar = null, weight = null, bias = null } = options;
  for (const [name, t] of [
    ["runningMean", runningMean],
    ["runningVar", runningVar],
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(
        `${op}: ${name} must have shape [${c}] for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
  const training = options.training ?? true;
  if (training && x.numel / c <= 1) {
    throw new ValueError(
      `${op}: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
    );
  } else if (!training && (!runningMean || !runningVar)) {
    throw new ValueError(`${op}: evaluation mode needs runningMean and runningVar`);
  }
  const residual = options.residual ?? null;
  if (residual && !shapesEqual(residual.shape, x.shape)) {
    throw new ShapeError(
      `${op}: residual must have the input's shape ${formatShape(x.shape)}, got ${formatShape(residual.shape)}`,
    );
  }
  const momentum = options.momentum ?? 0.1;
  const eps = options.eps ?? 1e-5;
  return {
    runningMean,
    runningVar,
    weight,
    bias,
    momentum,
    eps,
    relu: options.relu ?? false,
    residual,
    training,
  };
}

/** Every dim but the channel dim 1. */
function channelAxes(x: Tensor): number[] {
  return x.shape.map((_, i) => i).filter((i) => i !== 1);
}

/** [1, C, 1, ...]: a per-channel vector viewed to broadcast against x. */
function channelView(t: Tensor, x: Tensor): Tensor {
  return reshape(
    t,
    x.shape.map((d, i) => (i === 1 ? d : 1)),
  );
}

/** x as the contiguous [n, c, inner] array the kernels take. */
function layout(x: Tensor): { data: TypedArray; n: number; c: number; inner: number } {
  const src = contiguous(x.detach());
  const inner = x.ndim > 2 ? numel(x.shape.slice(2)) : 1;
  return { data: src.storage.subarray(src.offset), n: x.shape[0]!, c: x.shape[1]!, inner };
}

/**
 * The batch statistics of x (one kernel pass), the running statistics updated in place, and the
 * per-channel scale and shift that normalise with them.
 */
function trainingStats(x: Tensor, p: BatchNormParams) {
  const { data, n, c, inner } = layout(x);
  const { weight, bias, eps } = p;
  const mean = empty([c], x.dtype);
  const variance = empty([c], x.dtype);
  kernel("batchNormStats")(data, n, c, inner, mean.storage, variance.storage);
  const invstd = empty([c], x.dtype);
  const scale = empty([c], x.dtype);
  const shift = empty([c], x.dtype);
  const w = weight?.data ?? null;
  const b = bias?.data ?? null;
  for (let ch = 0; ch < c; ch++) {
    invstd.storage[ch] = 1 / Math.sqrt(variance.storage[ch]! + eps);
    scale.storage[ch] = (w ? w[ch]! : 1) * invstd.storage[ch]!;
    shift.storage[ch] = (b ? b[ch]! : 0) - mean.storage[ch]! * scale.storage[ch]!;
  }
  const count = n * inner;
  if (p.runningMean) updateRunningInPlace(p.runningMean, mean.storage, 1, p.momentum);
  if (p.runningVar) updateRunningInPlace(p.runningVar, variance.storage, count / (count - 1), p.momentum);
  return { data, n, c, inner, w, mean, invstd, scale, shift };
}

/**
 * The outputs a batch-norm backward kernel writes, for the inputs that require grad: gx, and the
 * per-channel gWeight and gBias.
 */
function gradientOutputs(
  x: Tensor,
  weight: Tensor | null,
  bias: Tensor | null,
): [Tensor | null, Tensor | null, Tensor | null] {
  const c = x.shape[1]!;
  return [
    x.requiresGrad ? uninit(x.shape, x.dtype) : null,
    weight?.requiresGrad ? empty([c], x.dtype) : null,
    bias?.requiresGrad ? empty([c], x.dtype) : null,
  ];
}

function batchNormTraining(x: Tensor, p: BatchNormParams): Tensor {
  const { weight, bias, residual } = p;
  const { data, n, c, inner, w, mean, invstd, scale, shift } = trainingStats(x, p);
  const out = uninit(x.shape, x.dtype);
  const r = residual ? layout(residual).data : null;
  kernel("channelAffine")(data, n, c, inner, scale.storage, shift.storage, p.relu, out.storage, r);

  const inputs = [x, weight, bias, residual].filter((t): t is Tensor => t !== null);
  const name = `batchNorm${residual ? "Add" : ""}${p.relu ? "Relu" : ""}`;
  return record(name, inputs, out, (g) => {
    let gx: Tensor | null;
    let gw: Tensor | null;
    let gb: Tensor | null;
    // The gradient reaching the sum (past the ReLU), which is also the residual's.
    let gSum: Tensor | null = null;
    if (isGradEnabled()) {
      // Through the ReLU first: its gradient passes where the output is positive.
      gSum = p.relu ? where(gt(out.detach(), 0), g, 0) : g;
      [gx, gw, gb] = batchNormGradComposite(x, gSum, p);
    } else {
      const gl = layout(g);
      // The residual needs the gradient past the ReLU as a tensor; otherwise the batch-norm
      // kernel applies the ReLU's mask itself.
      let gIn = gl.data;
      let mask = p.relu ? out.storage : null;
      if (residual?.requiresGrad) {
        if (p.relu) {
          gSum = uninit(x.shape, x.dtype);
          kernel("reluBackward")(gl.data, out.storage, gSum.storage);
          [gIn, mask] = [gSum.storage, null];
        } else {
          gSum = g;
        }
      }
      [gx, gw, gb] = gradientOutputs(x, weight, bias);
      kernel("batchNormBackward")(
        data,
        gIn,
        n,
        c,
        inner,
        mean.storage,
        invstd.storage,
        w,
        gx?.storage ?? null,
        gw?.storage ?? null,
        gb?.storage ?? null,
        mask,
      );
    }
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : []), ...(residual ? [gSum] : [])];
  });
}

/**
 * maxPool2d(relu(batchNorm(x)), 2×2, stride 2) in training mode — the tail of a CNN block — as
 * two kernels: the ReLU output is never materialised (the forward writes the pooled values and
 * their argmax; the backward needs only those and x). Other modes and dtypes, and inputs that are
 * not [N, C, H, W] with H, W ≥ 2, run the three ops one after the other.
 */
export function batchNormReluPool(x: Tensor, options: BatchNormOptions = {}): Tensor {
  const { training, ...params } = batchNormParams("batchNormReluPool", x, options);
  if (params.residual)
    throw new ValueError("batchNormReluPool: a residual is not supported (pool first, then add)");
  const p: BatchNormParams = { ...params, relu: true };
  const perChannel = [p.runningMean, p.runningVar, p.weight, p.bias];
  const simple = x.ndim === 4 && x.shape[2]! >= 2 && x.shape[3]! >= 2 && training && isFloating(x.dtype);
  if (!simple || !perChannel.every((t) => !t || t.dtype === x.dtype)) {
    return maxPool2d(batchNorm(x, { ...options, relu: true }), { kernelSize: 2, stride: 2 });
  }
  const c = x.shape[1]!;
  const { weight, bias } = p;
  const { data, n, w, mean, invstd, scale, shift } = trainingStats(x, p);
  const [h, wd] = [x.shape[2]!, x.shape[3]!];
  const pooledShape = [n, c, Math.floor(h / 2), Math.floor(wd / 2)];
  const out = uninit(pooledShape, x.dtype);
  const indices = uninit([n, c, pooledShape[2]! * pooledShape[3]!], "int32");
  const idx = indices.storage as Int32Array;
  kernel("batchNormReluPool")(data, n, c, h, wd, scale.storage, shift.storage, out.storage, idx);

  const inputs = [x, weight, bias].filter((t): t is Tensor => t !== null);
  const result = record("batchNormReluPool", inputs, out, (g) => {
    let gx: Tensor | null;
    let gw: Tensor | null;
    let gb: Tensor | null;
    if (isGradEnabled()) {
      // In tensor ops: the pooled gradient where the pooled value is positive (the ReLU),
      // scattered to each window's argmax (the pool), then batch norm's gradient.
      const kept = reshape(where(gt(out.detach(), 0), g, 0), [n, c, pooledShape[2]! * pooledShape[3]!]);
      const gz = reshape(scatterAdd(empty([n, c, h * wd], x.dtype), 2, indices, kept), x.shape);
      [gx, gw, gb] = batchNormGradComposite(x, gz, p);
    } else {
      const gc = contiguous(g);
      [gx, gw, gb] = gradientOutputs(x, weight, bias);
      kernel("batchNormReluPoolBackward")(
        data,
        gc.storage.subarray(gc.offset),
        out.storage,
        idx,
        n,
        c,
        h,
        wd,
        mean.storage,
        invstd.storage,
        w,
        gx?.storage ?? null,
        gw?.storage ?? null,
        gb?.storage ?? null,
      );
    }
    return [gx, ...(weight ? [gw] : []), ...(bias ? [gb] : [])];
  });
  // The argmax indices live only in the rule's closure.
  ownByGraph(result.gradFn, idx);
  return result;
}

/**
 * Training-mode batch norm's gradient in tensor ops (recorded, so it can be differentiated
 * again): with x̂ = (x − mean)·invstd and ĝ = g·weight,
 *   gx = invstd·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)),  gWeight = Σ g·x̂,  gBias = Σ g.
 */
function batchNormGradComposite(
  x: Tensor,
  g: Tensor,
  p: BatchNormParams,
): [Tensor | null, Tensor | null, Tensor | null] {
  const axes = channelAxes(x);
  const invstd = rsqrt(add(variance(x, axes, { correction: 0, keepdim: true }), p.eps));
  const xhat = mul(sub(x, mean(x, axes, true)), invstd);
  const gb = p.bias?.requiresGrad ? sum(g, axes) : null;
  const gw = p.weight?.requiresGrad ? sum(mul(g, xhat), axes) : null;
  let gx: Tensor | null = null;
  if (x.requiresGrad) {
    const gh = p.weight ? mul(g, channelView(p.weight, x)) : g;
    const centred = sub(gh, mean(gh, axes, true));
    gx = mul(sub(centred, mul(xhat, mean(mul(gh, xhat), axes, true))), invstd);
  }
  return [gx, gw, gb];
}

/**
 * Evaluation mode: y = x·scale + shift with scale = weight/√(runningVar + eps) and
 * shift = bias − runningMean·scale, one fused pass. The per-channel scale and shift are tensor
 * ops on [C] vectors, so gradients reach weight, bias and the running statistics if they need them.
 */
function batchNormEval(x: Tensor, p: BatchNormParams): Tensor {
  const rm = p.runningMean!;
  const rv = p.runningVar!;
  const needsGraph =
    isGradEnabled() && [x, rm, rv, p.weight, p.bias, p.residual].some((t) => t?.requiresGrad);
  if (!needsGraph) {
    // Inference: the same per-channel arithmetic as the tensor ops below, rounded after each
    // operation in the same way, in one loop over C instead of six small tensor ops.
    const fr = x.dtype === "float32" ? Math.fround : (v: number) => v;
    const c = x.shape[1]!;
    const scale = empty([c], x.dtype).storage;
    const shift = empty([c], x.dtype).storage;
    const [m, v, w, b] = [rm.data, rv.data, p.weight?.data, p.bias?.data];
    const eps = fr(p.eps);
    for (let ch = 0; ch < c; ch++) {
      let sc = fr(1 / fr(Math.sqrt(fr(v[ch]! + eps))));
      if (w) sc = fr(sc * w[ch]!);
      let sh = -fr(m[ch]! * sc);
      if (b) sh = fr(sh + b[ch]!);
      scale[ch] = sc;
      shift[ch] = sh;
    }
    const { data, n, inner } = layout(x);
    const out = uninit(x.shape, x.dtype);
    const r = p.residual ? layout(p.residual).data : null;
    kernel("channelAffine")(data, n, c, inner, scale, shift, p.relu, out.storage, r);
    return out;
  }
  let scale = rsqrt(add(rv, p.eps));
  if (p.weight) scale = mul(scale, p.weight);
  let shift = neg(mul(rm, scale));
  if (p.bias) shift = add(shift, p.bias);
  let y = channelAffine(x, scale, shift);
  if (p.residual) y = add(y, p.residual);
  return p.relu ? relu(y) : y;
}

/** y[:, c, ...] = x[:, c, ...]·scale[c] + shift[c]; a primitive with a tensor-op gradient. */
function channelAffine(x: Tensor, scale: Tensor, shift: Tensor): Tensor {
  const { data, n, c, inner } = layout(x);
  const out = uninit(x.shape, x.dtype);
  kernel("channelAffine")(data, n, c, inner, scale.data, shift.data, false, out.storage);
  return record("channelAffine", [x, scale, shift], out, (g) => {
    const axes = channelAxes(x);
    return [
      x.requiresGrad ? mul(g, channelView(scale, x)) : null,
      scale.requiresGrad ? sum(mul(g, x), axes) : null,
      shift.requiresGrad ? sum(g, axes) : null,
    ];
  });
}

/** The definition in tensor ops, for inputs the fused path does not take (mixed dtypes). */
function batchNormComposite(x: Tensor, training: boolean, p: BatchNormParams): Tensor {
  const c = x.shape[1]!;
  const axes = channelAxes(x);
  let m: Tensor;
  let v: Tensor;
  if (training) {
    const count = x.numel / c;
    m = mean(x, axes, true);
    v = variance(x, axes, { correction: 0, keepdim: true });
    noGrad(() => {
      if (p.runningMean) updateRunning(p.runningMean, reshape(m, [c]), p.momentum);
      if (p.runningVar) updateRunning(p.runningVar, mul(reshape(v, [c]), count / (count - 1)), p.momentum);
    });
  } else {
    m = channelView(p.runningMean!, x);
    v = channelView(p.runningVar!, x);
  }
  let y = mul(sub(x, m), rsqrt(add(v, p.eps)));
  if (p.weight) y = mul(y, channelView(p.weight, x));
  if (p.bias) y = add(y, channelView(p.bias, x));
  return y;
}

/**
 * running ← (1 − momentum)·running + momentum·(factor·batch) in one loop over the C channels,
 * rounded after each operation like the tensor-op form below (float32: Math.fround).
 */
function updateRunningInPlace(running: Tensor, batch: TypedArray, factor: number, momentum: number): void {
  if (!running.isContiguous) {
    // (running buffers are dense in practice; a strided view goes the general way)
    const b = fromArray(batch.slice(), [batch.length]);
    noGrad(() => updateRunning(running, factor === 1 ? b : mul(b, factor), momentum));
    return;
  }
  const fr = running.dtype === "float32" ? Math.fround : (v: number) => v;
  const r = running.data;
  const keep = fr(1 - momentum);
  const m = fr(momentum);
  const f = fr(factor);
  for (let i = 0; i < r.length; i++) {
    const b = factor === 1 ? batch[i]! : fr(batch[i]! * f);
    r[i] = fr(fr(r[i]! * keep) + fr(b * m));
  }
}

/** running ← (1 - momentum)·running + momentum·batch, written into running's storage. */
function updateRunning(running: Tensor, batch: Tensor, momentum: number): void {
  const next = add(mul(running, 1 - momentum), mul(cast(batch, running.dtype), momentum));
  running.data.set(next.data);
}

/** Zero each element with probability p and scale the rest by 1/(1-p) (training only). */
export function dropout(
  x: Tensor,
  p = 0.5,
  training = true,
  generator: Generator = defaultGenerator,
): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`dropout: probability must be in [0, 1], got ${p}`);
  if (!training || p === 0) return x;
  if (p === 1) return mul(x, 0);
  // The mask already holds the 1/(1-p) scale: one multiply, one allocation besides the mask.
  const mask = empty(x.shape, x.dtype);
  const md = mask.storage;
  const scale = 1 / (1 - p);
  for (let i = 0; i < md.length; i++) md[i] = generator.random() >= p ? scale : 0;
  return mul(x, mask);
}
