import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { openDataset } from "../../src/data/registry.js";
import { ValueError } from "../../src/errors.js";
import { tempDir } from "./helpers.js";

test("openDataset: the shipped subset by name, an image folder by path, a clear error otherwise", async () => {
  const testSet = await openDataset("fashion-mnist-subset", { train: false });
  assert.equal(testSet.length, 1000);
  assert.deepEqual(testSet.sampleShape, [1, 28, 28]);
  const root = tempDir();
  mkdirSync(join(root, "awake"));
  const img = new PNG({ width: 3, height: 2 });
  img.data.fill(255);
  writeFileSync(join(root, "awake", "x.png"), PNG.sync.write(img));
  const folder = await openDataset(root, { channels: 1, size: [4, 4], train: true });
  assert.deepEqual(folder.sampleShape, [1, 4, 4]);
  assert.deepEqual(folder.classes, ["awake"]);
  await assert.rejects(openDataset("imagenet-21k"), (e: Error) => e instanceof ValueError && /fashion-mnist-subset/.test(e.message));
});
