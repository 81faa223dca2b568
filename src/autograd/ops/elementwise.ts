// Elementwise primitives with their gradient rules: unary math, binary arithmetic with
// broadcasting, comparisons, where, and dtype casts. Composites (clamp, rsqrt, ...) at the end.
import { Tensor } from "../../tensor/tensor.js";
import { isFloating, promoteTypes, promoteWithScalar, type DType } from "../../tensor/dtype.js";
import { broadcastShapes, formatShape, shapesEqual } from "../../tensor/shape.js";
import type { BinaryOp, UnaryOp } from "../../backend/backend.js";
import { kernel, noteConstant } from "../../backend/registry.js";
import { isGradEnabled, record } from "../engine.js";
import { contiguous } from "./movement.js";
import { DTypeError, ShapeError } from "../../errors.js";
import { broadcastStrides, empty, scalar, uninit } from "./util.js";

type Other = Tensor | number;

/** Turn a JS number into a 0-d tensor whose dtype follows `like` (scalars never widen). */
export function asTensor(x: Other, like: Tensor): Tensor {
  if (x instanceof Tensor) return x;
  const t = scalar(x, promoteWithScalar(like.dtype, x));
  noteConstant(t.storage);
  return t;
}

// ---- unary ------------------------------------------------------------------------------

function unaryForward(op: UnaryOp, x: Tensor, outDtype: DType): Tensor {
  const out = uninit(x.shape, outDtype);
  kernel("unary")(op, x.view_, x.shape, out.storage);
  return out;
}

/** Float result dtype for transcendental functions of integer tensors. */
function floatOf(x: Tensor): DType {
  return isFloating(x.dtype) ? x.dtype : "float32";
}

function unary(
  op: UnaryOp,
  x: Tensor,
  rule: ((g: Tensor, y: Tensor) => Tensor) | null,
  outDtype = floatOf(x),
): Tensor {
  const y = unaryForward(op, x, outDtype);
  if (rule === null) return y;
  return record(op, [x], y, (g) => [rule(g, y)]);
}

export const neg = (x: Tensor): Tensor =>
  unary("neg", x, (g) => neg(g), x.dtype === "bool" ? "int32" : x.dtype);
export const exp = (x: Tensor): Tensor => unary("exp", x, (g, y) => mul(g, y));
export const log = (x: Tensor): Tensor => unary("log", x, (g) => div(g, x));
export const sqrt = (x: Tensor): Tensor => unary("sqrt", x, (g, y) => div(g, mul(y, 2)));
export const sin = (x: Tensor): Tensor => unary("sin", x, (g) => mul(g, cos(x)));
export const cos = (x: Tensor): Tensor => unary("cos", x, (g) => neg(mul(g, sin(x))));
export const tanh = (x: Tensor): Tensor => unary("tanh", x, (g, y) => mul(g, sub(1, mul(y, y))));
export const sigmoid = (x: Tensor): Tensor => unary("sigmoid", x, (g, y) => mul(g, mul(y, sub(1, y))));
export const relu = (x: Tensor): Tensor => unary("relu", x, (g, y) => reluGrad(g, x, y), x.dtype);
export const abs = (x: Tensor): Tensor => unary("abs", x, (g) => mul(g, sign(x)), x.dtype);
export const erf = (x: Tensor): Tensor =>
  unary("erf", x, (g) => mul(g, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))));
// Piecewise-constant functions: zero gradient, recorded so the graph stays connected.
export const sign = (x: Tensor): Tensor => unary("sign", x, (g) => mul(g, 0), x.dtype);
export const floor = (x: Tensor): Tensor => unary("floor", x, (g) => mul(g, 0), x.dtype);
export const ceil = (x: Tensor): Tensor => unary("ceil", x, (g) => mul(g, 0), x.dtype);
export const round = (x: Tensor): Tensor => unary("round", x, (g) => mul(g, 0), x.dtype);
export const logicalNot = (x: Tensor): Tensor => unary("logicalNot", x, null, "bool");

/**
 * g where x > 0, else 0. One fused kernel (no mask tensor, no cast) unless the gradient is being
 * recorded for higher derivatives, which needs the tensor-op form.
 */
function reluGrad(g: Tensor, x: Tensor, y: Tensor): Tensor {
  if (isGradEnabled() || g.dtype !== y.dtype) return mul(g, gt(x, 0));
  const gc = contiguous(g);
  const out = uninit(y.shape, y.dtype);
  kernel("reluBackward")(
    gc.storage.subarray(gc.offset, gc.offset + out.storage.length),
    y.storage,
    out.storage,
  );
  return out;
}

// ---- binary -----------------------------------------------------------------------------

function binaryForward(op: BinaryOp, a: Tensor, b: Tensor, outDtype: DType): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = uninit(shape, outDtype);
  const av = { data: a.storage, strides: broadcastStrides(a, shape), offset: a.offset };
  const bv = { data: b.storage, strides: broadcastStrides(b, shape), offset: b.offset };
  kernel("binary")(op, av, bv, shape, out.storage);
  return out;
}

function arithmeticDtype(
  op: BinaryOp,
  a: Tensor,
  b: Tensor,
  aWasNumber: boolean,
  bWasNumber: boolean,
): DType {
  let dtype: DType;
  if (aWasNumber) dtype = promoteWithScalar(b.dtype, a.storage[0]!);
  else if (bWasNumber) dtype = promoteWithScalar(a.dtype, b.storage[0]!);
  else dtype = promoteTypes(a.dtype, b.dtype);
  if (dtype === "bool" && op !== "maximum" && op !== "minimum") dtype = "int32";
  // True division of integers gives floats, as in PyTorch.
  if (op === "div" && !isFloating(dtype)) dtype = "float32";
  return dtype;
}

function binary(
  op: BinaryOp,
  x: Other,
  y: Other,
  rule: ((g: Tensor, a: Tensor, b: Tensor, out: Tensor) => [Tensor | null, Tensor | null]) | null,
): Tensor {
  if (!(x instanceof Tensor) && !(y instanceof Tensor)) {
    throw new DTypeError(`${op}: at least one operand must be a Tensor`);
  }
  const a = x instanceof Tensor ? x : asTensor(x, y as Tensor);
  const b = y instanceof Tensor ? y : asTensor(y, a);
  const isComparison = rule === null;
  const dtype = isComparison
    ? "bool"
    : arithmeticDtype(op, a, b, !(x instanceof Tensor), !(y instanceof Tensor));
  // Operands are computed in the result dtype (e.g. int32 + float32 in float32).
  const computeDtype = isComparison ? promoteTypes(a.dtype, b.dtype) : dtype;
  const a2 = a.dtype === computeDtype || isComparison ? a : cast(a, computeDtype);
  const b2 = b.dtype === computeDtype || isComparison ? b : cast(b, computeDtype);
  const out = binaryForward(op, a2, b2, dtype);
  if (rule === null) return out;
  return record(op, [a2, b2], out, (g) => rule(g, a2, b2, out));
}

export const add = (a: Other, b: Other): Tensor => binary("add", a, b, (g) => [g, g]);
export const sub = (a: Other, b: Other): Tensor => binary("sub", a, b, (g) => [g, neg(g)]);
export const mul = (a: Other, b: Other): Tensor =>
  binary("mul", a, b, (g, x, y) => [x.requiresGrad ? mul(g, y) : null, y.requiresGrad ? mul(g, x) : null]);
export const div = (a: Other, b: Other): Tensor =>
  binary("div", a, b, (g, x, y) => [
    x.requiresGrad ? div(g, y) : null,
    y.requiresGrad ? neg(div(mul(g, x), mul(y, y))) : null,
  ]);
export const pow = (a: Other, b: Other): Tensor =>
  binary("pow", a, b, (g, x, y, out) => [
    x.requiresGrad ? mul(g, mul(y, pow(x, sub(y, 1)))) : null,
    // d/dy x^y = x^y ln x; where x == 0 the limit used by PyTorch is 0.
    y.requiresGrad ? mul(g, where(eq(x, 0), 0, mul(out, log(x)))) : null,
  ]);
/** Ties split the gradient equally between the two operands, as in PyTorch. */
export const maximum = (a: Other, b: Other): Tensor =>
  binary("maximum", a, b, (g, x, y) => [
    mul(g, add(gt(x, y), mul(eq(x, y), 0.5))),
    mul(g, add(lt(x, y), mul(eq(x, y), 0.5))),
  ]);
export const minimum = (a: Other, b: Other): Tensor =>
  binary("minimum", a, b, (g, x, y) => [
    mul(g, add(lt(x, y), mul(eq(x, y), 0.5))),
    mul(g, add(gt(x, y), mul(eq(x, y), 0.5))),
  ]);
export const eq = (a: Other, b: Other): Tensor => binary("eq", a, b, null);
export const ne = (a: Other, b: Other): Tensor => binary("ne", a, b, null);
export const lt = (a: Other, b: Other): Tensor => binary("lt", a, b, null);
export const le = (a: Other, b: Other): Tensor => binary("le", a, b, null);
export const gt = (a: Other, b: Other): Tensor => binary("gt", a, b, null);
export const ge = (a: Other, b: Other): Tensor => binary("ge", a, b, null);

// ---- where and casts --------------------------------------------------------------------

/** condition ? a : b, broadcasting all three. */
export function where(condition: Tensor, x: Other, y: Other): Tensor {
  if (condition.dtype !== "bool")
    throw new DTypeError(`where: condition must be bool, got ${condition.dtype}`);
  const a0 = x instanceof Tensor ? x : y instanceof Tensor ? asTensor(x, y) : scalar(x, "float32");
  const b0 = asTensor(y, a0);
  const dtype =
    x instanceof Tensor && y instanceof Tensor
      ? promoteTypes(a0.dtype, b0.dtype)
      : x instanceof Tensor
        ? a0.dtype
        : b0.dtype;
  const a = a0.dtype === dtype ? a0 : cast(a0, dtype);
  const b = b0.dtype === dtype ? b0 : cast(b0, dtype);
  const shape = broadcastShapes("where", broadcastShapes("where", condition.shape, a.shape), b.shape);
  const out = empty(shape, dtype);
  const view = (t: Tensor) => ({ data: t.storage, strides: broadcastStrides(t, shape), offset: t.offset });
  kernel("where")(view(condition), view(a), view(b), shape, out.storage);
  return record("where", [a, b], out, (g) => [
    a.requiresGrad ? where(condition, g, 0) : null,
    b.requiresGrad ? where(condition, 0, g) : null,
  ]);
}

/** Convert to `dtype` (a copy, even when the dtype is the same). */
export function cast(x: Tensor, dtype: DType): Tensor {
  const out = empty(x.shape, dtype);
  kernel("copy")(x.view_, x.shape, out.storage, dtype);
  if (!isFloating(dtype)) return out;
  return record("cast", [x], out, (g) => [isFloating(x.dtype) ? cast(g, x.dtype) : null]);
}

// ---- composites -------------------------------------------------------------------------

export const rsqrt = (x: Tensor): Tensor => div(1, sqrt(x));

/** Limit values to [min, max]; the gradient passes where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  let out = x;
  if (min !== undefined && min !== null) out = where(lt(out, min), scalar(min, x.dtype), out);
  if (max !== undefined && max !== null) out = where(gt(out, max), scalar(max, x.dtype), out);
  return out;
}

/** Check two shapes are identical (for ops that must not broadcast). */
export function checkSameShape(op: string, a: Tensor, b: Tensor): void {
  if (!shapesEqual(a.shape, b.shape)) {
    throw new ShapeError(`${op}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} must be equal`);
  }
}
