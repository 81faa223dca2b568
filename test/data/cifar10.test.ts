import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CIFAR10, parseCifarBatch } from "../../src/data/cifar10.js";
import { FormatError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

/** A CIFAR-10 batch file of n records; record i has label (i + k) % 10 and pixels (i + p + k) % 256. */
function batchFile(n: number, k: number): Uint8Array {
  const out = new Uint8Array(n * 3073);
  for (let i = 0; i < n; i++) {
    out[i * 3073] = (i + k) % 10;
    for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = (i + p + k) % 256;
  }
  return out;
}

function writeCifar(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (let b = 1; b <= 5; b++) writeFileSync(join(dir, `data_batch_${b}.bin`), batchFile(3, b));
  writeFileSync(join(dir, "test_batch.bin"), batchFile(4, 0));
}

test("CIFAR10: five training batches are concatenated in order, [3, 32, 32] planes as stored", () => {
  const root = tempDir();
  writeCifar(join(root, "cifar-10-batches-bin"));
  const train = new CIFAR10({ root, env: {} });
  assert.equal(train.length, 15);
  assert.deepEqual(train.sampleShape, [3, 32, 32]);
  // Record 1 of data_batch_2 is dataset index 4.
  assert.equal(train.labels[4], (1 + 2) % 10);
  assert.deepEqual(train.rawImage(4), batchFile(3, 2).subarray(3073 + 1, 2 * 3073));
  assert.equal(train.classes[0], "airplane");
  const testSet = new CIFAR10({ root, train: false, env: {} });
  assert.equal(testSet.length, 4);
  const batch = testSet.getBatch([3]);
  assert.deepEqual(batch.inputs.shape, [1, 3, 32, 32]);
  // Green plane starts at 1024: pixel value (3 + 1024) % 256 = 3.
  assert.ok(Math.abs((batch.inputs.data[1024] as number) - 3 / 255) < 1e-7);
});

test("CIFAR10: a truncated batch file is a FormatError naming the file and the incomplete record's offset", () => {
  const root = tempDir();
  writeCifar(root);
  const path = join(root, "test_batch.bin");
  writeFileSync(path, batchFile(4, 0).subarray(0, 3 * 3073 + 100));
  assert.throws(
    () => new CIFAR10({ root, train: false, env: {} }),
    (e: Error) => e instanceof FormatError && e.message.includes(path) && /record 3 starting at offset 9219/.test(e.message),
  );
  assert.throws(() => parseCifarBatch(new Uint8Array(0), "empty.bin"), FormatError);
});

test("CIFAR10: a label byte above 9 and missing files are FormatErrors", () => {
  const bad = batchFile(2, 0);
  bad[3073] = 200;
  assert.throws(() => parseCifarBatch(bad, "bad.bin"), /bad\.bin: label 200 at offset 3073 \(record 1\)/);
  const root = tempDir();
  assert.throws(() => new CIFAR10({ root, env: {} }), (e: Error) => e instanceof FormatError && /data_batch_1\.bin/.test(e.message) && e.message.includes(root));
});
