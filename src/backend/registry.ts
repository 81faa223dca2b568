// Which backend runs the kernels. One backend is active at a time; a kernel it does not
// implement is taken from the reference backend, so a partial backend is always usable.
import type { Backend, KernelName, Kernels } from "./backend.js";
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
