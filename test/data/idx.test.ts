import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeIdx, parseIdx, readIdx } from "../../src/data/idx.js";
import { readIdxImageDataset } from "../../src/data/mnist.js";
import { FormatError } from "../../src/errors.js";
import { syntheticIdx, tempDir } from "./helpers.js";

const dir = tempDir();

test("IDX: a hand-written header and data parse to the right dims and values", () => {
  // magic 00 00 08 03, dims 2 × 2 × 3, then 12 bytes.
  const bytes = Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, ...Array.from({ length: 12 }, (_, i) => i * 10)]);
  const a = parseIdx(bytes, "hand.idx");
  assert.equal(a.type, "uint8");
  assert.deepEqual(a.dims, [2, 2, 3]);
  assert.deepEqual(Array.from(a.data), [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110]);
});

test("IDX: big-endian int32 and float32 elements round-trip through encodeIdx", () => {
  const ints = Int32Array.from([1, -2, 70000, -2147483648]);
  const back = parseIdx(encodeIdx({ type: "int32", dims: [4], data: ints }));
  assert.deepEqual(Array.from(back.data), Array.from(ints));
  const enc = encodeIdx({ type: "int32", dims: [4], data: ints });
  assert.deepEqual(Array.from(enc.subarray(8, 12)), [0, 0, 0, 1]); // big-endian on disk
  const floats = Float32Array.from([0.5, -1.25, 3e10]);
  assert.deepEqual(Array.from(parseIdx(encodeIdx({ type: "float32", dims: [3], data: floats })).data), Array.from(floats));
});

test("IDX: readIdx reads raw and gzip files alike (gzip detected by content)", () => {
  const { images } = syntheticIdx(5, 4, 3);
  const raw = encodeIdx({ type: "uint8", dims: [5, 4, 3], data: images });
  writeFileSync(join(dir, "a-idx3-ubyte"), raw);
  writeFileSync(join(dir, "b-idx3-ubyte.gz"), gzipSync(raw));
  writeFileSync(join(dir, "c-gzip-without-suffix"), gzipSync(raw));
  for (const f of ["a-idx3-ubyte", "b-idx3-ubyte.gz", "c-gzip-without-suffix"]) {
    const a = readIdx(join(dir, f));
    assert.deepEqual(a.dims, [5, 4, 3]);
    assert.deepEqual(a.data, images);
  }
});

test("IDX: truncated data is a FormatError naming the file and the offset", () => {
  const raw = encodeIdx({ type: "uint8", dims: [10, 4, 4], data: syntheticIdx(10, 4, 4).images });
  const cut = raw.subarray(0, raw.length - 5);
  assert.throws(
    () => parseIdx(cut, "cut.idx"),
    (e: Error) => e instanceof FormatError && /cut\.idx/.test(e.message) && e.message.includes(`offset ${cut.length}`),
  );
  assert.throws(() => parseIdx(raw.subarray(0, 10), "short-header.idx"), /short-header\.idx: truncated IDX header at offset 10/);
  assert.throws(() => parseIdx(raw.subarray(0, 2), "tiny.idx"), FormatError);
  // Trailing garbage is also reported.
  assert.throws(() => parseIdx(Uint8Array.from([...raw, 1, 2]), "long.idx"), /long\.idx: 2 unexpected trailing bytes after offset/);
});

test("IDX: a truncated gzip file is a FormatError naming the file", () => {
  const gz = gzipSync(encodeIdx({ type: "uint8", dims: [50, 8, 8], data: syntheticIdx(50, 8, 8).images }));
  const path = join(dir, "truncated.gz");
  writeFileSync(path, gz.subarray(0, Math.floor(gz.length / 2)));
  assert.throws(() => readIdx(path), (e: Error) => e instanceof FormatError && e.message.includes(path) && /gzip/.test(e.message));
});

test("IDX: wrong magic number and unknown type code are FormatErrors", () => {
  const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
  assert.throws(() => parseIdx(png, "photo.png"), /photo\.png: not an IDX file: bad magic number 89 50 4e 47 at offset 0/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 0]), "t.idx"), /unknown IDX element type 0x7 at offset 2/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 0]), "z.idx"), /0 dimensions/);
  assert.throws(() => readIdx(join(dir, "does-not-exist")), FormatError);
});

test("IDX image dataset: label/image count mismatch names both files", () => {
  const { images, labels } = syntheticIdx(6, 28, 28);
  const imagesPath = join(dir, "mm-images-idx3-ubyte");
  const labelsPath = join(dir, "mm-labels-idx1-ubyte");
  writeFileSync(imagesPath, encodeIdx({ type: "uint8", dims: [6, 28, 28], data: images }));
  writeFileSync(labelsPath, encodeIdx({ type: "uint8", dims: [5], data: labels.subarray(0, 5) }));
  assert.throws(
    () => readIdxImageDataset(imagesPath, labelsPath, ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),
    (e: Error) =>
      e instanceof FormatError && /count mismatch/.test(e.message) && e.message.includes(imagesPath) && e.message.includes(labelsPath),
  );
});

test("IDX image dataset: a label out of range and a wrong-rank file are FormatErrors", () => {
  const imagesPath = join(dir, "r-images");
  const labelsPath = join(dir, "r-labels");
  writeFileSync(imagesPath, encodeIdx({ type: "uint8", dims: [3, 2, 2], data: new Uint8Array(12) }));
  writeFileSync(labelsPath, encodeIdx({ type: "uint8", dims: [3], data: Uint8Array.from([0, 1, 12]) }));
  assert.throws(() => readIdxImageDataset(imagesPath, labelsPath, ["a", "b", "c"]), /label 12 at offset 10 is outside \[0, 3\)/);
  // Swapped files: labels where images are expected.
  assert.throws(() => readIdxImageDataset(labelsPath, imagesPath, ["a", "b", "c"]), /expected uint8 images \[N, H, W\], found uint8 \[3\]/);
});
