// Loss functions (torch.nn.functional's losses) with PyTorch's exact semantics, built from core
// ops so gradients — and second derivatives — follow from autograd. Stable forms throughout:
// log-softmax for cross entropy, PyTorch's max-shifted log-sum-exp for BCE with logits.
import type { Tensor } from "../../tensor/tensor.js";
import { isFloating } from "../../tensor/dtype.js";
import { formatShape, shapesEqual } from "../../tensor/shape.js";
import { noGrad, record } from "../../autograd/engine.js";
import {
  abs,
  add,
  cast,
  div,
  exp,
  eq,
  gt,
  log,
  lt,
  maximum,
  mul,
  ne,
  neg,
  relu,
  sub,
  where,
} from "../../autograd/ops/elementwise.js";
import { logSoftmax, mean, sum } from "../../autograd/ops/reduce.js";
import { reshape, squeeze, unsqueeze } from "../../autograd/ops/movement.js";
import { gather, indexSelect } from "../../autograd/ops/indexing.js";
import { DTypeError, ShapeError, ValueError } from "../../errors.js";

export type Reduction = "mean" | "sum" | "none";

function reduce(op: string, loss: Tensor, reduction: Reduction): Tensor {
  switch (reduction) {
    case "none":
      return loss;
    case "sum":
      return sum(loss);
    case "mean":
      return mean(loss);
  }
  throw new ValueError(`${op}: reduction must be 'mean', 'sum' or 'none', got '${String(reduction)}'`);
}

function checkSameShape(op: string, input: Tensor, target: Tensor): void {
  if (!shapesEqual(input.shape, target.shape))
    throw new ShapeError(
      `${op}: target shape ${formatShape(target.shape)} must equal input shape ${formatShape(input.shape)}`,
    );
}

function checkFloat(op: string, what: string, t: Tensor): void {
  if (!isFloating(t.dtype))
    throw new DTypeError(`${op}: ${what} must be a floating point tensor, got ${t.dtype}`);
}

/** Class weights shaped [1, C, 1, ...] to broadcast against an [N, C, d1, ...] input. */
function classView(weight: Tensor, ndim: number): Tensor {
  return reshape(
    weight,
    Array.from({ length: ndim }, (_, i) => (i === 1 ? weight.numel : 1)),
  );
}

function checkWeight(op: string, weight: Tensor | undefined, classes: number): void {
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== classes))
    throw new ShapeError(
      `${op}: weight must have shape [${classes}] (one per class), got ${formatShape(weight.shape)}`,
    );
}

// ---- classification ---------------------------------------------------------------------------

export interface NllLossOptions {
  /** A weight per class, shape [C]. */
  weight?: Tensor;
  /** Targets equal to this are skipped (no loss, not counted in the mean). Default -100. */
  ignoreIndex?: number;
  reduction?: Reduction;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mix the target with the uniform distribution: (1 − ε)·target + ε/C. */
  labelSmoothing?: number;
}

/**
 * Negative log-likelihood of class indices given log-probabilities, input [N, C, d1, ...] (or [C])
 * and integer target [N, d1, ...] (or []). The weighted mean divides by the sum of the weights of
 * the targets that are not ignored, as PyTorch.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  return classIndexLoss("nllLoss", input, target, options, 0);
}

/**
 * Cross entropy of logits, input [N, C, d1, ...] (or [C]). The target is either class indices
 * (an integer tensor [N, d1, ...]) or class probabilities (a float tensor of the input's shape).
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const op = "crossEntropy";
  checkFloat(op, "input", input);
  const eps = options.labelSmoothing ?? 0;
  if (!(eps >= 0 && eps <= 1)) throw new ValueError(`${op}: labelSmoothing must be in [0, 1], got ${eps}`);
  if (!isFloating(target.dtype)) {
    if (input.ndim === 0) throw new ShapeError(`${op}: input must have a class dimension, got a scalar`);
    const classDim = input.ndim === 1 ? 0 : 1;
    return classIndexLoss(op, logSoftmax(input, classDim), target, options, eps);
  }
  return probabilityLoss(op, input, target, options, eps);
}

function probabilityLoss(
  op: string,
  input: Tensor,
  target: Tensor,
  options: CrossEntropyOptions,
  eps: number,
): Tensor {
  checkSameShape(op, input, target);
  if (input.ndim === 1) {
    const out = probabilityLoss(op, unsqueeze(input, 0), unsqueeze(target, 0), options, eps);
    return options.reduction === "none" ? squeeze(out, 0) : out;
  }
  const classes = input.shape[1]!;
  checkWeight(op, options.weight, classes);
  const logp = logSoftmax(input, 1);
  const t = eps > 0 ? add(mul(target, 1 - eps), eps / classes) : target;
  let prod = mul(logp, t);
  if (options.weight) prod = mul(prod, classView(options.weight, input.ndim));
  switch (options.reduction ?? "mean") {
    case "none":
      return neg(sum(prod, 1));
    case "sum":
      return neg(sum(prod));
    case "mean":
      // PyTorch divides by the number of samples (all positions but the class dimension).
      return div(neg(sum(prod)), input.numel / classes);
  }
  return reduce(op, prod, options.reduction!);
}

/** NLL of log-probabilities at integer class targets, with weights, ignoreIndex and smoothing. */
function classIndexLoss(
  op: string,
  logp: Tensor,
  target: Tensor,
  options: NllLossOptions,
  smoothing: number,
): Tensor {
  checkFloat(op, "input", logp);
  if (target.dtype !== "int32" && target.dtype !== "int8" && target.dtype !== "uint8")
    throw new DTypeError(`${op}: class-index targets must be an integer tensor, got ${target.dtype}`);
  if (logp.ndim === 1) {
    // Unbatched: input [C], target [].
    if (target.ndim !== 0)
      throw new ShapeError(
        `${op}: for input of shape ${formatShape(logp.shape)} the target must be a scalar`,
      );
    const out = classIndexLoss(op, unsqueeze(logp, 0), unsqueeze(target, 0), options, smoothing);
    return options.reduction === "none" ? squeeze(out, 0) : out;
  }
  const classes = logp.shape[1]!;
  const expected = logp.shape.filter((_, i) => i !== 1);
  if (!shapesEqual(target.shape, expected))
    throw new ShapeError(
      `${op}: target shape ${formatShape(target.shape)} does not match input ${formatShape(logp.shape)} (expected ${formatShape(expected)})`,
    );
  const { weight } = options;
  checkWeight(op, weight, classes);
  const ignoreIndex = options.ignoreIndex ?? -100;
  for (const c of target.data) {
    if (c !== ignoreIndex && (c < 0 || c >= classes))
      throw new ValueError(`${op}: target ${c} is out of bounds for ${classes} classes`);
  }

  const keep = ne(target, ignoreIndex);
  const safeTarget = where(keep, target, 0); // ignored positions read class 0, then get weight 0
  const picked = squeeze(gather(logp, 1, unsqueeze(safeTarget, 1)), 1);
  const keepF = cast(keep, logp.dtype);
  // Each position's weight: its class weight, or 1; zero where the target is ignored.
  const w = weight
    ? mul(reshape(indexSelect(weight, 0, reshape(safeTarget, [safeTarget.numel])), target.shape), keepF)
    : keepF;
  let loss = neg(mul(picked, w));
  if (smoothing > 0) {
    // The uniform part of the smoothed target: −Σ_c w_c·log p_c at each position.
    const all = weight ? mul(logp, classView(weight, logp.ndim)) : logp;
    const smooth = mul(neg(sum(all, 1)), keepF);
    loss = add(mul(loss, 1 - smoothing), mul(smooth, smoothing / classes));
  }
  switch (options.reduction ?? "mean") {
    case "none":
      return loss;
    case "sum":
      return sum(loss);
    case "mean":
      return div(sum(loss), sum(w));
  }
  return reduce(op, loss, options.reduction!);
}

// ---- regression ---------------------------------------------------------------------------------

export interface ReductionOptions {
  reduction?: Reduction;
}

/** Mean squared error (input − target)². */
export function mseLoss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  checkSameShape("mseLoss", input, target);
  const d = sub(input, target);
  return reduce("mseLoss", mul(d, d), options.reduction ?? "mean");
}

/** Mean absolute error |input − target|. */
export function l1Loss(input: Tensor, target: Tensor, options: ReductionOptions = {}): Tensor {
  checkSameShape("l1Loss", input, target);
  return reduce("l1Loss", abs(sub(input, target)), options.reduction ?? "mean");
}

/** ½d²/β where |d| < β, else |d| − ½β (β = 0 gives the L1 loss). */
export function smoothL1Loss(
  input: Tensor,
  target: Tensor,
  options: ReductionOptions & { beta?: number } = {},
): Tensor {
  const beta = options.beta ?? 1;
  if (!(beta >= 0)) throw new ValueError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  checkSameShape("smoothL1Loss", input, target);
  const d = sub(input, target);
  const z = abs(d);
  // d·d rather than z·z keeps the second derivative right at d = 0.
  const loss = beta === 0 ? z : where(lt(z, beta), mul(mul(d, d), 0.5 / beta), sub(z, 0.5 * beta));
  return reduce("smoothL1Loss", loss, options.reduction ?? "mean");
}

/** ½d² where |d| < δ, else δ(|d| − ½δ). */
export function huberLoss(
  input: Tensor,
  target: Tensor,
  options: ReductionOptions & { delta?: number } = {},
): Tensor {
  const delta = options.delta ?? 1;
  if (!(delta > 0)) throw new ValueError(`huberLoss: delta must be positive, got ${delta}`);
  checkSameShape("huberLoss", input, target);
  const d = sub(input, target);
  const z = abs(d);
  const loss = where(lt(z, delta), mul(mul(d, d), 0.5), mul(sub(z, 0.5 * delta), delta));
  return reduce("huberLoss", loss, options.reduction ?? "mean");
}

// ---- binary classification -------------------------------------------------------------------

export interface BceOptions extends ReductionOptions {
  /** Weight per element (broadcast against the input). */
  weight?: Tensor;
}

const LOG_FLOOR = -100;
const EXP_FLOOR = Math.exp(LOG_FLOOR);
// PyTorch's BCE gradient floor is the float32 constant 1e-12.
const BCE_EPSILON = Math.fround(1e-12);

/** max(log x, −100), as PyTorch's BCE clamps it; zero gradient where clamped (never 0/0). */
function clampedLog(x: Tensor): Tensor {
  const ok = gt(x, EXP_FLOOR);
  return where(ok, log(where(ok, x, 1)), LOG_FLOOR);
}

/**
 * Binary cross entropy of probabilities in [0, 1]: −w[y·log x + (1 − y)·log(1 − x)], each log
 * clamped at −100. The input gradient is PyTorch's (x − y) / max(x(1 − x), 1e-12), which stays
 * finite and points the right way even at saturated inputs x ∈ {0, 1}; it is written with core
 * ops, so it can itself be differentiated.
 */
export function bceLoss(input: Tensor, target: Tensor, options: BceOptions = {}): Tensor {
  const op = "bceLoss";
  checkFloat(op, "input", input);
  checkSameShape(op, input, target);
  for (const v of input.data)
    if (!(v >= 0 && v <= 1))
      throw new ValueError(
        `${op}: every input must be a probability in [0, 1], got ${v} (use bceWithLogitsLoss for logits)`,
      );
  const elementwise = (x: Tensor, y: Tensor): Tensor =>
    neg(add(mul(y, clampedLog(x)), mul(sub(1, y), clampedLog(sub(1, x)))));
  let loss = record(
    "bceLoss",
    [input, target],
    noGrad(() => elementwise(input, target)),
    (g) => [
      input.requiresGrad
        ? mul(g, div(sub(input, target), maximum(mul(input, sub(1, input)), BCE_EPSILON)))
        : null,
      target.requiresGrad ? mul(g, sub(clampedLog(sub(1, input)), clampedLog(input))) : null,
    ],
  );
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(op, loss, options.reduction ?? "mean");
}

/**
 * Binary cross entropy of logits, the stable form PyTorch uses:
 * (1 − y)·x + l·(log(e^(−m) + e^(−x−m)) + m), m = max(−x, 0), l = 1 + (posWeight − 1)·y.
 */
export function bceWithLogitsLoss(
  input: Tensor,
  target: Tensor,
  options: BceOptions & { posWeight?: Tensor } = {},
): Tensor {
  const op = "bceWithLogitsLoss";
  checkFloat(op, "input", input);
  checkSameShape(op, input, target);
  const m = relu(neg(input));
  const softplusNegX = add(log(add(exp(neg(m)), exp(sub(neg(input), m)))), m); // log(1 + e^−x)
  const logWeight = options.posWeight ? add(mul(sub(options.posWeight, 1), target), 1) : null;
  let loss = add(mul(sub(1, target), input), logWeight ? mul(logWeight, softplusNegX) : softplusNegX);
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(op, loss, options.reduction ?? "mean");
}

// ---- distributions -----------------------------------------------------------------------------

export interface KlDivOptions {
  /** 'batchmean' (sum / batch size) is the mathematically correct KL; 'mean' averages elements. */
  reduction?: Reduction | "batchmean";
  /** The target is given as log-probabilities. */
  logTarget?: boolean;
}

/**
 * KL(target ‖ input) pointwise, with input as log-probabilities: target·(log target − input)
 * (0 where target is 0), or e^t·(t − input) when logTarget.
 */
export function klDiv(input: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
  const op = "klDiv";
  checkFloat(op, "input", input);
  checkSameShape(op, input, target);
  let loss: Tensor;
  if (options.logTarget) {
    loss = mul(exp(target), sub(target, input));
  } else {
    // xlogy(t, t): t·log t with the t = 0 case defined as 0 (and a zero, not NaN, gradient).
    const safe = where(eq(target, 0), 1, target);
    loss = sub(mul(target, log(safe)), mul(target, input));
  }
  const reduction = options.reduction ?? "mean";
  if (reduction === "batchmean") return input.ndim === 0 ? sum(loss) : div(sum(loss), input.shape[0]!);
  return reduce(op, loss, reduction);
}
