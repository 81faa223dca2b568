// Gradient clipping (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). Gradients are replaced
// by scaled copies rather than changed in place: autograd may hand the same gradient tensor to
// several parameters, so an in-place scale could apply twice.
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/engine.js";
import { clamp, mul } from "../autograd/ops/elementwise.js";
import { ValueError } from "../errors.js";

function withGrads(params: Iterable<Tensor> | Tensor): Tensor[] {
  const list = isTensor(params) ? [params] : [...params];
  return list.filter((p) => p.grad !== null);
}

function isTensor(x: unknown): x is Tensor {
  return typeof x === "object" && x !== null && "storage" in x && "shape" in x;
}

/**
 * Scale all gradients together so their combined `normType`-norm is at most maxNorm. Returns
 * the total norm before clipping (as PyTorch: the norm of the per-parameter norms; `Infinity`
 * for the max-abs norm). The scale is maxNorm / (total + 1e-6), applied only when below 1.
 */
export function clipGradNorm(
  params: Iterable<Tensor> | Tensor,
  maxNorm: number,
  normType = 2,
  options: { errorIfNonfinite?: boolean } = {},
): number {
  if (!(maxNorm >= 0)) throw new ValueError(`clipGradNorm: maxNorm must be non-negative, got ${maxNorm}`);
  if (!(normType > 0)) throw new ValueError(`clipGradNorm: normType must be positive, got ${normType}`);
  const grads = withGrads(params);
  if (grads.length === 0) return 0;
  const norms = grads.map((p) => vectorNorm(p.grad!.data, normType));
  const total = vectorNorm(norms, normType);
  if (options.errorIfNonfinite && !Number.isFinite(total))
    throw new ValueError(`clipGradNorm: the total norm of order ${normType} of the gradients is ${total}`);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) {
    noGrad(() => {
      for (const p of grads) p.grad = mul(p.grad!, coef);
    });
  }
  return total;
}

/** Clamp every gradient element into [-clipValue, clipValue]. */
export function clipGradValue(params: Iterable<Tensor> | Tensor, clipValue: number): void {
  if (!(clipValue >= 0))
    throw new ValueError(`clipGradValue: clipValue must be non-negative, got ${clipValue}`);
  noGrad(() => {
    for (const p of withGrads(params)) p.grad = clamp(p.grad!, -clipValue, clipValue);
  });
}

/** The p-norm of a vector, accumulated in double (p = Infinity: max |x|). */
function vectorNorm(values: ArrayLike<number>, p: number): number {
  let acc = 0;
  if (p === Infinity) {
    for (let i = 0; i < values.length; i++) acc = Math.max(acc, Math.abs(values[i]!));
    return acc;
  }
  if (p === 2) {
    for (let i = 0; i < values.length; i++) acc += values[i]! * values[i]!;
    return Math.sqrt(acc);
  }
  if (p === 1) {
    for (let i = 0; i < values.length; i++) acc += Math.abs(values[i]!);
    return acc;
  }
  for (let i = 0; i < values.length; i++) acc += Math.abs(values[i]!) ** p;
  return acc ** (1 / p);
}
