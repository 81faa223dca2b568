// Typed-array kernels that turn stored uint8 images into float32 batches. No Tensor objects
// here, so the worker threads can use them without loading the tensor library.

/** value / 255 for every byte value: a table lookup beats a division per pixel. */
export const UINT8_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/**
 * Copy the images at `indices` (each `sampleSize` bytes in `images`) into `out` as floats in
 * [0, 1], one after the other. `out` must hold indices.length * sampleSize floats.
 */
export function gatherImagesAsFloat(
  images: Uint8Array,
  sampleSize: number,
  indices: ArrayLike<number>,
  out: Float32Array,
): Float32Array {
  const table = UINT8_TO_UNIT;
  for (let b = 0; b < indices.length; b++) {
    const src = indices[b]! * sampleSize;
    const dst = b * sampleSize;
    for (let k = 0; k < sampleSize; k++) out[dst + k] = table[images[src + k]!]!;
  }
  return out;
}

/** The labels at `indices`, as int32. */
export function gatherLabels(labels: Int32Array, indices: ArrayLike<number>): Int32Array {
  const out = new Int32Array(indices.length);
  for (let b = 0; b < indices.length; b++) out[b] = labels[indices[b]!]!;
  return out;
}
