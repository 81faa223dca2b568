// The Tensor: a typed-array storage viewed through a shape, strides and an offset. Views
// (reshape, permute, slices, expand) share storage; a copy is made only when an op needs
// contiguous input. Methods are thin wrappers over the op functions in src/autograd/ops, so
// `a.mul(b).sum()` and `sum(mul(a, b))` are the same thing.
import type { DType, TypedArray } from "./dtype.js";
import { isFloating } from "./dtype.js";
import { contiguousStrides, numel, type Shape } from "./shape.js";
import type { StridedView } from "../backend/backend.js";
import { DTypeError } from "../errors.js";
import type { GradNode, GradOptions } from "../autograd/engine.js";
import * as engine from "../autograd/engine.js";
import * as ew from "../autograd/ops/elementwise.js";
import * as red from "../autograd/ops/reduce.js";
import * as mv from "../autograd/ops/movement.js";
import * as mm from "../autograd/ops/matmul.js";
import * as ix from "../autograd/ops/indexing.js";
import { formatTensor } from "./format.js";
import { getBackend } from "../backend/registry.js";

type Other = Tensor | number;
type Axes = number | readonly number[];

export class Tensor {
  /** The underlying storage; views share it. Prefer `data` for reading elements in order. */
  readonly storage: TypedArray;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  /** The gradient accumulated by backward() (leaves, and non-leaves that called retainGrad()). */
  grad: Tensor | null = null;
  /** The node that produced this tensor, or null for a leaf. */
  gradFn: GradNode | null = null;
  private requiresGradFlag = false;

  constructor(storage: TypedArray, shape: Shape, dtype: DType, strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    if (!strides) this.contiguousMemo = true;
    this.offset = offset;
    this.dtype = dtype;
  }

  // ---- autograd flags --------------------------------------------------------------------

  get requiresGrad(): boolean {
    return this.requiresGradFlag;
  }

  set requiresGrad(value: boolean) {
    if (value && !isFloating(this.dtype)) {
      throw new DTypeError(`only tensors of floating point dtype can require gradients (got ${this.dtype})`);
    }
    this.requiresGradFlag = value;
  }

  /** Set requiresGrad in place and return this (like PyTorch's requires_grad_()). */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Keep .grad on this non-leaf tensor after backward(). */
  retainGrad(): this {
    if (this.gradFn) this.gradFn.retained = this;
    return this;
  }

  backward(gradOutput?: Tensor, options: Omit<GradOptions, "gradOutputs"> = {}): void {
    engine.backward([this], gradOutput ? { ...options, gradOutputs: [gradOutput] } : options);
  }

  /** A tensor sharing storage with this one but cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.dtype, this.strides, this.offset);
  }

  // ---- geometry ---------------------------------------------------------------------------

  get ndim(): number {
    return this.shape.length;
  }

  get numel(): number {
    // (The shape is frozen: computed once, like isContiguous.)
    if (this.numelMemo === undefined) this.numelMemo = numel(this.shape);
    return this.numelMemo;
  }
  private numelMemo: number | undefined;

  size(dim?: number): number | readonly number[] {
    if (dim === undefined) return this.shape;
    return this.shape[dim < 0 ? dim + this.ndim : dim]!;
  }

  get isContiguous(): boolean {
    // Shape and strides are frozen, so the answer is computed once (a hot check in every op).
    if (this.contiguousMemo === undefined) {
      const expected = contiguousStrides(this.shape);
      this.contiguousMemo = this.shape.every((d, i) => d === 1 || this.strides[i] === expected[i]);
    }
    return this.contiguousMemo;
  }
  private contiguousMemo: boolean | undefined;

  /** Storage, strides and offset, as kernels take them. */
  get view_(): StridedView {
    return { data: this.storage, strides: this.strides, offset: this.offset };
  }

  // ---- readback ---------------------------------------------------------------------------

  /**
   * The elements in row-major order. For a contiguous tensor this is a view of the storage
   * (writes go to the tensor); otherwise a fresh copy.
   */
  get data(): TypedArray {
    if (this.isContiguous) return this.storage.subarray(this.offset, this.offset + this.numel);
    return mv.contiguous(this).storage;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new DTypeError(`item: tensor has ${this.numel} elements, expected 1`);
    return this.storage[this.offset]!;
  }

  /** Nested JS arrays (numbers; booleans for bool tensors). */
  toArray(): unknown {
    const flat = Array.from(this.data, (v) => (this.dtype === "bool" ? v !== 0 : v));
    if (this.ndim === 0) return flat[0];
    const build = (dim: number, start: number): unknown[] => {
      const size = this.shape[dim]!;
      const stride = numel(this.shape.slice(dim + 1));
      return Array.from({ length: size }, (_, i) =>
        dim === this.ndim - 1 ? flat[start + i] : build(dim + 1, start + i * stride),
      );
    };
    return build(0, 0);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  // ---- elementwise ------------------------------------------------------------------------

  add(other: Other, alpha?: number): Tensor {
    return ew.add(this, alpha === undefined ? other : ew.mul(ew.asTensor(other, this), alpha));
  }
  sub(other: Other): Tensor {
    return ew.sub(this, other);
  }
  mul(other: Other): Tensor {
    return ew.mul(this, other);
  }
  div(other: Other): Tensor {
    return ew.div(this, other);
  }
  pow(other: Other): Tensor {
    return ew.pow(this, other);
  }
  maximum(other: Other): Tensor {
    return ew.maximum(this, other);
  }
  minimum(other: Other): Tensor {
    return ew.minimum(this, other);
  }
  eq(other: Other): Tensor {
    return ew.eq(this, other);
  }
  ne(other: Other): Tensor {
    return ew.ne(this, other);
  }
  lt(other: Other): Tensor {
    return ew.lt(this, other);
  }
  le(other: Other): Tensor {
    return ew.le(this, other);
  }
  gt(other: Other): Tensor {
    return ew.gt(this, other);
  }
  ge(other: Other): Tensor {
    return ew.ge(this, other);
  }
  neg(): Tensor {
    return ew.neg(this);
  }
  exp(): Tensor {
    return ew.exp(this);
  }
  log(): Tensor {
    return ew.log(this);
  }
  sqrt(): Tensor {
    return ew.sqrt(this);
  }
  rsqrt(): Tensor {
    return ew.rsqrt(this);
  }
  square(): Tensor {
    return ew.mul(this, this);
  }
  reciprocal(): Tensor {
    return ew.div(1, this);
  }
  sin(): Tensor {
    return ew.sin(this);
  }
  cos(): Tensor {
    return ew.cos(this);
  }
  tanh(): Tensor {
    return ew.tanh(this);
  }
  sigmoid(): Tensor {
    return ew.sigmoid(this);
  }
  relu(): Tensor {
    return ew.relu(this);
  }
  abs(): Tensor {
    return ew.abs(this);
  }
  sign(): Tensor {
    return ew.sign(this);
  }
  floor(): Tensor {
    return ew.floor(this);
  }
  ceil(): Tensor {
    return ew.ceil(this);
  }
  round(): Tensor {
    return ew.round(this);
  }
  erf(): Tensor {
    return ew.erf(this);
  }
  logicalNot(): Tensor {
    return ew.logicalNot(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ew.clamp(this, min, max);
  }
  where(condition: Tensor, other: Other): Tensor {
    return ew.where(condition, this, other);
  }

  // ---- dtype ------------------------------------------------------------------------------

  /** This tensor in `dtype`: itself when it already is (like torch), else a converted copy. */
  to(dtype: DType): Tensor {
    return dtype === this.dtype ? this : ew.cast(this, dtype);
  }
  float(): Tensor {
    return this.to("float32");
  }
  double(): Tensor {
    return this.to("float64");
  }
  int(): Tensor {
    return this.to("int32");
  }
  bool(): Tensor {
    return this.to("bool");
  }

  // ---- reductions -------------------------------------------------------------------------

  sum(axes?: Axes, keepdim = false): Tensor {
    return red.sum(this, axes, keepdim);
  }
  mean(axes?: Axes, keepdim = false): Tensor {
    return red.mean(this, axes, keepdim);
  }
  amax(axes?: Axes, keepdim = false): Tensor {
    return red.amax(this, axes, keepdim);
  }
  amin(axes?: Axes, keepdim = false): Tensor {
    return red.amin(this, axes, keepdim);
  }
  /** Max over everything, or {values, indices} along `dim` (like torch.max). */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  max(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? red.amax(this) : red.maxDim(this, dim, keepdim);
  }
  min(): Tensor;
  min(dim: number, keepdim?: boolean): { values: Tensor; indices: Tensor };
  min(dim?: number, keepdim = false): Tensor | { values: Tensor; indices: Tensor } {
    return dim === undefined ? red.amin(this) : red.minDim(this, dim, keepdim);
  }
  argmax(dim?: number, keepdim = false): Tensor {
    return red.argmax(this, dim, keepdim);
  }
  argmin(dim?: number, keepdim = false): Tensor {
    return red.argmin(this, dim, keepdim);
  }
  var(axes?: Axes, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.variance(this, axes, options);
  }
  std(axes?: Axes, options: { correction?: number; keepdim?: boolean } = {}): Tensor {
    return red.std(this, axes, options);
  }
  logsumexp(axes: Axes, keepdim = false): Tensor {
    return red.logsumexp(this, axes, keepdim);
  }
  softmax(dim: number): Tensor {
    return red.softmax(this, dim);
  }
  logSoftmax(dim: number): Tensor {
    return red.logSoftmax(this, dim);
  }

  // ---- movement ---------------------------------------------------------------------------

  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return mv.reshape(this, flattenArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return mv.view(this, flattenArgs(shape));
  }
  permute(...dims: number[] | [readonly number[]]): Tensor {
    return mv.permute(this, flattenArgs(dims));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return mv.transpose(this, dim0, dim1);
  }
  /** Transpose of a matrix (the last two dims of a batch). */
  get T(): Tensor {
    return mv.transpose(this, -2, -1);
  }
  t(): Tensor {
    return mv.transpose(this, -2, -1);
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return mv.expand(this, flattenArgs(shape));
  }
  expandAs(other: Tensor): Tensor {
    return mv.expand(this, other.shape);
  }
  squeeze(dim?: number | readonly number[]): Tensor {
    return mv.squeeze(this, dim);
  }
  unsqueeze(dim: number): Tensor {
    return mv.unsqueeze(this, dim);
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return mv.flatten(this, startDim, endDim);
  }
  narrow(dim: number, start: number, length: number): Tensor {
    return mv.narrow(this, dim, start, length);
  }
  /** Elements start, start+step, ... < end along dim (negative indices count from the end). */
  slice(dim: number, start?: number, end?: number, step?: number): Tensor {
    return mv.slice(this, dim, start, end, step);
  }
  /** Index `index` along `dim`, removing that dim. */
  select(dim: number, index: number): Tensor {
    return mv.select(this, dim, index);
  }
  split(sizeOrSections: number | readonly number[], dim = 0): Tensor[] {
    return mv.split(this, sizeOrSections, dim);
  }
  chunk(chunks: number, dim = 0): Tensor[] {
    return mv.chunk(this, chunks, dim);
  }
  pad(pads: readonly number[], value = 0): Tensor {
    return mv.pad(this, pads, value);
  }
  contiguous(): Tensor {
    return mv.contiguous(this);
  }
  clone(): Tensor {
    return mv.clone(this);
  }

  // ---- linear algebra and indexing -------------------------------------------------------

  matmul(other: Tensor): Tensor {
    return mm.matmul(this, other);
  }
  gather(dim: number, index: Tensor): Tensor {
    return ix.gather(this, dim, index);
  }
  indexSelect(dim: number, index: Tensor): Tensor {
    return ix.indexSelect(this, dim, index);
  }

  // ---- like-constructors (same dtype) ---------------------------------------------------

  zerosLike(): Tensor {
    return new Tensor(allocFor(this.dtype, this.numel), this.shape, this.dtype);
  }
  onesLike(): Tensor {
    const t = this.zerosLike();
    t.storage.fill(1);
    return t;
  }
  fullLike(value: number): Tensor {
    const t = this.zerosLike();
    t.storage.fill(value);
    return t;
  }
}

function allocFor(dtype: DType, n: number): TypedArray {
  return getBackend().alloc(dtype, n);
}

function flattenArgs(args: number[] | [readonly number[]]): readonly number[] {
  return args.length === 1 && Array.isArray(args[0]) ? (args[0] as readonly number[]) : (args as number[]);
}
