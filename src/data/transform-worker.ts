// The worker-thread side of the DataLoader's worker pool. It receives, once, the transform spec
// and (for in-memory image datasets) the uint8 images in shared memory; then, per task, either
// the indices of a batch (it gathers the pixels itself) or a ready float batch, applies the
// transform with a generator seeded for that batch, and sends the floats back (transferred,
// not copied).
import { parentPort, workerData } from "node:worker_threads";
import { Generator } from "../tensor/random.js";
import { gatherImagesAsFloat, gatherLabels } from "./batch.js";
import { transformFromSpec, type ImageBatch, type TransformSpec } from "./transforms.js";

export interface WorkerInit {
  spec: TransformSpec | null;
  raw: { images: Uint8Array; labels: Int32Array; sampleShape: readonly [number, number, number] } | null;
}

/** A task without its id: gather-and-transform by indices, or transform a ready batch. */
export type WorkerJob =
  | { kind: "raw"; indices: Int32Array; seed: number }
  | { kind: "float"; data: Float32Array; shape: ImageBatch["shape"]; seed: number };

export type WorkerTask = WorkerJob & { id: number };

export interface WorkerOutput {
  id: number;
  data: Float32Array;
  shape: ImageBatch["shape"];
  targets: Int32Array | null;
}

export type WorkerResult = WorkerOutput | { id: number; error: string };

const init = workerData as WorkerInit;
const transform = init.spec ? transformFromSpec(init.spec) : null;

function run(task: WorkerTask): WorkerResult {
  let batch: ImageBatch;
  let targets: Int32Array | null = null;
  if (task.kind === "raw") {
    if (!init.raw) throw new Error("worker has no image source for a raw task");
    const [c, h, w] = init.raw.sampleShape;
    const n = task.indices.length;
    const data = gatherImagesAsFloat(init.raw.images, c * h * w, task.indices, new Float32Array(n * c * h * w));
    batch = { data, shape: [n, c, h, w] };
    targets = gatherLabels(init.raw.labels, task.indices);
  } else {
    batch = { data: task.data, shape: task.shape };
  }
  if (transform) batch = transform.apply(batch, new Generator(task.seed));
  return { id: task.id, data: batch.data, shape: batch.shape, targets };
}

parentPort!.on("message", (task: WorkerTask) => {
  let result: WorkerResult;
  try {
    result = run(task);
  } catch (e) {
    parentPort!.postMessage({ id: task.id, error: `${(e as Error).name}: ${(e as Error).message}` });
    return;
  }
  const transfer: ArrayBuffer[] = [];
  if ("data" in result) {
    transfer.push(result.data.buffer as ArrayBuffer);
    if (result.targets) transfer.push(result.targets.buffer as ArrayBuffer);
  }
  parentPort!.postMessage(result, transfer);
});
