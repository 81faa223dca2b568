// Reference gather / scatter-add along the middle axis, and constant padding.
import type { Kernels } from "../backend.js";
import { contiguousStrides } from "../../tensor/shape.js";
import { forEachRow } from "./strided.js";

export const gather: Kernels["gather"] = (x, index, outer, size, inner, idxSize, out) => {
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < idxSize; s++) {
      const row = (o * idxSize + s) * inner;
      for (let i = 0; i < inner; i++) {
        out[row + i] = x[(o * size + index[row + i]!) * inner + i]!;
      }
    }
  }
};

export const scatterAdd: Kernels["scatterAdd"] = (src, index, outer, size, inner, idxSize, out) => {
  for (let o = 0; o < outer; o++) {
    for (let s = 0; s < idxSize; s++) {
      const row = (o * idxSize + s) * inner;
      for (let i = 0; i < inner; i++) {
        out[(o * size + index[row + i]!) * inner + i]! += src[row + i]!;
      }
    }
  }
};

export const pad: Kernels["pad"] = (x, shape, pads, value, out) => {
  out.fill(value);
  const outShape = shape.map((d, i) => d + pads[2 * i]! + pads[2 * i + 1]!);
  const outStrides = contiguousStrides(outShape);
  const offset = outStrides.reduce((acc, s, i) => acc + s * pads[2 * i]!, 0);
  // Walk the input (contiguous) alongside the interior of the output (a strided view).
  const inView = { data: x, strides: contiguousStrides(shape), offset: 0 };
  const outView = { data: out, strides: outStrides, offset };
  forEachRow(shape, [inView, outView], (off, _st, len) => {
    const xi = off[0]!;
    const oi = off[1]!;
    for (let j = 0; j < len; j++) out[oi + j] = x[xi + j]!;
  });
};
