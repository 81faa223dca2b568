// The native CPU backend: a C++ N-API addon (native/, built by `npm install` through node-gyp)
// wrapped as a `Backend`. Each kernel borrows the caller's typed arrays (zero copy) and runs
// synchronously on a process-wide thread pool. The wrappers send only what the addon handles
// well — float32 data, and for the cheap element-wise ops only arrays big enough to repay the
// call — and pass everything else (float64 for gradcheck, integer dtypes, tiny arrays) to the
// reference kernel, so the backend is a drop-in replacement for any input.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type {
  Backend,
  BinaryOp,
  Conv2dParams,
  FusedConvStep,
  KernelProgram,
  KernelPrograms,
  SameBitsGuard,
  Kernels,
  Pool2dParams,
  ReduceOp,
  StridedView,
  UnaryOp,
} from "../backend.js";
import { refKernels } from "../ref/index.js";
import { allocArray, arrayView, bytesPerElement, type DType, type TypedArray } from "../../tensor/dtype.js";

export interface NativeInfo {
  /** Micro-kernel set chosen for this CPU at load time: "avx512", "avx2" or "generic". */
  isa: string;
  /** Threads a kernel may use (cores, or NABLA_NUM_THREADS). */
  threads: number;
  gemmTile: string;
  gemmBlocking: string;
  scratchBytes: number;
}

/** The raw addon (see native/addon.cpp); exported for the conformance tests and benchmarks. */
export interface NativeAddon {
  info(): NativeInfo;
  /** Switch the GEMM micro-kernel ("avx512" | "avx2" | "generic"); false if this CPU lacks it. */
  selectIsa(isa: string): boolean;
  setGemmBlocking(mc: number, kc: number, nc: number): void;
  /** Resize the thread pool (1–256 threads, the calling thread included). */
  setNumThreads(n: number): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    k: number,
    n: number,
    aBatchStride: number,
    bBatchStride: number,
    transA: boolean,
    transB: boolean,
  ): void;
  conv2d(
    x: Float32Array,
    w: Float32Array,
    params: Int32Array,
    out: Float32Array,
    bias?: Float32Array | null,
  ): void;
  conv2dFused(
    x: Float32Array,
    w: Float32Array,
    params: Int32Array,
    out: Float32Array,
    scale: Float32Array | null,
    shift: Float32Array | null,
    residual: Float32Array | null,
    relu: boolean,
    pool: boolean,
    relu6: boolean,
  ): void;
  conv2dPairFused(
    x: Float32Array,
    w1: Float32Array,
    params1: Int32Array,
    scale1: Float32Array | null,
    shift1: Float32Array | null,
    relu1: boolean,
    relu6First: boolean,
    mid: Float32Array,
    w2: Float32Array,
    params2: Int32Array,
    scale2: Float32Array | null,
    shift2: Float32Array | null,
    residual: Float32Array | null,
    relu2: boolean,
    relu6Second: boolean,
    out: Float32Array,
  ): void;
  conv2dBackwardInput(gy: Float32Array, w: Float32Array, params: Int32Array, out: Float32Array): void;
  conv2dBackwardWeight(x: Float32Array, gy: Float32Array, params: Int32Array, out: Float32Array): void;
  maxPool2d(x: Float32Array, params: Int32Array, out: Float32Array, indices: Int32Array): void;
  maxPool2dBackward(g: Float32Array, indices: Int32Array, params: Int32Array, out: Float32Array): void;
  reluBackward(g: Float32Array, y: Float32Array, out: Float32Array): void;
  /** Record the recordable calls that follow (addon.cpp's Program), on this input. */
  planBegin(input: Float32Array): void;
  /** The calls recorded so far, or -1 when not recording. */
  planSteps(): number;
  /** Stop recording: the program, or null if it is empty. */
  planEnd(): object | null;
  /** Run a program, on this input. */
  planRun(program: object, input: Float32Array): void;
  /** A guard over pairs of equally long Float32Arrays ([a0, b0, a1, b1, …]). */
  guardMake(pairs: Float32Array[]): object;
  /** Whether every pair of the guard holds the same bits. */
  guardHolds(guard: object): boolean;
  sgdStep(
    param: Float32Array,
    paramOffset: number,
    grad: Float32Array,
    gradOffset: number,
    buf: Float32Array | null,
    n: number,
    hyper: Float64Array,
  ): void;
  batchNormStats(
    x: Float32Array,
    n: number,
    c: number,
    inner: number,
    mean: Float32Array,
    variance: Float32Array,
  ): void;
  channelAffine(
    x: Float32Array,
    n: number,
    c: number,
    inner: number,
    scale: Float32Array,
    shift: Float32Array,
    relu: boolean,
    out: Float32Array,
    residual: Float32Array | null,
  ): void;
  batchNormBackward(
    x: Float32Array,
    g: Float32Array,
    n: number,
    c: number,
    inner: number,
    mean: Float32Array,
    invstd: Float32Array,
    weight: Float32Array | null,
    gx: Float32Array | null,
    gWeight: Float32Array | null,
    gBias: Float32Array | null,
    reluOut: Float32Array | null,
  ): void;
  batchNormReluPool(
    x: Float32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    scale: Float32Array,
    shift: Float32Array,
    out: Float32Array,
    indices: Int32Array,
  ): void;
  batchNormReluPoolBackward(
    x: Float32Array,
    g: Float32Array,
    pooled: Float32Array,
    indices: Int32Array,
    n: number,
    c: number,
    h: number,
    w: number,
    mean: Float32Array,
    invstd: Float32Array,
    weight: Float32Array | null,
    gx: Float32Array | null,
    gWeight: Float32Array | null,
    gBias: Float32Array | null,
  ): void;
  reduce(op: number, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  softmax(log: boolean, x: Float32Array, outer: number, size: number, inner: number, out: Float32Array): void;
  unary(op: number, x: Float32Array, meta: Float64Array, out: Float32Array): void;
  binary(
    op: number,
    a: Float32Array,
    b: Float32Array,
    meta: Float64Array,
    out: Float32Array | Uint8Array,
  ): void;
}

// Op codes: the order of the enums in native/elementwise.h.
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0,
  exp: 1,
  log: 2,
  sqrt: 3,
  sin: 4,
  cos: 5,
  tanh: 6,
  sigmoid: 7,
  relu: 8,
  abs: 9,
  sign: 10,
  floor: 11,
  ceil: 12,
  round: 13,
  erf: 14,
};
/** The identity op of native/elementwise.h, used for strided float32 copies. */
const COPY_CODE = 15;
const BINARY_CODES: Record<BinaryOp, number> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  pow: 4,
  maximum: 5,
  minimum: 6,
  eq: 7,
  ne: 8,
  lt: 9,
  le: 10,
  gt: 11,
  ge: 12,
};
const FIRST_COMPARISON = BINARY_CODES.eq;
const REDUCE_CODES: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, prod: 3 };

/** Below this many elements an element-wise op stays in TypeScript (the N-API call costs more). */
const MIN_ELEMENTWISE = 4096;
/**
 * Below this many multiply-adds a matmul stays in TypeScript. Kept small: the reference packs
 * its operands into float64 copies, which costs more than the N-API call already at batch-1
 * classifier heads (128→10: 73 µs in TypeScript, a few µs native).
 */
const MIN_MATMUL_MACS = 256;
const MAX_DIMS = 8;

let addon: NativeAddon | null | undefined;
let warned = false;

function packageRoot(): string | null {
  // src/backend/native/index.ts when run from source, dist/src/backend/native/index.js when built.
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const pkg = path.join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "nabla") return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

function loadAddon(): NativeAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.env["NABLA_BACKEND"] === "ref") return null;
  let reason: string;
  const root = packageRoot();
  const file = root === null ? null : path.join(root, "build", "Release", "nabla_native.node");
  if (file === null) {
    reason = "package root not found";
  } else if (!existsSync(file)) {
    reason = `${path.relative(process.cwd(), file) || file} not built; run \`npm run install\``;
  } else {
    try {
      const loaded = createRequire(import.meta.url)(file) as NativeAddon;
      loaded.info();
      addon = loaded;
      return addon;
    } catch (e) {
      reason = e instanceof Error ? e.message : String(e);
    }
  }
  if (!warned) {
    warned = true;
    process.stderr.write(`nabla: native backend unavailable (${reason}); using the TypeScript backend\n`);
  }
  return null;
}

/** The raw addon, or null when it is unavailable (no warning beyond the loader's one). */
export function nativeAddon(): NativeAddon | null {
  return loadAddon();
}

/**
 * Set how many threads native kernels use (like torch.set_num_threads); false when the native
 * backend is unavailable. NABLA_NUM_THREADS sets the initial size; this resizes a running pool.
 * Results do not depend on the thread count: kernels split their work by shape.
 */
export function setNumThreads(n: number): boolean {
  const lib = loadAddon();
  if (lib === null) return false;
  lib.setNumThreads(n);
  return true;
}

/** ISA and thread count of the native backend, or null when it is unavailable. */
export function nativeInfo(): NativeInfo | null {
  return loadAddon()?.info() ?? null;
}

const convParams = new Int32Array(16);
function packConv(p: Conv2dParams, into = convParams): Int32Array {
  into[0] = p.n;
  into[1] = p.c;
  into[2] = p.h;
  into[3] = p.w;
  into[4] = p.o;
  into[5] = p.kh;
  into[6] = p.kw;
  into[7] = p.strideH;
  into[8] = p.strideW;
  into[9] = p.padH;
  into[10] = p.padW;
  into[11] = p.dilationH;
  into[12] = p.dilationW;
  into[13] = p.groups;
  into[14] = p.outH;
  into[15] = p.outW;
  return into;
}

// conv2dPairFused's second convolution.
const convParams2 = new Int32Array(16);

const poolParams = new Int32Array(14);
function packPool(p: Pool2dParams): Int32Array {
  poolParams[0] = p.n;
  poolParams[1] = p.c;
  poolParams[2] = p.h;
  poolParams[3] = p.w;
  poolParams[4] = p.kh;
  poolParams[5] = p.kw;
  poolParams[6] = p.strideH;
  poolParams[7] = p.strideW;
  poolParams[8] = p.padH;
  poolParams[9] = p.padW;
  poolParams[10] = p.dilationH;
  poolParams[11] = p.dilationW;
  poolParams[12] = p.outH;
  poolParams[13] = p.outW;
  return poolParams;
}

/** [ndim, shape..., then per view: offset, strides...] for the strided element-wise kernels. */
const meta = new Float64Array(1 + MAX_DIMS + 2 * (1 + MAX_DIMS));
function packMeta(shape: readonly number[], views: readonly StridedView[]): Float64Array {
  const nd = shape.length;
  meta[0] = nd;
  for (let d = 0; d < nd; d++) meta[1 + d] = shape[d]!;
  views.forEach((v, k) => {
    const base = 1 + nd + k * (1 + nd);
    meta[base] = v.offset;
    for (let d = 0; d < nd; d++) meta[base + 1 + d] = v.strides[d]!;
  });
  return meta;
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

const sgdHyper = new Float64Array(7);

const isF32 = (a: TypedArray): a is Float32Array => a instanceof Float32Array;
// (Helpers live at module level: a closure made per call costs a function object each time,
// and under tsx, which keeps function names, a defineProperty too.)
const isF32OrNull = (a: TypedArray | null): boolean => a === null || isF32(a);
const f32Step = (s: FusedConvStep): boolean => isF32(s.w) && isF32OrNull(s.scale) && isF32OrNull(s.shift);
const f32OrNull = (a: TypedArray | null) => a as Float32Array | null;
const f32 = (a: TypedArray) => a as Float32Array;

function makeKernels(lib: NativeAddon): Partial<Kernels> {
  const ref = refKernels;
  return {
    matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB) {
      if (!isF32(a) || !isF32(b) || !isF32(out) || batch * m * n * k < MIN_MATMUL_MACS) {
        ref.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB);
        return;
      }
      lib.matmul(a, b, out, batch, m, k, n, aBatchStride, bBatchStride, transA, transB);
    },
    conv2d(x, w, p, out, bias = null) {
      if (!isF32(x) || !isF32(w) || !isF32(out) || (bias && !isF32(bias)))
        return ref.conv2d(x, w, p, out, bias);
      lib.conv2d(x, w, packConv(p), out, bias);
    },
    conv2dFused(x, w, p, out, scale, shift, residual, relu, pool, relu6) {
      if (![x, w, out, scale, shift, residual].every(isF32OrNull))
        return ref.conv2dFused(x, w, p, out, scale, shift, residual, relu, pool, relu6);
      lib.conv2dFused(
        x as Float32Array,
        w as Float32Array,
        packConv(p),
        out as Float32Array,
        f32OrNull(scale),
        f32OrNull(shift),
        f32OrNull(residual),
        relu,
        pool,
        relu6,
      );
    },
    conv2dPairFused(x, first, mid, second, residual, out) {
      if (
        !f32Step(first) ||
        !f32Step(second) ||
        !isF32(x) ||
        !isF32(mid) ||
        !isF32(out) ||
        !isF32OrNull(residual)
      )
        return ref.conv2dPairFused(x, first, mid, second, residual, out);
      lib.conv2dPairFused(
        x,
        first.w as Float32Array,
        packConv(first.p),
        f32OrNull(first.scale),
        f32OrNull(first.shift),
        first.relu,
        first.relu6,
        mid,
        second.w as Float32Array,
        packConv(second.p, convParams2),
        f32OrNull(second.scale),
        f32OrNull(second.shift),
        f32OrNull(residual),
        second.relu,
        second.relu6,
        out,
      );
    },
    conv2dBackwardInput(gy, w, p, out) {
      if (!isF32(gy) || !isF32(w) || !isF32(out)) return ref.conv2dBackwardInput(gy, w, p, out);
      lib.conv2dBackwardInput(gy, w, packConv(p), out);
    },
    conv2dBackwardWeight(x, gy, p, out) {
      if (!isF32(x) || !isF32(gy) || !isF32(out)) return ref.conv2dBackwardWeight(x, gy, p, out);
      lib.conv2dBackwardWeight(x, gy, packConv(p), out);
    },
    maxPool2d(x, p, out, indices) {
      if (!isF32(x) || !isF32(out)) return ref.maxPool2d(x, p, out, indices);
      lib.maxPool2d(x, packPool(p), out, indices);
    },
    maxPool2dBackward(g, indices, p, out) {
      if (!isF32(g) || !isF32(out)) return ref.maxPool2dBackward(g, indices, p, out);
      lib.maxPool2dBackward(g, indices, packPool(p), out);
    },
    reluBackward(g, y, out) {
      if (!isF32(g) || !isF32(y) || !isF32(out) || out.length < MIN_ELEMENTWISE) {
        return ref.reluBackward(g, y, out);
      }
      lib.reluBackward(g, y, out);
    },
    sgdStep(param, paramOffset, grad, gradOffset, buf, n, h) {
      if (!isF32(param) || !isF32(grad) || (buf !== null && !isF32(buf))) {
        return ref.sgdStep(param, paramOffset, grad, gradOffset, buf, n, h);
      }
      sgdHyper[0] = h.lr;
      sgdHyper[1] = h.momentum;
      sgdHyper[2] = h.dampening;
      sgdHyper[3] = h.weightDecay;
      sgdHyper[4] = h.nesterov ? 1 : 0;
      sgdHyper[5] = h.maximize ? 1 : 0;
      sgdHyper[6] = h.first ? 1 : 0;
      lib.sgdStep(param, paramOffset, grad, gradOffset, buf, n, sgdHyper);
    },
    batchNormStats(x, n, c, inner, mean, variance) {
      if (!isF32(x) || !isF32(mean) || !isF32(variance)) {
        return ref.batchNormStats(x, n, c, inner, mean, variance);
      }
      lib.batchNormStats(x, n, c, inner, mean, variance);
    },
    channelAffine(x, n, c, inner, scale, shift, relu, out, residual = null) {
      if (!isF32(x) || !isF32(scale) || !isF32(shift) || !isF32(out) || (residual && !isF32(residual))) {
        return ref.channelAffine(x, n, c, inner, scale, shift, relu, out, residual);
      }
      lib.channelAffine(x, n, c, inner, scale, shift, relu, out, residual as Float32Array | null);
    },
    batchNormBackward(x, g, n, c, inner, mean, invstd, weight, gx, gWeight, gBias, reluOut = null) {
      if (![x, g, mean, invstd, weight, gx, gWeight, gBias, reluOut].every(isF32OrNull)) {
        return ref.batchNormBackward(x, g, n, c, inner, mean, invstd, weight, gx, gWeight, gBias, reluOut);
      }
      lib.batchNormBackward(
        x as Float32Array,
        g as Float32Array,
        n,
        c,
        inner,
        mean as Float32Array,
        invstd as Float32Array,
        f32OrNull(weight),
        f32OrNull(gx),
        f32OrNull(gWeight),
        f32OrNull(gBias),
        f32OrNull(reluOut),
      );
    },
    batchNormReluPool(x, n, c, h, w, scale, shift, out, indices) {
      if (![x, scale, shift, out].every(isF32))
        return ref.batchNormReluPool(x, n, c, h, w, scale, shift, out, indices);
      lib.batchNormReluPool(f32(x), n, c, h, w, f32(scale), f32(shift), f32(out), indices);
    },
    batchNormReluPoolBackward(x, g, pooled, indices, n, c, h, w, mean, invstd, weight, gx, gWeight, gBias) {
      if (![x, g, pooled, mean, invstd, weight, gx, gWeight, gBias].every(isF32OrNull))
        return ref.batchNormReluPoolBackward(
          x,
          g,
          pooled,
          indices,
          n,
          c,
          h,
          w,
          mean,
          invstd,
          weight,
          gx,
          gWeight,
          gBias,
        );
      lib.batchNormReluPoolBackward(
        x as Float32Array,
        g as Float32Array,
        pooled as Float32Array,
        indices,
        n,
        c,
        h,
        w,
        mean as Float32Array,
        invstd as Float32Array,
        f32OrNull(weight),
        f32OrNull(gx),
        f32OrNull(gWeight),
        f32OrNull(gBias),
      );
    },
    reduce(op, x, outer, size, inner, out) {
      if (!isF32(x) || !isF32(out) || outer * size * inner < MIN_ELEMENTWISE) {
        return ref.reduce(op, x, outer, size, inner, out);
      }
      lib.reduce(REDUCE_CODES[op], x, outer, size, inner, out);
    },
    softmax(log, x, outer, size, inner, out) {
      if (!isF32(x) || !isF32(out) || outer * size * inner < MIN_ELEMENTWISE) {
        return ref.softmax(log, x, outer, size, inner, out);
      }
      lib.softmax(log, x, outer, size, inner, out);
    },
    unary(op, x, shape, out) {
      const code = UNARY_CODES[op];
      if (code === undefined || !isF32(x.data) || !isF32(out) || shape.length > MAX_DIMS) {
        return ref.unary(op, x, shape, out);
      }
      if (numel(shape) < MIN_ELEMENTWISE) return ref.unary(op, x, shape, out);
      lib.unary(code, x.data, packMeta(shape, [x]), out);
    },
    copy(x, shape, out, outDtype) {
      // float32 → float32 copies of views (broadcast gradients, transposes); casts stay in TS.
      if (outDtype !== "float32" || !isF32(x.data) || !isF32(out) || shape.length > MAX_DIMS) {
        return ref.copy(x, shape, out, outDtype);
      }
      if (numel(shape) < MIN_ELEMENTWISE) return ref.copy(x, shape, out, outDtype);
      lib.unary(COPY_CODE, x.data, packMeta(shape, [x]), out);
    },
    binary(op, a, b, shape, out) {
      const code = BINARY_CODES[op];
      const outOk = code >= FIRST_COMPARISON ? out instanceof Uint8Array : isF32(out);
      if (!outOk || !isF32(a.data) || !isF32(b.data) || shape.length > MAX_DIMS) {
        return ref.binary(op, a, b, shape, out);
      }
      if (numel(shape) < MIN_ELEMENTWISE) return ref.binary(op, a, b, shape, out);
      lib.binary(code, a.data, b.data, packMeta(shape, [a, b]), out as Float32Array | Uint8Array);
    },
  };
}

/**
 * The native backend, or null (after one warning on stderr) when the addon is missing or fails
 * to load. NABLA_BACKEND=ref makes it null without a warning.
 */
export function loadNativeBackend(): Backend | null {
  const lib = loadAddon();
  if (lib === null) return null;
  return {
    name: "native",
    alloc: allocArray,
    allocUninit,
    recycle,
    kernels: makeKernels(lib),
    programs: programs(lib),
  };
}

// Each wrapper in makeKernels calls the addon at most once and does nothing else to the arrays
// (it only packs parameters), so a recorded addon call is the whole of its kernel call.
function programs(lib: NativeAddon): KernelPrograms {
  return {
    begin(input) {
      if (!isF32(input)) return false;
      lib.planBegin(input);
      return true;
    },
    recorded: () => lib.planSteps(),
    end: () => lib.planEnd() as KernelProgram | null,
    run: (program, input) => lib.planRun(program, input as Float32Array),
    sameBitsGuard: (pairs) => lib.guardMake(pairs) as SameBitsGuard,
    holds: (guard) => lib.guardHolds(guard),
  };
}

/** Below this many bytes a zero-filled array is as cheap as any other. */
const MIN_UNINIT_BYTES = 16384;
let poison = process.env["NABLA_POISON_UNINIT"] === "1";

/**
 * Fill every uninitialised array with NaN (integers: 0x5A bytes) so that a kernel which does
 * not write its whole output shows up in the tests. Also set by NABLA_POISON_UNINIT=1.
 */
export function setPoisonUninit(on: boolean): void {
  poison = on;
}

/**
 * Dead buffers handed back by the autograd engine (Backend.recycle), by size in bytes, for
 * allocUninit to reuse: a training step then allocates almost nothing new for its gradients.
 * Bounded, so that shapes that never come back do not pin memory.
 */
const pool = new Map<number, ArrayBuffer[]>();
let pooledBytes = 0;
const MAX_POOLED_BYTES = 256 << 20;
const MAX_POOLED_PER_SIZE = 64;

function recycle(buffer: ArrayBuffer): void {
  if (pooledBytes + buffer.byteLength > MAX_POOLED_BYTES) return;
  const list = pool.get(buffer.byteLength);
  // A size nobody asks for again must not grow a long list (the check below scans it).
  if (list && list.length >= MAX_POOLED_PER_SIZE) return;
  if (list?.includes(buffer)) return; // handed back twice: it must still be given out only once
  if (list) list.push(buffer);
  else pool.set(buffer.byteLength, [buffer]);
  pooledBytes += buffer.byteLength;
}

/** Drop every pooled buffer (they go to the garbage collector), e.g. after training. */
export function clearRecycledBuffers(): void {
  pool.clear();
  pooledBytes = 0;
}

/**
 * Storage without the zero fill: a recycled buffer of the same size, else (from 16 KiB) Node's
 * allocUnsafeSlow, which takes the block from malloc rather than calloc (outputs are overwritten
 * by their kernel anyway; see Backend.allocUninit).
 */
function allocUninit(dtype: DType, n: number): TypedArray {
  const bytes = n * bytesPerElement(dtype);
  let buffer = pool.get(bytes)?.pop();
  if (!buffer && bytes < MIN_UNINIT_BYTES && !poison) return allocArray(dtype, n);
  if (buffer) pooledBytes -= bytes;
  else buffer = Buffer.allocUnsafeSlow(bytes).buffer as ArrayBuffer;
  const out = arrayView(dtype, buffer, n);
  if (poison) {
    if (out instanceof Float32Array || out instanceof Float64Array) out.fill(NaN);
    else new Uint8Array(buffer, 0, bytes).fill(0x5a);
  }
  return out;
}
