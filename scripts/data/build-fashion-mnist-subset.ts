// Builds data/fashion-mnist-subset/ from the full Fashion-MNIST files: the first 600 images of
// each class in the training file (6,000) and the first 100 of each class in the test file
// (1,000), kept in file order, written as gzipped IDX files with the standard names.
//
//   npx tsx scripts/data/build-fashion-mnist-subset.ts [source-dir]
//
// source-dir defaults to Debian's /usr/share/datasets/fashion-mnist (package
// dataset-fashion-mnist). The output is byte-for-byte reproducible (gzip without timestamps).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeIdx } from "../../src/data/idx.js";
import { digest } from "../../src/data/download.js";
import { FASHION_MNIST_CLASSES, FashionMNIST } from "../../src/data/mnist.js";
import type { ImageArrayDataset } from "../../src/data/image-array-dataset.js";

const source = process.argv[2] ?? "/usr/share/datasets/fashion-mnist";
const outDir = join(import.meta.dirname, "..", "..", "data", "fashion-mnist-subset");
const PER_CLASS = { train: 600, t10k: 100 };

/** Indices of the first `perClass` images of every class, in file order. */
function firstPerClass(ds: ImageArrayDataset, perClass: number): number[] {
  const taken = new Array<number>(ds.classes.length).fill(0);
  const picked: number[] = [];
  for (let i = 0; i < ds.length; i++) {
    const y = ds.labels[i]!;
    if (taken[y]! < perClass) {
      taken[y]!++;
      picked.push(i);
    }
  }
  if (taken.some((t) => t < perClass)) throw new Error(`a class has fewer than ${perClass} images`);
  return picked;
}

mkdirSync(outDir, { recursive: true });
const sums: string[] = [];
for (const [prefix, train] of [
  ["train", true],
  ["t10k", false],
] as const) {
  const ds = new FashionMNIST({ root: source, train });
  const picked = firstPerClass(ds, PER_CLASS[prefix]);
  const [, h, w] = ds.sampleShape;
  const images = new Uint8Array(picked.length * h * w);
  picked.forEach((src, dst) => images.set(ds.rawImage(src), dst * h * w));
  const labels = Uint8Array.from(picked, (i) => ds.labels[i]!);
  const files: [string, Uint8Array][] = [
    [`${prefix}-images-idx3-ubyte.gz`, encodeIdx({ type: "uint8", dims: [picked.length, h, w], data: images })],
    [`${prefix}-labels-idx1-ubyte.gz`, encodeIdx({ type: "uint8", dims: [picked.length], data: labels })],
  ];
  for (const [name, raw] of files) {
    const gz = gzipSync(raw, { level: 9 });
    writeFileSync(join(outDir, name), gz);
    sums.push(`${digest("sha256", gz)}  ${name}`);
    console.log(`${name}: ${picked.length} items, ${gz.length} bytes`);
  }
  console.log(`  from ${ds.files.images}: indices ${picked[0]}..${picked.at(-1)}, ${FASHION_MNIST_CLASSES.length} classes`);
}
writeFileSync(join(outDir, "SHA256SUMS"), sums.join("\n") + "\n");
