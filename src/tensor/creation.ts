// Creating tensors: from JS arrays and typed arrays, constant fills, ranges, and random draws
// from a seedable generator.
import { Tensor } from "./tensor.js";
import { allocArray, castScalar, dtypeOfArray, type DType, type TypedArray } from "./dtype.js";
import { checkShape, formatShape, numel, type Shape } from "./shape.js";
import { defaultGenerator, type Generator } from "./random.js";
import { getBackend } from "../backend/registry.js";
import { ShapeError, ValueError } from "../errors.js";

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export interface RandomOptions extends CreateOptions {
  generator?: Generator;
}

export type NestedArray = number | boolean | readonly NestedArray[];

function finish(t: Tensor, options: CreateOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function alloc(shape: Shape, dtype: DType): Tensor {
  checkShape("tensor", shape);
  return new Tensor(getBackend().alloc(dtype, numel(shape)), shape, dtype);
}

/** A tensor from a (nested) JS array or a number, like torch.tensor. */
export function tensor(values: NestedArray | TypedArray, options: CreateOptions = {}): Tensor {
  if (ArrayBuffer.isView(values)) return fromArray(values, [values.length], options);
  const shape: number[] = [];
  let probe: NestedArray = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0] ?? 0;
  }
  const flat: number[] = [];
  let sawBool = false;
  let sawFraction = false;
  const walk = (v: NestedArray, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= shape.length || v.length !== shape[depth]) {
        throw new ShapeError(
          `tensor: ragged nested array (expected length ${shape[depth] ?? "scalar"} at depth ${depth})`,
        );
      }
      for (const e of v as readonly NestedArray[]) walk(e, depth + 1);
      return;
    }
    if (depth !== shape.length)
      throw new ShapeError(`tensor: ragged nested array (a number at depth ${depth})`);
    if (typeof v === "boolean") sawBool = true;
    else if (typeof v !== "number")
      throw new ValueError(`tensor: expected numbers or booleans, got ${typeof v}`);
    else if (!Number.isInteger(v)) sawFraction = true;
    flat.push(Number(v));
  };
  walk(values, 0);
  // Like PyTorch, a literal of floats is float32 and booleans are bool; plain integers are
  // float32 here too (nabla's default dtype), unless a dtype is given.
  const dtype = options.dtype ?? (sawBool && !sawFraction ? "bool" : "float32");
  const t = alloc(shape, dtype);
  for (let i = 0; i < flat.length; i++) t.storage[i] = castScalar(flat[i]!, dtype);
  return finish(t, options);
}

/** Wrap a typed array (no copy) as a tensor of `shape`. */
export function fromArray(data: TypedArray, shape: Shape, options: CreateOptions = {}): Tensor {
  checkShape("fromArray", shape);
  if (numel(shape) !== data.length) {
    throw new ShapeError(`fromArray: ${data.length} elements do not fit shape ${formatShape(shape)}`);
  }
  const natural = dtypeOfArray(data);
  const dtype = options.dtype ?? natural;
  if (dtype !== natural && !(dtype === "bool" && natural === "uint8")) {
    const out = alloc(shape, dtype);
    for (let i = 0; i < data.length; i++) out.storage[i] = castScalar(data[i]!, dtype);
    return finish(out, options);
  }
  return finish(new Tensor(data, shape, dtype), options);
}

export function zeros(shape: Shape, options: CreateOptions = {}): Tensor {
  return finish(alloc(shape, options.dtype ?? "float32"), options);
}

export function ones(shape: Shape, options: CreateOptions = {}): Tensor {
  return full(shape, 1, options);
}

export function full(shape: Shape, value: number, options: CreateOptions = {}): Tensor {
  const dtype = options.dtype ?? "float32";
  const t = alloc(shape, dtype);
  t.storage.fill(castScalar(value, dtype));
  return finish(t, options);
}

export function zerosLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return zeros(t.shape, { dtype: t.dtype, ...options });
}

export function onesLike(t: Tensor, options: CreateOptions = {}): Tensor {
  return ones(t.shape, { dtype: t.dtype, ...options });
}

/** Values start, start+step, ... < end (arange(n) counts 0..n-1). */
export function arange(start: number, end?: number, step = 1, options: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0 || !Number.isFinite(step))
    throw new ValueError(`arange: step must be a non-zero finite number, got ${step}`);
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const allInts = [lo, hi, step].every(Number.isInteger);
  const t = alloc([n], options.dtype ?? (allInts ? "int32" : "float32"));
  for (let i = 0; i < n; i++) t.storage[i] = lo + i * step;
  return finish(t, options);
}

export function linspace(start: number, end: number, steps: number, options: CreateOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0)
    throw new ValueError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const t = alloc([steps], options.dtype ?? "float32");
  for (let i = 0; i < steps; i++)
    t.storage[i] = steps === 1 ? start : start + ((end - start) * i) / (steps - 1);
  return finish(t, options);
}

export function eye(n: number, m = n, options: CreateOptions = {}): Tensor {
  const t = alloc([n, m], options.dtype ?? "float32");
  for (let i = 0; i < Math.min(n, m); i++) t.storage[i * m + i] = 1;
  return finish(t, options);
}

/** Uniform samples in [0, 1). */
export function rand(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const t = alloc(shape, options.dtype ?? "float32");
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.random();
  return finish(t, options);
}

/** Standard normal samples. */
export function randn(shape: Shape, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const t = alloc(shape, options.dtype ?? "float32");
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.normal();
  return finish(t, options);
}

/** Uniform integers in [low, high). */
export function randint(low: number, high: number, shape: Shape, options: RandomOptions = {}): Tensor {
  if (!(high > low)) throw new ValueError(`randint: high (${high}) must be greater than low (${low})`);
  const g = options.generator ?? defaultGenerator;
  const t = alloc(shape, options.dtype ?? "int32");
  for (let i = 0; i < t.storage.length; i++) t.storage[i] = g.randint(low, high);
  return finish(t, options);
}

/** A random permutation of 0..n-1 (Fisher–Yates). */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  const g = options.generator ?? defaultGenerator;
  const t = alloc([n], options.dtype ?? "int32");
  for (let i = 0; i < n; i++) t.storage[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.randint(0, i + 1);
    const tmp = t.storage[i]!;
    t.storage[i] = t.storage[j]!;
    t.storage[j] = tmp;
  }
  return finish(t, options);
}

export { allocArray };
