// Tape ops → ONNX nodes, for the tensor math models do between layers (residual adds, cat,
// flatten, mean, ...). The tape keeps each op's name and inputs but not its settings, so those
// are recovered from the traced tensors: view ops from shapes, strides and offsets; reductions
// and softmax by trying the shape-consistent candidates on the traced values and keeping the one
// that reproduces the recorded output. An op that cannot be expressed is a NotSupportedError.
import type { Tensor } from "../../../tensor/tensor.js";
import { noGrad } from "../../../autograd/engine.js";
import * as red from "../../../autograd/ops/reduce.js";
import * as mv from "../../../autograd/ops/movement.js";
import { NotSupportedError } from "../../../errors.js";
import { formatShape } from "../../../tensor/shape.js";
import { attr, elemType, type GraphBuilder } from "./graph-builder.js";

export interface PrimitiveCall {
  g: GraphBuilder;
  op: string;
  /** The op's recorded inputs and their ONNX names. */
  inputs: readonly Tensor[];
  names: readonly string[];
  /** The op's output as traced. */
  y: Tensor;
}

type Emitter = (c: PrimitiveCall) => string;

const fail = (c: PrimitiveCall, why: string) =>
  new NotSupportedError(
    `ONNX export: cannot express op "${c.op}" (output ${formatShape(c.y.shape)}): ${why}`,
  );

const simple =
  (opType: string): Emitter =>
  (c) =>
    c.g.op(opType, c.names);

/** Does `candidate` reproduce the traced output? */
function reproduces(candidate: () => Tensor, y: Tensor): boolean {
  return noGrad(() => {
    let out: Tensor;
    try {
      out = candidate();
    } catch {
      return false;
    }
    if (out.shape.length !== y.shape.length || out.shape.some((d, i) => d !== y.shape[i])) return false;
    const a = out.data;
    const b = y.data;
    for (let i = 0; i < a.length; i++) {
      const tol = 1e-6 * (1 + Math.abs(b[i]!));
      if (!(Math.abs(a[i]! - b[i]!) <= tol) && !(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) return false;
    }
    return true;
  });
}

/** All subsets of 0..n-1 (n is a tensor rank, so small). */
function subsets(n: number): number[][] {
  const out: number[][] = [];
  for (let mask = 0; mask < 1 << n; mask++) out.push([...Array(n).keys()].filter((i) => mask & (1 << i)));
  return out;
}

/** Reductions: find axes and keepdims from the shapes, and the values when shapes are ambiguous. */
function reduction(
  opType: string,
  fn: (x: Tensor, axes: number[], keep: boolean) => Tensor,
  axesInputSince: number,
): Emitter {
  return (c) => {
    const x = c.inputs[0]!;
    for (const keep of [true, false]) {
      for (const axes of subsets(x.ndim)) {
        if (axes.length === 0) continue;
        if (!keep && x.ndim - axes.length !== c.y.ndim) continue;
        if (keep && x.ndim !== c.y.ndim) continue;
        if (!reproduces(() => fn(x, axes, keep), c.y)) continue;
        const keepAttr = attr.int("keepdims", keep ? 1 : 0);
        if (c.g.opset >= axesInputSince)
          return c.g.op(opType, [c.names[0]!, c.g.ints(axes, "axes")], [keepAttr]);
        return c.g.op(opType, [c.names[0]!], [attr.ints("axes", axes), keepAttr]);
      }
    }
    throw fail(c, `no reduction axes reproduce the output from input ${formatShape(x.shape)}`);
  };
}

const softmaxLike =
  (opType: string, fn: (x: Tensor, dim: number) => Tensor): Emitter =>
  (c) => {
    const x = c.inputs[0]!;
    for (let axis = x.ndim - 1; axis >= 0; axis--) {
      if (!reproduces(() => fn(x, axis), c.y)) continue;
      if (c.g.opset < 13 && axis !== x.ndim - 1)
        throw fail(c, "a softmax over a non-last dim needs opset ≥ 13");
      return c.g.op(opType, [c.names[0]!], [attr.int("axis", axis)]);
    }
    throw fail(c, "no axis reproduces the output");
  };

/** Reshape; a leading dim equal to the input's is written as 0 ("copy"), keeping batch dynamic. */
const reshape: Emitter = (c) => {
  const x = c.inputs[0]!;
  const shape = c.y.shape.map((d, i) => (i === 0 && x.ndim > 0 && d === x.shape[0] ? 0 : d));
  return c.g.op("Reshape", [c.names[0]!, c.g.ints(shape)]);
};

/** Permute: output dim i reads input dim perm[i], matched by (size, stride). */
const permute: Emitter = (c) => {
  const x = c.inputs[0]!;
  const free = new Set(x.shape.keys());
  const perm = c.y.shape.map((d, i) => {
    const match = [...free].find((j) => x.shape[j] === d && x.strides[j] === c.y.strides[i]);
    if (match === undefined) throw fail(c, "strides do not form a permutation of the input's");
    free.delete(match);
    return match;
  });
  return c.g.op("Transpose", [c.names[0]!], [attr.ints("perm", perm)]);
};

/** Expand: 1 where the input already has the size, so a dynamic batch still broadcasts. */
const expand: Emitter = (c) => {
  const x = c.inputs[0]!;
  const lead = c.y.ndim - x.ndim;
  const shape = c.y.shape.map((d, i) => (i >= lead && x.shape[i - lead] === d ? 1 : d));
  return c.g.op("Expand", [c.names[0]!, c.g.ints(shape)]);
};

/** narrow and strided slice: a view along one dim, found from shapes, strides and offsets. */
const slice: Emitter = (c) => {
  const x = c.inputs[0]!;
  const y = c.y;
  const dims = x.shape
    .map((_, d) => d)
    .filter((d) => x.shape[d] !== y.shape[d] || x.strides[d] !== y.strides[d]);
  if (dims.length === 0) return c.g.op("Identity", [c.names[0]!]);
  if (dims.length !== 1) throw fail(c, "expected a view along a single dim");
  const d = dims[0]!;
  const stride = x.strides[d]!;
  if (stride === 0) throw fail(c, "slicing a broadcast dim");
  const start = (y.offset - x.offset) / stride;
  const step = y.strides[d]! / stride;
  if (!Number.isInteger(start) || !Number.isInteger(step) || step < 1)
    throw fail(c, "offsets do not describe a slice");
  const end = y.shape[d]! === 0 ? start : start + (y.shape[d]! - 1) * step + 1;
  return c.g.op("Slice", [
    c.names[0]!,
    c.g.ints([start], "starts"),
    c.g.ints([end], "ends"),
    c.g.ints([d], "axes"),
    c.g.ints([step], "steps"),
  ]);
};

/** Constant pad: the split of each dim's growth into before/after is found from the values. */
const pad: Emitter = (c) => {
  const x = c.inputs[0]!;
  const grow = c.y.shape.map((d, i) => d - x.shape[i]!);
  const growing = grow.map((gw, i) => [gw, i] as const).filter(([gw]) => gw > 0);
  let combos = 1;
  for (const [gw] of growing) combos *= gw + 1;
  if (combos > 4096) throw fail(c, "too many ways to split the padding");
  for (let k = 0; k < combos; k++) {
    const before = new Array<number>(x.ndim).fill(0);
    let rest = k;
    // Symmetric splits are tried first (k = 0 maps to half of each growth).
    for (const [gw, i] of growing) {
      before[i] = (Math.floor(gw / 2) + (rest % (gw + 1))) % (gw + 1);
      rest = Math.floor(rest / (gw + 1));
    }
    const crop = () => {
      let t = c.y;
      x.shape.forEach((n, i) => (t = mv.narrow(t, i, before[i]!, n)));
      return t;
    };
    if (!reproduces(crop, x)) continue;
    const value = padValue(c.y, before, x.shape);
    const pads = [...before, ...grow.map((gw, i) => gw - before[i]!)];
    return c.g.op(
      "Pad",
      [c.names[0]!, c.g.ints(pads, "pads"), c.g.scalar(value, c.y.dtype, "pad_value")],
      [attr.string("mode", "constant")],
    );
  }
  throw fail(c, "no split of the padding reproduces the input");
};

/** The fill value: any output element outside the copied block. */
function padValue(y: Tensor, before: readonly number[], inner: readonly number[]): number {
  const data = y.contiguous().data;
  const idx = new Array<number>(y.ndim).fill(0);
  for (let flat = 0; flat < data.length; flat++) {
    let rem = flat;
    for (let d = y.ndim - 1; d >= 0; d--) {
      idx[d] = rem % y.shape[d]!;
      rem = Math.floor(rem / y.shape[d]!);
    }
    if (idx.some((v, d) => v < before[d]! || v >= before[d]! + inner[d]!)) return data[flat]!;
  }
  return 0;
}

const cat: Emitter = (c) => {
  const first = c.inputs[0]!;
  for (let d = 0; d < first.ndim; d++) {
    const total = c.inputs.reduce((n, t) => n + t.shape[d]!, 0);
    const fits =
      c.y.shape[d] === total && c.inputs.every((t) => t.shape.every((n, i) => i === d || n === c.y.shape[i]));
    if (fits && reproduces(() => mv.cat(c.inputs, d), c.y))
      return c.g.op("Concat", c.names, [attr.int("axis", d)]);
  }
  throw fail(c, "no axis reproduces the concatenation");
};

const cast: Emitter = (c) => c.g.op("Cast", [c.names[0]!], [attr.int("to", elemType(c.y.dtype))]);

const NOT_RECORDED = "its extra operand (index or condition) is not recorded on the tape";
const LAYER_ONLY = "it is only exported through its nn layer (which holds stride/padding); call the layer";

const EMITTERS: Record<string, Emitter> = {
  add: simple("Add"),
  sub: simple("Sub"),
  mul: simple("Mul"),
  div: simple("Div"),
  pow: simple("Pow"),
  maximum: simple("Max"),
  minimum: simple("Min"),
  neg: simple("Neg"),
  exp: simple("Exp"),
  log: simple("Log"),
  sqrt: simple("Sqrt"),
  sin: simple("Sin"),
  cos: simple("Cos"),
  tanh: simple("Tanh"),
  sigmoid: simple("Sigmoid"),
  relu: simple("Relu"),
  abs: simple("Abs"),
  erf: simple("Erf"),
  sign: simple("Sign"),
  floor: simple("Floor"),
  ceil: simple("Ceil"),
  round: simple("Round"),
  matmul: simple("MatMul"),
  clone: simple("Identity"),
  cast,
  reshape,
  permute,
  expand,
  narrow: slice,
  slice,
  pad,
  cat,
  sum: reduction("ReduceSum", red.sum, 13),
  amax: reduction("ReduceMax", red.amax, 18),
  amin: reduction("ReduceMin", red.amin, 18),
  softmax: softmaxLike("Softmax", red.softmax),
  logSoftmax: softmaxLike("LogSoftmax", red.logSoftmax),
};

const REASONS: Record<string, string> = {
  where: NOT_RECORDED,
  gather: NOT_RECORDED,
  scatterAdd: NOT_RECORDED,
  conv2d: LAYER_ONLY,
  maxPool2d: LAYER_ONLY,
};

export function emitPrimitive(c: PrimitiveCall): string {
  const emit = EMITTERS[c.op];
  if (!emit) throw fail(c, REASONS[c.op] ?? "no ONNX mapping for this op");
  return emit(c);
}
