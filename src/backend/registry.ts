// Which backend runs the kernels. One backend is active at a time; a kernel it does not
// implement is taken from the reference backend, so a partial backend is always usable.
import type { Backend, KernelName, Kernels } from "./backend.js";
import type { TypedArray } from "../tensor/dtype.js";
import { refBackend, refKernels } from "./ref/index.js";

let active: Backend = refBackend;

export function setBackend(backend: Backend): void {
  active = backend;
}

export function getBackend(): Backend {
  return active;
}

/** The active backend's kernel `name`, or the reference one when it has none. */
export function kernel<K extends KernelName>(name: K): Kernels[K] {
  return (active.kernels[name] ?? refKernels[name]) as Kernels[K];
}

/** Run `fn` with `backend` active (e.g. to compare a backend against the reference). */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const previous = active;
  active = backend;
  try {
    return fn();
  } finally {
    active = previous;
  }
}

/**
 * Arrays that hold constants the JavaScript made for a kernel (a 0-d tensor from a number, a
 * scale of ones), reported while an inference plan records a forward (nn/plan.ts), which may then
 * keep them for its replays. Code that passes a kernel any other array it filled itself makes the
 * plan refuse the forward.
 */
let constantTap: ((a: TypedArray) => void) | null = null;

export function setConstantTap(tap: ((a: TypedArray) => void) | null): void {
  constantTap = tap;
}

/** `a` holds values fixed by shapes and literals only (see setConstantTap). */
export function noteConstant(a: TypedArray): void {
  constantTap?.(a);
}
