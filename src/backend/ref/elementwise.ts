// Reference elementwise kernels: unary, binary (with broadcasting through zero strides), where,
// and the strided copy that also converts dtypes.
import type { BinaryOp, Kernels, StridedView, UnaryOp } from "../backend.js";
import type { DType, TypedArray } from "../../tensor/dtype.js";
import { forEachRow, isContiguousView } from "./strided.js";

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  relu: (x) => (x > 0 || x !== x ? x : 0), // NaN stays NaN, as in PyTorch
  abs: Math.abs,
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN),
  floor: Math.floor,
  ceil: Math.ceil,
  // Round half to even, like torch.round.
  round: (x) => {
    const r = Math.round(x);
    return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
  },
  erf,
  logicalNot: (x) => (x === 0 ? 1 : 0),
};

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a !== a || b !== b ? NaN : a > b ? a : b),
  minimum: (a, b) => (a !== a || b !== b ? NaN : a < b ? a : b),
  eq: (a, b) => (a === b ? 1 : 0),
  ne: (a, b) => (a !== b ? 1 : 0),
  lt: (a, b) => (a < b ? 1 : 0),
  le: (a, b) => (a <= b ? 1 : 0),
  gt: (a, b) => (a > b ? 1 : 0),
  ge: (a, b) => (a >= b ? 1 : 0),
};

/**
 * out[start + j] = op(x[xi + j*xs]) for j < len. The common ops get their own loop (a call
 * through the table per element costs several times the arithmetic); the rest use the table.
 */
function unaryRow(
  op: UnaryOp,
  xd: TypedArray,
  xi: number,
  xs: number,
  out: TypedArray,
  start: number,
  len: number,
): void {
  const end = start + len;
  switch (op) {
    case "neg":
      for (let o = start; o < end; o++, xi += xs) out[o] = -xd[xi]!;
      return;
    case "relu":
      for (let o = start; o < end; o++, xi += xs) {
        const v = xd[xi]!;
        out[o] = v > 0 || v !== v ? v : 0;
      }
      return;
    case "abs":
      for (let o = start; o < end; o++, xi += xs) out[o] = Math.abs(xd[xi]!);
      return;
    case "exp":
      for (let o = start; o < end; o++, xi += xs) out[o] = Math.exp(xd[xi]!);
      return;
    case "log":
      for (let o = start; o < end; o++, xi += xs) out[o] = Math.log(xd[xi]!);
      return;
    case "sqrt":
      for (let o = start; o < end; o++, xi += xs) out[o] = Math.sqrt(xd[xi]!);
      return;
    case "tanh":
      for (let o = start; o < end; o++, xi += xs) out[o] = Math.tanh(xd[xi]!);
      return;
    default: {
      const f = UNARY[op];
      for (let o = start; o < end; o++, xi += xs) out[o] = f(xd[xi]!);
    }
  }
}

/** out[start + j] = op(a[ai + j*as], b[bi + j*bs]) for j < len, with loops for the common ops. */
function binaryRow(
  op: BinaryOp,
  ad: TypedArray,
  ai: number,
  as: number,
  bd: TypedArray,
  bi: number,
  bs: number,
  out: TypedArray,
  start: number,
  len: number,
): void {
  const end = start + len;
  switch (op) {
    case "add":
      for (let o = start; o < end; o++, ai += as, bi += bs) out[o] = ad[ai]! + bd[bi]!;
      return;
    case "sub":
      for (let o = start; o < end; o++, ai += as, bi += bs) out[o] = ad[ai]! - bd[bi]!;
      return;
    case "mul":
      for (let o = start; o < end; o++, ai += as, bi += bs) out[o] = ad[ai]! * bd[bi]!;
      return;
    case "div":
      for (let o = start; o < end; o++, ai += as, bi += bs) out[o] = ad[ai]! / bd[bi]!;
      return;
    default: {
      const f = BINARY[op];
      for (let o = start; o < end; o++, ai += as, bi += bs) out[o] = f(ad[ai]!, bd[bi]!);
    }
  }
}

export const unary: Kernels["unary"] = (op, x, shape, out) => {
  if (isContiguousView(x, shape)) {
    unaryRow(op, x.data, x.offset, 1, out, 0, out.length);
    return;
  }
  forEachRow(shape, [x], (off, st, len, start) => unaryRow(op, x.data, off[0]!, st[0]!, out, start, len));
};

export const binary: Kernels["binary"] = (op, a, b, shape, out) => {
  // One flat loop when each operand is dense or a single broadcast value.
  const aFlat = isContiguousView(a, shape) ? 1 : a.strides.every((s) => s === 0) ? 0 : -1;
  const bFlat = isContiguousView(b, shape) ? 1 : b.strides.every((s) => s === 0) ? 0 : -1;
  if (aFlat >= 0 && bFlat >= 0) {
    binaryRow(op, a.data, a.offset, aFlat, b.data, b.offset, bFlat, out, 0, out.length);
    return;
  }
  forEachRow(shape, [a, b], (off, st, len, start) =>
    binaryRow(op, a.data, off[0]!, st[0]!, b.data, off[1]!, st[1]!, out, start, len),
  );
};

export const where: Kernels["where"] = (cond, a, b, shape, out) => {
  const cd = cond.data;
  const ad = a.data;
  const bd = b.data;
  forEachRow(shape, [cond, a, b], (off, st, len, start) => {
    let ci = off[0]!;
    let ai = off[1]!;
    let bi = off[2]!;
    for (let j = 0; j < len; j++, ci += st[0]!, ai += st[1]!, bi += st[2]!) {
      out[start + j] = cd[ci] ? ad[ai]! : bd[bi]!;
    }
  });
};

export const copy: Kernels["copy"] = (x: StridedView, shape, out: TypedArray, outDtype: DType) => {
  const xd = x.data;
  // Typed-array stores already truncate/wrap for integer targets; bool needs an explicit test.
  const toBool = outDtype === "bool";
  if (!toBool && isContiguousView(x, shape) && xd.constructor === out.constructor) {
    out.set(xd.subarray(x.offset, x.offset + out.length));
    return;
  }
  const notNaNInt = outDtype !== "float32" && outDtype !== "float64";
  forEachRow(shape, [x], (off, st, len, start) => {
    let xi = off[0]!;
    const s = st[0]!;
    for (let j = 0; j < len; j++, xi += s) {
      const v = xd[xi]!;
      out[start + j] = toBool ? (v !== 0 ? 1 : 0) : notNaNInt && v !== v ? 0 : v; // NaN is true
    }
  });
};

// erf to full double precision: Taylor series near zero, a continued fraction for erfc beyond.
export function erf(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < 2.5) {
    // erf(x) = 2/√π Σ (-1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    const x2 = x * x;
    for (let n = 1; n < 100; n++) {
      term *= -x2 / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (ax > 6) return Math.sign(x);
  // erfc(x) = exp(-x²)/√π · 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...)))) evaluated bottom-up.
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
