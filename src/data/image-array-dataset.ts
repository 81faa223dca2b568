// The in-memory image dataset every image reader here ends in: N images as one uint8 array
// [N, C, H, W] plus int32 labels. MNIST, Fashion-MNIST, CIFAR-10 and ImageFolder all produce
// one. `get(i)` gives a float32 [C, H, W] tensor in [0, 1]; `getBatch(indices)` builds a whole
// batch in one loop, which is what the DataLoader uses.
import { fromArray } from "../tensor/creation.js";
import { ShapeError, ValueError } from "../errors.js";
import type { Batch, BatchDataset, RawImageSource, Sample } from "./dataset.js";
import { gatherImagesAsFloat, gatherLabels } from "./batch.js";

export class ImageArrayDataset implements BatchDataset, RawImageSource {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly sampleShape: readonly [number, number, number];
  /** Class names, index = label. */
  readonly classes: readonly string[];

  constructor(
    images: Uint8Array,
    labels: Int32Array,
    sampleShape: readonly [number, number, number],
    classes: readonly string[],
  ) {
    const [c, h, w] = sampleShape;
    const size = c * h * w;
    if (size <= 0 || images.length !== labels.length * size) {
      throw new ShapeError(
        `ImageArrayDataset: ${images.length} pixel bytes do not hold ${labels.length} images of [${c}, ${h}, ${w}]`,
      );
    }
    for (let i = 0; i < labels.length; i++) {
      const y = labels[i]!;
      if (y < 0 || y >= classes.length) {
        throw new ValueError(`ImageArrayDataset: label ${y} at index ${i} is outside [0, ${classes.length})`);
      }
    }
    this.images = images;
    this.labels = labels;
    this.sampleShape = sampleShape;
    this.classes = classes;
  }

  get length(): number {
    return this.labels.length;
  }

  /** Bytes (= elements) of one image. */
  get sampleSize(): number {
    const [c, h, w] = this.sampleShape;
    return c * h * w;
  }

  private checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new ValueError(`dataset index ${index} is out of range [0, ${this.length})`);
    }
  }

  get(index: number): Sample {
    this.checkIndex(index);
    const out = gatherImagesAsFloat(this.images, this.sampleSize, [index], new Float32Array(this.sampleSize));
    return { input: fromArray(out, [...this.sampleShape]), target: this.labels[index]! };
  }

  /** The raw uint8 pixels of one image (a view, no copy), [C, H, W] row-major. */
  rawImage(index: number): Uint8Array {
    this.checkIndex(index);
    return this.images.subarray(index * this.sampleSize, (index + 1) * this.sampleSize);
  }

  getBatch(indices: ArrayLike<number>): Batch {
    for (let b = 0; b < indices.length; b++) this.checkIndex(indices[b]!);
    const size = this.sampleSize;
    const data = gatherImagesAsFloat(this.images, size, indices, new Float32Array(indices.length * size));
    return {
      inputs: fromArray(data, [indices.length, ...this.sampleShape]),
      targets: fromArray(gatherLabels(this.labels, indices), [indices.length]),
    };
  }

  /** How many images each class has (index = label). */
  classCounts(): number[] {
    const counts = new Array<number>(this.classes.length).fill(0);
    for (const y of this.labels) counts[y]!++;
    return counts;
  }
}
