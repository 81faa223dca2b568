// The backend boundary. A backend is storage (alloc/read/write of JS-owned typed arrays) plus a
// kernel table keyed by op name. The TypeScript reference backend (ref/) implements every
// kernel and is the oracle; a faster backend (native/) implements a subset, and each missing
// kernel falls back to the reference. Kernels never allocate their outputs: the op layer
// allocates `out` (through the backend) and the kernel fills it, so memory stays GC-owned.
//
// Conventions for every kernel:
// - "contiguous" arrays are dense row-major with no offset;
// - a StridedView describes an input that may be a view (broadcast dims have stride 0);
// - shapes are plain number arrays; all sizes are element counts.

import type { DType, TypedArray } from "../tensor/dtype.js";

export interface StridedView {
  data: TypedArray;
  strides: readonly number[];
  offset: number;
}

export type UnaryOp =
  | "neg"
  | "exp"
  | "log"
  | "sqrt"
  | "sin"
  | "cos"
  | "tanh"
  | "sigmoid"
  | "relu"
  | "abs"
  | "sign"
  | "floor"
  | "ceil"
  | "round"
  | "erf"
  | "logicalNot";

export type BinaryOp =
  "add" | "sub" | "mul" | "div" | "pow" | "maximum" | "minimum" | "eq" | "ne" | "lt" | "le" | "gt" | "ge";

export type ReduceOp = "sum" | "max" | "min" | "prod";

export interface Conv2dParams {
  n: number; // batch
  c: number; // input channels
  h: number;
  w: number;
  o: number; // output channels
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  groups: number;
  outH: number;
  outW: number;
}

export interface Pool2dParams {
  n: number;
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  strideH: number;
  strideW: number;
  padH: number;
  padW: number;
  dilationH: number;
  dilationW: number;
  outH: number;
  outW: number;
}

export interface Kernels {
  /** out[i] = op(x[i]) over `shape`; out is contiguous. */
  unary(op: UnaryOp, x: StridedView, shape: readonly number[], out: TypedArray): void;
  /** out[i] = op(a[i], b[i]) over the broadcast `shape` (broadcast dims of a/b have stride 0). */
  binary(op: BinaryOp, a: StridedView, b: StridedView, shape: readonly number[], out: TypedArray): void;
  /** out[i] = cond[i] ? a[i] : b[i]. */
  where(cond: StridedView, a: StridedView, b: StridedView, shape: readonly number[], out: TypedArray): void;
  /** Strided → contiguous copy, converting to out's element type (also used for casts). */
  copy(x: StridedView, shape: readonly number[], out: TypedArray, outDtype: DType): void;
  /**
   * Reduce a contiguous [outer, size, inner] array over the middle axis: out has outer*inner
   * elements. Any set of axes is reduced by the op layer as a sequence of these.
   */
  reduce(op: ReduceOp, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void;
  /** Index of the max (or min) over the middle axis of [outer, size, inner]; first one on ties. */
  argReduce(
    op: "argmax" | "argmin",
    x: TypedArray,
    outer: number,
    size: number,
    inner: number,
    out: Int32Array,
  ): void;
  /** Softmax or log-softmax over the middle axis of a contiguous [outer, size, inner] array. */
  softmax(log: boolean, x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void;
  /**
   * Batched matmul: for b in [0, batch): out[b] (m×n) = op(A[b]) (m×k) · op(B[b]) (k×n).
   * A[b] starts at b*aBatchStride (0 broadcasts one matrix), stored m×k, or k×m when transA.
   * B[b] starts at b*bBatchStride, stored k×n, or n×k when transB. out is contiguous.
   */
  matmul(
    a: TypedArray,
    b: TypedArray,
    out: TypedArray,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
  ): void;
  /**
   * y[N,O,outH,outW] = conv(x[N,C,H,W], w[O,C/groups,kh,kw]), plus bias[o] on channel o when a
   * bias is given (added to the rounded convolution, in the same pass).
   */
  conv2d(x: TypedArray, w: TypedArray, p: Conv2dParams, out: TypedArray, bias?: TypedArray | null): void;
  /**
   * Inference-time convolution with its epilogue fused:
   *   out = pool?( relu?( conv(x, w)·scale[o] + shift[o] + residual ) )
   * (with relu6 as well as relu, the ReLU is ReLU6: min(max(·, 0), 6)).
   * scale/shift (per output channel; a folded eval-mode batch norm and bias), residual (same
   * shape as the convolution's output) and the ReLU are each optional; `pool` is a 2×2 stride-2
   * max-pool in floor mode (out is then [N, O, outH/2, outW/2]) and excludes a residual.
   * conv·scale + shift may round once (a fused multiply-add); NaN survives the ReLU and the pool.
   */
  conv2dFused(
    x: TypedArray,
    w: TypedArray,
    p: Conv2dParams,
    out: TypedArray,
    scale: TypedArray | null,
    shift: TypedArray | null,
    residual: TypedArray | null,
    relu: boolean,
    pool: boolean,
    relu6: boolean,
  ): void;
  /**
   * Two conv2dFused calls in a row, the second reading the first's output (a residual block's
   * body): conv2dFused(x → mid) with `first`'s epilogue, then conv2dFused(mid → out) with
   * `second`'s and the residual. No pools. Same results as the two calls; afterwards `mid` holds the
   * first's output or is left as it was (a backend may keep the intermediate in its own layout).
   */
  conv2dPairFused(
    x: TypedArray,
    first: FusedConvStep,
    mid: TypedArray,
    second: FusedConvStep,
    residual: TypedArray | null,
    out: TypedArray,
  ): void;
  /** gx[N,C,H,W] = ∂<gy, conv(x, w)>/∂x (transposed convolution of gy with w). */
  conv2dBackwardInput(gy: TypedArray, w: TypedArray, p: Conv2dParams, out: TypedArray): void;
  /** gw[O,C/groups,kh,kw] = ∂<gy, conv(x, w)>/∂w. */
  conv2dBackwardWeight(x: TypedArray, gy: TypedArray, p: Conv2dParams, out: TypedArray): void;
  /**
   * Max pooling: values into out, and for each output the flat index (h*W + w) of its max
   * within its own (n, c) plane into indices. Padding never wins (acts as -Infinity).
   */
  maxPool2d(x: TypedArray, p: Pool2dParams, out: TypedArray, indices: Int32Array): void;
  /** out = x gathered along the middle axis: x [outer, size, inner], index [outer, idxSize, inner]. */
  gather(
    x: TypedArray,
    index: Int32Array,
    outer: number,
    size: number,
    inner: number,
    idxSize: number,
    out: TypedArray,
  ): void;
  /** out (pre-filled, [outer, size, inner]) += src scattered by index [outer, idxSize, inner]. */
  scatterAdd(
    src: TypedArray,
    index: Int32Array,
    outer: number,
    size: number,
    inner: number,
    idxSize: number,
    out: TypedArray,
  ): void;
  /**
   * Max-pooling gradient: out (pre-zeroed, [N, C, H, W]) gets each g[n, c, oh, ow] added at the
   * in-plane index the forward kernel recorded (indices are trusted: they come from maxPool2d).
   */
  maxPool2dBackward(g: TypedArray, indices: Int32Array, p: Pool2dParams, out: TypedArray): void;
  /** ReLU's gradient: out[i] = y[i] > 0 ? g[i] : 0 (contiguous arrays of equal length). */
  reluBackward(g: TypedArray, y: TypedArray, out: TypedArray): void;
  /**
   * One step of torch.optim.SGD's rule, in place, on n contiguous elements: param from
   * `paramOffset`, grad from `gradOffset`, the momentum buffer `buf` (null without momentum; on
   * the `first` step it is set to the gradient). Float32 arrays round after every op, as PyTorch's
   * float32 kernels do, so trajectories match it bit for bit.
   */
  sgdStep(
    param: TypedArray,
    paramOffset: number,
    grad: TypedArray,
    gradOffset: number,
    buf: TypedArray | null,
    n: number,
    h: SgdHyper,
  ): void;
  /**
   * Per-channel mean and biased variance of a contiguous [n, c, inner] array (batch-norm
   * statistics): mean[ch] and variance[ch] over the n·inner elements of channel ch.
   */
  batchNormStats(
    x: TypedArray,
    n: number,
    c: number,
    inner: number,
    mean: TypedArray,
    variance: TypedArray,
  ): void;
  /**
   * out[i, ch, j] = x[i, ch, j]·scale[ch] + shift[ch] (+ residual[i, ch, j]) over a contiguous
   * [n, c, inner] array, then max(·, 0) when relu (NaN stays NaN): batch norm with its statistics
   * and affine folded into scale and shift, and a residual block's shortcut added before its ReLU.
   */
  channelAffine(
    x: TypedArray,
    n: number,
    c: number,
    inner: number,
    scale: TypedArray,
    shift: TypedArray,
    relu: boolean,
    out: TypedArray,
    residual?: TypedArray | null,
  ): void;
  /**
   * Gradient of training-mode batch norm y = x̂·weight + bias with x̂ = (x − mean)·invstd (batch
   * statistics) over a contiguous [n, c, inner] array, given the output gradient g:
   *   gBias = Σ g,  gWeight = Σ g·x̂,  gx = weight·invstd·(g − gBias/M − x̂·gWeight/M)   (M = n·inner).
   * weight null means 1; a null output is not computed. With reluOut (the output of a ReLU that
   * followed the batch norm), g is first masked to g·[reluOut > 0]: the ReLU's gradient, fused.
   */
  batchNormBackward(
    x: TypedArray,
    g: TypedArray,
    n: number,
    c: number,
    inner: number,
    mean: TypedArray,
    invstd: TypedArray,
    weight: TypedArray | null,
    gx: TypedArray | null,
    gWeight: TypedArray | null,
    gBias: TypedArray | null,
    reluOut?: TypedArray | null,
  ): void;
  /**
   * Training-mode BatchNorm → ReLU → 2×2 stride-2 max-pool (floor mode) over a contiguous
   * [n, c, h, w] array: z = relu(x·scale[c] + shift[c]) (NaN kept), out[n, c, h/2, w/2] = the max
   * of each window of z and indices = its in-plane index (h·W + w; the first maximum, or NaN,
   * wins). z itself is not stored.
   */
  batchNormReluPool(
    x: TypedArray,
    n: number,
    c: number,
    h: number,
    w: number,
    scale: TypedArray,
    shift: TypedArray,
    out: TypedArray,
    indices: Int32Array,
  ): void;
  /**
   * Gradient of batchNormReluPool given the pooled output, its indices and its gradient g: the
   * gradient reaching z is g at each window's argmax where the pooled value is positive and 0
   * elsewhere; the rest is batchNormBackward's formula. Null outputs are not computed.
   */
  batchNormReluPoolBackward(
    x: TypedArray,
    g: TypedArray,
    pooled: TypedArray,
    indices: Int32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    mean: TypedArray,
    invstd: TypedArray,
    weight: TypedArray | null,
    gx: TypedArray | null,
    gWeight: TypedArray | null,
    gBias: TypedArray | null,
  ): void;
  /** Constant padding of a contiguous array: pads[2*d], pads[2*d+1] = before/after on dim d. */
  pad(x: TypedArray, shape: readonly number[], pads: readonly number[], value: number, out: TypedArray): void;
}

/** Hyper-parameters of one `sgdStep` call (torch.optim.SGD's names). */
export interface SgdHyper {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
  /** The buffer is new: it takes the (decayed) gradient instead of the momentum update. */
  first: boolean;
}

/** One convolution of conv2dPairFused: weights, geometry and epilogue, as conv2dFused takes them. */
export interface FusedConvStep {
  w: TypedArray;
  p: Conv2dParams;
  scale: TypedArray | null;
  shift: TypedArray | null;
  /** A ReLU (or with relu6, a ReLU6) last. */
  relu: boolean;
  relu6: boolean;
}

export type KernelName = keyof Kernels;

export interface Backend {
  readonly name: string;
  /** Storage: a zeroed array for n elements of dtype. Reads and writes are plain indexing. */
  alloc(dtype: DType, n: number): TypedArray;
  /**
   * Storage whose contents are unspecified, for an output a kernel overwrites in full (skips the
   * zero fill; absent: `alloc` is used). Kernels write every element of `out` unless their
   * documentation says they accumulate into it (maxPool2dBackward, scatterAdd).
   */
  allocUninit?(dtype: DType, n: number): TypedArray;
  /**
   * Takes back a buffer that nothing references any more (a dead gradient, see
   * autograd/recycle.ts), for `allocUninit` to hand out again. Absent: buffers are left to the GC.
   */
  recycle?(buffer: ArrayBuffer): void;
  /** The kernels this backend implements; the rest fall back to the reference backend. */
  readonly kernels: Partial<Kernels>;
  /** Recorded runs of kernel calls, replayed in one call (absent: the backend has none). */
  readonly programs?: KernelPrograms;
}

/**
 * Programs: a backend's own recording of a run of its kernel calls, replayed with a single call
 * (an inference plan's segments, nn/plan.ts; a native backend saves a crossing into native code
 * per kernel). Between begin and end, each kernel call that the backend can record runs as usual
 * and is also appended. A program keeps reading and writing the arrays of its recorded calls,
 * except the recorded input, for which each run takes a new array of the same length.
 */
export interface KernelPrograms {
  /** Start recording calls, on `input`; false when this input cannot be recorded (dtype). */
  begin(input: TypedArray): boolean;
  /** The calls recorded so far. */
  recorded(): number;
  /** Stop recording: the program, or null when nothing was recorded. */
  end(): KernelProgram | null;
  /** The program's calls, in order, with `input` (same dtype and length) for the recorded input. */
  run(program: KernelProgram, input: TypedArray): void;
  /**
   * A guard over pairs of equally long Float32Arrays, [a0, b0, a1, b1, …], for `holds`. The
   * caller keeps the arrays alive and checks before each `holds` that none was detached.
   */
  sameBitsGuard?(pairs: Float32Array[]): SameBitsGuard;
  /** Whether every pair of the guard holds the same bits (one call for all of them). */
  holds?(guard: SameBitsGuard): boolean;
}

/** An opaque guard (see KernelPrograms.sameBitsGuard). */
export type SameBitsGuard = { readonly __guard: unique symbol };

/** An opaque recorded program (see KernelPrograms). */
export type KernelProgram = { readonly __program: unique symbol };
