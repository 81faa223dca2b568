// Reductions and softmax with their gradient rules. The kernel reduces the middle axis of a
// contiguous [outer, size, inner] array; several axes are reduced one after another.
import { Tensor } from "../../tensor/tensor.js";
import { isFloating, type DType } from "../../tensor/dtype.js";
import { normalizeAxes, normalizeAxis, numel, type Shape } from "../../tensor/shape.js";
import type { ReduceOp } from "../../backend/backend.js";
import { kernel } from "../../backend/registry.js";
import { noGrad, record } from "../engine.js";
import { ValueError } from "../../errors.js";
import { add, cast, div, eq, exp, log, mul, sqrt, sub, where } from "./elementwise.js";
import { contiguous, expand, reshape, squeeze } from "./movement.js";
import { gather } from "./indexing.js";
import { empty, uninit } from "./util.js";

type Axes = number | readonly number[] | undefined;

/** Shape with the reduced axes kept as size 1. */
function keptShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function droppedShape(shape: Shape, axes: readonly number[]): number[] {
  return shape.filter((_, i) => !axes.includes(i));
}

/** Reduce `axes` of x with the kernel; result has the kept (size-1) shape; no graph. */
function reduceKept(op: ReduceOp, x: Tensor, axes: readonly number[], dtype: DType): Tensor {
  // Reducing over no axes still returns a new tensor, never one aliasing x's storage.
  if (axes.length === 0) return cast(x.detach(), dtype);
  let cur = contiguous(x.detach());
  if (cur.dtype !== dtype) cur = cast(cur, dtype);
  // Adjacent dims that are both reduced (or both kept) act as one: [N, C, H, W] over (0, 2, 3)
  // is [N, C, H·W] over (0, 2), two kernel passes instead of three.
  const merged = mergeAdjacent(cur.shape, axes);
  cur = new Tensor(cur.storage, merged.shape, dtype, undefined, cur.offset);
  for (let k = merged.axes.length - 1; k >= 0; k--) {
    const axis = merged.axes[k]!;
    const shape = cur.shape;
    const outer = numel(shape.slice(0, axis));
    const size = shape[axis]!;
    const inner = numel(shape.slice(axis + 1));
    const out = empty(keptShape(shape, [axis]), dtype);
    kernel("reduce")(op, cur.storage.subarray(cur.offset), outer, size, inner, out.storage);
    cur = out;
  }
  return new Tensor(cur.storage, keptShape(x.shape, axes), dtype);
}

/** The shape with runs of adjacent reduced dims, and of adjacent kept dims, multiplied out. */
function mergeAdjacent(shape: Shape, axes: readonly number[]): { shape: number[]; axes: number[] } {
  const outShape: number[] = [];
  const outAxes: number[] = [];
  let prevReduced: boolean | null = null;
  shape.forEach((d, i) => {
    const reduced = axes.includes(i);
    if (reduced === prevReduced) {
      outShape[outShape.length - 1]! *= d;
    } else {
      if (reduced) outAxes.push(outShape.length);
      outShape.push(d);
    }
    prevReduced = reduced;
  });
  return { shape: outShape, axes: outAxes };
}

/** Sum over axes (all when undefined). Integer and bool tensors sum to int32. */
export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const ax = normalizeAxes("sum", axes, x.ndim);
  const dtype = isFloating(x.dtype) ? x.dtype : "int32";
  const kept = reduceKept("sum", x, ax, dtype);
  const out = keepdim ? kept : reshape(kept, droppedShape(x.shape, ax));
  return record("sum", [x], out, (g) => [expand(reshape(g, keptShape(x.shape, ax)), x.shape)]);
}

/** Sum a broadcast gradient back to `shape` (the engine's un-broadcasting). */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  return reshape(sum(g, axes, true), shape);
}

export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  const ax = normalizeAxes("mean", axes, x.ndim);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const s = sum(isFloating(x.dtype) ? x : cast(x, "float32"), ax, keepdim);
  return div(s, count);
}

function extremum(op: "max" | "min", x: Tensor, axes: Axes, keepdim: boolean): Tensor {
  const name = op === "max" ? "amax" : "amin";
  const ax = normalizeAxes(name, axes, x.ndim);
  if (ax.some((a) => x.shape[a] === 0))
    throw new ValueError(`${name}: cannot reduce over an empty dimension`);
  const kept = reduceKept(op, x, ax, x.dtype);
  const out = keepdim ? kept : reshape(kept, droppedShape(x.shape, ax));
  if (!isFloating(x.dtype)) return out;
  // The gradient goes to the positions holding the extremum, split evenly between ties.
  return record(name, [x], out, (g) => {
    const mask = cast(eq(x, kept), g.dtype);
    const gk = reshape(g, keptShape(x.shape, ax));
    return [div(mul(mask, gk), sum(mask, ax, true))];
  });
}

export const amax = (x: Tensor, axes?: Axes, keepdim = false) => extremum("max", x, axes, keepdim);
export const amin = (x: Tensor, axes?: Axes, keepdim = false) => extremum("min", x, axes, keepdim);

function argExtremum(op: "argmax" | "argmin", x: Tensor, dim: number | undefined, keepdim: boolean): Tensor {
  const flat = dim === undefined || x.ndim === 0;
  if (dim !== undefined) normalizeAxis(op, dim, x.ndim);
  const src = flat ? reshape(x, [x.numel]) : contiguous(x.detach());
  const axis = flat ? 0 : normalizeAxis(op, dim, x.ndim);
  const size = src.shape[axis]!;
  if (size === 0) throw new ValueError(`${op}: cannot reduce over an empty dimension`);
  const outer = numel(src.shape.slice(0, axis));
  const inner = numel(src.shape.slice(axis + 1));
  const out = empty(keptShape(src.shape, [axis]), "int32");
  const data = contiguous(src.detach());
  kernel("argReduce")(op, data.storage.subarray(data.offset), outer, size, inner, out.storage as Int32Array);
  if (flat)
    return keepdim
      ? reshape(
          out,
          x.shape.map(() => 1),
        )
      : reshape(out, []);
  return keepdim ? out : squeeze(out, axis);
}

export const argmax = (x: Tensor, dim?: number, keepdim = false) => argExtremum("argmax", x, dim, keepdim);
export const argmin = (x: Tensor, dim?: number, keepdim = false) => argExtremum("argmin", x, dim, keepdim);

/** Values and indices of the max along `dim` (torch.max(x, dim)); the gradient goes to the index. */
export function maxDim(x: Tensor, dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
  if (x.ndim === 0) {
    normalizeAxis("maxDim", dim, 0);
    return maxDim(reshape(x, [1]), 0, false); // a 0-d tensor is its own max, at index 0
  }
  const indices = argExtremum("argmax", x, dim, true);
  const values = gather(x, dim, indices);
  return keepdim ? { values, indices } : { values: squeeze(values, dim), indices: squeeze(indices, dim) };
}

export function minDim(x: Tensor, dim: number, keepdim = false): { values: Tensor; indices: Tensor } {
  if (x.ndim === 0) {
    normalizeAxis("minDim", dim, 0);
    return minDim(reshape(x, [1]), 0, false); // a 0-d tensor is its own max, at index 0
  }
  const indices = argExtremum("argmin", x, dim, true);
  const values = gather(x, dim, indices);
  return keepdim ? { values, indices } : { values: squeeze(values, dim), indices: squeeze(indices, dim) };
}

/** Variance with Bessel's correction by default (correction = 1), like torch.var. */
export function variance(
  x: Tensor,
  axes?: Axes,
  options: { correction?: number; keepdim?: boolean } = {},
): Tensor {
  const ax = normalizeAxes("var", axes, x.ndim);
  const count = ax.reduce((n, a) => n * x.shape[a]!, 1);
  const centered = sub(x, mean(x, ax, true));
  return div(
    sum(mul(centered, centered), ax, options.keepdim ?? false),
    Math.max(count - (options.correction ?? 1), 0),
  );
}

export function std(
  x: Tensor,
  axes?: Axes,
  options: { correction?: number; keepdim?: boolean } = {},
): Tensor {
  return sqrt(variance(x, normalizeAxes("std", axes, x.ndim), options));
}

/** log Σ exp(x) over axes, shifted by the max so it never overflows. */
export function logsumexp(x: Tensor, axes: Axes, keepdim = false): Tensor {
  const ax = normalizeAxes("logsumexp", axes, x.ndim);
  const m = noGrad(() => {
    // Over an empty axis the sum is 0 and the result -inf (no max to shift by).
    if (ax.some((a) => x.shape[a] === 0)) return empty(keptShape(x.shape, ax), x.dtype);
    const k = amax(x, ax, true);
    return where(eq(k, -Infinity), 0, where(eq(k, Infinity), 0, k));
  });
  const out = add(log(sum(exp(sub(x, m)), ax, true)), m);
  return keepdim ? out : reshape(out, droppedShape(x.shape, ax));
}

function softmaxForward(log: boolean, x: Tensor, dim: number): { out: Tensor; axis: number } {
  const axis = normalizeAxis(log ? "logSoftmax" : "softmax", dim, x.ndim);
  const src = contiguous(isFloating(x.dtype) ? x.detach() : cast(x, "float32"));
  const out = uninit(x.shape, src.dtype);
  const outer = numel(x.shape.slice(0, axis));
  const inner = numel(x.shape.slice(axis + 1));
  kernel("softmax")(log, src.storage.subarray(src.offset), outer, x.shape[axis] ?? 1, inner, out.storage);
  return { out, axis };
}

export function softmax(x: Tensor, dim: number): Tensor {
  const { out, axis } = softmaxForward(false, x, dim);
  return record("softmax", [x], out, (g) => [mul(out, sub(g, sum(mul(g, out), axis, true)))]);
}

export function logSoftmax(x: Tensor, dim: number): Tensor {
  const { out, axis } = softmaxForward(true, x, dim);
  return record("logSoftmax", [x], out, (g) => [sub(g, mul(exp(out), sum(g, axis, true)))]);
}
