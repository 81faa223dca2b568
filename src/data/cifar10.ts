// CIFAR-10, binary version (https://www.cs.toronto.edu/~kriz/cifar.html, "CIFAR-10 binary
// version"): data_batch_1.bin … data_batch_5.bin (training, 50,000 images) and test_batch.bin
// (10,000). Each record is 1 label byte followed by 3,072 pixel bytes — the 32×32 red plane,
// then green, then blue — which is already the [C, H, W] layout.
//
// The directory is looked up like the MNIST files (root option, $NABLA_DATA, nabla's cache),
// each also with the archive's own sub-directory cifar-10-batches-bin/. There is no download:
// fetch and unpack cifar-10-binary.tar.gz yourself.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.js";
import { ImageArrayDataset } from "./image-array-dataset.js";
import { candidateDirs, describeCandidates, findFile, type LocateOptions } from "./locate.js";

export const CIFAR10_CLASSES = [
  "airplane",
  "automobile",
  "bird",
  "cat",
  "deer",
  "dog",
  "frog",
  "horse",
  "ship",
  "truck",
] as const;

const RECORD_BYTES = 1 + 3 * 32 * 32;

export interface CIFAR10Options extends LocateOptions {
  /** The training split (the five data batches, default) or the test batch. */
  train?: boolean;
}

/** Parse one CIFAR-10 binary batch file into pixels [N, 3, 32, 32] and labels. */
export function parseCifarBatch(bytes: Uint8Array, name: string): { images: Uint8Array; labels: Int32Array } {
  if (bytes.length === 0 || bytes.length % RECORD_BYTES !== 0) {
    const whole = Math.floor(bytes.length / RECORD_BYTES);
    throw new FormatError(
      `${name}: ${bytes.length} bytes is not a whole number of ${RECORD_BYTES}-byte CIFAR-10 records ` +
        `(truncated or corrupt: record ${whole} starting at offset ${whole * RECORD_BYTES} is incomplete)`,
    );
  }
  const n = bytes.length / RECORD_BYTES;
  const images = new Uint8Array(n * (RECORD_BYTES - 1));
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const at = i * RECORD_BYTES;
    const label = bytes[at]!;
    if (label >= CIFAR10_CLASSES.length) {
      throw new FormatError(`${name}: label ${label} at offset ${at} (record ${i}) is outside [0, 10)`);
    }
    labels[i] = label;
    images.set(bytes.subarray(at + 1, at + RECORD_BYTES), i * (RECORD_BYTES - 1));
  }
  return { images, labels };
}

function batchFiles(train: boolean): string[] {
  return train ? [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`) : ["test_batch.bin"];
}

export class CIFAR10 extends ImageArrayDataset {
  readonly files: readonly string[];
  readonly train: boolean;

  constructor(options: CIFAR10Options = {}) {
    const train = options.train ?? true;
    const names = batchFiles(train);
    const candidates = candidateDirs("cifar10", [], options).flatMap((c) => [
      c,
      { dir: join(c.dir, "cifar-10-batches-bin"), source: c.source },
    ]);
    const dir = candidates.find((c) => names.every((n) => findFile(c.dir, [n])))?.dir;
    if (dir === undefined) {
      throw new FormatError(
        `CIFAR-10 ${train ? "training" : "test"} files (${names.join(", ")}) were not found. Looked in:\n` +
          `${describeCandidates(candidates)}\nDownload cifar-10-binary.tar.gz from ` +
          `https://www.cs.toronto.edu/~kriz/cifar.html and unpack it in one of these directories.`,
      );
    }
    const parts = names.map((n) => {
      const path = join(dir, n);
      return parseCifarBatch(readFileSync(path), path);
    });
    const total = parts.reduce((s, p) => s + p.labels.length, 0);
    const images = new Uint8Array(total * (RECORD_BYTES - 1));
    const labels = new Int32Array(total);
    let at = 0;
    for (const p of parts) {
      images.set(p.images, at * (RECORD_BYTES - 1));
      labels.set(p.labels, at);
      at += p.labels.length;
    }
    super(images, labels, [3, 32, 32], readClassNames(dir));
    this.files = names.map((n) => join(dir, n));
    this.train = train;
  }
}

/** Class names from batches.meta.txt when present (one per line), else the standard ten. */
function readClassNames(dir: string): readonly string[] {
  const meta = join(dir, "batches.meta.txt");
  if (!existsSync(meta)) return CIFAR10_CLASSES;
  const names = readFileSync(meta, "utf8")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return names.length === CIFAR10_CLASSES.length ? names : CIFAR10_CLASSES;
}
