import { test } from "node:test";
import assert from "node:assert/strict";
import { Generator } from "../../src/tensor/random.js";
import {
  compose,
  lambda,
  normalize,
  randomCrop,
  randomErasing,
  randomHorizontalFlip,
  transformFromSpec,
  type ImageBatch,
} from "../../src/data/transforms.js";
import { ValueError } from "../../src/errors.js";

/** A [b, c, h, w] batch whose element at flat index k is k (distinct values make moves visible). */
function ramp(b: number, c: number, h: number, w: number): ImageBatch {
  return { data: Float32Array.from({ length: b * c * h * w }, (_, k) => k), shape: [b, c, h, w] };
}

function at(batch: ImageBatch, n: number, ch: number, y: number, x: number): number {
  const [, c, h, w] = batch.shape;
  return batch.data[((n * c + ch) * h + y) * w + x]!;
}

test("normalize: (x − mean[c]) / std[c] per channel; one value broadcasts", () => {
  const batch = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), shape: [2, 2, 1, 2] as const };
  const out = normalize([1, 2], [2, 4]).apply(batch, new Generator(0));
  assert.deepEqual(Array.from(out.data), [0, 0.5, 0.25, 0.5, 2, 2.5, 1.25, 1.5]);
  const one = normalize(0.5, 0.25).apply({ data: Float32Array.from([0.5, 1]), shape: [1, 1, 1, 2] }, new Generator(0));
  assert.deepEqual(Array.from(one.data), [0, 2]);
  assert.throws(() => normalize([0, 0, 0], [1, 1, 1]).apply(ramp(1, 2, 2, 2), new Generator(0)), /3 per-channel values for 2 channels/);
  assert.throws(() => normalize(0, 0), ValueError);
});

test("randomCrop: every output image is a window of the zero-padded input, at most `padding` away", () => {
  const input = ramp(6, 2, 5, 5);
  const original = Float32Array.from(input.data);
  const out = randomCrop(4, 2).apply({ data: Float32Array.from(input.data), shape: input.shape }, new Generator(7));
  assert.deepEqual(out.shape, [6, 2, 4, 4]);
  const offsets = new Set<string>();
  for (let n = 0; n < 6; n++) {
    // Find the offset (dy, dx) in [-2, 3] that explains image n, and check every pixel of both channels.
    let found: [number, number] | null = null;
    for (let dy = -2; dy <= 3 && !found; dy++) {
      for (let dx = -2; dx <= 3 && !found; dx++) {
        let ok = true;
        for (let ch = 0; ch < 2 && ok; ch++) {
          for (let y = 0; y < 4 && ok; y++) {
            for (let x = 0; x < 4 && ok; x++) {
              const sy = y + dy;
              const sx = x + dx;
              const want = sy >= 0 && sy < 5 && sx >= 0 && sx < 5 ? original[((n * 2 + ch) * 5 + sy) * 5 + sx]! : 0;
              ok = at(out, n, ch, y, x) === want;
            }
          }
        }
        if (ok) found = [dy, dx];
      }
    }
    assert.ok(found, `image ${n} is not a padded window of the input`);
    offsets.add(found.join(","));
  }
  assert.ok(offsets.size > 1, "six crops all at the same offset");
  // No padding and full size: identity.
  const same = randomCrop([5, 5]).apply({ data: Float32Array.from(original), shape: input.shape }, new Generator(1));
  assert.deepEqual(same.data, original);
  assert.throws(() => randomCrop(8, 1).apply(ramp(1, 1, 5, 5), new Generator(0)), /larger than the padded image 7×7/);
});

test("randomHorizontalFlip: p=1 mirrors every row, p=0 changes nothing, p=0.5 flips some images", () => {
  const flipped = randomHorizontalFlip(1).apply(ramp(2, 3, 2, 4), new Generator(0));
  assert.equal(at(flipped, 1, 2, 1, 0), at(ramp(2, 3, 2, 4), 1, 2, 1, 3));
  assert.equal(at(flipped, 0, 0, 0, 1), at(ramp(2, 3, 2, 4), 0, 0, 0, 2));
  assert.deepEqual(randomHorizontalFlip(0).apply(ramp(2, 3, 2, 4), new Generator(0)).data, ramp(2, 3, 2, 4).data);
  const some = randomHorizontalFlip(0.5).apply(ramp(40, 1, 1, 3), new Generator(3));
  const flips = Array.from({ length: 40 }, (_, n) => some.data[n * 3]! > some.data[n * 3 + 2]!).filter(Boolean).length;
  assert.ok(flips > 5 && flips < 35, `${flips} of 40 flipped`);
});

test("randomErasing: p=1 fills one rectangle per image with the value, of area within `scale`", () => {
  const h = 10;
  const w = 10;
  const out = randomErasing({ p: 1, scale: [0.1, 0.2], ratio: [0.5, 2], value: -1 }).apply(
    { data: new Float32Array(8 * h * w).fill(0.5), shape: [8, 1, h, w] },
    new Generator(11),
  );
  for (let n = 0; n < 8; n++) {
    const img = out.data.subarray(n * h * w, (n + 1) * h * w);
    const erased: [number, number][] = [];
    img.forEach((v, k) => {
      if (v === -1) erased.push([Math.floor(k / w), k % w]);
      else assert.equal(v, 0.5);
    });
    const ys = erased.map((e) => e[0]);
    const xs = erased.map((e) => e[1]);
    const eh = Math.max(...ys) - Math.min(...ys) + 1;
    const ew = Math.max(...xs) - Math.min(...xs) + 1;
    assert.equal(erased.length, eh * ew, "erased pixels form a rectangle");
    // Rounding h and w can move the area a little outside [10, 20] pixels.
    assert.ok(erased.length >= 6 && erased.length <= 30, `area ${erased.length}`);
  }
  const perChannel = randomErasing({ p: 1, value: [7, 8] }).apply(
    { data: new Float32Array(2 * 16), shape: [1, 2, 4, 4] },
    new Generator(2),
  );
  assert.ok(perChannel.data.subarray(0, 16).every((v) => v === 0 || v === 7));
  assert.ok(perChannel.data.subarray(16).every((v) => v === 0 || v === 8));
  assert.ok(perChannel.data.some((v) => v === 8));
  assert.deepEqual(randomErasing({ p: 0 }).apply(ramp(2, 1, 4, 4), new Generator(0)).data, ramp(2, 1, 4, 4).data);
  assert.throws(() => randomErasing({ scale: [0.5, 0.1] }), ValueError);
  assert.throws(() => randomErasing({ p: 2 }), ValueError);
});

test("transforms are deterministic under a seed, and a spec rebuilds the same transform", () => {
  const t = compose(randomCrop(6, 2), randomHorizontalFlip(), normalize(3, 2), randomErasing({ value: "random" }));
  const run = (tr: typeof t, seed: number) => tr.apply(ramp(16, 2, 6, 6), new Generator(seed)).data;
  assert.deepEqual(run(t, 5), run(t, 5));
  assert.notDeepEqual(run(t, 5), run(t, 6));
  const rebuilt = transformFromSpec(JSON.parse(JSON.stringify(t.spec)));
  assert.deepEqual(run(rebuilt, 5), run(t, 5));
  const custom = lambda((b) => b);
  assert.equal(custom.spec, null);
  assert.equal(compose(normalize(0, 1), custom).spec, null);
});
