// Matrix product with NumPy semantics: 1-D operands are promoted and the extra dim removed
// again, leading (batch) dims broadcast. The kernel reads transposed operands in place.
import { Tensor } from "../../tensor/tensor.js";
import { isFloating } from "../../tensor/dtype.js";
import { broadcastShapes, formatShape, numel, type Shape } from "../../tensor/shape.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../engine.js";
import { DTypeError, ShapeError } from "../../errors.js";
import { contiguous, expand, reshape, squeeze, transpose, unsqueeze } from "./movement.js";
import { cast } from "./elementwise.js";
import { empty, uninit } from "./util.js";

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(
      `matmul: both operands need at least 1 dimension, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
  if (a.dtype !== b.dtype) {
    if (!isFloating(a.dtype) || !isFloating(b.dtype)) {
      throw new DTypeError(`matmul: dtypes ${a.dtype} and ${b.dtype} differ`);
    }
    const wide = a.dtype === "float64" || b.dtype === "float64" ? "float64" : "float32";
    return matmul(a.dtype === wide ? a : cast(a, wide), b.dtype === wide ? b : cast(b, wide));
  }
  // 1-D operands become a row (a) or a column (b) matrix; that dim is removed again after.
  const out = matmul2d(
    a.ndim === 1 ? unsqueeze(a, 0) : a,
    b.ndim === 1 ? unsqueeze(b, 1) : b,
    a.shape,
    b.shape,
  );
  if (a.ndim === 1 && b.ndim === 1) return reshape(out, []);
  if (a.ndim === 1) return squeeze(out, -2);
  if (b.ndim === 1) return squeeze(out, -1);
  return out;
}

/** An operand as the kernel wants it: matrices stored plainly or transposed, batch strides. */
function operand(x: Tensor, batchShape: Shape): { data: Tensor; trans: boolean; batchStride: number } {
  const r = x.shape[x.ndim - 2]!;
  const c = x.shape[x.ndim - 1]!;
  const ownBatch = x.shape.slice(0, -2);
  const batchCount = numel(ownBatch);
  if (batchCount === 1 || ownBatch.join() === batchShape.join()) {
    if (x.isContiguous) return { data: x, trans: false, batchStride: batchCount === 1 ? 0 : r * c };
    // A transposed matrix (e.g. wᵀ in a gradient rule) is read in place.
    const t = transpose(x.detach(), -2, -1);
    if (t.isContiguous) return { data: t, trans: true, batchStride: batchCount === 1 ? 0 : r * c };
  }
  const full = contiguous(expand(x.detach(), [...batchShape, r, c]));
  return { data: full, trans: false, batchStride: numel(batchShape) === 1 ? 0 : r * c };
}

function matmul2d(a: Tensor, b: Tensor, aShape: Shape, bShape: Shape): Tensor {
  const m = a.shape[a.ndim - 2]!;
  const k = a.shape[a.ndim - 1]!;
  const n = b.shape[b.ndim - 1]!;
  if (b.shape[b.ndim - 2] !== k) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(aShape)} and ${formatShape(bShape)} are not aligned (${k} vs ${b.shape[b.ndim - 2]})`,
    );
  }
  let batchShape: number[];
  try {
    batchShape = broadcastShapes("matmul", a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new ShapeError(
      `matmul: batch dimensions of shapes ${formatShape(aShape)} and ${formatShape(bShape)} cannot be broadcast together`,
    );
  }
  const A = operand(a, batchShape);
  const B = operand(b, batchShape);
  // k = 0 is a sum of nothing: zeros, which no kernel loop writes.
  const out = (k === 0 ? empty : uninit)([...batchShape, m, n], isFloating(a.dtype) ? a.dtype : "float32");
  const aData = isFloating(A.data.dtype) ? A.data : cast(A.data, "float32");
  const bData = isFloating(B.data.dtype) ? B.data : cast(B.data, "float32");
  kernel("matmul")(
    aData.storage.subarray(aData.offset),
    bData.storage.subarray(bData.offset),
    out.storage,
    numel(batchShape),
    m,
    k,
    n,
    A.batchStride,
    B.batchStride,
    A.trans,
    B.trans,
  );
  // Each gradient is produced in its operand's memory layout: for a transposed operand (like the
  // weight of a linear layer, used as wᵀ) the product is computed transposed, so the gradient that
  // reaches the leaf is dense and the optimizer does not have to copy it.
  return record("matmul", [a, b], out, (g) => [
    a.requiresGrad
      ? isTransposed(a)
        ? transpose(matmul(b, transpose(g, -2, -1)), -2, -1)
        : matmul(g, transpose(b, -2, -1))
      : null,
    b.requiresGrad
      ? isTransposed(b)
        ? transpose(matmul(transpose(g, -2, -1), a), -2, -1)
        : matmul(transpose(a, -2, -1), g)
      : null,
  ]);
}

/** A 2-D matrix stored transposed (its transpose is dense). */
function isTransposed(x: Tensor): boolean {
  return x.ndim === 2 && !x.isContiguous && transpose(x.detach(), 0, 1).isContiguous;
}
