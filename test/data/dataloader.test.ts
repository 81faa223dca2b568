import { test } from "node:test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import assert from "node:assert/strict";
import { DataLoader } from "../../src/data/dataloader.js";
import { ImageArrayDataset } from "../../src/data/image-array-dataset.js";
import { Subset, TensorDataset, randomSplit } from "../../src/data/tensor-dataset.js";
import { compose, lambda, normalize, randomCrop, randomErasing, randomHorizontalFlip } from "../../src/data/transforms.js";
import type { Batch, Dataset, Sample } from "../../src/data/dataset.js";
import { fromArray, tensor } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { ShapeError, ValueError } from "../../src/errors.js";

/** n images [1, 4, 4]; image i's pixels are (i + k) % 256 and its label i % 3. */
function toyImages(n: number): ImageArrayDataset {
  const images = Uint8Array.from({ length: n * 16 }, (_, k) => (Math.floor(k / 16) + (k % 16)) % 256);
  return new ImageArrayDataset(images, Int32Array.from({ length: n }, (_, i) => i % 3), [1, 4, 4], ["a", "b", "c"]);
}

/** The dataset index of each sample in a batch, recovered from its first pixel. */
function ids(batch: Batch): number[] {
  const d = batch.inputs.data;
  return Array.from({ length: batch.inputs.shape[0]! }, (_, b) => Math.round(d[b * 16]! * 255));
}

function snapshot(batches: Iterable<Batch>): { inputs: number[]; targets: number[]; shape: readonly number[] }[] {
  return Array.from(batches, (b) => ({ inputs: Array.from(b.inputs.data), targets: Array.from(b.targets.data), shape: b.inputs.shape }));
}

async function snapshotAsync(loader: DataLoader): Promise<ReturnType<typeof snapshot>> {
  const out: Batch[] = [];
  for await (const b of loader) out.push(b);
  return snapshot(out);
}

test("DataLoader: batch count, last partial batch, dropLast, dataset order without shuffle", () => {
  const ds = toyImages(10);
  const loader = new DataLoader(ds, { batchSize: 4 });
  assert.equal(loader.length, 3);
  const batches = Array.from(loader);
  assert.deepEqual(batches.map(ids), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  assert.deepEqual(Array.from(batches[2]!.targets.data), [2, 0]);
  assert.equal(batches[0]!.targets.dtype, "int32");
  const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
  assert.equal(dropping.length, 2);
  assert.deepEqual(Array.from(dropping).map(ids), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.throws(() => new DataLoader(ds, { batchSize: 0 }), ValueError);
});

test("DataLoader: shuffle visits every sample once per epoch; same seed → identical batches, new epoch → new order", () => {
  const ds = toyImages(50);
  const transform = compose(randomCrop(4, 1), randomHorizontalFlip(), normalize(0.5, 0.25));
  const a = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 42, transform });
  const b = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 42, transform });
  const a0 = snapshot(a);
  const a1 = snapshot(a);
  assert.deepEqual(a0, snapshot(b));
  assert.deepEqual(a1, snapshot(b));
  assert.notDeepEqual(a0, a1, "epoch 1 repeats epoch 0");
  assert.equal(a.epoch, 2);
  const plain = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 42 });
  const seen = Array.from(plain).flatMap(ids);
  assert.deepEqual([...seen].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(seen, Array.from({ length: 50 }, (_, i) => i));
  const other = new DataLoader(ds, { batchSize: 8, shuffle: true, seed: 43 });
  assert.notDeepEqual(Array.from(other).flatMap(ids), seen);
});

test("DataLoader: stateDict mid-epoch resumes with exactly the remaining batches", () => {
  const ds = toyImages(30);
  const options = { batchSize: 4, shuffle: true, seed: 9, transform: randomErasing({ p: 0.7 }) };
  const reference = new DataLoader(ds, options);
  snapshot(reference); // epoch 0
  const epoch1 = snapshot(reference);

  const first = new DataLoader(ds, options);
  snapshot(first);
  let state = first.stateDict();
  let k = 0;
  for (const _ of first) {
    if (++k === 3) {
      state = first.stateDict();
      break;
    }
  }
  assert.deepEqual(state, { seed: 9, epoch: 1, batchIndex: 3 });
  // An abandoned pass does not count as an epoch.
  assert.equal(first.epoch, 1);

  const resumed = new DataLoader(ds, options);
  resumed.loadStateDict(JSON.parse(JSON.stringify(state)));
  assert.deepEqual(snapshot(resumed), epoch1.slice(3));
  assert.equal(resumed.epoch, 2);
  assert.throws(() => resumed.loadStateDict({ ...state, seed: 1 }), /seed/);
});

test("DataLoader: async iteration with 2 worker threads gives the same batches as the sync path", async () => {
  const ds = toyImages(70);
  const transform = compose(randomCrop(4, 2), randomHorizontalFlip(), normalize(0.3, 0.2), randomErasing());
  const options = { batchSize: 16, shuffle: true, seed: 5, transform };
  const sync = new DataLoader(ds, options);
  const expected = [snapshot(sync), snapshot(sync)];
  const workers = new DataLoader(ds, { ...options, numWorkers: 2, prefetch: 2 });
  try {
    assert.deepEqual(await snapshotAsync(workers), expected[0]);
    assert.deepEqual(await snapshotAsync(workers), expected[1]);
  } finally {
    await workers.close();
  }
  // A dataset without raw pixels (a Subset) sends float batches to the workers instead.
  const subset = new Subset(ds, Array.from({ length: 40 }, (_, i) => 69 - i));
  const viaFloats = new DataLoader(subset, { ...options, numWorkers: 1 });
  try {
    assert.deepEqual(await snapshotAsync(viaFloats), snapshot(new DataLoader(subset, options)));
  } finally {
    await viaFloats.close();
  }
  assert.throws(() => new DataLoader(ds, { numWorkers: 1, transform: lambda((b) => b) }), /cannot run in worker threads/);
});

test("DataLoader: breaking off a pass with 2 busy workers, then close(), lets the program go on", () => {
  // In a child process: under node:test the runner's own handles would hide an early exit.
  const script = join(import.meta.dirname, "fixtures", "close-after-break.ts");
  const out = execFileSync(process.execPath, ["--import", "tsx", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(out.trim(), "closed");
});

test("DataLoader: a transform error inside a worker surfaces as a ValueError", async () => {
  const loader = new DataLoader(toyImages(8), { batchSize: 4, numWorkers: 1, transform: normalize([0, 0], [1, 1]) });
  try {
    await assert.rejects(async () => {
      for await (const _ of loader) {
        /* consume */
      }
    }, (e: Error) => e instanceof ValueError && /2 per-channel values for 1 channels/.test(e.message));
  } finally {
    await loader.close();
  }
});

test("DataLoader: generic datasets go through get() and the default or a custom collate", () => {
  const plain: Dataset<Sample> = {
    length: 5,
    get: (i) => ({ input: tensor([[i, i + 0.5]]), target: 4 - i }),
  };
  const batches = Array.from(new DataLoader(plain, { batchSize: 2 }));
  assert.deepEqual(batches[0]!.inputs.shape, [2, 1, 2]);
  assert.deepEqual(Array.from(batches[0]!.inputs.data), [0, 0.5, 1, 1.5]);
  assert.deepEqual(Array.from(batches[2]!.targets.data), [0]);
  const custom = new DataLoader(plain, { batchSize: 3, collate: (samples) => samples.map((s) => s.target).join(",") });
  assert.deepEqual(Array.from(custom), ["4,3,2", "1,0"]);
  const ragged: Dataset<Sample> = { length: 2, get: (i) => ({ input: tensor(i === 0 ? [1, 2] : [1, 2, 3]), target: 0 }) };
  assert.throws(() => Array.from(new DataLoader(ragged, { batchSize: 2 })), ShapeError);
  assert.throws(() => Array.from(new DataLoader(plain, { batchSize: 2, transform: normalize(0, 1) })), /\[B, C, H, W\]/);
});

test("TensorDataset, Subset and randomSplit keep the fast batch path", () => {
  const x = fromArray(Float32Array.from({ length: 24 }, (_, k) => k), [6, 2, 2]);
  const y = tensor([0, 1, 2, 0, 1, 2], { dtype: "int32" });
  const ds = new TensorDataset(x, y);
  assert.equal(ds.get(2).target, 2);
  assert.deepEqual(Array.from(ds.get(2).input.data), [8, 9, 10, 11]);
  const batch = ds.getBatch([5, 0]);
  assert.deepEqual(batch.inputs.shape, [2, 2, 2]);
  assert.deepEqual(Array.from(batch.inputs.data), [20, 21, 22, 23, 0, 1, 2, 3]);
  assert.throws(() => new TensorDataset(x, tensor([1, 2])), ShapeError);
  const [train, val] = randomSplit(ds, [4, 2], new Generator(1));
  const all = [...train!.indices, ...val!.indices].sort();
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(Array.from(val!.getBatch!([1]).targets.data), [y.data[val!.indices[1]!]]);
  assert.throws(() => randomSplit(ds, [4, 3]), /do not add up to 6/);
  const noFastPath = new Subset({ length: 3, get: (i: number) => i }, [2, 0]);
  assert.equal(noFastPath.getBatch, undefined);
  assert.equal(noFastPath.get(0), 2);
});
