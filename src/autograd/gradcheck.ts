// Numerical gradient checking (part of the public API): compare the Jacobian autograd computes
// with central finite differences in float64, with PyTorch's default tolerances.
import type { Tensor } from "../tensor/tensor.js";
import { AutogradError } from "../errors.js";
import { grad, noGrad } from "./engine.js";
import { empty } from "./ops/util.js";
import { sum, mul } from "./index.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Throw an AutogradError describing the worst mismatch (default) or just return false. */
  raiseException?: boolean;
}

type Fn = (...inputs: Tensor[]) => Tensor;

/** f's output as a vector. Grad mode stays on: fn may itself differentiate (gradgradcheck). */
function evaluate(fn: Fn, inputs: Tensor[]): Float64Array {
  return Float64Array.from(fn(...inputs).data);
}

/**
 * Check d fn(inputs) / d inputs for every input that requires grad. Inputs should be float64
 * and small: the full Jacobian is built, one backward pass per output element.
 */
export function gradcheck(fn: Fn, inputs: Tensor[], options: GradcheckOptions = {}): boolean {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const diff = inputs.filter((t) => t.requiresGrad);
  for (const t of diff) {
    if (t.dtype !== "float64")
      throw new AutogradError(`gradcheck: inputs that require grad must be float64, got ${t.dtype}`);
  }
  const out = fn(...inputs);
  const nOut = out.numel;
  // Analytic Jacobian rows: one vector-Jacobian product per output element.
  const analytic = diff.map((t) => new Float64Array(nOut * t.numel));
  for (let j = 0; j < nOut; j++) {
    if (!out.requiresGrad) break;
    const seed = empty(out.shape, out.dtype);
    seed.storage[j] = 1;
    const grads = grad([out], diff, { gradOutputs: [seed], retainGraph: true, allowUnused: true });
    grads.forEach((g, k) => {
      if (g) analytic[k]!.set(Float64Array.from(g.data), j * diff[k]!.numel);
    });
  }
  // Numeric Jacobian columns: perturb one input element at a time (in place, then restore).
  for (const [k, t] of diff.entries()) {
    const data = t.data;
    for (let i = 0; i < t.numel; i++) {
      const orig = data[i]!;
      data[i] = orig + eps;
      const plus = evaluate(fn, inputs);
      data[i] = orig - eps;
      const minus = evaluate(fn, inputs);
      data[i] = orig;
      for (let j = 0; j < nOut; j++) {
        const numeric = (plus[j]! - minus[j]!) / (2 * eps);
        const a = analytic[k]![j * t.numel + i]!;
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          if (options.raiseException === false) return false;
          throw new AutogradError(
            `gradcheck: Jacobian mismatch for input ${inputs.indexOf(t)}, element ${i}, output ${j}: ` +
              `analytic ${a}, numeric ${numeric}`,
          );
        }
      }
    }
  }
  return true;
}

/**
 * Check second derivatives: gradcheck of the map (inputs, v) ↦ vᵀ·J(inputs), whose own
 * derivatives are the Hessian-vector products double backward computes.
 */
export function gradgradcheck(
  fn: Fn,
  inputs: Tensor[],
  options: GradcheckOptions & { gradOutputs?: Tensor } = {},
): boolean {
  const diff = inputs.filter((t) => t.requiresGrad);
  const out = noGrad(() => fn(...inputs));
  const v = options.gradOutputs ?? seededRandom(out.shape);
  v.requiresGrad = true;
  const firstOrder = (...args: Tensor[]): Tensor => {
    const xs = args.slice(0, inputs.length);
    const vv = args[inputs.length]!;
    const y = fn(...xs);
    if (!y.requiresGrad) return sum(mul(vv, 0));
    const gs = grad(
      [y],
      xs.filter((t) => t.requiresGrad),
      { gradOutputs: [vv], createGraph: true, allowUnused: true },
    );
    // Concatenate the gradients into one output: sum of g·w with fixed random weights keeps
    // every component observable while staying a single tensor.
    let total: Tensor = sum(mul(vv, 0));
    gs.forEach((g, k) => {
      if (g) total = total.add(sum(mul(g, weights(k, g.shape))));
    });
    return total;
  };
  if (diff.length === 0) return true;
  return gradcheck(firstOrder, [...inputs, v], options);
}

const weightCache = new Map<string, Tensor>();
function weights(k: number, shape: readonly number[]): Tensor {
  const key = `${k}:${shape.join(",")}`;
  let w = weightCache.get(key);
  if (!w) {
    w = seededRandom(shape, 1000 + k);
    weightCache.set(key, w);
  }
  return w;
}

function seededRandom(shape: readonly number[], seed = 7): Tensor {
  const t = empty(shape, "float64");
  let s = seed;
  for (let i = 0; i < t.storage.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    t.storage[i] = (s / 2 ** 32) * 2 - 1;
  }
  return t;
}
