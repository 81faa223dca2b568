// Gradient buffer recycling. PyTorch frees an intermediate gradient the moment its last user is
// done (reference counting); in JavaScript it stays allocated until the garbage collector finds
// it. A training step drops tens of megabytes of such gradients, so V8 would run a full
// collection every few steps, and its marking thread competes with the kernels' threads for the
// cores. Within one backward pass the engine knows which buffers its gradient rules allocated
// and which pending gradients still use them, so it can hand each dead one back to the backend,
// which gives it to the next output of the same size.
import type { Tensor } from "../tensor/tensor.js";
import type { TypedArray } from "../tensor/dtype.js";
import { getBackend } from "../backend/registry.js";
import { setUninitListener } from "./ops/util.js";

/** Smaller buffers are left to the garbage collector: recycling them saves too little. */
const MIN_BYTES = 1 << 16;
/**
 * The same for dead inference activations, which are handed back one by one with no bookkeeping:
 * at batch 1 every activation is small, and allocating each afresh on every call cost a few
 * percent of a call. Below 1 KiB typed arrays are cheap to make.
 */
const MIN_DEAD_BYTES = 1 << 10;

let enabled = true;

/** Turn recycling off (or back on), e.g. to compare against plain garbage collection. Returns the previous setting. */
export function setBufferRecycling(on: boolean): boolean {
  const previous = enabled;
  enabled = on;
  return previous;
}

/**
 * The buffers allocated while the ledger is open, and how many of the engine's pending gradients
 * use each (views of one buffer count separately). Buffers that escape to the user (a leaf's
 * .grad, a retained gradient) are forgotten and never recycled.
 */
export class GradientLedger {
  private readonly fresh = new Set<ArrayBufferLike>();
  private readonly uses = new Map<ArrayBufferLike, number>();
  private readonly recycle: ((buffer: ArrayBuffer) => void) | undefined;
  private readonly previousListener: ((t: Tensor) => void) | null = null;

  constructor() {
    this.recycle = enabled ? getBackend().recycle?.bind(getBackend()) : undefined;
    if (this.recycle) this.previousListener = setUninitListener((t) => this.allocated(t));
  }

  /** Stop recording allocations (the ledger's remaining buffers go to the garbage collector). */
  close(): void {
    if (this.recycle) setUninitListener(this.previousListener);
  }

  /** `t` is now held by the engine (a pending gradient). */
  hold(t: Tensor): void {
    const b = this.bufferOf(t);
    if (b) this.uses.set(b, (this.uses.get(b) ?? 0) + 1);
  }

  /** The engine no longer holds `t`; its buffer is recycled if nothing else the engine holds uses it. */
  release(t: Tensor): void {
    const b = this.bufferOf(t);
    if (!b) return;
    const n = (this.uses.get(b) ?? 0) - 1;
    if (n > 0) {
      this.uses.set(b, n);
      return;
    }
    this.uses.delete(b);
    this.fresh.delete(b);
    this.recycle!(b as ArrayBuffer);
  }

  /** `t` was never held and is no longer needed (a temporary): recycle it unless held elsewhere. */
  discard(t: Tensor): void {
    const b = this.bufferOf(t);
    if (b && !this.uses.has(b)) {
      this.fresh.delete(b);
      this.recycle!(b as ArrayBuffer);
    }
  }

  /** `t` leaves the engine (to a .grad the user sees): never recycle its buffer. */
  escape(t: Tensor): void {
    const b = this.bufferOf(t);
    if (b) {
      this.fresh.delete(b);
      this.uses.delete(b);
    }
  }

  /**
   * Recycle storage the graph owned (GradNode.owned) once its node's backward has run, unless it
   * is part of a larger buffer or a pending gradient is a view of it.
   */
  recycleOwned(storage: TypedArray, ...pending: Map<unknown, Tensor>[]): void {
    if (!this.recycle || storage.byteLength < MIN_BYTES) return;
    const b = storage.buffer;
    if (storage.byteOffset !== 0 || storage.byteLength !== b.byteLength || this.fresh.has(b)) return;
    for (const grads of pending) for (const g of grads.values()) if (g.storage.buffer === b) return;
    this.recycle(b as ArrayBuffer);
  }

  private allocated(t: Tensor): void {
    if (t.storage.byteLength >= MIN_BYTES) this.fresh.add(t.storage.buffer);
  }

  private bufferOf(t: Tensor): ArrayBufferLike | null {
    if (!this.recycle || t.storage.byteLength < MIN_BYTES) return null;
    const b = t.storage.buffer;
    return this.fresh.has(b) ? b : null;
  }
}

/**
 * Hand a dead activation's memory back to the backend right away (inference: nothing records a
 * graph, so nn's containers know when an activation between two layers is dead; see
 * nn/graph_owned.ts). Skipped when recycling is off, when the storage is part of a larger buffer,
 * or when a tensor in `live` uses the same buffer.
 */
export function recycleDead(t: Tensor, ...live: Tensor[]): void {
  if (!enabled || t.storage.byteLength < MIN_DEAD_BYTES) return;
  const b = t.storage.buffer;
  if (t.storage.byteOffset !== 0 || t.storage.byteLength !== b.byteLength) return;
  for (const other of live) if (other.storage.buffer === b) return;
  getBackend().recycle?.(b as ArrayBuffer);
}
