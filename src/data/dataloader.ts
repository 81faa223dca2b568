// DataLoader: batches from a dataset, like torch.utils.data.DataLoader.
//
//   const loader = new DataLoader(train, { batchSize: 64, shuffle: true, seed: 1,
//                                          transform: compose(randomCrop(28, 2), normalize(0.286, 0.353)) });
//   for await (const { inputs, targets } of loader) { ... }   // or: for (const b of loader)
//
// Reproducibility. The permutation of epoch e is drawn from a generator seeded by (seed, e), and
// the augmentation of batch k of epoch e from one seeded by (seed, e, k). So the same seed gives
// the same batches — with or without worker threads, sync or async — and a run resumed from
// `stateDict()` ({ seed, epoch, batchIndex }) continues with exactly the batches it would have
// seen. Each completed pass over the loader advances `epoch`; an abandoned pass (break) does not,
// so the next pass repeats that epoch from its first batch (or from where loadStateDict says).
//
// Speed. Datasets with `getBatch` (all in-memory image datasets) build a batch in one loop from
// their uint8 pixels. With `numWorkers > 0`, async iteration runs batch building and transforms
// in worker threads, keeping `prefetch` batches per worker in flight; see BENCHMARKS.md for when
// that pays (on 2 cores it is measured there; the default is 0).
import { fromArray } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { ShapeError, ValueError } from "../errors.js";
import { hasGetBatch, isRawImageSource, type Batch, type Dataset, type RawImageSource, type Sample } from "./dataset.js";
import { derivedGenerator, deriveSeed, STREAM_AUGMENT, STREAM_SHUFFLE } from "./seeds.js";
import { permutation } from "./tensor-dataset.js";
import type { BatchTransform, ImageBatch } from "./transforms.js";
import { TransformWorkerPool } from "./worker-pool.js";

export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1). */
  batchSize?: number;
  /** Reshuffle every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffles and the augmentation (default 0). */
  seed?: number;
  /** Drop the last incomplete batch (default false). */
  dropLast?: boolean;
  /** Build a batch from samples; default stacks `input`s and `target`s (or uses getBatch). */
  collate?: (samples: T[]) => B;
  /** Applied to every batch's `inputs` (float32 [B, C, H, W]). */
  transform?: BatchTransform;
  /** Worker threads for batch building + transforms in async iteration (default 0: main thread). */
  numWorkers?: number;
  /** Batches in flight per worker (default 2). */
  prefetch?: number;
}

/** Where the loader stands: enough to resume exactly. */
export interface DataLoaderState {
  seed: number;
  /** The epoch the next batch belongs to. */
  epoch: number;
  /** The index of the next batch within that epoch. */
  batchIndex: number;
}

/** Stack samples' inputs into [B, ...] float32 and targets into int32 [B]. */
export function defaultCollate(samples: readonly Sample[]): Batch {
  const first = samples[0];
  if (!first) throw new ValueError("collate: empty batch");
  const shape = first.input.shape;
  const size = first.input.numel;
  const data = new Float32Array(samples.length * size);
  const targets = new Int32Array(samples.length);
  samples.forEach((s, i) => {
    if (s.input.shape.length !== shape.length || s.input.shape.some((d, k) => d !== shape[k])) {
      throw new ShapeError(
        `collate: sample ${i} has input shape [${s.input.shape.join(", ")}], sample 0 has [${shape.join(", ")}]`,
      );
    }
    data.set(s.input.data, i * size);
    targets[i] = s.target;
  });
  return { inputs: fromArray(data, [samples.length, ...shape]), targets: fromArray(targets, [samples.length]) };
}

/** Shared-memory copies of datasets' pixels for worker threads, made once per dataset. */
const sharedSources = new WeakMap<object, RawImageSource>();

function sharedCopy(source: RawImageSource): RawImageSource {
  let shared = sharedSources.get(source);
  if (!shared) {
    const images = new Uint8Array(new SharedArrayBuffer(source.images.length));
    images.set(source.images);
    const labels = new Int32Array(new SharedArrayBuffer(source.labels.byteLength));
    labels.set(source.labels);
    shared = { images, labels, sampleShape: source.sampleShape };
    sharedSources.set(source, shared);
  }
  return shared;
}

export class DataLoader<T = Sample, B = Batch> {
  readonly dataset: Dataset<T>;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly numWorkers: number;
  readonly prefetch: number;
  readonly transform: BatchTransform | null;
  private readonly collate: ((samples: T[]) => B) | null;
  /** The epoch the next pass runs. */
  epoch = 0;
  /** First batch of the next pass (set by loadStateDict, reset to 0 when a pass completes). */
  private startBatch = 0;
  /** Position of the pass in progress, for stateDict() mid-epoch. */
  private position: { epoch: number; batchIndex: number } | null = null;
  private pool: TransformWorkerPool | null = null;

  constructor(dataset: Dataset<T>, options: DataLoaderOptions<T, B> = {}) {
    this.dataset = dataset;
    this.batchSize = options.batchSize ?? 1;
    this.shuffle = options.shuffle ?? false;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.numWorkers = options.numWorkers ?? 0;
    this.prefetch = options.prefetch ?? 2;
    this.transform = options.transform ?? null;
    this.collate = options.collate ?? null;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    }
    if (!Number.isSafeInteger(this.seed) || this.seed < 0) {
      throw new ValueError(`DataLoader: seed must be a non-negative safe integer, got ${this.seed}`);
    }
    if (!Number.isInteger(this.numWorkers) || this.numWorkers < 0) {
      throw new ValueError(`DataLoader: numWorkers must be a non-negative integer, got ${this.numWorkers}`);
    }
    if (!Number.isInteger(this.prefetch) || this.prefetch < 1) {
      throw new ValueError(`DataLoader: prefetch must be a positive integer, got ${this.prefetch}`);
    }
    if (this.numWorkers > 0 && this.transform && this.transform.spec === null) {
      throw new ValueError(
        "DataLoader: a custom (lambda) transform cannot run in worker threads; use numWorkers: 0 or built-in transforms",
      );
    }
  }

  /** Batches per epoch. */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order in which epoch `epoch` visits the dataset. */
  order(epoch: number): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    return permutation(n, derivedGenerator(this.seed, STREAM_SHUFFLE, epoch));
  }

  /** Where the next batch comes from; save it in a checkpoint. */
  stateDict(): DataLoaderState {
    const pos = this.position ?? { epoch: this.epoch, batchIndex: this.startBatch };
    return { seed: this.seed, epoch: pos.epoch, batchIndex: pos.batchIndex };
  }

  /** Resume: the next pass runs `state.epoch` from batch `state.batchIndex`. */
  loadStateDict(state: DataLoaderState): void {
    if (state.seed !== this.seed) {
      throw new ValueError(`DataLoader.loadStateDict: state has seed ${state.seed}, this loader ${this.seed}`);
    }
    if (!Number.isInteger(state.batchIndex) || state.batchIndex < 0 || state.batchIndex > this.length) {
      throw new ValueError(`DataLoader.loadStateDict: batchIndex ${state.batchIndex} outside [0, ${this.length}]`);
    }
    this.epoch = state.epoch;
    this.startBatch = state.batchIndex;
    this.position = null;
  }

  /** Run a given epoch (like PyTorch's sampler.set_epoch). */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
    this.startBatch = 0;
    this.position = null;
  }

  private batchIndices(order: Int32Array, k: number): Int32Array {
    return order.subarray(k * this.batchSize, Math.min((k + 1) * this.batchSize, order.length));
  }

  /** Build batch k of an epoch on this thread (no transform). */
  private buildBatch(indices: Int32Array): B {
    if (this.collate) return this.collate(Array.from(indices, (i) => this.dataset.get(i)));
    const ds = this.dataset as Dataset<unknown>;
    if (hasGetBatch(ds)) return ds.getBatch(indices) as B;
    return defaultCollate(Array.from(indices, (i) => this.dataset.get(i) as Sample)) as B;
  }

  /** The float32 [B, C, H, W] inputs of a batch, for the transform. */
  private imageBatch(batch: B): ImageBatch {
    const inputs = (batch as Partial<Batch>).inputs as Tensor | undefined;
    if (!inputs || inputs.dtype !== "float32" || inputs.ndim !== 4) {
      throw new ValueError(
        "DataLoader: a transform needs batches with float32 `inputs` of shape [B, C, H, W]" +
          (inputs ? `, got ${inputs.dtype} [${inputs.shape.join(", ")}]` : ""),
      );
    }
    return { data: inputs.contiguous().data as Float32Array, shape: inputs.shape as ImageBatch["shape"] };
  }

  private withInputs(batch: B, image: ImageBatch): B {
    return { ...(batch as object), inputs: fromArray(image.data, [...image.shape]) } as B;
  }

  /** Batch k of `epoch`, fully built and transformed, on this thread. */
  private makeBatch(order: Int32Array, epoch: number, k: number): B {
    const batch = this.buildBatch(this.batchIndices(order, k));
    if (!this.transform) return batch;
    const generator = derivedGenerator(this.seed, STREAM_AUGMENT, epoch, k);
    return this.withInputs(batch, this.transform.apply(this.imageBatch(batch), generator));
  }

  /** Start a pass: which epoch, from which batch. */
  private beginPass(): { epoch: number; first: number } {
    const pass = { epoch: this.epoch, first: this.startBatch };
    this.position = { epoch: pass.epoch, batchIndex: pass.first };
    return pass;
  }

  private advance(epoch: number, k: number): void {
    this.position = { epoch, batchIndex: k + 1 };
  }

  private endPass(completed: boolean): void {
    if (completed) {
      this.epoch = (this.position?.epoch ?? this.epoch) + 1;
      this.startBatch = 0;
    }
    // An abandoned pass leaves epoch/startBatch unchanged: the next pass repeats it.
    this.position = null;
  }

  /** Synchronous iteration over one epoch, on the main thread (workers are not used). */
  [Symbol.iterator](): Generator<B> {
    return this.passOnThisThread();
  }

  private *passOnThisThread(): Generator<B> {
    const { epoch, first } = this.beginPass();
    const order = this.order(epoch);
    let completed = false;
    try {
      for (let k = first; k < this.length; k++) {
        const batch = this.makeBatch(order, epoch, k);
        this.advance(epoch, k);
        yield batch;
      }
      completed = true;
    } finally {
      this.endPass(completed);
    }
  }

  /** Asynchronous iteration over one epoch; uses the worker pool when numWorkers > 0. */
  async *[Symbol.asyncIterator](): AsyncGenerator<B> {
    if (this.numWorkers === 0 || !this.workersUseful()) {
      yield* this.passOnThisThread();
      return;
    }
    const { epoch, first } = this.beginPass();
    const order = this.order(epoch);
    const pool = this.getPool();
    const inFlight = new Map<number, Promise<B>>();
    const ahead = this.numWorkers * this.prefetch;
    let next = first;
    const launch = () => {
      while (next < this.length && inFlight.size < ahead) {
        inFlight.set(next, this.makeBatchInWorker(pool, order, epoch, next));
        next++;
      }
    };
    let completed = false;
    try {
      for (let k = first; k < this.length; k++) {
        launch();
        const batch = await inFlight.get(k)!;
        inFlight.delete(k);
        launch();
        this.advance(epoch, k);
        yield batch;
      }
      completed = true;
    } finally {
      // Batches still in flight (after a break) are dropped; swallow their results or errors.
      for (const p of inFlight.values()) p.catch(() => undefined);
      this.endPass(completed);
    }
  }

  /** Workers help when they can build batches from shared pixels, or there is a transform to run. */
  private workersUseful(): boolean {
    return this.rawSource() !== null || this.transform !== null;
  }

  /** The dataset's pixels, when workers may gather batches themselves (default batching only). */
  private rawSource(): RawImageSource | null {
    if (this.collate) return null;
    return isRawImageSource(this.dataset) ? this.dataset : null;
  }

  private getPool(): TransformWorkerPool {
    if (!this.pool) {
      const raw = this.rawSource();
      this.pool = new TransformWorkerPool(this.numWorkers, {
        spec: this.transform?.spec ?? null,
        raw: raw ? sharedCopy(raw) : null,
      });
    }
    return this.pool;
  }

  private async makeBatchInWorker(pool: TransformWorkerPool, order: Int32Array, epoch: number, k: number): Promise<B> {
    const indices = this.batchIndices(order, k);
    const seed = deriveSeed(this.seed, STREAM_AUGMENT, epoch, k);
    if (this.rawSource()) {
      const r = await pool.run({ kind: "raw", indices: Int32Array.from(indices), seed });
      return { inputs: fromArray(r.data, [...r.shape]), targets: fromArray(r.targets!, [indices.length]) } as B;
    }
    const batch = this.buildBatch(indices);
    const image = this.imageBatch(batch);
    // Send a private copy unless the array owns its whole (non-shared) buffer, which is transferred.
    const owned = image.data.byteOffset === 0 && image.data.buffer.byteLength === image.data.byteLength;
    const data = owned && image.data.buffer instanceof ArrayBuffer ? image.data : image.data.slice();
    const r = await pool.run({ kind: "float", data, shape: image.shape, seed });
    return this.withInputs(batch, { data: r.data, shape: r.shape });
  }

  /** Stop the worker threads (they are also stopped when the process exits). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.close();
  }
}
