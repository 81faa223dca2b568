// Elementwise ONNX ops: arithmetic (with ONNX's integer semantics where they differ), the
// activations CNN exporters emit, comparisons, Where and Cast. All are nabla autograd ops, so an
// imported graph trains.
import * as ew from "../../../autograd/ops/elementwise.js";
import { noGrad } from "../../../autograd/engine.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { DataType, isIntegerType, storageDType, value, type Value } from "../values.js";
import type { OpContext, OpImpl } from "./context.js";

/** Bring b to a's storage dtype when they differ (e.g. a float exponent of an int base). */
function match(a: Value, b: Value): [Tensor, Tensor] {
  if (a.tensor.dtype === b.tensor.dtype) return [a.tensor, b.tensor];
  return [a.tensor, ew.cast(b.tensor, a.tensor.dtype)];
}

/** Truncate toward zero (C integer semantics). */
function trunc(t: Tensor): Tensor {
  return noGrad(() => ew.where(ew.lt(t, 0), ew.ceil(t), ew.floor(t)));
}

function binary(fn: (a: Tensor, b: Tensor) => Tensor, intFix?: (t: Tensor) => Tensor): OpImpl {
  return (ctx) => {
    const a = ctx.input(0);
    const [x, y] = match(a, ctx.input(1));
    let out = fn(x, y);
    if (intFix && isIntegerType(a.type)) out = intFix(out);
    return [value(out, a.type)];
  };
}

function unary(fn: (x: Tensor, ctx: OpContext) => Tensor): OpImpl {
  return (ctx) => {
    const a = ctx.input(0);
    return [value(fn(a.tensor, ctx), a.type)];
  };
}

function compare(fn: (a: Tensor, b: Tensor) => Tensor): OpImpl {
  return (ctx) => {
    const [x, y] = match(ctx.input(0), ctx.input(1));
    return [value(fn(x, y), DataType.BOOL)];
  };
}

/** Max/Min/Sum/Mean take any number of inputs. */
function variadic(fn: (a: Tensor, b: Tensor) => Tensor, divide = false): OpImpl {
  return (ctx) => {
    const first = ctx.input(0);
    let acc = first.tensor;
    for (let i = 1; i < ctx.inputs.length; i++) acc = fn(acc, ctx.input(i).tensor);
    if (divide) acc = ew.div(acc, ctx.inputs.length);
    return [value(acc, first.type)];
  };
}

const hardSigmoid = (x: Tensor, alpha: number, beta: number): Tensor =>
  ew.clamp(ew.add(ew.mul(x, alpha), beta), 0, 1);

/** Clip: bounds are attributes before opset 11 and optional inputs since. */
const clip: OpImpl = (ctx) => {
  const x = ctx.input(0);
  let lo: number | null;
  let hi: number | null;
  if (ctx.opset < 11) {
    lo = ctx.float("min", -Infinity);
    hi = ctx.float("max", Infinity);
  } else {
    const bound = (i: number) => {
      const v = ctx.optional(i);
      if (!v) return null;
      const n = v.tensor.data;
      if (n.length !== 1) throw ctx.fail(`bound input ${i} must hold one value, got ${n.length}`);
      return n[0]!;
    };
    lo = bound(1);
    hi = bound(2);
  }
  return [value(ew.clamp(x.tensor, lo, hi), x.type)];
};

const cast: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const to = ctx.int("to", 0);
  const dtype = storageDType(to, ctx.where);
  let t = x.tensor;
  if (to === DataType.BOOL) t = ew.ne(t, 0);
  else if (isIntegerType(to) && !isIntegerType(x.type)) t = trunc(ew.cast(t, "float64"));
  else if (t.dtype !== dtype) t = ew.cast(t, dtype);
  return [value(t, to)];
};

const where: OpImpl = (ctx) => {
  const cond = ctx.input(0).tensor;
  const a = ctx.input(1);
  const [x, y] = match(a, ctx.input(2));
  return [value(ew.where(cond.dtype === "bool" ? cond : ew.ne(cond, 0), x, y), a.type)];
};

const gelu: OpImpl = (ctx) => {
  const x = ctx.input(0).tensor;
  const approximate = ctx.string("approximate", "none");
  let y: Tensor;
  if (approximate === "tanh") {
    const inner = ew.mul(ew.add(x, ew.mul(ew.mul(ew.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    y = ew.mul(ew.mul(x, 0.5), ew.add(ew.tanh(inner), 1));
  } else {
    y = ew.mul(ew.mul(x, 0.5), ew.add(ew.erf(ew.div(x, Math.SQRT2)), 1));
  }
  return [value(y, ctx.input(0).type)];
};

const prelu: OpImpl = (ctx) => {
  const x = ctx.input(0);
  const slope = ctx.input(1).tensor;
  // ONNX broadcasts the slope unidirectionally; a per-channel [C] slope on [N, C, H, W] comes
  // from PyTorch as [C, 1, 1] already.
  return [value(ew.where(ew.lt(x.tensor, 0), ew.mul(x.tensor, slope), x.tensor), x.type)];
};

const not: OpImpl = (ctx) => [value(ew.logicalNot(ctx.input(0).tensor), DataType.BOOL)];
const logical =
  (fn: (a: Tensor, b: Tensor) => Tensor): OpImpl =>
  (ctx) => {
    const a = ew.ne(ctx.input(0).tensor, 0);
    const b = ew.ne(ctx.input(1).tensor, 0);
    return [value(fn(ew.cast(a, "float32"), ew.cast(b, "float32")), DataType.BOOL)];
  };

export const elementwiseOps: Record<string, OpImpl> = {
  Add: binary(ew.add),
  Sub: binary(ew.sub),
  Mul: binary(ew.mul),
  Div: binary(ew.div, trunc),
  Pow: (ctx) => {
    const a = ctx.input(0);
    const [x, y] = match(a, ctx.input(1));
    // x^2 and x^0.5 are common (LayerNorm-style decompositions); plain pow handles all.
    return [value(ew.pow(x, y), a.type)];
  },
  Max: variadic(ew.maximum),
  Min: variadic(ew.minimum),
  Sum: variadic(ew.add),
  Mean: variadic(ew.add, true),
  Neg: unary(ew.neg),
  Abs: unary(ew.abs),
  Sqrt: unary(ew.sqrt),
  Exp: unary(ew.exp),
  Log: unary(ew.log),
  Erf: unary(ew.erf),
  Sin: unary(ew.sin),
  Cos: unary(ew.cos),
  Floor: unary(ew.floor),
  Ceil: unary(ew.ceil),
  Round: unary(ew.round),
  Sign: unary(ew.sign),
  Reciprocal: unary((x) => ew.div(1, x)),
  Relu: unary(ew.relu),
  Sigmoid: unary(ew.sigmoid),
  Tanh: unary(ew.tanh),
  LeakyRelu: unary((x, ctx) => {
    const alpha = ctx.float("alpha", 0.01);
    return ew.where(ew.lt(x, 0), ew.mul(x, alpha), x);
  }),
  Elu: unary((x, ctx) => {
    const alpha = ctx.float("alpha", 1);
    return ew.where(ew.lt(x, 0), ew.mul(ew.sub(ew.exp(ew.minimum(x, 0)), 1), alpha), x);
  }),
  Softplus: unary((x) => ew.add(ew.relu(x), ew.log(ew.add(ew.exp(ew.neg(ew.abs(x))), 1)))),
  HardSigmoid: unary((x, ctx) => hardSigmoid(x, ctx.float("alpha", 0.2), ctx.float("beta", 0.5))),
  HardSwish: unary((x) => ew.mul(x, hardSigmoid(x, 1 / 6, 0.5))),
  Clip: clip,
  Gelu: gelu,
  PRelu: prelu,
  Cast: cast,
  Where: where,
  Equal: compare(ew.eq),
  Less: compare(ew.lt),
  LessOrEqual: compare(ew.le),
  Greater: compare(ew.gt),
  GreaterOrEqual: compare(ew.ge),
  Not: not,
  And: logical((a, b) => ew.mul(a, b).gt(0)),
  Or: logical((a, b) => ew.add(a, b).gt(0)),
};
