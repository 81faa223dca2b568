// Fixtures for the data tests: temporary directories and small generated IDX datasets.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { after } from "node:test";
import { encodeIdx } from "../../src/data/idx.js";

/** A fresh temporary directory, removed when the test file finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "nabla-data-test-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** n images of h×w whose pixel (i, y, x) = (i * 7 + y * w + x) % 256, labels i % classes. */
export function syntheticIdx(n: number, h: number, w: number, classes = 10): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * h * w);
  for (let i = 0; i < n; i++) for (let k = 0; k < h * w; k++) images[i * h * w + k] = (i * 7 + k) % 256;
  const labels = Uint8Array.from({ length: n }, (_, i) => i % classes);
  return { images, labels };
}

/** Write an MNIST-style split ("train" or "t10k") into dir; returns the file bytes written. */
export function writeIdxSplit(
  dir: string,
  prefix: "train" | "t10k",
  n: number,
  options: { gzip?: boolean; h?: number; w?: number } = {},
): { images: Uint8Array; labels: Uint8Array; imageFile: Uint8Array; labelFile: Uint8Array } {
  const h = options.h ?? 28;
  const w = options.w ?? 28;
  const { images, labels } = syntheticIdx(n, h, w);
  let imageFile = encodeIdx({ type: "uint8", dims: [n, h, w], data: images });
  let labelFile = encodeIdx({ type: "uint8", dims: [n], data: labels });
  const gz = options.gzip ?? true;
  if (gz) {
    imageFile = gzipSync(imageFile);
    labelFile = gzipSync(labelFile);
  }
  const ext = gz ? ".gz" : "";
  writeFileSync(join(dir, `${prefix}-images-idx3-ubyte${ext}`), imageFile);
  writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte${ext}`), labelFile);
  return { images, labels, imageFile, labelFile };
}
