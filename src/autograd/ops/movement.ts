// Movement ops: views that share storage (reshape, permute, expand, narrow) and the copies
// that cannot be views (contiguous, pad, cat). Each gradient rule is the inverse movement:
// reshape ↔ reshape, permute ↔ inverse permute, expand ↔ sum (done by the engine), narrow ↔ pad.
import { Tensor } from "../../tensor/tensor.js";
import {
  contiguousStrides,
  formatShape,
  normalizeAxis,
  numel,
  shapesEqual,
  type Shape,
} from "../../tensor/shape.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../engine.js";
import { ShapeError, ValueError } from "../../errors.js";
import { empty, uninit } from "./util.js";

function viewOf(x: Tensor, shape: Shape, strides: readonly number[], offset: number): Tensor {
  return new Tensor(x.storage, shape, x.dtype, strides, offset);
}

/** A dense copy (or x itself when it already is dense). */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous) return x;
  return clone(x);
}

/** Always a fresh dense copy. */
export function clone(x: Tensor): Tensor {
  const out = uninit(x.shape, x.dtype);
  kernel("copy")(x.view_, x.shape, out.storage, x.dtype);
  return record("clone", [x], out, (g) => [g]);
}

/** Resolve one -1 entry against the element count. */
function inferShape(op: string, x: Tensor, shape: Shape): number[] {
  const minus = shape.filter((d) => d === -1).length;
  const known = shape.reduce((n, d) => (d === -1 ? n : n * d), 1);
  if (minus > 1 || shape.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(`${op}: invalid shape ${formatShape(shape)}`);
  }
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : x.numel / known) : d));
  if (numel(out) !== x.numel || out.some((d) => !Number.isInteger(d))) {
    throw new ShapeError(
      `${op}: shape ${formatShape(shape)} is invalid for input of shape ${formatShape(x.shape)} (${x.numel} elements)`,
    );
  }
  return out;
}

/**
 * Strides that let a tensor of (shape, strides) be read as `target` without copying, or null
 * when the layout does not allow it (PyTorch's rule: each run of target dims must fit inside a
 * run of source dims that are contiguous with each other).
 */
export function viewStrides(shape: Shape, strides: readonly number[], target: Shape): number[] | null {
  if (numel(shape) === 0) return contiguousStrides(target);
  // A 0-d tensor behaves like shape [1].
  const oldShape = shape.length === 0 ? [1] : shape;
  const oldStrides = shape.length === 0 ? [1] : strides;
  const out = new Array<number>(target.length);
  let viewD = target.length - 1;
  let chunkBase = oldStrides[oldStrides.length - 1]!;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d]!;
    // End of a chunk: the next-outer dim is not laid out right after this one.
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || target[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= target[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBase = oldStrides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : null;
}

/** Same elements, new shape: a view when the layout allows, else a copy (like torch.reshape). */
export function reshape(x: Tensor, shape: Shape): Tensor {
  const target = inferShape("reshape", x, shape);
  if (shapesEqual(target, x.shape)) return x;
  const strides = viewStrides(x.shape, x.strides, target);
  const src = strides ? x : contiguous(x);
  const out = viewOf(src, target, strides ?? contiguousStrides(target), src.offset);
  return record("reshape", [src], out, (g) => [reshape(g, src.shape)]);
}

/** Like reshape, but insists on a view of the same storage, as torch.view does. */
export function view(x: Tensor, shape: Shape): Tensor {
  const target = inferShape("view", x, shape);
  if (viewStrides(x.shape, x.strides, target) === null) {
    throw new ShapeError(
      `view: size ${formatShape(shape)} is not compatible with the strides of the input (shape ${formatShape(x.shape)}, ` +
        `strides ${formatShape(x.strides)}); use reshape() or contiguous()`,
    );
  }
  return reshape(x, target);
}

export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const nd = x.ndim;
  const d = dims.map((a) => normalizeAxis("permute", a, nd));
  if (d.length !== nd || new Set(d).size !== nd) {
    throw new ShapeError(`permute: dims [${dims.join(", ")}] are not a permutation of ${nd} dimensions`);
  }
  const out = viewOf(
    x,
    d.map((a) => x.shape[a]!),
    d.map((a) => x.strides[a]!),
    x.offset,
  );
  const inverse = new Array<number>(nd);
  d.forEach((a, i) => (inverse[a] = i));
  return record("permute", [x], out, (g) => [permute(g, inverse)]);
}

export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeAxis("transpose", dim0, x.ndim);
  const b = normalizeAxis("transpose", dim1, x.ndim);
  const dims = x.shape.map((_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** Broadcast to `shape` without copying (-1 keeps a size). The engine sums the gradient back. */
export function expand(x: Tensor, shape: Shape): Tensor {
  const lead = shape.length - x.ndim;
  if (lead < 0)
    throw new ShapeError(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  const target = shape.map((d, i) => (d === -1 && i >= lead ? x.shape[i - lead]! : d));
  const strides = target.map((d, i) => {
    if (i < lead) return 0;
    const own = x.shape[i - lead]!;
    if (own === d) return x.strides[i - lead]!;
    if (own === 1) return 0;
    throw new ShapeError(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)}`);
  });
  if (shapesEqual(target, x.shape)) return x;
  return record("expand", [x], viewOf(x, target, strides, x.offset), (g) => [g]);
}

export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  const dims =
    dim === undefined
      ? x.shape.map((_, i) => i)
      : (typeof dim === "number" ? [dim] : dim).map((a) => normalizeAxis("squeeze", a, x.ndim));
  return reshape(
    x,
    x.shape.filter((d, i) => !(d === 1 && dims.includes(i))),
  );
}

export function unsqueeze(x: Tensor, dim: number): Tensor {
  const d = normalizeAxis("unsqueeze", dim, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(d, 0, 1);
  return reshape(x, shape);
}

export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeAxis("flatten", startDim, x.ndim);
  const e = normalizeAxis("flatten", endDim, x.ndim);
  if (s > e) throw new ValueError(`flatten: startDim ${startDim} comes after endDim ${endDim}`);
  return reshape(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
}

/** Elements [start, start + length) along dim, as a view. The gradient is zero-padded back. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const d = normalizeAxis("narrow", dim, x.ndim);
  const size = x.shape[d]!;
  const s = start < 0 ? start + size : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > size) {
    throw new ValueError(
      `narrow: range [${start}, ${start} + ${length}) is out of bounds for dimension ${dim} of size ${size}`,
    );
  }
  if (s === 0 && length === size) return x;
  const shape = [...x.shape];
  shape[d] = length;
  const out = viewOf(x, shape, x.strides, x.offset + s * x.strides[d]!);
  return record("narrow", [x], out, (g) => {
    const pads = new Array<number>(2 * x.ndim).fill(0);
    // pad() takes pairs from the last dimension backwards, like torch.nn.functional.pad.
    const k = x.ndim - 1 - d;
    pads[2 * k] = s;
    pads[2 * k + 1] = size - s - length;
    return [pad(g, pads, 0)];
  });
}

/** Python-style slice start:end:step along dim (negative indices count from the end). */
export function slice(x: Tensor, dim: number, start = 0, end?: number, step = 1): Tensor {
  const d = normalizeAxis("slice", dim, x.ndim);
  const size = x.shape[d]!;
  if (!Number.isInteger(step) || step < 1)
    throw new ValueError(`slice: step must be a positive integer, got ${step}`);
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIndex(start);
  const e = Math.max(clampIndex(end ?? size), s);
  const n = e - s;
  if (step === 1) return narrow(x, d, s, n);
  // Every step-th element is still a view: the stride along d is multiplied by step.
  const count = Math.ceil(n / step);
  const shape = [...x.shape];
  shape[d] = count;
  const strides = [...x.strides];
  strides[d] = x.strides[d]! * step;
  const out = viewOf(x, shape, strides, x.offset + (count > 0 ? s * x.strides[d]! : 0));
  return record("slice", [x], out, (g) => {
    // Spread g back: insert step-1 zeros after each element, trim to n, then pad to size.
    const spread = unsqueeze(g, d + 1);
    const padsStep = new Array<number>(2 * spread.ndim).fill(0);
    padsStep[2 * (spread.ndim - 1 - (d + 1)) + 1] = step - 1;
    const flat = [...x.shape];
    flat[d] = count * step;
    const dense = narrow(reshape(pad(spread, padsStep, 0), flat), d, 0, n);
    const padsDim = new Array<number>(2 * x.ndim).fill(0);
    padsDim[2 * (x.ndim - 1 - d)] = s;
    padsDim[2 * (x.ndim - 1 - d) + 1] = size - s - n;
    return [pad(dense, padsDim, 0)];
  });
}

export function select(x: Tensor, dim: number, index: number): Tensor {
  const d = normalizeAxis("select", dim, x.ndim);
  const size = x.shape[d]!;
  const i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    throw new ValueError(`select: index ${index} is out of bounds for dimension ${dim} of size ${size}`);
  return squeeze(narrow(x, d, i, 1), d);
}

/** Split into pieces of `size` (the last may be smaller) or of the listed sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
  const d = normalizeAxis("split", dim, x.ndim);
  const total = x.shape[d]!;
  let sizes: number[];
  if (typeof sizeOrSections === "number") {
    if (sizeOrSections <= 0) throw new ValueError(`split: size must be positive, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < total; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, total - s));
  } else {
    sizes = [...sizeOrSections];
    if (sizes.reduce((a, b) => a + b, 0) !== total) {
      throw new ShapeError(
        `split: sizes [${sizes.join(", ")}] do not add up to ${total} along dimension ${dim}`,
      );
    }
  }
  let start = 0;
  return sizes.map((n) => {
    const piece = narrow(x, d, start, n);
    start += n;
    return piece;
  });
}

export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const d = normalizeAxis("chunk", dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[d]! / chunks)), d);
}

/**
 * Constant padding. `pads` lists (before, after) pairs starting from the LAST dimension, as in
 * torch.nn.functional.pad; negative entries crop.
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim) {
    throw new ValueError(
      `pad: expected an even number of pads for at most ${x.ndim} dimensions, got ${pads.length}`,
    );
  }
  // Per-dimension (before, after), first dimension first.
  const perDim = new Array<number>(2 * x.ndim).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    const d = x.ndim - 1 - k;
    perDim[2 * d] = pads[2 * k]!;
    perDim[2 * d + 1] = pads[2 * k + 1]!;
  }
  // Crop first (negative pads), then pad the rest.
  let src = x;
  for (let d = 0; d < x.ndim; d++) {
    const before = Math.min(perDim[2 * d]!, 0);
    const after = Math.min(perDim[2 * d + 1]!, 0);
    if (before < 0 || after < 0) src = narrow(src, d, -before, src.shape[d]! + before + after);
  }
  const positive = perDim.map((p) => Math.max(p, 0));
  if (positive.every((p) => p === 0)) return src;
  const input = contiguous(src);
  const shape = input.shape.map((n, d) => n + positive[2 * d]! + positive[2 * d + 1]!);
  const out = empty(shape, x.dtype);
  kernel("pad")(input.storage.subarray(input.offset), input.shape, positive, value, out.storage);
  return record("pad", [input], out, (g) => {
    let gi = g;
    for (let d = 0; d < input.ndim; d++) gi = narrow(gi, d, positive[2 * d]!, input.shape[d]!);
    return [gi];
  });
}

/** Concatenate along an existing dim. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new ValueError("cat: expected a non-empty list of tensors");
  const d = normalizeAxis("cat", dim, first.ndim);
  for (const t of tensors) {
    const ok = t.ndim === first.ndim && t.shape.every((n, i) => i === d || n === first.shape[i]);
    if (!ok) {
      throw new ShapeError(
        `cat: shapes ${formatShape(first.shape)} and ${formatShape(t.shape)} differ outside dimension ${dim}`,
      );
    }
    if (t.dtype !== first.dtype) throw new ShapeError(`cat: dtypes ${first.dtype} and ${t.dtype} differ`);
  }
  const sizes = tensors.map((t) => t.shape[d]!);
  const shape = [...first.shape];
  shape[d] = sizes.reduce((a, b) => a + b, 0);
  const out = empty(shape, first.dtype);
  const outer = numel(first.shape.slice(0, d));
  const inner = numel(first.shape.slice(d + 1));
  const outRow = shape[d]! * inner;
  let at = 0;
  for (const t of tensors) {
    const src = contiguous(t).data;
    const row = t.shape[d]! * inner;
    for (let o = 0; o < outer; o++) out.storage.set(src.subarray(o * row, (o + 1) * row), o * outRow + at);
    at += row;
  }
  // A copy: callers may keep appending to their array (DenseNet does), the node must not see it.
  return record("cat", [...tensors], out, (g) => {
    let start = 0;
    return sizes.map((n) => {
      const piece = narrow(g, d, start, n);
      start += n;
      return piece;
    });
  });
}

/** Join along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  const first = tensors[0];
  if (first === undefined) throw new ValueError("stack: expected a non-empty list of tensors");
  for (const t of tensors) {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new ShapeError(
        `stack: all tensors must have the same shape, got ${formatShape(first.shape)} and ${formatShape(t.shape)}`,
      );
    }
  }
  const d = normalizeAxis("stack", dim, first.ndim + 1);
  return cat(
    tensors.map((t) => unsqueeze(t, d)),
    d,
  );
}
