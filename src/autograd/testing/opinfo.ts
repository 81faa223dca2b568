// The op-info table and the conformance driver (public API, browser-safe).
//
// Every op in the op set has one OpInfo: sample inputs (broadcasting, 0-d, empty, size-1 dims,
// negative dims, permuted / expanded / strided-slice inputs, other dtypes, NaN and ±inf) and,
// per sample, a naive loop reference (./reference.ts) written without any kernel. One driver
// checks, for every sample: the forward result against the reference; first derivatives
// against finite differences (gradcheck); second derivatives against finite differences of the
// first (gradgradcheck); and that bad input raises a typed error naming the op. The driver runs
// under whichever backend is passed, so a new backend is tested with the same table:
//
//   for (const info of opInfos) test(info.name, () => assert.deepEqual(checkOpInfo(info, { backend }), []));
import { Tensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { Generator } from "../../tensor/random.js";
import { fromArray, rand } from "../../tensor/creation.js";
import type { Backend } from "../../backend/backend.js";
import { getBackend, withBackend } from "../../backend/registry.js";
import { NablaError, ShapeError, ValueError, DTypeError } from "../../errors.js";
import { noGrad } from "../engine.js";
import { gradcheck, gradgradcheck } from "../gradcheck.js";
import * as ew from "../ops/elementwise.js";
import * as red from "../ops/reduce.js";
import * as mv from "../ops/movement.js";
import * as mm from "../ops/matmul.js";
import * as ix from "../ops/indexing.js";
import * as cv from "../ops/conv.js";
import * as cf from "../ops/conv_fused.js";
import * as pl from "../ops/pool.js";
import * as nm from "../ops/normalization.js";
import * as R from "./reference.js";
import type { Nd } from "./reference.js";

/** A view applied to an input inside the op call (so gradients flow through it). */
export type InputView = (t: Tensor) => Tensor;

export interface OpSample {
  desc: string;
  /** Fresh leaf tensors; float64 ones that require grad are gradient-checked. */
  inputs: Tensor[];
  /** Optional per-input views (permute, expand, strided slice...) applied before the op. */
  views?: readonly (InputView | null)[];
  op: (...xs: Tensor[]) => Tensor | Tensor[];
  /** The naive reference on the (viewed) inputs' values. */
  ref: (...xs: Nd[]) => Nd | Nd[];
  /** Expected output dtype(s); by default that of the first floating input, for float outputs. */
  dtype?: DType | readonly DType[];
  /** Skip derivative checks for this sample (e.g. NaN inputs, float32, integer inputs). */
  noGrad?: boolean;
}

export interface ErrorSample {
  desc: string;
  call: () => unknown;
  type: new (...args: never[]) => NablaError;
  /** Substrings the message must contain (the op name and the offending shapes). */
  includes: readonly string[];
}

export interface OpInfo {
  name: string;
  /** Check first derivatives (gradcheck). */
  differentiable: boolean;
  /** Check second derivatives too (default: same as differentiable). */
  gradgrad?: boolean;
  samples: (mk: SampleMaker) => OpSample[];
  errors?: (mk: SampleMaker) => ErrorSample[];
}

export interface ConformanceFailure {
  op: string;
  sample: string;
  check: "forward" | "gradcheck" | "gradgradcheck" | "error" | "crash";
  message: string;
}

export interface ConformanceOptions {
  /** The backend to run the ops on (default: the active one). */
  backend?: Backend;
  /** Turn derivative checks off (e.g. a forward-only backend smoke test). */
  gradcheck?: boolean;
  gradgradcheck?: boolean;
}

// ---- sample inputs ------------------------------------------------------------------------

/** Deterministic sample tensors (a fresh generator per op, seeded by the op's name). */
export class SampleMaker {
  private readonly g: Generator;

  constructor(seed: string) {
    let h = 2166136261;
    for (const ch of seed) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    this.g = new Generator(h);
  }

  /** Uniform in [lo, hi), float64, requiring grad unless told otherwise. */
  uniform(
    shape: readonly number[],
    lo = -1,
    hi = 1,
    options: { dtype?: DType; grad?: boolean } = {},
  ): Tensor {
    const dtype = options.dtype ?? "float64";
    const t = rand(shape, { dtype: "float64", generator: this.g });
    const data = t.data;
    for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * data[i]!;
    const out = dtype === "float64" ? t : ew.cast(t, dtype);
    if ((options.grad ?? true) && (dtype === "float64" || dtype === "float32")) out.requiresGrad = true;
    return out;
  }

  /** Values with |v| in [0.25, 1.5) and a random sign (away from kinks and poles at 0). */
  nonzero(shape: readonly number[]): Tensor {
    const t = this.uniform(shape, 0.25, 1.5);
    const d = t.data;
    for (let i = 0; i < d.length; i++) if (this.g.random() < 0.5) d[i] = -d[i]!;
    return t;
  }

  positive(shape: readonly number[]): Tensor {
    return this.uniform(shape, 0.5, 2);
  }

  /** A leaf of `shape` whose storage is laid out transposed (last two dims): non-contiguous. */
  transposed(shape: readonly number[], lo = -1, hi = 1): Tensor {
    const swapped = [...shape];
    const n = swapped.length;
    [swapped[n - 2], swapped[n - 1]] = [swapped[n - 1]!, swapped[n - 2]!];
    const base = this.uniform(swapped, lo, hi, { grad: false });
    return mv.transpose(base, -2, -1).requiresGrad_();
  }

  ints(shape: readonly number[], lo: number, hi: number, dtype: DType = "int32"): Tensor {
    const t = rand(shape, { dtype: "float64", generator: this.g });
    const out = fromArray(
      Float64Array.from(t.data, (v) => lo + Math.floor(v * (hi - lo))),
      shape,
    );
    return ew.cast(out, dtype);
  }

  bools(shape: readonly number[]): Tensor {
    return ew.cast(this.ints(shape, 0, 2), "bool");
  }

  /** Special values: NaN, ±inf, ±0, ordinary numbers (forward checks only). */
  special(): Tensor {
    return fromArray(Float64Array.from([NaN, Infinity, -Infinity, 0, -0.5, 2.5, -3, 0.75]), [8]);
  }

  /** Plain float64 data with no grad (for exact tie / NaN layouts). */
  of(values: readonly number[], shape: readonly number[], dtype: DType = "float64"): Tensor {
    const t = fromArray(Float64Array.from(values), shape);
    return dtype === "float64" ? t : ew.cast(t, dtype);
  }
}

const T =
  (dims: readonly number[]): InputView =>
  (t) =>
    mv.permute(t, dims);
const expandTo =
  (shape: readonly number[]): InputView =>
  (t) =>
    mv.expand(t, shape);
const everyOther =
  (dim: number): InputView =>
  (t) =>
    mv.slice(t, dim, 0, undefined, 2);

// ---- elementwise ---------------------------------------------------------------------------

type Domain = "any" | "positive" | "nonzero";

function domainLeaf(mk: SampleMaker, domain: Domain, shape: readonly number[]): Tensor {
  return domain === "positive"
    ? mk.positive(shape)
    : domain === "nonzero"
      ? mk.nonzero(shape)
      : mk.uniform(shape, -2, 2);
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : r;
}

interface UnarySpec {
  name: string;
  op: (x: Tensor) => Tensor;
  ref: (v: number) => number;
  domain: Domain;
  differentiable?: boolean;
  /** dtype of the result for an int32 input (float32 for transcendental functions). */
  intResult?: DType | null;
  gradgrad?: boolean;
}

function unaryInfo(s: UnarySpec): OpInfo {
  const ref = (a: Nd) => R.map(a, s.ref);
  return {
    name: s.name,
    differentiable: s.differentiable ?? true,
    gradgrad: s.gradgrad ?? s.differentiable ?? true,
    samples: (mk) => {
      const out: OpSample[] = [
        { desc: "[3, 4]", inputs: [domainLeaf(mk, s.domain, [3, 4])], op: s.op, ref },
        { desc: "0-d", inputs: [domainLeaf(mk, s.domain, [])], op: s.op, ref },
        { desc: "empty [2, 0, 3]", inputs: [domainLeaf(mk, s.domain, [2, 0, 3])], op: s.op, ref },
        {
          desc: "permuted [2, 3, 4] -> [4, 2, 3]",
          inputs: [domainLeaf(mk, s.domain, [2, 3, 4])],
          views: [T([2, 0, 1])],
          op: s.op,
          ref,
        },
        {
          desc: "expanded [1, 3] -> [4, 3]",
          inputs: [domainLeaf(mk, s.domain, [1, 3])],
          views: [expandTo([4, 3])],
          op: s.op,
          ref,
        },
        {
          desc: "strided slice [3, 6][:, ::2]",
          inputs: [domainLeaf(mk, s.domain, [3, 6])],
          views: [everyOther(1)],
          op: s.op,
          ref,
        },
        {
          desc: "float32",
          inputs: [ew.cast(domainLeaf(mk, s.domain, [5]).detach(), "float32")],
          op: s.op,
          ref,
          dtype: "float32",
          noGrad: true,
        },
        { desc: "special values", inputs: [mk.special()], op: s.op, ref, noGrad: true },
      ];
      if (s.intResult !== null) {
        out.push({
          desc: "int32 input",
          inputs: [mk.ints([6], s.domain === "positive" ? 1 : -4, 5)],
          op: s.op,
          ref,
          dtype: s.intResult ?? "float32",
          noGrad: true,
        });
      }
      return out;
    },
    errors: () => [],
  };
}

const unaryInfos: OpInfo[] = [
  unaryInfo({ name: "neg", op: ew.neg, ref: (v) => -v, domain: "any", intResult: "int32" }),
  unaryInfo({ name: "exp", op: ew.exp, ref: Math.exp, domain: "any" }),
  unaryInfo({ name: "log", op: ew.log, ref: Math.log, domain: "positive" }),
  unaryInfo({ name: "sqrt", op: ew.sqrt, ref: Math.sqrt, domain: "positive" }),
  unaryInfo({ name: "rsqrt", op: ew.rsqrt, ref: (v) => 1 / Math.sqrt(v), domain: "positive" }),
  unaryInfo({ name: "sin", op: ew.sin, ref: Math.sin, domain: "any" }),
  unaryInfo({ name: "cos", op: ew.cos, ref: Math.cos, domain: "any" }),
  unaryInfo({ name: "tanh", op: ew.tanh, ref: Math.tanh, domain: "any" }),
  unaryInfo({ name: "sigmoid", op: ew.sigmoid, ref: (v) => 1 / (1 + Math.exp(-v)), domain: "any" }),
  unaryInfo({
    name: "relu",
    op: ew.relu,
    ref: (v) => (Number.isNaN(v) ? v : Math.max(v, 0)),
    domain: "nonzero",
    intResult: "int32",
  }),
  unaryInfo({ name: "abs", op: ew.abs, ref: Math.abs, domain: "nonzero", intResult: "int32" }),
  unaryInfo({
    name: "sign",
    op: ew.sign,
    ref: (v) => (Number.isNaN(v) ? v : Math.sign(v)),
    domain: "nonzero",
    intResult: "int32",
  }),
  unaryInfo({ name: "floor", op: ew.floor, ref: Math.floor, domain: "any", intResult: "int32" }),
  unaryInfo({ name: "ceil", op: ew.ceil, ref: Math.ceil, domain: "any", intResult: "int32" }),
  unaryInfo({ name: "round", op: ew.round, ref: roundHalfEven, domain: "any", intResult: "int32" }),
  unaryInfo({ name: "erf", op: ew.erf, ref: R.erfByQuadrature, domain: "any" }),
  unaryInfo({ name: "square", op: (x) => x.square(), ref: (v) => v * v, domain: "any", intResult: "int32" }),
  unaryInfo({ name: "reciprocal", op: (x) => x.reciprocal(), ref: (v) => 1 / v, domain: "nonzero" }),
];

const logicalNotInfo: OpInfo = {
  name: "logicalNot",
  differentiable: false,
  samples: (mk) => [
    {
      desc: "bool",
      inputs: [mk.bools([3, 4])],
      op: ew.logicalNot,
      ref: (a) => R.map(a, (v) => (v ? 0 : 1)),
      dtype: "bool",
    },
    {
      desc: "float with NaN",
      inputs: [mk.special()],
      op: ew.logicalNot,
      ref: (a) => R.map(a, (v) => (v === 0 ? 1 : 0)),
      dtype: "bool",
    },
  ],
};

interface BinarySpec {
  name: string;
  op: (a: Tensor | number, b: Tensor | number) => Tensor;
  ref: (x: number, y: number) => number;
  a: Domain;
  b: Domain;
  differentiable: boolean;
  /** dtype of int32 ∘ int32. */
  intResult: DType;
}

function binaryInfo(s: BinarySpec): OpInfo {
  const ref = (a: Nd, b: Nd) => R.zip(a, b, s.ref);
  const comparison = !s.differentiable;
  const A = (mk: SampleMaker, shape: readonly number[]) => domainLeaf(mk, s.a, shape);
  const B = (mk: SampleMaker, shape: readonly number[]) => domainLeaf(mk, s.b, shape);
  const scalarB = s.b === "positive" ? 1.5 : -1.25;
  const scalarA = s.a === "positive" ? 1.5 : -0.75;
  const outDtype = (d: DType): DType => (comparison ? "bool" : d);
  return {
    name: s.name,
    differentiable: s.differentiable,
    samples: (mk) => {
      const samples: OpSample[] = [
        {
          desc: "[3, 4] and [3, 4]",
          inputs: [A(mk, [3, 4]), B(mk, [3, 4])],
          op: s.op,
          ref,
          dtype: outDtype("float64"),
        },
        { desc: "broadcast [3, 1] and [1, 4]", inputs: [A(mk, [3, 1]), B(mk, [1, 4])], op: s.op, ref },
        { desc: "broadcast [2, 3, 4] and [4]", inputs: [A(mk, [2, 3, 4]), B(mk, [4])], op: s.op, ref },
        { desc: "0-d and [2, 3]", inputs: [A(mk, []), B(mk, [2, 3])], op: s.op, ref },
        { desc: "0-d and 0-d", inputs: [A(mk, []), B(mk, [])], op: s.op, ref },
        {
          desc: "tensor and JS number",
          inputs: [A(mk, [2, 3])],
          op: (a) => s.op(a, scalarB),
          ref: (a) => R.map(a, (v) => s.ref(v, scalarB)),
          dtype: outDtype("float64"),
        },
        {
          desc: "JS number and tensor",
          inputs: [B(mk, [2, 3])],
          op: (b) => s.op(scalarA, b),
          ref: (b) => R.map(b, (v) => s.ref(scalarA, v)),
        },
        {
          desc: "transposed leaf and expanded view",
          inputs: [A(mk, [4, 3]), B(mk, [1, 4])],
          views: [T([1, 0]), expandTo([3, 4])],
          op: s.op,
          ref,
        },
        {
          desc: "non-contiguous leaf and strided slice",
          inputs: [
            comparison ? A(mk, [3, 4]) : mk.transposed([3, 4], ...(s.a === "positive" ? [0.5, 2] : [-2, 2])),
            B(mk, [3, 8]),
          ],
          views: [null, everyOther(1)],
          op: s.op,
          ref,
        },
        { desc: "empty [0, 3] and [3]", inputs: [A(mk, [0, 3]), B(mk, [3])], op: s.op, ref },
        {
          desc: "int32 and float32 promote to float32",
          inputs: [mk.ints([4], 1, 4), ew.cast(B(mk, [4]).detach(), "float32")],
          op: s.op,
          ref,
          dtype: outDtype("float32"),
          noGrad: true,
        },
        {
          desc: "float32 and float64 promote to float64",
          inputs: [ew.cast(A(mk, [4]).detach(), "float32"), B(mk, [4]).detach()],
          op: s.op,
          ref,
          dtype: outDtype("float64"),
          noGrad: true,
        },
        {
          desc: "int32 and int32",
          inputs: [mk.ints([5], 1, 5), mk.ints([5], 1, 4)],
          op: s.op,
          ref: (a, b) =>
            R.zip(a, b, (x, y) => (s.intResult === "int32" ? Math.trunc(s.ref(x, y)) | 0 : s.ref(x, y))),
          dtype: s.intResult,
          noGrad: true,
        },
        {
          desc: "int32 tensor and fractional JS number give float32",
          inputs: [mk.ints([3], 1, 5)],
          op: (a) => s.op(a, 2.5),
          ref: (a) => R.map(a, (v) => s.ref(v, 2.5)),
          dtype: outDtype("float32"),
          noGrad: true,
        },
        {
          desc: "NaN and infinities",
          inputs: [mk.special(), mk.of([1, 1, Infinity, -0, NaN, 2.5, -3, 0.5], [8])],
          op: s.op,
          ref,
          noGrad: true,
        },
      ];
      if (comparison) {
        samples.push({
          desc: "ties (integer-valued floats)",
          inputs: [mk.of([1, 2, 3, 2], [4]), mk.of([1, 3, 2, 2], [4])],
          op: s.op,
          ref,
          dtype: "bool",
        });
      }
      return samples;
    },
    errors: (mk) => [
      {
        desc: "shapes that do not broadcast",
        call: () => s.op(mk.uniform([2, 3]), mk.uniform([4, 3])),
        type: ShapeError,
        includes: [s.name, "[2, 3]", "[4, 3]"],
      },
    ],
  };
}

const b = (v: boolean) => (v ? 1 : 0);
const binaryInfos: OpInfo[] = [
  binaryInfo({
    name: "add",
    op: ew.add,
    ref: (x, y) => x + y,
    a: "any",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "sub",
    op: ew.sub,
    ref: (x, y) => x - y,
    a: "any",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "mul",
    op: ew.mul,
    ref: (x, y) => x * y,
    a: "any",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "div",
    op: ew.div,
    ref: (x, y) => x / y,
    a: "any",
    b: "nonzero",
    differentiable: true,
    intResult: "float32",
  }),
  binaryInfo({
    name: "pow",
    op: ew.pow,
    ref: Math.pow,
    a: "positive",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "maximum",
    op: ew.maximum,
    ref: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
    a: "any",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "minimum",
    op: ew.minimum,
    ref: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
    a: "any",
    b: "any",
    differentiable: true,
    intResult: "int32",
  }),
  binaryInfo({
    name: "eq",
    op: ew.eq,
    ref: (x, y) => b(x === y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
  binaryInfo({
    name: "ne",
    op: ew.ne,
    ref: (x, y) => b(x !== y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
  binaryInfo({
    name: "lt",
    op: ew.lt,
    ref: (x, y) => b(x < y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
  binaryInfo({
    name: "le",
    op: ew.le,
    ref: (x, y) => b(x <= y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
  binaryInfo({
    name: "gt",
    op: ew.gt,
    ref: (x, y) => b(x > y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
  binaryInfo({
    name: "ge",
    op: ew.ge,
    ref: (x, y) => b(x >= y),
    a: "any",
    b: "any",
    differentiable: false,
    intResult: "bool",
  }),
];

const whereInfo: OpInfo = {
  name: "where",
  differentiable: true,
  samples: (mk) => {
    const ref = (c: Nd, x: Nd, y: Nd) => R.zip3(c, x, y, (cv, xv, yv) => (cv ? xv : yv));
    return [
      {
        desc: "[3, 4]",
        inputs: [mk.bools([3, 4]), mk.uniform([3, 4]), mk.uniform([3, 4])],
        op: ew.where,
        ref,
      },
      {
        desc: "broadcast [3, 1], [4], 0-d",
        inputs: [mk.bools([3, 1]), mk.uniform([4]), mk.uniform([])],
        op: ew.where,
        ref,
      },
      {
        desc: "JS number branch",
        inputs: [mk.bools([2, 3]), mk.uniform([2, 3])],
        op: (c, x) => ew.where(c, x, 0.5),
        ref: (c, x) => R.zip(c, x, (cv, xv) => (cv ? xv : 0.5)),
      },
      {
        desc: "permuted condition, transposed leaf, strided slice",
        inputs: [mk.bools([4, 3]), mk.transposed([3, 4]), mk.uniform([3, 8])],
        views: [T([1, 0]), null, everyOther(1)],
        op: ew.where,
        ref,
      },
      {
        desc: "float32 and float64 branches promote",
        inputs: [mk.bools([3]), ew.cast(mk.uniform([3]).detach(), "float32"), mk.uniform([3]).detach()],
        op: ew.where,
        ref,
        dtype: "float64",
        noGrad: true,
      },
      { desc: "empty", inputs: [mk.bools([0, 2]), mk.uniform([0, 2]), mk.uniform([2])], op: ew.where, ref },
    ];
  },
  errors: (mk) => [
    {
      desc: "non-bool condition",
      call: () => ew.where(mk.uniform([2]), mk.uniform([2]), mk.uniform([2])),
      type: DTypeError,
      includes: ["where", "bool"],
    },
    {
      desc: "shapes that do not broadcast",
      call: () => ew.where(mk.bools([2]), mk.uniform([3]), mk.uniform([2])),
      type: ShapeError,
      includes: ["where", "[2]", "[3]"],
    },
  ],
};

const clampInfo: OpInfo = {
  name: "clamp",
  differentiable: true,
  samples: (mk) => {
    const clampRef = (lo: number | null, hi: number | null) => (a: Nd) =>
      R.map(a, (v) => {
        let r = v;
        if (lo !== null && r < lo) r = lo;
        if (hi !== null && r > hi) r = hi;
        return r;
      });
    // Values are drawn away from the bounds: the derivative jumps there.
    const away = (shape: readonly number[]) => {
      const t = mk.uniform(shape, -2, 2);
      const d = t.data;
      for (let i = 0; i < d.length; i++) if (Math.abs(Math.abs(d[i]!) - 0.5) < 0.01) d[i] = d[i]! * 1.1;
      return t;
    };
    return [
      {
        desc: "min and max",
        inputs: [away([3, 4])],
        op: (x) => ew.clamp(x, -0.5, 0.5),
        ref: clampRef(-0.5, 0.5),
      },
      { desc: "min only", inputs: [away([5])], op: (x) => ew.clamp(x, -0.5), ref: clampRef(-0.5, null) },
      { desc: "max only", inputs: [away([5])], op: (x) => ew.clamp(x, null, 0.5), ref: clampRef(null, 0.5) },
      {
        desc: "transposed",
        inputs: [mk.transposed([3, 4], -2, 2)],
        op: (x) => ew.clamp(x, -0.5, 0.5),
        ref: clampRef(-0.5, 0.5),
      },
      {
        desc: "NaN stays NaN",
        inputs: [mk.special()],
        op: (x) => ew.clamp(x, -1, 1),
        ref: clampRef(-1, 1),
        noGrad: true,
      },
      {
        desc: "int32",
        inputs: [mk.ints([6], -5, 5)],
        op: (x) => ew.clamp(x, -2, 2),
        ref: clampRef(-2, 2),
        dtype: "int32",
        noGrad: true,
      },
    ];
  },
};

const castInfo: OpInfo = {
  name: "cast",
  differentiable: true,
  samples: (mk) => {
    const same = (a: Nd) => R.map(a, (v) => v);
    return [
      {
        desc: "float64 to float64 (a copy)",
        inputs: [mk.uniform([2, 3])],
        op: (x) => ew.cast(x, "float64"),
        ref: same,
        dtype: "float64",
      },
      {
        desc: "float64 to float32",
        inputs: [mk.uniform([2, 3])],
        op: (x) => ew.cast(x, "float32"),
        ref: (a) => R.map(a, Math.fround),
        dtype: "float32",
        noGrad: true,
      },
      {
        desc: "float to int32 truncates",
        inputs: [mk.of([-2.7, -0.5, 0.5, 2.7, 1e3], [5])],
        op: (x) => ew.cast(x, "int32"),
        ref: (a) => R.map(a, Math.trunc),
        dtype: "int32",
      },
      {
        desc: "int32 to uint8 wraps",
        inputs: [mk.of([-1, 0, 255, 256, 300], [5], "int32")],
        op: (x) => ew.cast(x, "uint8"),
        ref: (a) => R.map(a, (v) => ((v % 256) + 256) % 256),
        dtype: "uint8",
      },
      {
        desc: "to bool (NaN is true)",
        inputs: [mk.special()],
        op: (x) => ew.cast(x, "bool"),
        ref: (a) => R.map(a, (v) => (v !== 0 ? 1 : 0)),
        dtype: "bool",
      },
      {
        desc: "transposed to float32",
        inputs: [mk.transposed([2, 3])],
        op: (x) => ew.cast(x, "float32"),
        ref: (a) => R.map(a, Math.fround),
        dtype: "float32",
        noGrad: true,
      },
    ];
  },
};

// ---- reductions ----------------------------------------------------------------------------

type Axes = number | readonly number[] | undefined;
const sumOf = (v: number[]) => v.reduce((s, x) => s + x, 0);
const meanOf = (v: number[]) => sumOf(v) / v.length;
const maxOf = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.max(...v));
const minOf = (v: number[]) => (v.some(Number.isNaN) ? NaN : Math.min(...v));
const varOf = (correction: number) => (v: number[]) => {
  const m = meanOf(v);
  return sumOf(v.map((x) => (x - m) ** 2)) / Math.max(v.length - correction, 0);
};
const lseOf = (v: number[]) => {
  const m = Math.max(...v);
  if (!Number.isFinite(m)) return m === -Infinity ? -Infinity : m;
  return m + Math.log(sumOf(v.map((x) => Math.exp(x - m))));
};

/** Samples for a reduction over axes with keepdim: (x, axes, keepdim) => Tensor. */
function reductionInfo(
  name: string,
  op: (x: Tensor, axes: Axes, keepdim: boolean) => Tensor,
  f: (values: number[]) => number,
  options: {
    differentiable?: boolean;
    intDtype?: DType | null;
    empty?: boolean;
    nan?: boolean;
    /** Samples where the function is not differentiable (e.g. variance of one element). */
    noGradSamples?: readonly string[];
  } = {},
): OpInfo {
  const ref = (axes: Axes, keepdim: boolean) => (a: Nd) => R.reduce(a, axes, keepdim, f);
  const s = (
    desc: string,
    x: Tensor,
    axes: Axes,
    keepdim = false,
    extra: Partial<OpSample> = {},
  ): OpSample => ({
    desc,
    inputs: [x],
    op: (t) => op(t, axes, keepdim),
    ref: ref(axes, keepdim),
    ...(options.noGradSamples?.includes(desc) ? { noGrad: true } : {}),
    ...extra,
  });
  return {
    name,
    differentiable: options.differentiable ?? true,
    samples: (mk) => {
      const out = [
        s("all axes", mk.uniform([3, 4]), undefined),
        s("axis 1 keepdim", mk.uniform([2, 3, 4]), 1, true),
        s("axis -1", mk.uniform([2, 3, 4]), -1),
        s("axes [0, 2]", mk.uniform([2, 3, 4]), [0, 2]),
        s("axes [0, 2] keepdim", mk.uniform([2, 3, 4]), [0, 2], true),
        s("0-d", mk.uniform([]), undefined),
        s("size-1 axis", mk.uniform([3, 1, 2]), 1),
        s("transposed, axis 0", mk.transposed([3, 4]), 0),
        s("expanded [1, 4] -> [3, 4], axis 0", mk.uniform([1, 4]), 0, false, { views: [expandTo([3, 4])] }),
        s("strided slice, axis 1", mk.uniform([2, 6]), 1, false, { views: [everyOther(1)] }),
        s("float32", ew.cast(mk.uniform([4, 5]).detach(), "float32"), 1, false, {
          dtype: "float32",
          noGrad: true,
        }),
      ];
      if (options.empty !== false) out.push(s("over an empty axis", mk.uniform([2, 0]), 1));
      if (options.intDtype !== null)
        out.push(
          s("int32", mk.ints([3, 4], -5, 5), 1, false, { dtype: options.intDtype ?? "int32", noGrad: true }),
        );
      if (options.nan !== false)
        out.push(s("NaN and infinities", mk.special(), undefined, false, { noGrad: true }));
      return out;
    },
    errors: (mk) => [
      {
        desc: "axis out of range",
        call: () => op(mk.uniform([2, 3]), 2, false),
        type: ValueError,
        includes: [name.startsWith("variance") ? "var" : name, "2"],
      },
    ],
  };
}

const reductionInfos: OpInfo[] = [
  reductionInfo("sum", red.sum, sumOf),
  reductionInfo("mean", red.mean, meanOf, { intDtype: "float32" }),
  reductionInfo("amax", red.amax, maxOf, { empty: false }),
  reductionInfo("amin", red.amin, minOf, { empty: false }),
  reductionInfo("variance", (x, a, k) => red.variance(x, a, { keepdim: k }), varOf(1), {
    intDtype: null,
    noGradSamples: ["0-d", "size-1 axis"],
  }),
  reductionInfo(
    "variance (correction 0)",
    (x, a, k) => red.variance(x, a, { correction: 0, keepdim: k }),
    varOf(0),
    {
      intDtype: null,
    },
  ),
  reductionInfo(
    "std",
    (x, a, k) => red.std(x, a, { keepdim: k }),
    (v) => Math.sqrt(varOf(1)(v)),
    {
      intDtype: null,
      // One element (NaN) and equal elements (sqrt at 0) have no derivative.
      noGradSamples: ["0-d", "size-1 axis", "expanded [1, 4] -> [3, 4], axis 0"],
      empty: false,
    },
  ),
  reductionInfo("logsumexp", (x, a, k) => red.logsumexp(x, a ?? x.shape.map((_, i) => i), k), lseOf, {
    intDtype: null,
  }),
];

/** max/min along one dim with indices (torch.max(x, dim)). */
function maxDimInfo(name: "maxDim" | "minDim"): OpInfo {
  const op = name === "maxDim" ? red.maxDim : red.minDim;
  const better = (v: number, best: number) => (name === "maxDim" ? v > best : v < best);
  const pick = (values: number[]) => {
    let k = 0;
    for (let i = 1; i < values.length; i++) {
      if (Number.isNaN(values[k]!)) break;
      if (Number.isNaN(values[i]!) || better(values[i]!, values[k]!)) k = i;
    }
    return k;
  };
  const s = (
    desc: string,
    x: Tensor,
    dim: number,
    keepdim = false,
    extra: Partial<OpSample> = {},
  ): OpSample => ({
    desc,
    inputs: [x],
    op: (t) => {
      const r = op(t, dim, keepdim);
      return [r.values, r.indices];
    },
    ref: (a) => [R.reduce(a, dim, keepdim, (v) => v[pick(v)]!), R.reduce(a, dim, keepdim, pick)],
    dtype: [x.dtype, "int32"],
    ...extra,
  });
  return {
    name,
    differentiable: true,
    samples: (mk) => [
      s("dim 1", mk.uniform([3, 4]), 1),
      s("dim 0 keepdim", mk.uniform([3, 4]), 0, true),
      s("dim -1 of [2, 3, 4]", mk.uniform([2, 3, 4]), -1),
      s("0-d", mk.uniform([]), 0),
      s("transposed", mk.transposed([3, 4]), 1),
      s("ties pick the first", mk.of([1, 3, 3, 2, 2, 1], [2, 3]), 1, false, { noGrad: true }),
      s("NaN wins", mk.special(), 0, false, { noGrad: true }),
    ],
  };
}

function argInfo(name: "argmax" | "argmin"): OpInfo {
  const op = name === "argmax" ? red.argmax : red.argmin;
  const better = (v: number, best: number) => (name === "argmax" ? v > best : v < best);
  const pick = (values: number[]) => {
    let k = 0;
    for (let i = 1; i < values.length; i++) {
      if (Number.isNaN(values[k]!)) break;
      if (Number.isNaN(values[i]!) || better(values[i]!, values[k]!)) k = i;
    }
    return k;
  };
  const s = (desc: string, x: Tensor, dim: number | undefined, keepdim = false): OpSample => ({
    desc,
    inputs: [x],
    op: (t) => op(t, dim, keepdim),
    ref: (a) =>
      dim === undefined
        ? R.reduce(R.reshape(a, [a.data.length]), 0, false, pick)
        : R.reduce(a, dim, keepdim, pick),
    dtype: "int32",
  });
  return {
    name,
    differentiable: false,
    samples: (mk) => [
      s("flat", mk.uniform([3, 4]), undefined),
      s("dim 1", mk.uniform([3, 4]), 1),
      s("dim -1 keepdim", mk.uniform([2, 3, 4]), -1, true),
      s("transposed dim 0", mk.transposed([3, 4]), 0),
      s("ties pick the first", mk.of([1, 3, 3, 2, 2, 1], [2, 3]), 1),
      s("NaN wins", mk.special(), 0),
      s("int32", mk.ints([2, 5], -3, 3), 1),
    ],
    errors: (mk) => [
      {
        desc: "empty dim",
        call: () => op(mk.uniform([2, 0]), 1),
        type: ValueError,
        includes: [name, "empty"],
      },
    ],
  };
}

function softmaxInfo(log: boolean): OpInfo {
  const op = log ? red.logSoftmax : red.softmax;
  const s = (desc: string, x: Tensor, dim: number, extra: Partial<OpSample> = {}): OpSample => ({
    desc,
    inputs: [x],
    op: (t) => op(t, dim),
    ref: (a) => R.softmax(a, dim, log),
    ...extra,
  });
  return {
    name: log ? "logSoftmax" : "softmax",
    differentiable: true,
    samples: (mk) => [
      s("dim 1", mk.uniform([3, 4], -3, 3), 1),
      s("dim 0", mk.uniform([3, 4], -3, 3), 0),
      s("dim -1 of [2, 3, 4]", mk.uniform([2, 3, 4], -3, 3), -1),
      s("0-d", mk.uniform([]), 0),
      s("transposed", mk.transposed([3, 4], -3, 3), 1),
      s("expanded", mk.uniform([1, 4]), 0, { views: [expandTo([3, 4])] }),
      s("large logits stay finite", mk.of([1000, 1001, 999, -1000], [4]), 0, { noGrad: true }),
      s("int32 input gives float32", mk.ints([2, 3], -2, 2), 1, { dtype: "float32" }),
    ],
  };
}

const sumToShapeInfo: OpInfo = {
  name: "sumToShape",
  differentiable: true,
  samples: (mk) => [
    {
      desc: "[2, 3, 4] to [3, 1]",
      inputs: [mk.uniform([2, 3, 4])],
      op: (g) => red.sumToShape(g, [3, 1]),
      ref: (a) => R.reshape(R.reduce(a, [0, 2], false, sumOf), [3, 1]),
    },
    {
      desc: "[2, 3] to 0-d",
      inputs: [mk.uniform([2, 3])],
      op: (g) => red.sumToShape(g, []),
      ref: (a) => R.reduce(a, undefined, false, sumOf),
    },
  ],
};

// ---- matmul --------------------------------------------------------------------------------

const matmulInfo: OpInfo = {
  name: "matmul",
  differentiable: true,
  samples: (mk) => {
    const s = (desc: string, a: Tensor, b: Tensor, extra: Partial<OpSample> = {}): OpSample => ({
      desc,
      inputs: [a, b],
      op: mm.matmul,
      ref: R.matmul,
      ...extra,
    });
    return [
      s("[3, 4] @ [4, 2]", mk.uniform([3, 4]), mk.uniform([4, 2])),
      s("[4] @ [4, 2]", mk.uniform([4]), mk.uniform([4, 2])),
      s("[3, 4] @ [4]", mk.uniform([3, 4]), mk.uniform([4])),
      s("[4] @ [4] (dot)", mk.uniform([4]), mk.uniform([4])),
      s("batched [2, 3, 4] @ [4, 5]", mk.uniform([2, 3, 4]), mk.uniform([4, 5])),
      s("broadcast [2, 1, 3, 4] @ [3, 4, 2]", mk.uniform([2, 1, 3, 4]), mk.uniform([3, 4, 2])),
      s("transposed operands", mk.transposed([3, 4]), mk.transposed([4, 2])),
      s("batched, permuted views", mk.uniform([4, 2, 3]), mk.uniform([2, 4, 5]), {
        views: [T([1, 2, 0]), null],
      }),
      s("expanded batch", mk.uniform([1, 3, 4]), mk.uniform([2, 4, 2]), {
        views: [expandTo([2, 3, 4]), null],
      }),
      s("inner size 0", mk.uniform([3, 0]), mk.uniform([0, 2])),
      s(
        "float32",
        ew.cast(mk.uniform([3, 5]).detach(), "float32"),
        ew.cast(mk.uniform([5, 2]).detach(), "float32"),
        {
          dtype: "float32",
          noGrad: true,
        },
      ),
      s(
        "float32 @ float64 promotes",
        ew.cast(mk.uniform([2, 3]).detach(), "float32"),
        mk.uniform([3, 2]).detach(),
        {
          dtype: "float64",
          noGrad: true,
        },
      ),
    ];
  },
  errors: (mk) => [
    {
      desc: "inner sizes differ",
      call: () => mm.matmul(mk.uniform([2, 3]), mk.uniform([4, 2])),
      type: ShapeError,
      includes: ["matmul", "[2, 3]", "[4, 2]"],
    },
    {
      desc: "batch dims do not broadcast",
      call: () => mm.matmul(mk.uniform([2, 2, 3]), mk.uniform([3, 3, 2])),
      type: ShapeError,
      includes: ["matmul", "[2, 2, 3]", "[3, 3, 2]"],
    },
    {
      desc: "0-d operand",
      call: () => mm.matmul(mk.uniform([]), mk.uniform([3])),
      type: ShapeError,
      includes: ["matmul", "[]", "[3]"],
    },
  ],
};

// ---- convolution and pooling ----------------------------------------------------------------

interface ConvCase {
  desc: string;
  x: readonly number[];
  w: readonly number[];
  bias?: boolean;
  options: cv.Conv2dOptions;
  /** What the reference uses (padding resolved). */
  resolved: R.Conv2dRefOptions;
  transposedInput?: boolean;
}

const convCases: ConvCase[] = [
  {
    desc: "padding 1 with bias",
    x: [1, 2, 5, 5],
    w: [3, 2, 3, 3],
    bias: true,
    options: { padding: 1 },
    resolved: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
  },
  {
    desc: "stride 2, dilation 2, padding [1, 0], 2x3 kernel",
    x: [2, 2, 7, 6],
    w: [2, 2, 2, 3],
    options: { stride: 2, dilation: 2, padding: [1, 0] },
    resolved: { stride: [2, 2], padding: [1, 0], dilation: [2, 2], groups: 1 },
  },
  {
    desc: "groups 2",
    x: [1, 4, 4, 4],
    w: [4, 2, 3, 3],
    options: { groups: 2, padding: "same" },
    resolved: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 2 },
  },
  {
    desc: "depthwise (groups = channels), non-contiguous input",
    x: [2, 3, 4, 4],
    w: [3, 1, 3, 3],
    bias: true,
    options: { groups: 3, padding: "valid" },
    resolved: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 3 },
    transposedInput: true,
  },
  {
    desc: "1x1 kernel, stride [1, 2]",
    x: [2, 3, 3, 4],
    w: [2, 3, 1, 1],
    options: { stride: [1, 2] },
    resolved: { stride: [1, 2], padding: [0, 0], dilation: [1, 1], groups: 1 },
  },
];

const conv2dInfo: OpInfo = {
  name: "conv2d",
  differentiable: true,
  samples: (mk) =>
    convCases.map((c) => {
      const x = c.transposedInput ? mk.transposed(c.x) : mk.uniform(c.x);
      const w = mk.uniform(c.w);
      const inputs = c.bias ? [x, w, mk.uniform([c.w[0]!])] : [x, w];
      return {
        desc: c.desc,
        inputs,
        op: (xx, ww, bb) => cv.conv2d(xx, ww, bb ?? null, c.options),
        ref: (xx, ww, bb) => R.conv2d(xx, ww, bb ?? null, c.resolved),
      };
    }),
  errors: (mk) => [
    {
      desc: "channel mismatch",
      call: () => cv.conv2d(mk.uniform([1, 3, 5, 5]), mk.uniform([2, 2, 3, 3])),
      type: ShapeError,
      includes: ["conv2d", "[1, 3, 5, 5]", "[2, 2, 3, 3]"],
    },
    {
      desc: "3-D input",
      call: () => cv.conv2d(mk.uniform([3, 5, 5]), mk.uniform([2, 3, 3, 3])),
      type: ShapeError,
      includes: ["conv2d", "[3, 5, 5]"],
    },
    {
      desc: "bias of the wrong size",
      call: () => cv.conv2d(mk.uniform([1, 2, 5, 5]), mk.uniform([3, 2, 3, 3]), mk.uniform([2])),
      type: ShapeError,
      includes: ["conv2d", "bias", "[2]"],
    },
  ],
};

/**
 * The inference convolution with its epilogue. Sampled without autograd it runs the fused kernel;
 * the gradient checks record it, so they check the composite it falls back to.
 */
const conv2dFusedCases: {
  desc: string;
  x: readonly number[];
  w: readonly number[];
  options: cv.Conv2dOptions;
  resolved: R.Conv2dRefOptions;
  scale: boolean;
  shift: boolean;
  residual: boolean;
  relu: boolean;
  relu6?: boolean;
  pool: boolean;
}[] = [
  {
    desc: "scale, shift, relu, pool (conv → BN → ReLU → MaxPool)",
    x: [2, 2, 6, 6],
    w: [3, 2, 3, 3],
    options: { padding: 1 },
    resolved: { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 },
    scale: true,
    shift: true,
    residual: false,
    relu: true,
    pool: true,
  },
  {
    desc: "residual and relu, stride 2 (a residual block's second conv)",
    x: [1, 3, 7, 5],
    w: [2, 3, 3, 3],
    options: { stride: 2, padding: 1 },
    resolved: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 1 },
    scale: true,
    shift: true,
    residual: true,
    relu: true,
    pool: false,
  },
  {
    desc: "scale, shift, ReLU6, depthwise stride 2 (MobileNet's conv → BN → ReLU6)",
    x: [1, 4, 9, 9],
    w: [4, 1, 3, 3],
    options: { stride: 2, padding: 1, groups: 4 },
    resolved: { stride: [2, 2], padding: [1, 1], dilation: [1, 1], groups: 4 },
    scale: true,
    shift: true,
    residual: false,
    relu: false,
    relu6: true,
    pool: false,
  },
  {
    desc: "shift only, odd output pooled in floor mode",
    x: [1, 2, 5, 5],
    w: [2, 2, 1, 1],
    options: {},
    resolved: { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 },
    scale: false,
    shift: true,
    residual: false,
    relu: false,
    pool: true,
  },
];

const conv2dFusedInfo: OpInfo = {
  name: "conv2dFused",
  differentiable: true,
  samples: (mk) =>
    conv2dFusedCases.map((c) => {
      const p = cv.conv2dParams(c.x, c.w, c.options);
      // (A wide scale for ReLU6, so that outputs land above 6 as well as below 0.)
      const spread = c.relu6 ? 8 : 1;
      const inputs = [
        mk.uniform(c.x),
        mk.uniform(c.w),
        mk.uniform([p.o], -spread, spread),
        mk.uniform([p.o]),
      ];
      inputs.push(mk.uniform([p.n, p.o, p.outH, p.outW]));
      const pick = <T>(on: boolean, v: T) => (on ? v : null);
      return {
        desc: c.desc,
        inputs,
        op: (x, w, sc, sh, res) =>
          cf.conv2dFused(
            x,
            w,
            {
              scale: pick(c.scale, sc),
              shift: pick(c.shift, sh),
              residual: pick(c.residual, res),
              relu: c.relu,
              relu6: c.relu6 ?? false,
              pool: c.pool,
            },
            c.options,
          ),
        ref: (x, w, sc, sh, res) =>
          R.conv2dFused(
            x,
            w,
            {
              scale: pick(c.scale, sc),
              shift: pick(c.shift, sh),
              residual: pick(c.residual, res),
              relu: c.relu,
              relu6: c.relu6 ?? false,
              pool: c.pool,
            },
            c.resolved,
          ),
      };
    }),
  errors: (mk) => [
    {
      desc: "residual together with a pool",
      call: () =>
        cf.conv2dFused(mk.uniform([1, 1, 4, 4]), mk.uniform([1, 1, 1, 1]), {
          residual: mk.uniform([1, 1, 4, 4]),
          pool: true,
        }),
      type: ValueError,
      includes: ["conv2dFused", "residual", "pool"],
    },
    {
      desc: "scale of the wrong size",
      call: () =>
        cf.conv2dFused(mk.uniform([1, 2, 4, 4]), mk.uniform([3, 2, 1, 1]), { scale: mk.uniform([2]) }),
      type: ShapeError,
      includes: ["conv2dFused", "scale", "[3]", "[2]"],
    },
    {
      desc: "residual of the wrong shape",
      call: () =>
        cf.conv2dFused(mk.uniform([1, 2, 4, 4]), mk.uniform([3, 2, 1, 1]), {
          residual: mk.uniform([1, 3, 2, 2]),
        }),
      type: ShapeError,
      includes: ["conv2dFused", "residual", "[1, 3, 4, 4]"],
    },
  ],
};

/** The two adjoint convolutions are ops in their own right (each is the other's gradient). */
const convBackwardInfos: OpInfo[] = [
  {
    name: "convBackwardInput",
    differentiable: true,
    samples: (mk) =>
      convCases.map((c) => {
        const p = cv.conv2dParams(c.x, c.w, c.options);
        return {
          desc: c.desc,
          inputs: [mk.uniform([p.n, p.o, p.outH, p.outW]), mk.uniform(c.w)],
          op: (g, w) => cv.convBackwardInput(g, w, p),
          ref: (g, w) => R.conv2dBackwardInput(g, w, c.x, c.resolved),
        };
      }),
  },
  {
    name: "convBackwardWeight",
    differentiable: true,
    samples: (mk) =>
      convCases.map((c) => {
        const p = cv.conv2dParams(c.x, c.w, c.options);
        return {
          desc: c.desc,
          inputs: [mk.uniform(c.x), mk.uniform([p.n, p.o, p.outH, p.outW])],
          op: (x, g) => cv.convBackwardWeight(x, g, p),
          ref: (x, g) => R.conv2dBackwardWeight(x, g, c.w, c.resolved),
        };
      }),
  },
];

interface PoolCase {
  desc: string;
  x: readonly number[];
  options: pl.Pool2dOptions;
  resolved: R.Pool2dRefOptions;
  transposedInput?: boolean;
}

const poolCases: PoolCase[] = [
  {
    desc: "2x2 stride 2",
    x: [1, 2, 4, 4],
    options: { kernelSize: 2 },
    resolved: { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
  },
  {
    desc: "3x3 stride 2 padding 1, non-contiguous input",
    x: [2, 1, 5, 5],
    options: { kernelSize: 3, stride: 2, padding: 1 },
    resolved: { kernel: [3, 3], stride: [2, 2], padding: [1, 1], dilation: [1, 1], ceilMode: false },
    transposedInput: true,
  },
  {
    desc: "2x3 kernel stride [1, 2]",
    x: [1, 2, 4, 5],
    options: { kernelSize: [2, 3], stride: [1, 2] },
    resolved: { kernel: [2, 3], stride: [1, 2], padding: [0, 0], dilation: [1, 1], ceilMode: false },
  },
];

const maxPoolExtra: PoolCase[] = [
  {
    desc: "dilation 2",
    x: [1, 1, 6, 6],
    options: { kernelSize: 2, stride: 1, dilation: 2 },
    resolved: { kernel: [2, 2], stride: [1, 1], padding: [0, 0], dilation: [2, 2], ceilMode: false },
  },
  {
    desc: "ceil mode",
    x: [1, 2, 5, 5],
    options: { kernelSize: 2, ceilMode: true },
    resolved: { kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceilMode: true },
  },
];

const poolErrors =
  (name: string, op: (x: Tensor) => Tensor) =>
  (mk: SampleMaker): ErrorSample[] => [
    {
      desc: "3-D input",
      call: () => op(mk.uniform([2, 4, 4])),
      type: ShapeError,
      includes: [name, "[2, 4, 4]"],
    },
  ];

const maxPool2dInfo: OpInfo = {
  name: "maxPool2d",
  differentiable: true,
  samples: (mk) => [
    ...[...poolCases, ...maxPoolExtra].map((c) => ({
      desc: c.desc,
      inputs: [c.transposedInput ? mk.transposed(c.x) : mk.uniform(c.x)],
      op: (x: Tensor) => pl.maxPool2d(x, c.options),
      ref: (x: Nd) => R.pool2d(x, "max", c.resolved),
    })),
    {
      desc: "NaN propagates",
      inputs: [mk.of([1, NaN, 3, 4, 5, 6, 7, -Infinity, 9], [1, 1, 3, 3])],
      op: (x: Tensor) => pl.maxPool2d(x, { kernelSize: 2, stride: 1 }),
      ref: (x: Nd) =>
        R.pool2d(x, "max", {
          kernel: [2, 2],
          stride: [1, 1],
          padding: [0, 0],
          dilation: [1, 1],
          ceilMode: false,
        }),
      noGrad: true,
    },
  ],
  errors: poolErrors("maxPool2d", (x) => pl.maxPool2d(x, { kernelSize: 2 })),
};

const maxPool2dWithIndicesInfo: OpInfo = {
  name: "maxPool2dWithIndices",
  differentiable: true,
  samples: (mk) =>
    poolCases.map((c) => ({
      desc: c.desc,
      inputs: [c.transposedInput ? mk.transposed(c.x) : mk.uniform(c.x)],
      op: (x: Tensor) => {
        const r = pl.maxPool2dWithIndices(x, c.options);
        return [r.values, r.indices];
      },
      ref: (x: Nd) => {
        const values = R.pool2d(x, "max", c.resolved);
        // The flat (h*W + w) index of each max within its plane.
        const w = x.shape[3]!;
        const plane = x.shape[2]! * w;
        const indices = R.map(values, () => 0);
        values.data.forEach((v, i) => {
          const [n, ch] = R.unravel(i, values.shape);
          const base = (n! * x.shape[1]! + ch!) * plane;
          for (let k = 0; k < plane; k++) {
            if (x.data[base + k] === v) {
              indices.data[i] = k;
              break;
            }
          }
        });
        return [values, indices];
      },
      dtype: ["float64", "int32"],
    })),
};

const avgPool2dInfo: OpInfo = {
  name: "avgPool2d",
  differentiable: true,
  samples: (mk) => [
    ...poolCases.map((c) => ({
      desc: c.desc,
      inputs: [c.transposedInput ? mk.transposed(c.x) : mk.uniform(c.x)],
      op: (x: Tensor) => pl.avgPool2d(x, c.options),
      ref: (x: Nd) => R.pool2d(x, "avg", c.resolved),
    })),
    {
      desc: "padding 1, countIncludePad false",
      inputs: [mk.uniform([1, 2, 4, 4])],
      op: (x: Tensor) => pl.avgPool2d(x, { kernelSize: 3, stride: 1, padding: 1, countIncludePad: false }),
      ref: (x: Nd) =>
        R.pool2d(
          x,
          "avg",
          { kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1], ceilMode: false },
          false,
        ),
    },
  ],
  errors: poolErrors("avgPool2d", (x) => pl.avgPool2d(x, { kernelSize: 2 })),
};

const adaptiveAvgPool2dInfo: OpInfo = {
  name: "adaptiveAvgPool2d",
  differentiable: true,
  samples: (mk) => {
    const ref = (oh: number, ow: number) => (x: Nd) => {
      const [n, c, h, w] = x.shape as [number, number, number, number];
      return R.fromFn([n, c, oh, ow], ([b, ch, i, j]) => {
        const h0 = Math.floor((i! * h) / oh);
        const h1 = Math.ceil(((i! + 1) * h) / oh);
        const w0 = Math.floor((j! * w) / ow);
        const w1 = Math.ceil(((j! + 1) * w) / ow);
        let s = 0;
        for (let y = h0; y < h1; y++) for (let z = w0; z < w1; z++) s += R.at(x, [b!, ch!, y, z]);
        return s / ((h1 - h0) * (w1 - w0));
      });
    };
    return [
      {
        desc: "global (1x1)",
        inputs: [mk.uniform([2, 3, 4, 4])],
        op: (x) => pl.adaptiveAvgPool2d(x, 1),
        ref: ref(1, 1),
      },
      {
        desc: "2x2 from 4x6 (divisible)",
        inputs: [mk.uniform([1, 2, 4, 6])],
        op: (x) => pl.adaptiveAvgPool2d(x, 2),
        ref: ref(2, 2),
      },
      {
        desc: "3x2 from 5x5 (overlapping)",
        inputs: [mk.transposed([1, 1, 5, 5])],
        op: (x) => pl.adaptiveAvgPool2d(x, [3, 2]),
        ref: ref(3, 2),
      },
    ];
  },
};

// ---- movement ------------------------------------------------------------------------------

function movementInfo(
  name: string,
  samples: (mk: SampleMaker) => OpSample[],
  errors?: OpInfo["errors"],
): OpInfo {
  return errors ? { name, differentiable: true, samples, errors } : { name, differentiable: true, samples };
}

const movementInfos: OpInfo[] = [
  movementInfo(
    "reshape",
    (mk) => [
      {
        desc: "[2, 3, 4] to [4, -1]",
        inputs: [mk.uniform([2, 3, 4])],
        op: (x) => mv.reshape(x, [4, -1]),
        ref: (a) => R.reshape(a, [4, 6]),
      },
      {
        desc: "transposed (copies)",
        inputs: [mk.transposed([3, 4])],
        op: (x) => mv.reshape(x, [12]),
        ref: (a) => R.reshape(a, [12]),
      },
      {
        desc: "0-d to [1, 1]",
        inputs: [mk.uniform([])],
        op: (x) => mv.reshape(x, [1, 1]),
        ref: (a) => R.reshape(a, [1, 1]),
      },
      {
        desc: "empty [0, 3] to [3, 0]",
        inputs: [mk.uniform([0, 3])],
        op: (x) => mv.reshape(x, [3, 0]),
        ref: (a) => R.reshape(a, [3, 0]),
      },
      {
        desc: "strided slice (copies)",
        inputs: [mk.uniform([2, 6])],
        views: [everyOther(1)],
        op: (x) => mv.reshape(x, [6]),
        ref: (a) => R.reshape(a, [6]),
      },
    ],
    (mk) => [
      {
        desc: "wrong element count",
        call: () => mv.reshape(mk.uniform([2, 3]), [4, 2]),
        type: ShapeError,
        includes: ["reshape", "[4, 2]", "[2, 3]"],
      },
    ],
  ),
  movementInfo(
    "view",
    (mk) => [
      {
        desc: "contiguous",
        inputs: [mk.uniform([2, 6])],
        op: (x) => mv.view(x, [3, 4]),
        ref: (a) => R.reshape(a, [3, 4]),
      },
      {
        desc: "permuted, merging dims that stay adjacent",
        inputs: [mk.uniform([2, 3, 4])],
        views: [T([2, 0, 1])],
        op: (x) => mv.view(x, [4, 2, 3, 1]),
        ref: (a) => R.reshape(a, [4, 2, 3, 1]),
      },
    ],
    (mk) => [
      {
        desc: "a transposed tensor cannot be flattened without a copy",
        call: () => mv.view(mk.transposed([3, 4]), [12]),
        type: ShapeError,
        includes: ["view", "[12]", "[3, 4]"],
      },
    ],
  ),
  movementInfo(
    "permute",
    (mk) => [
      {
        desc: "[2, 3, 4] by [2, 0, 1]",
        inputs: [mk.uniform([2, 3, 4])],
        op: (x) => mv.permute(x, [2, 0, 1]),
        ref: (a) => R.permute(a, [2, 0, 1]),
      },
      {
        desc: "negative dims",
        inputs: [mk.uniform([2, 3])],
        op: (x) => mv.permute(x, [-1, -2]),
        ref: (a) => R.permute(a, [1, 0]),
      },
      { desc: "0-d", inputs: [mk.uniform([])], op: (x) => mv.permute(x, []), ref: (a) => a },
    ],
    (mk) => [
      {
        desc: "not a permutation",
        call: () => mv.permute(mk.uniform([2, 3]), [0, 0]),
        type: ShapeError,
        includes: ["permute", "[0, 0]"],
      },
    ],
  ),
  movementInfo("transpose", (mk) => [
    {
      desc: "dims 0, 2",
      inputs: [mk.uniform([2, 3, 4])],
      op: (x) => mv.transpose(x, 0, 2),
      ref: (a) => R.permute(a, [2, 1, 0]),
    },
    {
      desc: "-1, -2 of transposed",
      inputs: [mk.transposed([3, 4])],
      op: (x) => mv.transpose(x, -1, -2),
      ref: (a) => R.permute(a, [1, 0]),
    },
  ]),
  movementInfo(
    "expand",
    (mk) => [
      {
        desc: "[3, 1] to [2, 3, 4]",
        inputs: [mk.uniform([3, 1])],
        op: (x) => mv.expand(x, [2, 3, 4]),
        ref: (a) => R.expand(a, [2, 3, 4]),
      },
      {
        desc: "-1 keeps a size",
        inputs: [mk.uniform([3, 1])],
        op: (x) => mv.expand(x, [-1, 5]),
        ref: (a) => R.expand(a, [3, 5]),
      },
      {
        desc: "0-d to [2, 2]",
        inputs: [mk.uniform([])],
        op: (x) => mv.expand(x, [2, 2]),
        ref: (a) => R.expand(a, [2, 2]),
      },
      {
        desc: "transposed",
        inputs: [mk.transposed([1, 3])],
        op: (x) => mv.expand(x, [2, 3]),
        ref: (a) => R.expand(a, [2, 3]),
      },
    ],
    (mk) => [
      {
        desc: "a size that is not 1",
        call: () => mv.expand(mk.uniform([2, 3]), [4, 3]),
        type: ShapeError,
        includes: ["expand", "[2, 3]", "[4, 3]"],
      },
    ],
  ),
  movementInfo("squeeze", (mk) => [
    {
      desc: "all size-1 dims",
      inputs: [mk.uniform([1, 3, 1, 2])],
      op: (x) => mv.squeeze(x),
      ref: (a) => R.reshape(a, [3, 2]),
    },
    {
      desc: "dim -2",
      inputs: [mk.uniform([1, 3, 1, 2])],
      op: (x) => mv.squeeze(x, -2),
      ref: (a) => R.reshape(a, [1, 3, 2]),
    },
    { desc: "a non-1 dim is kept", inputs: [mk.uniform([2, 3])], op: (x) => mv.squeeze(x, 0), ref: (a) => a },
  ]),
  movementInfo("unsqueeze", (mk) => [
    {
      desc: "dim 1",
      inputs: [mk.uniform([2, 3])],
      op: (x) => mv.unsqueeze(x, 1),
      ref: (a) => R.reshape(a, [2, 1, 3]),
    },
    {
      desc: "dim -1 of transposed",
      inputs: [mk.transposed([2, 3])],
      op: (x) => mv.unsqueeze(x, -1),
      ref: (a) => R.reshape(a, [2, 3, 1]),
    },
    { desc: "0-d", inputs: [mk.uniform([])], op: (x) => mv.unsqueeze(x, 0), ref: (a) => R.reshape(a, [1]) },
  ]),
  movementInfo("flatten", (mk) => [
    {
      desc: "all",
      inputs: [mk.uniform([2, 3, 4])],
      op: (x) => mv.flatten(x),
      ref: (a) => R.reshape(a, [24]),
    },
    {
      desc: "dims 1..-1",
      inputs: [mk.uniform([2, 3, 4])],
      op: (x) => mv.flatten(x, 1),
      ref: (a) => R.reshape(a, [2, 12]),
    },
    { desc: "0-d", inputs: [mk.uniform([])], op: (x) => mv.flatten(x), ref: (a) => R.reshape(a, [1]) },
  ]),
  movementInfo(
    "narrow",
    (mk) => [
      {
        desc: "dim 1",
        inputs: [mk.uniform([3, 5])],
        op: (x) => mv.narrow(x, 1, 1, 3),
        ref: (a) => R.slice(a, 1, 1, 4),
      },
      {
        desc: "negative start, dim -2",
        inputs: [mk.uniform([4, 3])],
        op: (x) => mv.narrow(x, -2, -2, 2),
        ref: (a) => R.slice(a, 0, 2, 4),
      },
      {
        desc: "length 0",
        inputs: [mk.uniform([3, 2])],
        op: (x) => mv.narrow(x, 0, 1, 0),
        ref: (a) => R.slice(a, 0, 1, 1),
      },
    ],
    (mk) => [
      {
        desc: "out of range",
        call: () => mv.narrow(mk.uniform([3]), 0, 2, 2),
        type: ValueError,
        includes: ["narrow", "size 3"],
      },
    ],
  ),
  movementInfo("slice", (mk) => [
    {
      desc: "step 2",
      inputs: [mk.uniform([3, 7])],
      op: (x) => mv.slice(x, 1, 1, undefined, 2),
      ref: (a) => R.slice(a, 1, 1, 7, 2),
    },
    {
      desc: "step 3, negative end",
      inputs: [mk.uniform([8, 2])],
      op: (x) => mv.slice(x, 0, 0, -1, 3),
      ref: (a) => R.slice(a, 0, 0, 7, 3),
    },
    {
      desc: "of a transposed leaf",
      inputs: [mk.transposed([5, 3])],
      op: (x) => mv.slice(x, 0, 1, 5, 2),
      ref: (a) => R.slice(a, 0, 1, 5, 2),
    },
    {
      desc: "empty range",
      inputs: [mk.uniform([4])],
      op: (x) => mv.slice(x, 0, 3, 1, 2),
      ref: (a) => R.slice(a, 0, 3, 3, 2),
    },
  ]),
  movementInfo("select", (mk) => [
    {
      desc: "dim 1 index -1",
      inputs: [mk.uniform([2, 3, 4])],
      op: (x) => mv.select(x, 1, -1),
      ref: (a) => R.reshape(R.slice(a, 1, 2, 3), [2, 4]),
    },
    {
      desc: "1-D to 0-d",
      inputs: [mk.uniform([3])],
      op: (x) => mv.select(x, 0, 1),
      ref: (a) => R.reshape(R.slice(a, 0, 1, 2), []),
    },
  ]),
  movementInfo(
    "split",
    (mk) => [
      {
        desc: "size 2 along dim 1",
        inputs: [mk.uniform([2, 5])],
        op: (x) => mv.split(x, 2, 1),
        ref: (a) => [R.slice(a, 1, 0, 2), R.slice(a, 1, 2, 4), R.slice(a, 1, 4, 5)],
      },
      {
        desc: "sections [1, 0, 2] along dim -1 of transposed",
        inputs: [mk.transposed([2, 3])],
        op: (x) => mv.split(x, [1, 0, 2], -1),
        ref: (a) => [R.slice(a, 1, 0, 1), R.slice(a, 1, 1, 1), R.slice(a, 1, 1, 3)],
      },
    ],
    (mk) => [
      {
        desc: "sections that do not add up",
        call: () => mv.split(mk.uniform([4]), [1, 2]),
        type: ShapeError,
        includes: ["split", "[1, 2]", "4"],
      },
    ],
  ),
  movementInfo("chunk", (mk) => [
    {
      desc: "3 chunks of 7",
      inputs: [mk.uniform([7, 2])],
      op: (x) => mv.chunk(x, 3),
      ref: (a) => [R.slice(a, 0, 0, 3), R.slice(a, 0, 3, 6), R.slice(a, 0, 6, 7)],
    },
  ]),
  movementInfo(
    "pad",
    (mk) => [
      {
        desc: "last dim (1, 2)",
        inputs: [mk.uniform([2, 3])],
        op: (x) => mv.pad(x, [1, 2]),
        ref: (a) => R.pad(a, [1, 2], 0),
      },
      {
        desc: "two dims with a value",
        inputs: [mk.uniform([2, 3, 2])],
        op: (x) => mv.pad(x, [0, 1, 2, 0], 0.5),
        ref: (a) => R.pad(a, [0, 1, 2, 0], 0.5),
      },
      {
        desc: "negative pads crop",
        inputs: [mk.transposed([3, 4])],
        op: (x) => mv.pad(x, [-1, 1, 1, -2]),
        ref: (a) => R.pad(a, [-1, 1, 1, -2], 0),
      },
      {
        desc: "empty input",
        inputs: [mk.uniform([0, 2])],
        op: (x) => mv.pad(x, [1, 1, 1, 0]),
        ref: (a) => R.pad(a, [1, 1, 1, 0], 0),
      },
      {
        desc: "int32 keeps its dtype",
        inputs: [mk.ints([3], 0, 5)],
        op: (x) => mv.pad(x, [1, 0], 7),
        ref: (a) => R.pad(a, [1, 0], 7),
        dtype: "int32",
      },
    ],
    (mk) => [
      {
        desc: "odd number of pads",
        call: () => mv.pad(mk.uniform([2]), [1]),
        type: ValueError,
        includes: ["pad"],
      },
    ],
  ),
  movementInfo(
    "cat",
    (mk) => [
      {
        desc: "dim 0",
        inputs: [mk.uniform([2, 3]), mk.uniform([1, 3])],
        op: (a, b) => mv.cat([a, b], 0),
        ref: (a, b) => R.cat([a, b], 0),
      },
      {
        desc: "dim -1 with an empty piece and a transposed one",
        inputs: [mk.uniform([2, 0]), mk.transposed([2, 3]), mk.uniform([2, 1])],
        op: (a, b, c) => mv.cat([a, b, c], -1),
        ref: (a, b, c) => R.cat([a, b, c], 1),
      },
      {
        desc: "expanded input",
        inputs: [mk.uniform([1, 2]), mk.uniform([2, 2])],
        views: [expandTo([3, 2]), null],
        op: (a, b) => mv.cat([a, b], 0),
        ref: (a, b) => R.cat([a, b], 0),
      },
    ],
    (mk) => [
      {
        desc: "sizes differ outside the cat dim",
        call: () => mv.cat([mk.uniform([2, 3]), mk.uniform([2, 4])], 0),
        type: ShapeError,
        includes: ["cat", "[2, 3]", "[2, 4]"],
      },
    ],
  ),
  movementInfo(
    "stack",
    (mk) => [
      {
        desc: "dim 1",
        inputs: [mk.uniform([2, 3]), mk.uniform([2, 3])],
        op: (a, b) => mv.stack([a, b], 1),
        ref: (a, b) => R.cat([R.reshape(a, [2, 1, 3]), R.reshape(b, [2, 1, 3])], 1),
      },
      {
        desc: "dim -1 of 0-d tensors",
        inputs: [mk.uniform([]), mk.uniform([])],
        op: (a, b) => mv.stack([a, b], -1),
        ref: (a, b) => R.cat([R.reshape(a, [1]), R.reshape(b, [1])], 0),
      },
    ],
    (mk) => [
      {
        desc: "different shapes",
        call: () => mv.stack([mk.uniform([2, 3]), mk.uniform([3, 2])]),
        type: ShapeError,
        includes: ["stack", "[2, 3]", "[3, 2]"],
      },
    ],
  ),
  movementInfo("contiguous", (mk) => [
    { desc: "transposed", inputs: [mk.transposed([3, 4])], op: mv.contiguous, ref: (a) => a },
    {
      desc: "expanded",
      inputs: [mk.uniform([1, 3])],
      views: [expandTo([2, 3])],
      op: mv.contiguous,
      ref: (a) => a,
    },
  ]),
  movementInfo("clone", (mk) => [
    {
      desc: "strided slice",
      inputs: [mk.uniform([2, 6])],
      views: [everyOther(1)],
      op: mv.clone,
      ref: (a) => a,
    },
  ]),
];

// ---- indexing ------------------------------------------------------------------------------

const indexingInfos: OpInfo[] = [
  {
    name: "gather",
    differentiable: true,
    samples: (mk) => [
      {
        desc: "dim 1 with repeats",
        inputs: [mk.uniform([3, 4]), mk.ints([3, 5], 0, 4)],
        op: (x, i) => ix.gather(x, 1, i),
        ref: (x, i) => R.gather(x, 1, i),
      },
      {
        desc: "dim 0 of transposed, negative dim",
        inputs: [mk.transposed([3, 2]), mk.ints([4, 2], 0, 3)],
        op: (x, i) => ix.gather(x, -2, i),
        ref: (x, i) => R.gather(x, 0, i),
      },
    ],
    errors: (mk) => [
      {
        desc: "index out of range",
        call: () => ix.gather(mk.uniform([2, 3]), 1, mk.of([0, 3], [2, 1], "int32")),
        type: ValueError,
        includes: ["gather", "3"],
      },
      {
        desc: "float index",
        call: () => ix.gather(mk.uniform([2, 3]), 1, mk.uniform([2, 1])),
        type: DTypeError,
        includes: ["gather", "float64"],
      },
    ],
  },
  {
    name: "scatterAdd",
    differentiable: true,
    samples: (mk) => [
      {
        desc: "dim 1 with duplicates",
        inputs: [mk.uniform([3, 4]), mk.ints([3, 6], 0, 4), mk.uniform([3, 6])],
        op: (b, i, s) => ix.scatterAdd(b, 1, i, s),
        ref: (b, i, s) => R.scatterAdd(b, 1, i, s),
      },
      {
        desc: "dim 0, transposed base",
        inputs: [mk.transposed([3, 2]), mk.ints([2, 2], 0, 3), mk.uniform([2, 2])],
        op: (b, i, s) => ix.scatterAdd(b, 0, i, s),
        ref: (b, i, s) => R.scatterAdd(b, 0, i, s),
      },
    ],
  },
  {
    name: "indexSelect",
    differentiable: true,
    samples: (mk) => [
      {
        desc: "dim 0 with repeats",
        inputs: [mk.uniform([4, 3]), mk.of([3, 0, 3], [3], "int32")],
        op: (x, i) => ix.indexSelect(x, 0, i),
        ref: (x, i) => R.fromFn([3, 3], ([r, c]) => R.at(x, [i.data[r!]!, c!])),
      },
      {
        desc: "dim -1 of transposed",
        inputs: [mk.transposed([2, 4]), mk.of([1, 1], [2], "int32")],
        op: (x, i) => ix.indexSelect(x, -1, i),
        ref: (x, i) => R.fromFn([2, 2], ([r, c]) => R.at(x, [r!, i.data[c!]!])),
      },
    ],
    errors: (mk) => [
      {
        desc: "2-D index",
        call: () => ix.indexSelect(mk.uniform([4, 3]), 0, mk.of([0, 1], [1, 2], "int32")),
        type: ShapeError,
        includes: ["indexSelect", "[1, 2]"],
      },
    ],
  },
];

// ---- normalization and dropout ---------------------------------------------------------------

function batchNormRef(x: Nd, mean: Nd, varr: Nd, weight: Nd | null, bias: Nd | null, eps: number): Nd {
  return R.fromFn(x.shape, (idx) => {
    const c = idx[1]!;
    const y = (R.at(x, idx) - mean.data[c]!) / Math.sqrt(varr.data[c]! + eps);
    return y * (weight ? weight.data[c]! : 1) + (bias ? bias.data[c]! : 0);
  });
}

/** Per-channel batch statistics (mean, biased variance) over every dim but 1. */
function channelStats(x: Nd): { mean: Nd; var: Nd } {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  return {
    mean: R.reduce(x, axes, false, meanOf),
    var: R.reduce(x, axes, false, varOf(0)),
  };
}

const batchNormInfo: OpInfo = {
  name: "batchNorm",
  differentiable: true,
  samples: (mk) => [
    {
      desc: "training [4, 3, 2, 2] with weight and bias",
      inputs: [mk.uniform([4, 3, 2, 2]), mk.uniform([3]), mk.uniform([3])],
      op: (x, w, b) => nm.batchNorm(x, { weight: w, bias: b, training: true }),
      ref: (x, w, b) => {
        const s = channelStats(x);
        return batchNormRef(x, s.mean, s.var, w, b, 1e-5);
      },
    },
    {
      desc: "training [5, 2] without affine, permuted input",
      inputs: [mk.uniform([2, 5])],
      views: [T([1, 0])],
      op: (x) => nm.batchNorm(x, { training: true, eps: 1e-3 }),
      ref: (x) => {
        const s = channelStats(x);
        return batchNormRef(x, s.mean, s.var, null, null, 1e-3);
      },
    },
    {
      desc: "evaluation with running statistics",
      inputs: [
        mk.uniform([2, 3, 2, 2]),
        mk.uniform([3], -1, 1, { grad: false }),
        mk.uniform([3], 0.5, 2, { grad: false }),
        mk.uniform([3]),
      ],
      op: (x, m, v, w) => nm.batchNorm(x, { runningMean: m, runningVar: v, weight: w, training: false }),
      ref: (x, m, v, w) => batchNormRef(x, m, v, w, null, 1e-5),
    },
    {
      desc: "evaluation, float32, nothing requires grad (inference path)",
      inputs: [
        mk.uniform([3, 4, 5], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], 0.5, 2, { dtype: "float32", grad: false }),
        mk.uniform([4], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], -1, 1, { dtype: "float32", grad: false }),
      ],
      op: (x, m, v, w, b) =>
        nm.batchNorm(x, { runningMean: m, runningVar: v, weight: w, bias: b, training: false, eps: 1e-3 }),
      ref: (x, m, v, w, b) => batchNormRef(x, m, v, w, b, 1e-3),
    },
    {
      desc: "evaluation, gradients to the running statistics and bias",
      inputs: [mk.uniform([2, 3, 4]), mk.uniform([3]), mk.uniform([3], 0.5, 2), mk.uniform([3])],
      op: (x, m, v, b) => nm.batchNorm(x, { runningMean: m, runningVar: v, bias: b, training: false }),
      ref: (x, m, v, b) => batchNormRef(x, m, v, null, b, 1e-5),
    },
    {
      desc: "training with the fused ReLU (BatchNorm → ReLU)",
      inputs: [mk.uniform([4, 3, 2, 2]), mk.uniform([3]), mk.uniform([3])],
      op: (x, w, b) => nm.batchNorm(x, { weight: w, bias: b, training: true, relu: true }),
      ref: (x, w, b) => {
        const s = channelStats(x);
        const y = batchNormRef(x, s.mean, s.var, w, b, 1e-5);
        return { shape: y.shape, data: y.data.map((v) => Math.max(v, 0)) };
      },
    },
    {
      desc: "evaluation with the fused ReLU, nothing requires grad (inference path)",
      inputs: [
        mk.uniform([3, 4, 5], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], 0.5, 2, { dtype: "float32", grad: false }),
      ],
      op: (x, m, v) => nm.batchNorm(x, { runningMean: m, runningVar: v, training: false, relu: true }),
      ref: (x, m, v) => {
        const y = batchNormRef(x, m, v, null, null, 1e-5);
        return { shape: y.shape, data: y.data.map((t) => Math.max(t, 0)) };
      },
    },
    {
      desc: "training with a residual added before the fused ReLU (a residual block's tail)",
      inputs: [mk.uniform([4, 3, 2, 2]), mk.uniform([3]), mk.uniform([3]), mk.uniform([4, 3, 2, 2])],
      op: (x, w, b, r) => nm.batchNorm(x, { weight: w, bias: b, training: true, relu: true, residual: r }),
      ref: (x, w, b, r) => {
        const s = channelStats(x);
        const y = batchNormRef(x, s.mean, s.var, w, b, 1e-5);
        return { shape: y.shape, data: y.data.map((v, i) => Math.max(v + r.data[i]!, 0)) };
      },
    },
    {
      desc: "training with a residual and no ReLU",
      inputs: [mk.uniform([3, 2, 5]), mk.uniform([3, 2, 5])],
      op: (x, r) => nm.batchNorm(x, { training: true, residual: r }),
      ref: (x, r) => {
        const s = channelStats(x);
        const y = batchNormRef(x, s.mean, s.var, null, null, 1e-5);
        return { shape: y.shape, data: y.data.map((v, i) => v + r.data[i]!) };
      },
    },
    {
      desc: "evaluation with a residual and the fused ReLU (inference path)",
      inputs: [
        mk.uniform([3, 4, 5], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], -1, 1, { dtype: "float32", grad: false }),
        mk.uniform([4], 0.5, 2, { dtype: "float32", grad: false }),
        mk.uniform([3, 4, 5], -1, 1, { dtype: "float32", grad: false }),
      ],
      op: (x, m, v, r) =>
        nm.batchNorm(x, { runningMean: m, runningVar: v, training: false, relu: true, residual: r }),
      ref: (x, m, v, r) => {
        const y = batchNormRef(x, m, v, null, null, 1e-5);
        return { shape: y.shape, data: y.data.map((t, i) => Math.max(t + r.data[i]!, 0)) };
      },
    },
  ],
  errors: (mk) => [
    {
      desc: "weight of the wrong size",
      call: () => nm.batchNorm(mk.uniform([2, 3, 2, 2]), { weight: mk.uniform([2]) }),
      type: ShapeError,
      includes: ["batchNorm", "[3]", "[2]"],
    },
    {
      desc: "residual of another shape than the input",
      call: () => nm.batchNorm(mk.uniform([2, 3, 2, 2]), { residual: mk.uniform([2, 3, 2, 1]) }),
      type: ShapeError,
      includes: ["batchNorm", "residual", "[2, 3, 2, 2]", "[2, 3, 2, 1]"],
    },
  ],
};

/** Training batch norm with the batch's statistics, then ReLU, then a 2×2 stride-2 max-pool. */
function batchNormReluPoolRef(x: Nd, w: Nd | null, b: Nd | null, eps: number): Nd {
  const s = channelStats(x);
  const y = batchNormRef(x, s.mean, s.var, w, b, eps);
  const z = { shape: y.shape, data: y.data.map((v) => Math.max(v, 0)) };
  return R.pool2d(z, "max", {
    kernel: [2, 2],
    stride: [2, 2],
    padding: [0, 0],
    dilation: [1, 1],
    ceilMode: false,
  });
}

/** BatchNorm → ReLU → 2×2 max-pool fused for training, against the three reference steps. */
const batchNormReluPoolInfo: OpInfo = {
  name: "batchNormReluPool",
  differentiable: true,
  samples: (mk) => [
    {
      desc: "training [3, 2, 4, 5] with weight and bias (odd width: floor mode)",
      inputs: [mk.uniform([3, 2, 4, 5]), mk.uniform([2]), mk.uniform([2])],
      op: (x, w, b) => nm.batchNormReluPool(x, { weight: w, bias: b }),
      ref: (x, w, b) => batchNormReluPoolRef(x, w, b, 1e-5),
    },
    {
      desc: "training [2, 3, 2, 2] without affine",
      inputs: [mk.uniform([2, 3, 2, 2])],
      op: (x) => nm.batchNormReluPool(x, { eps: 1e-3 }),
      ref: (x) => batchNormReluPoolRef(x, null, null, 1e-3),
    },
  ],
  errors: (mk) => [
    {
      desc: "weight of the wrong size",
      call: () => nm.batchNormReluPool(mk.uniform([2, 3, 2, 2]), { weight: mk.uniform([2]) }),
      type: ShapeError,
      includes: ["batchNormReluPool", "[3]", "[2]"],
    },
  ],
};

/** Running statistics are updated in place, with the unbiased variance (PyTorch semantics). */
const batchNormRunningInfo: OpInfo = {
  name: "batchNorm (running statistics update)",
  differentiable: false,
  samples: (mk) => [
    {
      desc: "momentum 0.1",
      inputs: [
        mk.uniform([4, 3, 2]),
        mk.uniform([3], -1, 1, { grad: false }),
        mk.uniform([3], 0.5, 2, { grad: false }),
      ],
      op: (x, m, v) => {
        const mean = mv.clone(m);
        const varr = mv.clone(v);
        nm.batchNorm(x, { runningMean: mean, runningVar: varr, training: true, momentum: 0.1 });
        return [mean, varr];
      },
      ref: (x, m, v) => {
        const s = channelStats(x);
        const n = x.data.length / 3;
        return [
          R.zip(m, s.mean, (r, b) => 0.9 * r + 0.1 * b),
          R.zip(v, s.var, (r, b) => 0.9 * r + 0.1 * b * (n / (n - 1))),
        ];
      },
    },
  ],
};

/** dropout's definition: element i is kept iff the generator's i-th draw is ≥ p, then scaled. */
function dropoutRef(seed: number, p: number) {
  return (x: Nd) => {
    const g = new Generator(seed);
    return R.map(x, (v) => (g.random() >= p ? v / (1 - p) : 0));
  };
}

const dropoutInfo: OpInfo = {
  name: "dropout",
  differentiable: true,
  samples: (mk) => [
    {
      desc: "p 0.3, seeded",
      inputs: [mk.uniform([4, 5])],
      op: (x) => nm.dropout(x, 0.3, true, new Generator(42)),
      ref: dropoutRef(42, 0.3),
    },
    {
      desc: "p 0.5 of a transposed leaf",
      inputs: [mk.transposed([3, 4])],
      op: (x) => nm.dropout(x, 0.5, true, new Generator(7)),
      ref: dropoutRef(7, 0.5),
    },
    {
      desc: "evaluation is the identity",
      inputs: [mk.uniform([3])],
      op: (x) => nm.dropout(x, 0.5, false),
      ref: (x) => x,
    },
    {
      desc: "p 1 zeroes everything",
      inputs: [mk.uniform([3])],
      op: (x) => nm.dropout(x, 1),
      ref: (x) => R.map(x, () => 0),
    },
  ],
  errors: (mk) => [
    {
      desc: "p out of range",
      call: () => nm.dropout(mk.uniform([2]), 1.5),
      type: ValueError,
      includes: ["dropout", "1.5"],
    },
  ],
};

// ---- the table -----------------------------------------------------------------------------

export const opInfos: readonly OpInfo[] = [
  ...unaryInfos,
  logicalNotInfo,
  ...binaryInfos,
  whereInfo,
  clampInfo,
  castInfo,
  ...reductionInfos,
  maxDimInfo("maxDim"),
  maxDimInfo("minDim"),
  argInfo("argmax"),
  argInfo("argmin"),
  softmaxInfo(false),
  softmaxInfo(true),
  sumToShapeInfo,
  matmulInfo,
  conv2dInfo,
  conv2dFusedInfo,
  ...convBackwardInfos,
  maxPool2dInfo,
  maxPool2dWithIndicesInfo,
  avgPool2dInfo,
  adaptiveAvgPool2dInfo,
  ...movementInfos,
  ...indexingInfos,
  batchNormInfo,
  batchNormReluPoolInfo,
  batchNormRunningInfo,
  dropoutInfo,
];

// ---- the driver ----------------------------------------------------------------------------

const FLOAT_TOL: Record<string, { atol: number; rtol: number }> = {
  float64: { atol: 1e-9, rtol: 1e-9 },
  float32: { atol: 1e-5, rtol: 1e-5 },
};

/** Where an output differs from its reference, or null when it matches. */
export function compareToReference(actual: Tensor, expected: Nd, expectedDtype?: DType): string | null {
  if (actual.shape.join() !== expected.shape.join()) {
    return `shape [${actual.shape.join(", ")}], expected [${expected.shape.join(", ")}]`;
  }
  if (expectedDtype !== undefined && actual.dtype !== expectedDtype) {
    return `dtype ${actual.dtype}, expected ${expectedDtype}`;
  }
  const got = R.readTensor(actual).data;
  const tol = FLOAT_TOL[actual.dtype] ?? { atol: 0, rtol: 0 };
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    let e = expected.data[i]!;
    if (actual.dtype === "float32") e = Math.fround(e);
    if (actual.dtype === "bool") e = e ? 1 : 0;
    const same =
      (Number.isNaN(a) && Number.isNaN(e)) || a === e || Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e);
    if (!same)
      return `element ${i} (index [${R.unravel(i, expected.shape).join(", ")}]) is ${a}, expected ${e}`;
  }
  return null;
}

function asList<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

function defaultDtype(sample: OpSample): DType | undefined {
  const firstFloat = sample.inputs.find((t) => t.dtype === "float64" || t.dtype === "float32");
  return firstFloat?.dtype;
}

/** Run every check of one op-info entry; returns the failures (empty when it conforms). */
export function checkOpInfo(info: OpInfo, options: ConformanceOptions = {}): ConformanceFailure[] {
  const backend = options.backend ?? getBackend();
  return withBackend(backend, () => {
    const failures: ConformanceFailure[] = [];
    const fail = (sample: string, check: ConformanceFailure["check"], message: string) =>
      failures.push({ op: info.name, sample, check, message });
    const mk = new SampleMaker(info.name);
    let samples: OpSample[];
    try {
      samples = info.samples(mk);
    } catch (e) {
      fail("(making samples)", "crash", String(e));
      return failures;
    }
    for (const sample of samples) {
      const call = (...xs: Tensor[]) =>
        sample.op(...xs.map((x, i) => (sample.views?.[i] ? sample.views[i]!(x) : x)));
      // Forward, with grad mode off (the inference path), against the naive reference.
      try {
        const outs = asList(noGrad(() => call(...sample.inputs)));
        const viewed = sample.inputs.map((x, i) => (sample.views?.[i] ? sample.views[i]!(x.detach()) : x));
        const expected = asList(sample.ref(...viewed.map(R.readTensor)));
        const dtypes = sample.dtype === undefined ? [] : asList(sample.dtype as DType | DType[]);
        if (outs.length !== expected.length) {
          fail(sample.desc, "forward", `${outs.length} outputs, expected ${expected.length}`);
        }
        outs.forEach((out, k) => {
          if (out.gradFn !== null) fail(sample.desc, "forward", `output ${k} recorded a graph under noGrad`);
          let dtype = dtypes[k];
          if (
            dtype === undefined &&
            sample.dtype === undefined &&
            (out.dtype === "float32" || out.dtype === "float64")
          ) {
            dtype = defaultDtype(sample);
          }
          const problem = compareToReference(out, expected[k]!, dtype);
          if (problem) fail(sample.desc, "forward", `output ${k}: ${problem}`);
        });
      } catch (e) {
        fail(sample.desc, "forward", `threw ${String(e)}`);
        continue;
      }
      const differentiable =
        info.differentiable &&
        !sample.noGrad &&
        sample.inputs.some((t) => t.requiresGrad && t.dtype === "float64");
      if (!differentiable) continue;
      if (options.gradcheck !== false) {
        try {
          gradcheck(call, sample.inputs);
        } catch (e) {
          fail(sample.desc, "gradcheck", String(e));
          continue;
        }
      }
      if (options.gradgradcheck !== false && (info.gradgrad ?? true)) {
        try {
          gradgradcheck(call, sample.inputs);
        } catch (e) {
          fail(sample.desc, "gradgradcheck", String(e));
        }
      }
    }
    for (const err of info.errors?.(mk) ?? []) {
      try {
        err.call();
        fail(err.desc, "error", `expected ${err.type.name}, nothing was thrown`);
      } catch (e) {
        if (!(e instanceof err.type)) {
          fail(err.desc, "error", `expected ${err.type.name}, got ${String(e)}`);
          continue;
        }
        const missing = err.includes.filter((s) => !e.message.includes(s));
        if (missing.length > 0) {
          fail(
            err.desc,
            "error",
            `message "${e.message}" does not mention ${missing.map((m) => `"${m}"`).join(", ")}`,
          );
        }
      }
    }
    return failures;
  });
}

/** The whole table against `backend` (default: the active one). Returns every failure. */
export function runConformance(
  backend?: Backend,
  options: Omit<ConformanceOptions, "backend"> = {},
): ConformanceFailure[] {
  return opInfos.flatMap((info) => checkOpInfo(info, backend ? { ...options, backend } : options));
}
