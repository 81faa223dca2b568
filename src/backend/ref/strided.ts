// Walking strided views. Every elementwise reference kernel is "for each output position, read
// each input at its own strides": this helper does the index bookkeeping once, visiting the
// innermost dimension as a tight loop and carrying the other dimensions like an odometer.
import type { StridedView } from "../backend.js";

/**
 * Calls `inner(offsets, innerStrides, length, outStart)` once per row of the innermost
 * dimension, where offsets[k] is where view k's row starts.
 */
export function forEachRow(
  shape: readonly number[],
  views: readonly StridedView[],
  inner: (offsets: number[], innerStrides: number[], length: number, outStart: number) => void,
): void {
  const nd = shape.length;
  const nv = views.length;
  const offsets = views.map((v) => v.offset);
  if (nd === 0) {
    inner(
      offsets,
      views.map(() => 0),
      1,
      0,
    );
    return;
  }
  let total = 1;
  for (const d of shape) total *= d;
  if (total === 0) return;
  const length = shape[nd - 1]!;
  const innerStrides = views.map((v) => v.strides[nd - 1]!);
  const counters = new Array<number>(nd).fill(0);
  for (let outStart = 0; outStart < total; outStart += length) {
    inner(offsets, innerStrides, length, outStart);
    // Advance the odometer over dims nd-2 .. 0.
    for (let d = nd - 2; d >= 0; d--) {
      counters[d]!++;
      for (let k = 0; k < nv; k++) offsets[k]! += views[k]!.strides[d]!;
      if (counters[d]! < shape[d]!) break;
      for (let k = 0; k < nv; k++) offsets[k]! -= views[k]!.strides[d]! * shape[d]!;
      counters[d] = 0;
    }
  }
}

/** True when the view is dense row-major for `shape` starting at its offset. */
export function isContiguousView(v: StridedView, shape: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && v.strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}
