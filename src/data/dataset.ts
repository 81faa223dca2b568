// What a dataset is. Like torch.utils.data.Dataset: a length and an indexed `get`, yielding
// `{ input, target }` samples. Datasets that hold their images in memory also implement the fast
// path `getBatch(indices)`, which builds a whole [B, C, H, W] float32 batch straight from the
// stored uint8 pixels — one typed-array loop instead of B small Tensor objects. The DataLoader
// uses it whenever it is there.
import type { Tensor } from "../tensor/tensor.js";

/** One example: the input (float32 [C, H, W] in [0, 1] for images) and its class index. */
export interface Sample {
  input: Tensor;
  target: number;
}

/** A batch: inputs [B, ...] (float32) and targets int32 [B]. */
export interface Batch {
  inputs: Tensor;
  targets: Tensor;
}

export interface Dataset<T = Sample> {
  readonly length: number;
  get(index: number): T;
}

/** A dataset that can build a whole batch at once (the fast path). */
export interface BatchDataset extends Dataset<Sample> {
  getBatch(indices: ArrayLike<number>): Batch;
}

export function hasGetBatch(dataset: Dataset<unknown>): dataset is BatchDataset {
  return typeof (dataset as Partial<BatchDataset>).getBatch === "function";
}

/** An image dataset held as uint8 pixels in memory: the raw arrays are public for fast batching. */
export interface RawImageSource {
  /** All images, uint8, laid out [N, C, H, W]. */
  readonly images: Uint8Array;
  /** One class index per image. */
  readonly labels: Int32Array;
  /** [C, H, W] of one image. */
  readonly sampleShape: readonly [number, number, number];
}

export function isRawImageSource(dataset: unknown): dataset is RawImageSource {
  const d = dataset as Partial<RawImageSource>;
  return d.images instanceof Uint8Array && d.labels instanceof Int32Array && Array.isArray(d.sampleShape);
}
