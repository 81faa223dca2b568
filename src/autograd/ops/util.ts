// Small helpers shared by the op definitions.
import { Tensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { getBackend } from "../../backend/registry.js";
import { numel, type Shape } from "../../tensor/shape.js";
import { DTypeError } from "../../errors.js";
import { contiguous } from "./movement.js";

/** A fresh zero-filled contiguous tensor allocated by the active backend. */
export function empty(shape: Shape, dtype: DType): Tensor {
  return new Tensor(getBackend().alloc(dtype, numel(shape)), shape, dtype);
}

/**
 * A fresh contiguous tensor with unspecified contents, for an op whose kernel writes every
 * element (most outputs): the backend may skip the zero fill.
 */
export function uninit(shape: Shape, dtype: DType): Tensor {
  const b = getBackend();
  const n = numel(shape);
  const t = new Tensor(b.allocUninit ? b.allocUninit(dtype, n) : b.alloc(dtype, n), shape, dtype);
  uninitListener?.(t);
  return t;
}

let uninitListener: ((t: Tensor) => void) | null = null;

/** Calls `fn` with every tensor `uninit` creates (the autograd engine's gradient ledger); returns the previous listener. */
export function setUninitListener(fn: ((t: Tensor) => void) | null): ((t: Tensor) => void) | null {
  const previous = uninitListener;
  uninitListener = fn;
  return previous;
}

/** A 0-d tensor holding `value`. */
export function scalar(value: number, dtype: DType): Tensor {
  const t = empty([], dtype);
  t.storage[0] = value;
  return t;
}

/** Strides of `t` broadcast to `shape` (new leading dims and size-1 dims get stride 0). */
export function broadcastStrides(t: Tensor, shape: Shape): number[] {
  const lead = shape.length - t.ndim;
  return shape.map((d, i) => {
    if (i < lead) return 0;
    const own = t.shape[i - lead]!;
    return own === 1 && d !== 1 ? 0 : t.strides[i - lead]!;
  });
}

/** Both tensors float32 or both float64 (what the convolution kernels take). */
export function checkFloat(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype || (a.dtype !== "float32" && a.dtype !== "float64")) {
    throw new DTypeError(`${op}: needs two float tensors of the same dtype, got ${a.dtype} and ${b.dtype}`);
  }
}

/** The contiguous storage of t, from its first element, for a kernel to read. */
export function raw(t: Tensor) {
  // Contiguous (nearly always): the storage itself, without the detached copy of the tensor that
  // a batch-1 convolution used to make for each of its 2–5 operands.
  if (t.isContiguous) return t.offset === 0 ? t.storage : t.storage.subarray(t.offset);
  const c = contiguous(t.detach());
  return c.storage.subarray(c.offset);
}
