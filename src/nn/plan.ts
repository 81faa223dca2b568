// Inference plans: a model's forward replayed as its list of kernel calls.
//
// At batch 1 a resnet20 forward spends about a quarter of its time outside the kernels, in the
// JavaScript of the modules and ops between them (bench/native/replay.ts), where an onnxruntime
// session runs its kernels back to back. So under noGrad, a module whose whole tree is built-in
// layers (graph_owned.ts's keepsNoReference: exact nabla classes, no hooks) and in eval mode
// records the kernel calls of one forward (its second call, so one-off calls never pay for a
// recording) and, while nothing that forward depended on has changed, replays them on the next
// inputs of the same shape instead of running the forward.
//
// A replay computes exactly what the forward would have: the same kernels, in the same order, on
// the same arguments, with the new input's storage in place of the recorded one. What the
// forward's JavaScript read is checked before each replay:
// - the module tree (moduleStructureVersion: submodules, parameters, buffers, hooks), and every
//   module's own fields (training flags, hyper-parameters, which tensor each field holds);
// - the grad mode, the backend, and the input's shape, dtype and layout;
// - every batch-norm fold the forward used (fuse.ts's foldIsCurrent: still the cached fold, its
//   inputs unchanged; where the backend offers a same-bits guard, the values of all folds'
//   inputs are compared by one backend call and only the identities here: foldGuardHolds).
// Parameters and buffers are passed to the kernels as their live storage, so in-place changes
// (an optimizer step, loadStateDict) are simply read. While recording, every array a kernel
// receives must be accounted for: the input, a parameter or buffer, the output of an earlier
// kernel of this forward, a fold, or a constant the ops reported (registry.ts's noteConstant).
// Anything else (an array the JavaScript filled itself) makes the plan refuse the module, which
// then always runs its forward. Recorded buffers belong to the plan alone; each replay returns its
// output in a new tensor.
import { Tensor } from "../tensor/tensor.js";
import { arrayView, bytesPerElement, type DType, type TypedArray } from "../tensor/dtype.js";
import { shapesEqual } from "../tensor/shape.js";
import type { Backend, KernelName, Kernels, SameBitsGuard } from "../backend/backend.js";
import { refKernels } from "../backend/ref/index.js";
import { getBackend, setConstantTap, withBackend } from "../backend/registry.js";
import { isGradEnabled } from "../autograd/engine.js";
import { moduleStructureVersion, setCallHook, type AnyModule } from "./module.js";
import { keepsNoReference } from "./graph_owned.js";
import { sameFields, snapshotFields, type FieldState } from "./plan_fields.js";
import { compile, replaySteps, runnable, type Compiled, type Step } from "./plan_replay.js";
import {
  foldGuard,
  foldGuardHolds,
  foldIsCurrent,
  setFoldListener,
  type FoldGuard,
  type Folded,
} from "./fuse.js";
import type { Conv2d } from "./layers/conv.js";
import type { BatchNorm2d } from "./layers/batchnorm.js";

let enabled = true;

/** Turn inference plans off (or back on), e.g. to compare against the plain forward. Returns the previous setting. */
export function setInferencePlans(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * Larger inputs (a batch of more than 21 CIFAR images) run their forward: there the JavaScript
 * costs a few percent at most, while a plan keeps its own activation buffers.
 */
const MAX_INPUT_ELEMENTS = 1 << 16;
/** A plan of fewer kernel calls saves less than its output copy costs. */
const MIN_STEPS = 4;
/** Kernels that add into their output instead of writing it (a replay would add twice). */
const ACCUMULATING = new Set<KernelName>(["maxPool2dBackward", "scatterAdd"]);
/** The byte a buffer from allocUninit holds while recording, until a kernel writes it. */
const UNWRITTEN = 0xa5;

interface Plan {
  version: number;
  backend: Backend;
  dtype: DType;
  shape: readonly number[];
  fields: FieldState[];
  /** The folds whose values JavaScript compares (foldIsCurrent) before each replay. */
  folds: [Conv2d, BatchNorm2d, Folded][];
  /** The others: their identities checked here (foldGuardHolds), their values by the backend. */
  foldGuards: { folds: FoldGuard[]; guard: SameBitsGuard } | null;
  steps: Step[];
  /** The steps as the backend's programs (plan_replay.ts), or null: replayed one by one. */
  compiled: Compiled | null;
  output: Tensor;
}

/** Each module's plans, newest first, one per input shape and dtype (a few: a batch size that alternates with the last batch's). */
const plans = new WeakMap<AnyModule, Plan[]>();
const MAX_PLANS_PER_MODULE = 4;
/** Modules refused at a structure version (they run their forward until the tree changes). */
const refused = new WeakMap<AnyModule, number>();
/** The structure version at each module's last unplanned call. */
const seen = new WeakMap<AnyModule, number>();
let recording = false;

setCallHook(planned);

/** Module.call's hook: the replayed result, or undefined to run the forward. */
function planned(module: AnyModule, inputs: unknown[]): unknown {
  if (!enabled || recording || inputs.length !== 1 || isGradEnabled()) return undefined;
  const x = inputs[0];
  if (!(x instanceof Tensor) || !plainInput(x)) return undefined;
  const plan = plans.get(module)?.find((p) => p.dtype === x.dtype && shapesEqual(p.shape, x.shape));
  if (plan !== undefined && stillValid(plan)) return replay(plan, x);
  const version = moduleStructureVersion();
  if (refused.get(module) === version || x.numel > MAX_INPUT_ELEMENTS) return undefined;
  if (!keepsNoReference(module) || [...module.modules()].some((m) => m.training)) {
    refused.set(module, version);
    return undefined;
  }
  // Record on the second call at this structure version: a loop that switches train() and eval()
  // every step, or a single call, never pays for a recording it would not replay.
  if (seen.get(module) !== version) {
    seen.set(module, version);
    return undefined;
  }
  return record(module, x);
}

/** Contiguous from the start of its storage, which holds exactly its elements. */
function plainInput(x: Tensor): boolean {
  return x.isContiguous && x.offset === 0 && x.storage.length === x.numel;
}

// (The input was matched to the plan by shape and dtype, and is plain.)
function stillValid(plan: Plan): boolean {
  if (plan.version !== moduleStructureVersion() || plan.backend !== getBackend()) return false;
  if (plan.compiled !== null && !runnable(plan.compiled)) return false;
  for (const f of plan.fields) if (!sameFields(f)) return false;
  for (const [conv, bn, folded] of plan.folds) if (!foldIsCurrent(conv, bn, folded)) return false;
  const guarded = plan.foldGuards;
  if (guarded !== null) {
    for (const g of guarded.folds) if (!foldGuardHolds(g)) return false;
    if (!plan.backend.programs!.holds!(guarded.guard)) return false;
  }
  return true;
}

function replay(plan: Plan, x: Tensor): Tensor {
  replaySteps(plan.steps, plan.compiled, x);
  return copyOut(plan.output);
}

/** A new tensor with t's values (the plan's output buffer is overwritten by the next replay). */
function copyOut(t: Tensor): Tensor {
  const backend = getBackend();
  const storage = backend.allocUninit
    ? backend.allocUninit(t.dtype, t.numel)
    : backend.alloc(t.dtype, t.numel);
  storage.set(t.storage as never);
  return new Tensor(storage, t.shape, t.dtype);
}

// ---- recording ------------------------------------------------------------------------------------

/** Runs module's forward on x while recording its kernel calls; keeps the plan if every array is accounted for. */
function record(module: AnyModule, x: Tensor): Tensor {
  const real = getBackend();
  const live = new Set<ArrayBufferLike>();
  for (const t of [...module.parameters(), ...module.buffers()]) live.add(t.storage.buffer);
  // Buffers allocated while recording, with the byte they were filled with (0 from alloc, whose
  // arrays must start zeroed; UNWRITTEN from allocUninit), until a kernel writes them.
  const unwrittenFill = new Map<ArrayBufferLike, number>();
  const written = new Set<ArrayBufferLike>();
  const constants = new Set<TypedArray>();
  const folds: [Conv2d, BatchNorm2d, Folded][] = [];
  const free = new Map<number, ArrayBuffer[]>(); // the recording's own buffer pool, by bytes
  const steps: Step[] = [];
  let ok = true;

  const fresh = (a: TypedArray, byte: number): TypedArray => {
    if (byte !== 0) new Uint8Array(a.buffer, a.byteOffset, a.byteLength).fill(byte);
    unwrittenFill.set(a.buffer, byte);
    written.delete(a.buffer);
    return a;
  };
  const holds = (a: TypedArray, byte: number): boolean => {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) if (bytes[i] !== byte) return false;
    return true;
  };
  // One call's arrays, before it runs: the buffers it must write (still as allocated), or null
  // when an array is not accounted for.
  const check = (name: KernelName, fn: Step["fn"], args: unknown[]): TypedArray[] | null => {
    if (ACCUMULATING.has(name)) return null;
    const input: Step["input"] = [];
    const outputs: TypedArray[] = [];
    for (let i = 0; i < args.length; i++) {
      const arrays = arraysIn(args[i]);
      if (arrays === null) return null;
      for (const [field, a] of arrays) {
        if (a === x.storage) input.push([i, field]);
        else if (a.buffer === x.storage.buffer)
          return null; // a view of the input
        else if (live.has(a.buffer) || written.has(a.buffer) || constants.has(a)) continue;
        else if (unwrittenFill.has(a.buffer) && holds(a, unwrittenFill.get(a.buffer)!)) outputs.push(a);
        else return null; // filled by the JavaScript, or not from this forward
      }
    }
    steps.push({ fn, args, input });
    return outputs;
  };
  const kernels: Partial<Kernels> = {};
  for (const name of Object.keys(refKernels) as KernelName[]) {
    const fn = (real.kernels[name] ?? refKernels[name]) as Step["fn"];
    (kernels as Record<string, Step["fn"]>)[name] = (...args: unknown[]) => {
      const outputs = ok ? check(name, fn, args) : null;
      if (outputs === null) ok = false;
      const result = fn(...args);
      // Buffers the call wrote now differ from their fill. One from allocUninit that it left
      // alone was scratch (conv2dPairFused's intermediate; reading it unwritten would read
      // garbage in any forward); a zeroed one from alloc that it only read held zeros the
      // JavaScript relied on, which a replay could not promise.
      for (const a of outputs ?? []) {
        const fill = unwrittenFill.get(a.buffer)!;
        if (!holds(a, fill)) written.add(a.buffer);
        else if (fill === 0) ok = false;
      }
      return result;
    };
  }
  const recorder: Backend = {
    name: real.name,
    kernels,
    alloc: (dtype, n) => fresh(real.alloc(dtype, n), 0),
    allocUninit: (dtype, n) => {
      const reused = free.get(n * bytesPerElement(dtype))?.pop();
      if (reused) return fresh(arrayView(dtype, reused, n), UNWRITTEN);
      return fresh(real.allocUninit ? real.allocUninit(dtype, n) : real.alloc(dtype, n), UNWRITTEN);
    },
    recycle: (buffer) => {
      if (!unwrittenFill.has(buffer)) return; // not this forward's
      const list = free.get(buffer.byteLength);
      if (list) list.push(buffer);
      else free.set(buffer.byteLength, [buffer]);
    },
  };

  const fields = [...module.modules()].map(snapshotFields);
  const version = moduleStructureVersion();
  recording = true;
  setConstantTap((a) => constants.add(a));
  setFoldListener((conv, bn, folded) => {
    folds.push([conv, bn, folded]);
    for (const t of [folded.scale, folded.shift])
      if (t !== null && !live.has(t.storage.buffer)) constants.add(t.storage);
  });
  let out: unknown;
  try {
    out = withBackend(recorder, () => module.forward(x));
  } finally {
    recording = false;
    setConstantTap(null);
    setFoldListener(null);
  }
  const output = out instanceof Tensor ? out : null;
  const keep =
    ok &&
    output !== null &&
    steps.length >= MIN_STEPS &&
    plainInput(output) &&
    written.has(output.storage.buffer) &&
    version === moduleStructureVersion() &&
    fields.every(sameFields); // (a forward that changes its own fields cannot be replayed)
  if (!keep) {
    refused.set(module, version);
    return out as Tensor;
  }
  const others = (plans.get(module) ?? []).filter(
    (p) => p.dtype !== x.dtype || !shapesEqual(p.shape, x.shape),
  );
  const plan: Plan = {
    version,
    backend: real,
    dtype: x.dtype,
    shape: x.shape,
    fields,
    ...guardFolds(real, folds),
    steps,
    compiled: null,
    output: output!,
  };
  const result = copyOut(output!);
  plan.compiled = compile(steps, x, real, (step) =>
    step.args.flatMap((a) => (arraysIn(a) ?? []).map(([, array]) => array)),
  );
  plans.set(module, [plan, ...others].slice(0, MAX_PLANS_PER_MODULE));
  return result;
}

/**
 * The folds split into those the backend can check the values of in one call (fuse.ts's
 * foldGuard: plain float32 inputs; the native backend compares ~3,400 numbers per resnet20 call
 * with memcmp where JavaScript took ~12 µs) and the rest.
 */
function guardFolds(
  backend: Backend,
  all: [Conv2d, BatchNorm2d, Folded][],
): Pick<Plan, "folds" | "foldGuards"> {
  const programs = backend.programs;
  if (!programs?.sameBitsGuard || !programs.holds) return { folds: all, foldGuards: null };
  const folds: [Conv2d, BatchNorm2d, Folded][] = [];
  const guarded: FoldGuard[] = [];
  for (const f of all) {
    const g = foldGuard(...f);
    if (g === null) folds.push(f);
    else guarded.push(g);
  }
  if (guarded.length === 0) return { folds, foldGuards: null };
  return {
    folds,
    foldGuards: { folds: guarded, guard: programs.sameBitsGuard(guarded.flatMap((g) => g.pairs)) },
  };
}

/**
 * The typed arrays of one kernel argument: itself, or the fields of an object (a strided view, a
 * conv step); null when arrays sit deeper (a list of views), which plans do not follow.
 */
function arraysIn(arg: unknown): [string | null, TypedArray][] | null {
  if (ArrayBuffer.isView(arg)) return [[null, arg as TypedArray]];
  if (arg === null || typeof arg !== "object") return [];
  const found: [string | null, TypedArray][] = [];
  for (const [k, v] of Object.entries(arg)) {
    if (ArrayBuffer.isView(v)) found.push([k, v as TypedArray]);
    else if (v !== null && typeof v === "object" && Object.values(v).some((e) => ArrayBuffer.isView(e)))
      return null;
  }
  return found;
}
/** How many backend programs module's newest inference plan runs (plan_replay.ts), for tests. */
export function inferencePlanPrograms(module: AnyModule): number {
  return plans.get(module)?.[0]?.compiled?.segments.filter((s) => s.program !== undefined).length ?? 0;
}

/** How many batch-norm folds module's newest inference plan has the backend check (for tests). */
export function inferencePlanGuardedFolds(module: AnyModule): number {
  return plans.get(module)?.[0]?.foldGuards?.folds.length ?? 0;
}

/** The number of kernel calls module's newest inference plan replays, or 0 without one (for tests). */
export function inferencePlanSteps(module: AnyModule): number {
  return plans.get(module)?.[0]?.steps.length ?? 0;
}
