// Datasets built from other datasets or from tensors: TensorDataset (inputs and targets already
// in memory), Subset (a view through a list of indices) and randomSplit (train/validation).
import { fromArray } from "../tensor/creation.js";
import { allocArray } from "../tensor/dtype.js";
import type { Generator } from "../tensor/random.js";
import { defaultGenerator } from "../tensor/random.js";
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../errors.js";
import { hasGetBatch, type Batch, type BatchDataset, type Dataset, type Sample } from "./dataset.js";

function checkIndex(index: number, length: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw new ValueError(`dataset index ${index} is out of range [0, ${length})`);
  }
}

/** Row i of `inputs` with targets[i], like torch.utils.data.TensorDataset(inputs, targets). */
export class TensorDataset implements BatchDataset {
  readonly inputs: Tensor;
  readonly targets: Tensor;
  private readonly inputData;
  private readonly targetData;
  private readonly rowSize: number;

  constructor(inputs: Tensor, targets: Tensor) {
    if (inputs.ndim < 1 || targets.ndim !== 1 || inputs.shape[0] !== targets.shape[0]) {
      throw new ShapeError(
        `TensorDataset: inputs [${inputs.shape.join(", ")}] and targets [${targets.shape.join(", ")}] ` +
          `must share their first dimension (targets 1-D)`,
      );
    }
    this.inputs = inputs;
    this.targets = targets;
    this.inputData = inputs.contiguous().data;
    this.targetData = targets.contiguous().data;
    this.rowSize = inputs.shape.slice(1).reduce((a, b) => a * b, 1);
  }

  get length(): number {
    return this.targets.shape[0]!;
  }

  get(index: number): Sample {
    checkIndex(index, this.length);
    const row = this.inputData.slice(index * this.rowSize, (index + 1) * this.rowSize);
    return { input: fromArray(row, this.inputs.shape.slice(1), { dtype: this.inputs.dtype }), target: this.targetData[index]! };
  }

  getBatch(indices: ArrayLike<number>): Batch {
    const n = indices.length;
    const rows = allocArray(this.inputs.dtype, n * this.rowSize);
    const targets = new Int32Array(n);
    for (let b = 0; b < n; b++) {
      const i = indices[b]!;
      checkIndex(i, this.length);
      rows.set(this.inputData.subarray(i * this.rowSize, (i + 1) * this.rowSize), b * this.rowSize);
      targets[b] = this.targetData[i]!;
    }
    return {
      inputs: fromArray(rows, [n, ...this.inputs.shape.slice(1)], { dtype: this.inputs.dtype }),
      targets: fromArray(targets, [n]),
    };
  }
}

/** The samples of `dataset` at `indices`, in that order (torch.utils.data.Subset). */
export class Subset<T = Sample> implements Dataset<T> {
  readonly dataset: Dataset<T>;
  readonly indices: Int32Array;
  /** The fast path, present only when the underlying dataset has one (then T is Sample). */
  readonly getBatch?: (indices: ArrayLike<number>) => Batch;

  constructor(dataset: Dataset<T>, indices: ArrayLike<number>) {
    for (let k = 0; k < indices.length; k++) checkIndex(indices[k]!, dataset.length);
    this.dataset = dataset;
    this.indices = Int32Array.from(indices);
    const inner = dataset as Dataset<unknown>;
    if (hasGetBatch(inner)) {
      this.getBatch = (batchIndices) => {
        const mapped = new Int32Array(batchIndices.length);
        for (let b = 0; b < batchIndices.length; b++) {
          checkIndex(batchIndices[b]!, this.length);
          mapped[b] = this.indices[batchIndices[b]!]!;
        }
        return inner.getBatch(mapped);
      };
    }
  }

  get length(): number {
    return this.indices.length;
  }

  get(index: number): T {
    checkIndex(index, this.length);
    return this.dataset.get(this.indices[index]!);
  }
}

/**
 * Split a dataset into non-overlapping random subsets of the given lengths (which must add up to
 * its length), like torch.utils.data.random_split.
 */
export function randomSplit<T>(
  dataset: Dataset<T>,
  lengths: readonly number[],
  generator: Generator = defaultGenerator,
): Subset<T>[] {
  const total = lengths.reduce((a, b) => a + b, 0);
  if (total !== dataset.length || lengths.some((l) => !Number.isInteger(l) || l < 0)) {
    throw new ValueError(`randomSplit: lengths [${lengths.join(", ")}] do not add up to ${dataset.length}`);
  }
  const perm = permutation(dataset.length, generator);
  const out: Subset<T>[] = [];
  let at = 0;
  for (const l of lengths) {
    out.push(new Subset(dataset, perm.subarray(at, at + l)));
    at += l;
  }
  return out;
}

/** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, generator: Generator): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = generator.randint(0, i + 1);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
