// Inference fusion. With autograd off (noGrad), a Conv2d followed by an eval-mode BatchNorm2d, a
// ReLU (or ReLU6) and a 2×2 stride-2 MaxPool2d (any of the three, in that order) runs as one
// conv2dFused kernel: the batch norm folds into a per-channel scale and shift, and the ReLU and the pool run
// on the output tile while it is still in registers. That removes three passes over the largest
// activations and their allocations, which is most of a small CNN's inference time.
//
// With autograd on (training), BatchNorm2d → ReLU still fuse: one pass for the normalisation and
// the ReLU, and the ReLU's gradient folded into the batch norm's backward kernel; followed by a
// 2×2 MaxPool2d, the three run as batchNormReluPool, which never stores the ReLU output. A
// residual block's tail, relu(bn2(x) + shortcut), is one pass too (bnAddRelu).
//
// Only modules without forward hooks take part (a hook must see its module's own output), and
// results match the unfused layers up to rounding: the folded scale·conv + shift rounds once
// where batch norm rounds twice.
import type { Tensor } from "../tensor/tensor.js";
import { fromArray } from "../tensor/creation.js";
import { allocArray } from "../tensor/dtype.js";
import { isGradEnabled } from "../autograd/engine.js";
import { conv2dFused, conv2dPairFused } from "../autograd/ops/conv_fused.js";
import { linearFused } from "../autograd/ops/linear_fused.js";
import type { AnyModule, Module } from "./module.js";
import { Conv2d } from "./layers/conv.js";
import { Linear } from "./layers/linear.js";
import { BatchNorm2d } from "./layers/batchnorm.js";
import { ReLU, ReLU6 } from "./layers/activation.js";
import { MaxPool2d } from "./layers/pooling.js";

/** True when fusion may replace layers: autograd is off, so no graph would be recorded. */
export function fusionEnabled(): boolean {
  return !isGradEnabled();
}

const plain = (m: AnyModule | undefined) => m !== undefined && !m.hasForwardHooks();

function isFoldableBn(m: AnyModule | undefined, channels: number): m is BatchNorm2d {
  return (
    m instanceof BatchNorm2d &&
    plain(m) &&
    !m.training &&
    m.trackRunningStats &&
    m.runningMean !== null &&
    m.runningVar !== null &&
    m.numFeatures === channels
  );
}

const is = (v: MaxPool2d["kernelSize"], n: number) =>
  typeof v === "number" ? v === n : v[0] === n && v[1] === n;

function isPool2x2(m: AnyModule | undefined): m is MaxPool2d {
  if (!(m instanceof MaxPool2d) || !plain(m) || m.ceilMode) return false;
  return is(m.kernelSize, 2) && is(m.stride, 2) && is(m.padding, 0) && is(m.dilation, 1);
}

export type Folded = { scale: Tensor | null; shift: Tensor | null };

/**
 * Told of every fold a fused forward uses (nn/plan.ts: an inference plan keeps the folded arrays
 * and checks, before each replay, that each is still current: foldIsCurrent).
 */
let foldListener: ((conv: Conv2d, bn: BatchNorm2d, folded: Folded) => void) | null = null;

export function setFoldListener(fn: ((conv: Conv2d, bn: BatchNorm2d, folded: Folded) => void) | null): void {
  foldListener = fn;
}

/**
 * The last fold of each batch norm, with copies of what it was computed from. Parameters and
 * running statistics change in place (optimizer steps, loadStateDict, training-mode forwards), so
 * a cached fold is reused only while every input still holds the same values: comparing 4–5
 * arrays of C numbers costs far less than folding again (batch-1 inference calls this per layer).
 */
const foldCache = new WeakMap<
  BatchNorm2d,
  { conv: Conv2d; eps: number; dtype: string; inputs: ArrayLike<number>[]; folded: Folded }
>();

function foldInputs(conv: Conv2d, bn: BatchNorm2d): (ArrayLike<number> | null)[] {
  return [
    values(bn.runningMean!),
    values(bn.runningVar!),
    bn.weight ? values(bn.weight) : null,
    bn.bias ? values(bn.bias) : null,
    conv.bias ? values(conv.bias) : null,
  ];
}

/** t's elements in order: its storage when that holds exactly them (no view is made), else data. */
function values(t: Tensor): ArrayLike<number> {
  return t.isContiguous && t.offset === 0 && t.storage.length === t.numel ? t.storage : t.data;
}

// The comparisons run per layer on every batch-1 call, so the float32 case (every model unless the
// user asks for float64) compares two Float32Arrays in a loop V8 sees one array type in.
function sameFloat32(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}

function sameAny(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let j = 0; j < a.length; j++) if (a[j] !== b[j]) return false;
  return true;
}

/** Whether the saved copy `saved` still equals t's values (an absent t was saved as []). */
function sameAsSaved(saved: ArrayLike<number>, t: Tensor | null | undefined): boolean {
  if (!t) return saved.length === 0;
  const now = values(t);
  return saved instanceof Float32Array && now instanceof Float32Array
    ? sameFloat32(saved, now)
    : sameAny(saved, now);
}

type CachedFold = NonNullable<ReturnType<typeof foldCache.get>>;

/** Whether the cached fold `hit` is still bn's fold after conv: same layers, eps, dtype and values. */
function stillHolds(hit: CachedFold, conv: Conv2d, bn: BatchNorm2d): boolean {
  if (hit.conv !== conv || hit.eps !== bn.eps || hit.dtype !== conv.weight.dtype) return false;
  const saved = hit.inputs; // (in foldInputs' order, compared without building that list)
  return (
    sameAsSaved(saved[0]!, bn.runningMean) &&
    sameAsSaved(saved[1]!, bn.runningVar) &&
    sameAsSaved(saved[2]!, bn.weight) &&
    sameAsSaved(saved[3]!, bn.bias) &&
    sameAsSaved(saved[4]!, conv.bias)
  );
}

/**
 * Whether foldBatchNormCached(conv, bn) would return `folded` now: it is the cached fold and still
 * holds (an inference plan asks this for every fold before every replay).
 */
export function foldIsCurrent(conv: Conv2d, bn: BatchNorm2d, folded: Folded): boolean {
  const hit = foldCache.get(bn);
  return hit !== undefined && hit.folded === folded && stillHolds(hit, conv, bn);
}

/**
 * A fold's inputs, set up for a native check of their values (KernelPrograms.sameBitsGuard): the
 * tensors, their storages and lengths, and `pairs` (live storage, saved copy) for the guard. Null
 * when `folded` is not bn's cached fold or an input is not a plain float32 tensor (its values then
 * are checked in JavaScript, foldIsCurrent).
 */
export interface FoldGuard {
  conv: Conv2d;
  bn: BatchNorm2d;
  folded: Folded;
  tensors: (Tensor | null)[];
  storages: (Float32Array | null)[];
  lengths: number[];
  pairs: Float32Array[];
}

export function foldGuard(conv: Conv2d, bn: BatchNorm2d, folded: Folded): FoldGuard | null {
  const hit = foldCache.get(bn);
  if (hit === undefined || hit.folded !== folded || !stillHolds(hit, conv, bn)) return null;
  const tensors = [bn.runningMean, bn.runningVar, bn.weight, bn.bias, conv.bias];
  const guard: FoldGuard = { conv, bn, folded, tensors: [], storages: [], lengths: [], pairs: [] };
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i] ?? null;
    const saved = hit.inputs[i]!;
    guard.tensors.push(t);
    if (t === null) {
      guard.storages.push(null);
      guard.lengths.push(0);
      continue;
    }
    if (!(t.storage instanceof Float32Array) || !(saved instanceof Float32Array) || values(t) !== t.storage)
      return null;
    guard.storages.push(t.storage);
    guard.lengths.push(t.storage.length);
    guard.pairs.push(t.storage, saved);
  }
  return guard;
}

/**
 * Whether g's fold is still bn's cached fold over the same tensors and storages, none detached:
 * everything foldIsCurrent checks but the values, which the guard's pairs compare.
 */
export function foldGuardHolds(g: FoldGuard): boolean {
  const { conv, bn } = g;
  const hit = foldCache.get(bn);
  if (hit === undefined || hit.folded !== g.folded || hit.conv !== conv) return false;
  if (hit.eps !== bn.eps || hit.dtype !== conv.weight.dtype) return false;
  const t = g.tensors;
  if (bn.runningMean !== t[0] || bn.runningVar !== t[1] || bn.weight !== t[2] || bn.bias !== t[3])
    return false;
  if (conv.bias !== t[4]) return false;
  for (let i = 0; i < 5; i++) {
    const s = g.storages[i]!;
    if (s !== null && (t[i]!.storage !== s || s.length !== g.lengths[i])) return false;
  }
  return true;
}

/** foldBatchNorm, reusing the previous fold while its inputs are unchanged. */
export function foldBatchNormCached(conv: Conv2d, bn: BatchNorm2d | null): Folded {
  const folded = foldCachedOrNew(conv, bn);
  if (foldListener !== null && bn !== null) foldListener(conv, bn, folded);
  return folded;
}

function foldCachedOrNew(conv: Conv2d, bn: BatchNorm2d | null): Folded {
  if (bn === null) return foldBatchNorm(conv, null);
  const hit = foldCache.get(bn);
  if (hit && stillHolds(hit, conv, bn)) return hit.folded;
  const dtype = conv.weight.dtype;
  const now = foldInputs(conv, bn);
  const folded = foldBatchNorm(conv, bn);
  // Copies in the parameters' own precision (float32 models: Float32Array), exact either way.
  const copy = (a: ArrayLike<number> | null): ArrayLike<number> =>
    a === null ? [] : dtype === "float32" ? Float32Array.from(a) : Float64Array.from(a);
  foldCache.set(bn, { conv, eps: bn.eps, dtype, inputs: now.map(copy), folded });
  return folded;
}

/**
 * The per-channel scale and shift that make conv(x)·scale + shift equal bn(conv(x) + bias), with
 * the same float rounding steps as the batch norm's own eval path for its part.
 */
function foldBatchNorm(conv: Conv2d, bn: BatchNorm2d | null): Folded {
  const dtype = conv.weight.dtype;
  const bias = conv.bias?.data ?? null;
  if (bn === null) return { scale: null, shift: conv.bias };
  const fr = dtype === "float32" ? Math.fround : (v: number) => v;
  const c = conv.outChannels;
  const [m, v, w, b] = [bn.runningMean!.data, bn.runningVar!.data, bn.weight?.data, bn.bias?.data];
  const eps = fr(bn.eps);
  const scale = allocArray(dtype, c);
  const shift = allocArray(dtype, c);
  for (let ch = 0; ch < c; ch++) {
    let sc = fr(1 / fr(Math.sqrt(fr(v[ch]! + eps))));
    if (w) sc = fr(sc * w[ch]!);
    let sh = -fr(m[ch]! * sc);
    if (b) sh = fr(sh + b[ch]!);
    if (bias) sh = fr(sh + fr(bias[ch]! * sc));
    scale[ch] = sc;
    shift[ch] = sh;
  }
  return { scale: fromArray(scale, [c], { dtype }), shift: fromArray(shift, [c], { dtype }) };
}

function runConv(
  conv: Conv2d,
  bn: BatchNorm2d | null,
  x: Tensor,
  epilogue: { relu: boolean; relu6?: boolean; pool: boolean; residual?: Tensor | null },
): Tensor {
  const { scale, shift } = foldBatchNormCached(conv, bn);
  return conv2dFused(x, conv.weight, { scale, shift, ...epilogue }, convOptions(conv));
}

/**
 * If modules[i] starts a fusable chain (Conv2d, then at least one of BatchNorm2d / ReLU / 2×2
 * MaxPool2d), runs it on x and returns the output and how many modules it covered; else null.
 */
export function runFusedChain(
  modules: readonly AnyModule[],
  i: number,
  x: Tensor,
): { out: Tensor; count: number } | null {
  const conv = modules[i];
  if (!(conv instanceof Conv2d) || !plain(conv)) return null;
  let j = i + 1;
  const bn = isFoldableBn(modules[j], conv.outChannels) ? (modules[j++] as BatchNorm2d) : null;
  const relu = modules[j] instanceof ReLU && plain(modules[j]);
  const relu6 = modules[j] instanceof ReLU6 && plain(modules[j]);
  if (relu || relu6) j++;
  const pool = isPool2x2(modules[j]) && x.ndim === 4;
  if (pool) j++;
  if (j === i + 1) return null;
  return { out: runConv(conv, bn, x, { relu, relu6, pool }), count: j - i };
}

/**
 * If modules[i] is a Linear with a bias that gets a 2-D input, runs it (with the ReLU after it,
 * if any) as one linearFused op and returns the output and how many modules it covered; else null.
 */
export function runFusedLinear(
  modules: readonly AnyModule[],
  i: number,
  x: Tensor,
): { out: Tensor; count: number } | null {
  const linear = modules[i];
  if (!(linear instanceof Linear) || !plain(linear) || linear.bias === null || x.ndim !== 2) return null;
  if (x.dtype !== linear.weight.dtype) return null;
  const relu = modules[i + 1] instanceof ReLU && plain(modules[i + 1]);
  return { out: linearFused(x, linear.weight, linear.bias, relu), count: relu ? 2 : 1 };
}

/** Whether conv → bn (→ relu) can run as one conv2dFused call (runFusedConvBn). */
function fusableConvBn(conv: AnyModule, bn: AnyModule, relu: AnyModule | null): conv is Conv2d {
  // The fields are checked at run time: compression swaps layers (a folded BN becomes Identity,
  // convs become quantized ones), and those run unfused.
  if (!(conv instanceof Conv2d) || !plain(conv) || !isFoldableBn(bn, conv.outChannels)) return false;
  return relu === null || (relu instanceof ReLU && plain(relu));
}

/**
 * relu?(bn(conv(x)) + residual) fused, for residual blocks; null when the modules cannot be fused
 * (hooks, a batch norm in training mode), in which case the caller runs them one by one.
 */
export function runFusedConvBn(
  conv: AnyModule,
  bn: AnyModule,
  x: Tensor,
  options: { relu: AnyModule | null; residual?: Tensor | null },
): Tensor | null {
  if (!fusableConvBn(conv, bn, options.relu)) return null;
  return runConv(conv, bn as BatchNorm2d, x, {
    relu: options.relu !== null,
    pool: false,
    residual: options.residual ?? null,
  });
}

/** The layers of a residual block's body: conv1 → bn1 → relu → conv2 → bn2 (+ shortcut) → relu. */
export interface ConvPair {
  conv1: AnyModule;
  bn1: AnyModule;
  conv2: AnyModule;
  bn2: AnyModule;
  /** The ReLU after each batch norm. */
  relu: AnyModule;
}

/** Whether runFusedConvPair can run the pair (no hooks, batch norms in eval mode, plain layers). */
export function canFuseConvPair(m: ConvPair): boolean {
  return fusableConvBn(m.conv1, m.bn1, m.relu) && fusableConvBn(m.conv2, m.bn2, m.relu);
}

/**
 * relu(bn2(conv2(relu(bn1(conv1(x))))) + residual), when canFuseConvPair(m): one conv2dPairFused
 * call. The native backend keeps the intermediate in the second convolution's own layout: for a
 * batch it runs each image through both convolutions on one core (resnet20 at batch 256, 1.10×
 * per forward with `bench/native/ab.ts NABLA_WINOGRAD_PAIR 0 1`); for a single image the threads
 * share each convolution and hand the intermediate over in that layout
 * (`NABLA_WINOGRAD_PAIR_B1=0` for two calls).
 */
export function runFusedConvPair(m: ConvPair, x: Tensor, residual: Tensor): Tensor {
  const [conv1, bn1, conv2, bn2] = [
    m.conv1 as Conv2d,
    m.bn1 as BatchNorm2d,
    m.conv2 as Conv2d,
    m.bn2 as BatchNorm2d,
  ];
  const half = (conv: Conv2d, bn: BatchNorm2d) => {
    const { scale, shift } = foldBatchNormCached(conv, bn);
    return { weight: conv.weight, epilogue: { scale, shift, relu: true }, options: convOptions(conv) };
  };
  return conv2dPairFused(x, half(conv1, bn1), half(conv2, bn2), residual);
}

function convOptions(conv: Conv2d) {
  return { stride: conv.stride, padding: conv.padding, dilation: conv.dilation, groups: conv.groups };
}

/**
 * If modules[i], modules[i + 1] are a BatchNorm2d and a ReLU (and, in training, a 2×2 MaxPool2d
 * after them), runs them as one; else null.
 */
export function runFusedBnRelu(
  modules: readonly AnyModule[],
  i: number,
  x: Tensor,
): { out: Tensor; count: number } | null {
  const bn = modules[i];
  const relu = modules[i + 1];
  if (!(bn instanceof BatchNorm2d) || !plain(bn) || !(relu instanceof ReLU) || !plain(relu)) return null;
  // Training: a 2×2 max-pool after the ReLU joins too (the ReLU output is then never stored).
  if (bn.training && x.ndim === 4 && isPool2x2(modules[i + 2]))
    return { out: bn.forwardReluPool(x), count: 3 };
  return { out: bn.forwardRelu(x), count: 2 };
}

/** relu(bn(x)) through forwardRelu when neither module has hooks, else module by module. */
export function bnRelu(bn: AnyModule, relu: AnyModule, x: Tensor): Tensor {
  if (bn instanceof BatchNorm2d && plain(bn) && relu instanceof ReLU && plain(relu)) return bn.forwardRelu(x);
  return (relu as Module<[Tensor], Tensor>).call((bn as Module<[Tensor], Tensor>).call(x));
}

/** relu(bn(x) + residual), a residual block's tail: one pass when neither module has hooks. */
export function bnAddRelu(bn: AnyModule, relu: AnyModule, x: Tensor, residual: Tensor): Tensor {
  if (bn instanceof BatchNorm2d && plain(bn) && relu instanceof ReLU && plain(relu)) {
    return bn.forwardAddRelu(x, residual);
  }
  return (relu as Module<[Tensor], Tensor>).call((bn as Module<[Tensor], Tensor>).call(x).add(residual));
}
