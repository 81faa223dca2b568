// gather and its adjoint scatterAdd (each is the other's gradient), and indexSelect on top.
import { Tensor } from "../../tensor/tensor.js";
import { formatShape, normalizeAxis, numel } from "../../tensor/shape.js";
import { kernel } from "../../backend/registry.js";
import { record } from "../engine.js";
import { DTypeError, ShapeError, ValueError } from "../../errors.js";
import { cast } from "./elementwise.js";
import { contiguous, expand, reshape } from "./movement.js";
import { empty } from "./util.js";

function checkIndex(op: string, x: Tensor, d: number, index: Tensor): Int32Array {
  if (index.dtype !== "int32" && index.dtype !== "uint8" && index.dtype !== "int8") {
    throw new DTypeError(`${op}: index must be an integer tensor, got ${index.dtype}`);
  }
  if (index.ndim !== x.ndim || index.shape.some((n, i) => i !== d && n !== x.shape[i])) {
    throw new ShapeError(
      `${op}: index of shape ${formatShape(index.shape)} must match input ${formatShape(x.shape)} in every dimension but ${d}`,
    );
  }
  const idx = (index.dtype === "int32" ? contiguous(index) : cast(index, "int32")).data as Int32Array;
  const size = x.shape[d]!;
  for (const i of idx) {
    if (i < 0 || i >= size)
      throw new ValueError(`${op}: index ${i} is out of bounds for dimension ${d} with size ${size}`);
  }
  return idx;
}

/** out[..., i, ...] = x[..., index[..., i, ...], ...] along dim. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeAxis("gather", dim, x.ndim);
  const idx = checkIndex("gather", x, d, index);
  const src = contiguous(x.detach());
  const out = empty(index.shape, x.dtype);
  const outer = numel(x.shape.slice(0, d));
  const inner = numel(x.shape.slice(d + 1));
  kernel("gather")(
    src.storage.subarray(src.offset),
    idx,
    outer,
    x.shape[d]!,
    inner,
    index.shape[d]!,
    out.storage,
  );
  return record("gather", [x], out, (g) => [scatterAdd(empty(x.shape, g.dtype), d, index, g)]);
}

/** base with src added at the positions index names along dim (duplicates accumulate). */
export function scatterAdd(base: Tensor, dim: number, index: Tensor, src: Tensor): Tensor {
  const d = normalizeAxis("scatterAdd", dim, base.ndim);
  const idx = checkIndex("scatterAdd", base, d, index);
  if (src.shape.join() !== index.shape.join()) {
    throw new ShapeError(
      `scatterAdd: src shape ${formatShape(src.shape)} must equal index shape ${formatShape(index.shape)}`,
    );
  }
  const out = contiguous(base.detach()).clone().detach();
  const s = contiguous(src.detach());
  const outer = numel(base.shape.slice(0, d));
  const inner = numel(base.shape.slice(d + 1));
  kernel("scatterAdd")(
    s.storage.subarray(s.offset),
    idx,
    outer,
    base.shape[d]!,
    inner,
    index.shape[d]!,
    out.storage,
  );
  return record("scatterAdd", [base, src], out, (g) => [g, gather(g, d, index)]);
}

/** Rows (or slices along dim) picked by a 1-D index tensor. */
export function indexSelect(x: Tensor, dim: number, index: Tensor): Tensor {
  const d = normalizeAxis("indexSelect", dim, x.ndim);
  if (index.ndim !== 1)
    throw new ShapeError(`indexSelect: index must be 1-D, got shape ${formatShape(index.shape)}`);
  const shape = [...x.shape];
  shape[d] = index.shape[0]!;
  const view = x.shape.map((_, i) => (i === d ? index.shape[0]! : 1));
  return gather(x, d, contiguous(expand(reshape(index, view), shape)));
}
