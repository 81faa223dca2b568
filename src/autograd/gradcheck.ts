// Numerical gradient checking (part of the public API): compare the Jacobian autograd computes
// with central finite differences in float64, with PyTorch's default tolerances
// (eps 1e-6, atol 1e-5, rtol 1e-3). Functions may return one tensor or several.
import type { Tensor } from "../tensor/tensor.js";
import { AutogradError, ValueError } from "../errors.js";
import { grad, noGrad } from "./engine.js";
import { empty } from "./ops/util.js";

export interface GradcheckOptions {
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Throw an AutogradError describing the worst mismatch (default) or just return false. */
  raiseException?: boolean;
}

type Fn = (...inputs: Tensor[]) => Tensor | Tensor[];

function asList(out: Tensor | Tensor[]): Tensor[] {
  return Array.isArray(out) ? out : [out];
}

/** Every output's elements, concatenated, as float64. Grad mode stays on (gradgradcheck needs it). */
function evaluate(fn: Fn, inputs: Tensor[]): Float64Array {
  const outs = asList(fn(...inputs));
  const total = outs.reduce((n, o) => n + o.numel, 0);
  const values = new Float64Array(total);
  let at = 0;
  for (const o of outs) {
    values.set(o.data, at);
    at += o.numel;
  }
  return values;
}

/** Storage positions of a tensor's elements in row-major order (views included). */
function storageIndices(t: Tensor, which: number): number[] {
  const idx: number[] = [];
  const nd = t.ndim;
  if (t.numel === 0) return idx;
  for (let d = 0; d < nd; d++) {
    if (t.strides[d] === 0 && t.shape[d]! > 1) {
      throw new ValueError(
        `gradcheck: input ${which} has overlapping memory (an expanded view); pass a contiguous copy`,
      );
    }
  }
  const counter = new Array<number>(nd).fill(0);
  for (let i = 0; i < t.numel; i++) {
    let pos = t.offset;
    for (let d = 0; d < nd; d++) pos += counter[d]! * t.strides[d]!;
    idx.push(pos);
    for (let d = nd - 1; d >= 0; d--) {
      if (++counter[d]! < t.shape[d]!) break;
      counter[d] = 0;
    }
  }
  return idx;
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
  const outs = asList(fn(...inputs));
  const nOut = outs.reduce((n, o) => n + o.numel, 0);
  // Analytic Jacobian rows: one vector-Jacobian product per output element.
  const analytic = diff.map((t) => new Float64Array(nOut * t.numel));
  let row = 0;
  for (const out of outs) {
    for (let j = 0; j < out.numel; j++, row++) {
      if (!out.requiresGrad || diff.length === 0) continue;
      const seed = empty(out.shape, out.dtype);
      seed.storage[j] = 1;
      const grads = grad([out], diff, { gradOutputs: [seed], retainGraph: true, allowUnused: true });
      grads.forEach((g, k) => {
        if (g) analytic[k]!.set(g.data, row * diff[k]!.numel);
      });
    }
  }
  // Numeric Jacobian columns: perturb one input element at a time (in place, then restore).
  for (const [k, t] of diff.entries()) {
    const positions = storageIndices(t, inputs.indexOf(t));
    const storage = t.storage;
    for (let i = 0; i < t.numel; i++) {
      const at = positions[i]!;
      const orig = storage[at]!;
      storage[at] = orig + eps;
      const plus = evaluate(fn, inputs);
      storage[at] = orig - eps;
      const minus = evaluate(fn, inputs);
      storage[at] = orig;
      for (let j = 0; j < nOut; j++) {
        const numeric = (plus[j]! - minus[j]!) / (2 * eps);
        const a = analytic[k]![j * t.numel + i]!;
        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
          if (options.raiseException === false) return false;
          throw new AutogradError(
            `gradcheck: Jacobian mismatch for input ${inputs.indexOf(t)}, element ${i}, output element ${j}: ` +
              `analytic ${a}, numeric ${numeric}`,
          );
        }
      }
    }
  }
  return true;
}

/**
 * Check second derivatives: gradcheck of the map (inputs, v) ↦ vᵀ·J(inputs) (one gradient per
 * differentiable input), whose own derivatives are what double backward computes. `gradOutputs`
 * (one per output) default to fixed pseudo-random float64 tensors.
 */
export function gradgradcheck(
  fn: Fn,
  inputs: Tensor[],
  options: GradcheckOptions & { gradOutputs?: Tensor[] } = {},
): boolean {
  const diffIdx = inputs.flatMap((t, i) => (t.requiresGrad ? [i] : []));
  if (diffIdx.length === 0) return true;
  const outs = noGrad(() => asList(fn(...inputs)));
  const vs = options.gradOutputs ?? outs.map((o, i) => seededRandom(o.shape, 7 + i));
  for (const v of vs) v.requiresGrad = true;
  const firstOrder = (...args: Tensor[]): Tensor[] => {
    const xs = args.slice(0, inputs.length);
    const given = args.slice(inputs.length);
    const ys = asList(fn(...xs));
    const used = ys.flatMap((y, i) => (y.requiresGrad ? [i] : []));
    const wrt = diffIdx.map((i) => xs[i]!);
    const gs =
      used.length === 0
        ? wrt.map(() => null)
        : grad(
            used.map((i) => ys[i]!),
            wrt,
            { gradOutputs: used.map((i) => given[i]!), createGraph: true, allowUnused: true },
          );
    // An input the outputs do not depend on has gradient zero (a constant).
    return gs.map((g, k) => g ?? empty(wrt[k]!.shape, "float64"));
  };
  return gradcheck(firstOrder, [...inputs, ...vs], options);
}

function seededRandom(shape: readonly number[], seed: number): Tensor {
  const t = empty(shape, "float64");
  let s = seed;
  for (let i = 0; i < t.storage.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    t.storage[i] = (s / 2 ** 32) * 2 - 1;
  }
  return t;
}
