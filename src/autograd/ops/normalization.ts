// Batch normalization and dropout, composed from primitives (their gradients follow).
import type { Tensor } from "../../tensor/tensor.js";
import { formatShape } from "../../tensor/shape.js";
import { defaultGenerator, type Generator } from "../../tensor/random.js";
import { noGrad } from "../engine.js";
import { ShapeError, ValueError } from "../../errors.js";
import { add, cast, mul, rsqrt, sub } from "./elementwise.js";
import { mean, variance } from "./reduce.js";
import { reshape } from "./movement.js";
import { empty } from "./util.js";

export interface BatchNormOptions {
  runningMean?: Tensor | null;
  runningVar?: Tensor | null;
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Normalise with batch statistics and update the running ones (else use the running ones). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias over the channel dim 1 of [N, C, ...].
 * Training uses the batch's biased variance and updates the running variance with the unbiased
 * one, as PyTorch does: running = (1 - momentum) * running + momentum * batch.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions = {}): Tensor {
  if (x.ndim < 2) throw new ShapeError(`batchNorm: input must be [N, C, ...], got ${formatShape(x.shape)}`);
  const c = x.shape[1]!;
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
  const eps = options.eps ?? 1e-5;
  const momentum = options.momentum ?? 0.1;
  const { runningMean = null, runningVar = null, weight = null, bias = null } = options;
  for (const [name, t] of [
    ["runningMean", runningMean],
    ["runningVar", runningVar],
    ["weight", weight],
    ["bias", bias],
  ] as const) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) {
      throw new ShapeError(
        `batchNorm: ${name} must have shape [${c}] for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`,
      );
    }
  }
  const training = options.training ?? true;
  let m: Tensor;
  let v: Tensor;
  if (training) {
    const count = x.numel / c;
    if (count <= 1)
      throw new ValueError(
        `batchNorm: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`,
      );
    m = mean(x, axes, true);
    v = variance(x, axes, { correction: 0, keepdim: true });
    noGrad(() => {
      if (runningMean) updateRunning(runningMean, reshape(m, [c]), momentum);
      if (runningVar) updateRunning(runningVar, mul(reshape(v, [c]), count / (count - 1)), momentum);
    });
  } else {
    if (!runningMean || !runningVar)
      throw new ValueError("batchNorm: evaluation mode needs runningMean and runningVar");
    m = reshape(runningMean, bshape);
    v = reshape(runningVar, bshape);
  }
  let y = mul(sub(x, m), rsqrt(add(v, eps)));
  if (weight) y = mul(y, reshape(weight, bshape));
  if (bias) y = add(y, reshape(bias, bshape));
  return y;
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
