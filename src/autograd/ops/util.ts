// Small helpers shared by the op definitions.
import { Tensor } from "../../tensor/tensor.js";
import type { DType } from "../../tensor/dtype.js";
import { getBackend } from "../../backend/registry.js";
import { numel, type Shape } from "../../tensor/shape.js";

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
  return new Tensor(b.allocUninit ? b.allocUninit(dtype, n) : b.alloc(dtype, n), shape, dtype);
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
