import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { ImageFolder } from "../../src/data/image-folder.js";
import { decodeImage, resizeImage } from "../../src/data/image-decode.js";
import { FormatError, ShapeError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

/** A PNG of w×h whose pixel (x, y) has RGB = rgb(x, y). */
function png(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      img.data.set([r, g, b, 255], 4 * (y * w + x));
    }
  }
  return PNG.sync.write(img);
}

function jpg(w: number, h: number, value: number): Buffer {
  const data = Buffer.alloc(w * h * 4, value);
  return jpeg.encode({ data, width: w, height: h }, 95).data;
}

test("ImageFolder: classes are sorted sub-directories; PNG and JPEG decode to RGB planes", () => {
  const root = tempDir();
  mkdirSync(join(root, "open"));
  mkdirSync(join(root, "closed", "nested"), { recursive: true });
  writeFileSync(join(root, "open", "b.png"), png(4, 3, (x, y) => [x * 10, y * 20, 7]));
  writeFileSync(join(root, "open", "a.jpg"), jpg(4, 3, 128));
  writeFileSync(join(root, "closed", "nested", "c.PNG"), png(4, 3, () => [255, 0, 0]));
  writeFileSync(join(root, "closed", "notes.txt"), "not an image, skipped by extension");
  const ds = new ImageFolder(root);
  assert.deepEqual(ds.classes, ["closed", "open"]);
  assert.deepEqual(ds.classToIdx, { closed: 0, open: 1 });
  assert.equal(ds.length, 3);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 1]);
  assert.deepEqual(ds.sampleShape, [3, 3, 4]);
  assert.match(ds.files[1]!, /a\.jpg$/);
  // b.png, pixel (x=2, y=1): R = 20, G = 20, B = 7 in planes [C, H, W].
  const b = ds.rawImage(2);
  assert.deepEqual([b[1 * 4 + 2], b[12 + 1 * 4 + 2], b[24 + 1 * 4 + 2]], [20, 20, 7]);
  // The JPEG is flat grey 128 (lossy, but a flat image survives within ±2).
  assert.ok(Array.from(ds.rawImage(1)).every((v) => Math.abs(v - 128) <= 2));
});

test("ImageFolder: channels 1 converts RGB to luma like PIL's convert('L')", () => {
  const root = tempDir();
  mkdirSync(join(root, "x"));
  writeFileSync(join(root, "x", "p.png"), png(2, 1, (x) => (x === 0 ? [255, 0, 0] : [10, 200, 30])));
  const ds = new ImageFolder(root, { channels: 1 });
  assert.deepEqual(ds.sampleShape, [1, 1, 2]);
  // (R·19595 + G·38470 + B·7471 + 32768) >> 16: red 255 → 76; (10, 200, 30) → 124.
  assert.deepEqual(Array.from(ds.rawImage(0)), [76, 124]);
});

test("ImageFolder: other sizes are resized to `size`; with resize: false they are a ShapeError naming the file", () => {
  const root = tempDir();
  mkdirSync(join(root, "a"));
  writeFileSync(join(root, "a", "big.png"), png(8, 8, (x, y) => [x * 30, y * 30, 0]));
  writeFileSync(join(root, "a", "small.png"), png(4, 4, () => [50, 50, 50]));
  const resized = new ImageFolder(root, { size: 4, channels: 3 });
  assert.deepEqual(resized.sampleShape, [3, 4, 4]);
  // Bilinear 8 → 4 samples half-way between source pixels 2k and 2k+1: R = 30·(2x + 0.5).
  assert.deepEqual(Array.from(resized.rawImage(0).subarray(0, 4)), [15, 75, 135, 195]);
  const nearest = new ImageFolder(root, { size: [4, 4], resize: "nearest" });
  assert.deepEqual(Array.from(nearest.rawImage(0).subarray(0, 4)), [0, 60, 120, 180]);
  assert.throws(
    () => new ImageFolder(root, { size: [4, 4], resize: false }),
    (e: Error) => e instanceof ShapeError && e.message.includes("big.png") && /8×8.*4×4.*resize: false/.test(e.message),
  );
  // Without `size`, the first image (big.png, 8×8) fixes the input size.
  assert.throws(() => new ImageFolder(root, { resize: false }), /small\.png is 4×4 \(H×W\), the model input is 8×8/);
});

test("resizeImage: bilinear upsampling uses half-pixel centres (align_corners=False)", () => {
  const img = { channels: 1, height: 1, width: 2, data: Uint8Array.from([0, 100]) };
  assert.deepEqual(Array.from(resizeImage(img, 1, 4, "bilinear").data), [0, 25, 75, 100]);
  assert.deepEqual(Array.from(resizeImage(img, 1, 4, "nearest").data), [0, 0, 100, 100]);
});

test("ImageFolder: a .png that is not a PNG, and a truncated PNG, are FormatErrors naming the file", () => {
  const root = tempDir();
  mkdirSync(join(root, "a"));
  const fake = join(root, "a", "fake.png");
  writeFileSync(fake, "GIF89a this is not a png");
  assert.throws(
    () => new ImageFolder(root),
    (e: Error) => e instanceof FormatError && e.message.includes(fake) && /not a PNG or JPEG image \(bytes at offset 0: 47 49 46 38/.test(e.message),
  );
  const cut = png(16, 16, (x) => [x, x, x]);
  writeFileSync(fake, cut.subarray(0, cut.length - 30));
  assert.throws(() => new ImageFolder(root), (e: Error) => e instanceof FormatError && e.message.includes(fake) && /PNG/.test(e.message));
  assert.throws(() => decodeImage(Buffer.from([0xff, 0xd8, 0xff, 0x00]), 3, "x.jpg"), /x\.jpg: corrupt or truncated JPEG/);
  assert.throws(() => new ImageFolder(join(root, "missing")), /cannot read directory/);
  mkdirSync(join(root, "b"));
  const empty = tempDir();
  mkdirSync(join(empty, "only"));
  assert.throws(() => new ImageFolder(empty), /no \.png\/\.jpg\/\.jpeg files/);
});
