// Shape and movement ONNX ops. Exporters compute target shapes inside the graph
// (Shape → Gather → Unsqueeze → Concat → Reshape); those integer values are ordinary Values
// here, evaluated each run, so dynamic batch sizes just work.
import * as mv from "../../../autograd/ops/movement.js";
import { indexSelect } from "../../../autograd/ops/indexing.js";
import { fromArray } from "../../../tensor/creation.js";
import { broadcastShapes, numel } from "../../../tensor/shape.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { cast } from "../../../autograd/ops/elementwise.js";
import { DataType, intsValue, storageDType, value, type Value } from "../values.js";
import type { OpContext, OpImpl } from "./context.js";

const shape: OpImpl = (ctx) => {
  const dims = ctx.input(0).tensor.shape;
  const rank = dims.length;
  const clampIndex = (i: number) => Math.min(Math.max(i < 0 ? i + rank : i, 0), rank);
  const start = clampIndex(ctx.int("start", 0));
  const end = clampIndex(ctx.has("end") ? ctx.int("end", rank) : rank);
  return [intsValue(dims.slice(start, Math.max(start, end)))];
};

const size: OpImpl = (ctx) => [intsValue([ctx.input(0).tensor.numel], [])];

/** ONNX Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred. */
const reshape: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const target = ctx.intsOf(1, "shape");
  const allowZero = ctx.int("allowzero", 0) === 1;
  const resolved = target.map((d, i) => {
    if (d === 0 && !allowZero) {
      const own = x.tensor.shape[i];
      if (own === undefined) throw ctx.fail(`shape [${target.join(", ")}] copies dim ${i} the input lacks`);
      return own;
    }
    return d;
  });
  return [value(mv.reshape(x.tensor, resolved), x.type)];
};

const flatten: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const dims = x.tensor.shape;
  const axis = ctx.axis(ctx.int("axis", 1), dims.length + 1);
  return [value(mv.reshape(x.tensor, [numel(dims.slice(0, axis)), numel(dims.slice(axis))]), x.type)];
};

const transpose: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const rank = x.tensor.ndim;
  const perm = ctx.ints("perm") ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return [value(mv.permute(x.tensor, perm), x.type)];
};

const squeeze: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const axes = ctx.intsFromAttrOrInput("axes", 1, 13);
  const rank = x.tensor.ndim;
  const drop = axes === null ? null : new Set(axes.map((a) => ctx.axis(a, rank)));
  const dims = x.tensor.shape.filter((d, i) => {
    if (drop === null) return d !== 1;
    if (!drop.has(i)) return true;
    if (d !== 1) throw ctx.fail(`cannot squeeze axis ${i} of size ${d}`);
    return false;
  });
  return [value(mv.reshape(x.tensor, dims), x.type)];
};

const unsqueeze: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const axes = ctx.intsFromAttrOrInput("axes", 1, 13);
  if (axes === null) throw ctx.fail("axes are required");
  const rank = x.tensor.ndim + axes.length;
  const inserted = new Set(axes.map((a) => ctx.axis(a, rank)));
  if (inserted.size !== axes.length) throw ctx.fail(`repeated axes [${axes.join(", ")}]`);
  const dims: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) dims.push(inserted.has(i) ? 1 : x.tensor.shape[k++]!);
  return [value(mv.reshape(x.tensor, dims), x.type)];
};

const concat: OpImpl = (ctx) => {
  const values = ctx.inputs.map((_, i) => ctx.input(i));
  const first = values[0];
  if (!first) throw ctx.fail("needs at least one input");
  const axis = ctx.axis(ctx.int("axis", 0), first.tensor.ndim);
  // Shape subgraphs may concatenate empty pieces; they contribute nothing.
  const pieces = values.filter((v) => v.tensor.numel > 0 || values.length === 1);
  if (pieces.length === 0) return [first];
  return [
    value(
      mv.cat(
        pieces.map((v) => v.tensor),
        axis,
      ),
      first.type,
    ),
  ];
};

const split: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const axis = ctx.axis(ctx.int("axis", 0), x.tensor.ndim);
  const total = x.tensor.shape[axis]!;
  const count = ctx.node.outputs.length;
  let sizes = ctx.intsFromAttrOrInput("split", 1, 13);
  if (sizes === null) {
    // Opset 18's num_outputs allows a smaller last piece; before it pieces are equal.
    const n = ctx.int("num_outputs", count);
    const piece = Math.ceil(total / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(piece, total - i * piece)));
  }
  if (sizes.reduce((a, b) => a + b, 0) !== total) {
    throw ctx.fail(`split sizes [${sizes.join(", ")}] do not add up to ${total}`);
  }
  const out: Value[] = [];
  let start = 0;
  for (const s of sizes) {
    out.push(value(mv.narrow(x.tensor, axis, start, s), x.type));
    start += s;
  }
  return out;
};

/** ONNX Slice (inputs since opset 10): clamp like the spec, negative steps via index lists. */
const slice: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const starts = ctx.intsOf(1, "starts");
  const ends = ctx.intsOf(2, "ends");
  const rank = x.tensor.ndim;
  const axes = ctx.optional(3) ? ctx.intsOf(3, "axes") : starts.map((_, i) => i);
  const steps = ctx.optional(4) ? ctx.intsOf(4, "steps") : starts.map(() => 1);
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw ctx.fail("starts, ends, axes and steps must have the same length");
  }
  let t = x.tensor;
  axes.forEach((a, i) => {
    const axis = ctx.axis(a, rank);
    const dim = t.shape[axis]!;
    const step = steps[i]!;
    if (step === 0) throw ctx.fail("slice step must not be 0");
    const norm = (v: number) => (v < 0 ? v + dim : v);
    if (step > 0) {
      const s = Math.min(Math.max(norm(starts[i]!), 0), dim);
      const e = Math.min(Math.max(norm(ends[i]!), 0), dim);
      if (s === 0 && e === dim && step === 1) return;
      t = e <= s ? mv.narrow(t, axis, 0, 0) : mv.slice(t, axis, s, e, step);
    } else {
      const s = Math.min(Math.max(norm(starts[i]!), 0), dim - 1);
      const e = Math.min(Math.max(norm(ends[i]!), -1), dim - 1);
      const picks: number[] = [];
      for (let k = s; k > e; k += step) picks.push(k);
      t = indexSelect(t, axis, fromArray(Int32Array.from(picks), [picks.length]));
    }
  });
  return [value(t, x.type)];
};

/** Gather along an axis with an index tensor of any rank (negative indices count back). */
const gather: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const indices = ctx.input(1);
  const axis = ctx.axis(ctx.int("axis", 0), x.tensor.ndim);
  const dim = x.tensor.shape[axis]!;
  const idx = ctx.intsOf(1, "indices").map((i) => {
    if (i < -dim || i >= dim) throw ctx.fail(`index ${i} is out of range for axis ${axis} of size ${dim}`);
    return i < 0 ? i + dim : i;
  });
  const picked = indexSelect(x.tensor, axis, fromArray(Int32Array.from(idx), [idx.length]));
  const dims = [...x.tensor.shape.slice(0, axis), ...indices.tensor.shape, ...x.tensor.shape.slice(axis + 1)];
  return [value(mv.reshape(picked, dims), x.type)];
};

const constant: OpImpl = (ctx) => {
  const t = ctx.tensor("value");
  if (t) return [t];
  if (ctx.has("value_float"))
    return [value(fromArray(Float32Array.of(ctx.float("value_float", 0)), []), DataType.FLOAT)];
  if (ctx.has("value_int")) return [intsValue([ctx.int("value_int", 0)], [])];
  const floats = ctx.floats("value_floats");
  if (floats) return [value(fromArray(Float32Array.from(floats), [floats.length]), DataType.FLOAT)];
  const ints = ctx.ints("value_ints");
  if (ints) return [intsValue(ints)];
  throw ctx.unsupported("only value, value_float(s) and value_int(s) constants are supported");
};

const constantOfShape: OpImpl = (ctx) => {
  const dims = ctx.intsOf(0, "shape");
  const fill = ctx.tensor("value");
  const type = fill?.type ?? DataType.FLOAT;
  const v = fill ? fill.tensor.data[0]! : 0;
  const dtype = storageDType(type, ctx.where);
  ctx.checkShape(dims, "shape");
  const n = numel(dims);
  const data =
    dtype === "float32" ? new Float32Array(n) : dtype === "bool" ? new Uint8Array(n) : new Float64Array(n);
  data.fill(v);
  return [value(fromArray(data, dims, { dtype }), type)];
};

const expand: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const target = ctx.intsOf(1, "shape");
  const out = broadcastShapes("Expand", x.tensor.shape, target);
  ctx.checkShape(out, "expanded shape");
  return [value(mv.expand(x.tensor, out), x.type)];
};

const tile: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const repeats = ctx.intsOf(1, "repeats");
  if (repeats.length !== x.tensor.ndim) throw ctx.fail("repeats must have one entry per input dimension");
  // [a, b] tiled [r, s] = [1, a, 1, b] expanded to [r, a, s, b], then merged.
  const spread = x.tensor.shape.flatMap((d) => [1, d]);
  const target = x.tensor.shape.flatMap((d, i) => [repeats[i]!, d]);
  const merged = x.tensor.shape.map((d, i) => d * repeats[i]!);
  ctx.checkShape(merged, "tiled shape");
  return [value(mv.reshape(mv.expand(mv.reshape(x.tensor, spread), target), merged), x.type)];
};

const range: OpImpl = (ctx) => {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.numbersOf(i)[0] ?? 0) as [number, number, number];
  if (delta === 0) throw ctx.fail("delta must not be 0");
  const n = Math.max(Math.ceil((limit - start) / delta), 0);
  ctx.checkShape([n], "range");
  const out = Array.from({ length: n }, (_, i) => start + i * delta);
  const type = ctx.input(0).type;
  const dtype = storageDType(type, ctx.where);
  return [value(fromArray(dtype === "float32" ? Float32Array.from(out) : Float64Array.from(out), [n]), type)];
};

/** Pad, constant mode only (pads as an attribute before opset 11, as inputs since). */
const pad: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const mode = ctx.string("mode", "constant");
  if (mode !== "constant") throw ctx.unsupported(`mode "${mode}" is not supported (only "constant")`);
  const rank = x.tensor.ndim;
  let pads: number[];
  let fill = 0;
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (ctx.opset < 11) {
    pads = ctx.ints("pads") ?? [];
    fill = ctx.float("value", 0);
  } else {
    pads = ctx.intsOf(1, "pads");
    const c = ctx.optional(2);
    if (c && c.tensor.numel > 0) fill = c.tensor.data[0]!;
    if (ctx.optional(3)) axes = ctx.intsOf(3, "axes").map((a) => ctx.axis(a, rank));
  }
  if (pads.length !== 2 * axes.length) throw ctx.fail(`expected ${2 * axes.length} pads, got ${pads.length}`);
  const padded = [...x.tensor.shape];
  axes.forEach((a, i) => (padded[a] = padded[a]! + pads[i]! + pads[i + axes.length]!));
  ctx.checkShape(padded, "padded shape");
  // ONNX lists all begins then all ends, first axis first; nabla pads (before, after) pairs
  // starting from the last dimension, like torch.nn.functional.pad.
  const torchPads = new Array<number>(2 * rank).fill(0);
  axes.forEach((a, i) => {
    const k = rank - 1 - a;
    torchPads[2 * k] = pads[i]!;
    torchPads[2 * k + 1] = pads[i + axes.length]!;
  });
  return [value(mv.pad(x.tensor, torchPads, fill), x.type)];
};

const identity: OpImpl = (ctx) => [ctx.input(0)];

/** Tensor of `type` from a nabla tensor of the right storage. */
export function asType(t: Tensor, type: number, ctx: OpContext): Value {
  const dtype = storageDType(type, ctx.where);
  return value(t.dtype === dtype ? t : cast(t, dtype), type);
}

export const shapeOps: Record<string, OpImpl> = {
  Shape: shape,
  Size: size,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Split: split,
  Slice: slice,
  Gather: gather,
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Expand: expand,
  Tile: tile,
  Range: range,
  Pad: pad,
  Identity: identity,
};
