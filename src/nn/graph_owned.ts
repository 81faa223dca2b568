// Activations that only the autograd graph references. Inside a Sequential, the output of one
// built-in layer goes straight into the next and is dropped: if neither layer keeps a reference
// (no forward hooks, and the exact built-in class, not a user subclass), the graph's saved
// tensors are its only users, so backward() can recycle its memory once the layer that produced
// it has run its backward (autograd/recycle.ts). That keeps a training step from allocating its
// activations afresh every time, which would make V8 run a full collection every few steps.
//
// Inference records no graph, so there the same knowledge frees memory sooner: once the next
// layer has run, the activation it consumed is dead and goes straight back to the backend
// (recycleConsumed), and the next layer of the same size reuses it.
import type { Tensor } from "../tensor/tensor.js";
import { isGradEnabled, ownByGraph } from "../autograd/engine.js";
import { recycleDead } from "../autograd/recycle.js";
import { moduleStructureVersion, type AnyModule } from "./module.js";
import { Conv2d } from "./layers/conv.js";
import { BatchNorm1d, BatchNorm2d } from "./layers/batchnorm.js";
import { ReLU, ReLU6, LeakyReLU, GELU, SiLU, Sigmoid, Tanh } from "./layers/activation.js";
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from "./layers/pooling.js";
import { Linear } from "./layers/linear.js";
import { Flatten, Identity } from "./layers/misc.js";

const KEEP_NO_REFERENCE = new Set<unknown>([
  Conv2d,
  BatchNorm1d,
  BatchNorm2d,
  ReLU,
  ReLU6,
  LeakyReLU,
  GELU,
  SiLU,
  Sigmoid,
  Tanh,
  MaxPool2d,
  AvgPool2d,
  AdaptiveAvgPool2d,
  Linear,
  Flatten,
  Identity,
]);

/**
 * A module without forward hooks that keeps no reference to its input or output: a built-in layer
 * (exact class), or a container whose own class declares `keepsNoReference()` (Sequential, the
 * ResNet blocks) and says so after checking its children. A user subclass is never trusted.
 */
export function keepsNoReference(m: AnyModule): boolean {
  if (m.hasForwardHooks()) return false;
  if (KEEP_NO_REFERENCE.has(m.constructor)) return true;
  const own = Object.hasOwn(m.constructor.prototype as object, "keepsNoReference");
  return own && (m as unknown as { keepsNoReference(): boolean }).keepsNoReference();
}

// childrenKeepNoReference's answers, valid while moduleStructureVersion() is unchanged: an answer
// depends only on the tree's classes, submodules and hooks.
const childrenMemo = new WeakMap<AnyModule, { version: number; value: boolean }>();

/** Every direct child keeps no reference (for containers' keepsNoReference). */
export function childrenKeepNoReference(m: AnyModule): boolean {
  const version = moduleStructureVersion();
  const memo = childrenMemo.get(m);
  if (memo !== undefined && memo.version === version) return memo.value;
  const value = m.everyChild(keepsNoReference);
  childrenMemo.set(m, { version, value });
  return value;
}

/**
 * Hand the intermediate activations of a chain to the graph: `steps[i]` is the output of a run
 * of layers (`producedByPlain[i]`: all of them keep no reference) that the next run consumed
 * (`consumedByPlain[i]`). Storage shared with the chain's input or result is never handed over, and a
 * storage buffer goes to the first (in forward order) producer only, which is the last to run
 * backward.
 */
export function handIntermediatesToGraph(
  steps: readonly Tensor[],
  producedByPlain: readonly boolean[],
  consumedByPlain: readonly boolean[],
  input: Tensor,
  result: Tensor,
): void {
  if (!isGradEnabled()) return;
  // The caller's input (an Identity passes it on) and the result stay the caller's.
  const seen = new Set<ArrayBufferLike>([input.storage.buffer, result.storage.buffer]);
  steps.forEach((t, i) => {
    const buffer = t.storage.buffer;
    if (seen.has(buffer)) return;
    seen.add(buffer);
    if (producedByPlain[i] && consumedByPlain[i] && t.gradFn) ownByGraph(t.gradFn, t.storage);
  });
}

/**
 * Inference (autograd off): `t` went from layers that keep no reference to it
 * (`producedByPlain`) into layers that keep none either (`consumedByPlain`), which have run and
 * returned `next`; so `t` is dead. Its memory is recycled now, unless it is shared with the
 * chain's `input` (the caller's) or with `next` (a view of `t`, e.g. Flatten's output).
 */
export function recycleConsumed(
  t: Tensor,
  producedByPlain: boolean,
  consumedByPlain: boolean,
  input: Tensor,
  next: Tensor,
): void {
  if (producedByPlain && consumedByPlain && !isGradEnabled()) recycleDead(t, input, next);
}
