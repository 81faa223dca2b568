import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import {
  FASHION_MNIST_SPEC,
  FashionMNIST,
  MNIST,
  MNIST_SPEC,
  locateIdxFiles,
  type IdxDatasetSpec,
} from "../../src/data/mnist.js";
import { digest, DownloadError } from "../../src/data/download.js";
import { cacheDir } from "../../src/data/locate.js";
import { FormatError, ValueError } from "../../src/errors.js";
import { tempDir, writeIdxSplit } from "./helpers.js";

const DEBIAN_DIR = "/usr/share/datasets/fashion-mnist";

/** A spec like Fashion-MNIST's but with a system directory the test controls. */
function specWithSystemDir(systemDir: string): IdxDatasetSpec {
  return { ...FASHION_MNIST_SPEC, systemDirs: [systemDir] };
}

test("lookup order: root, then $NABLA_DATA, then the system directory, then the cache", () => {
  const base = tempDir();
  const dirs = ["root", "env", "system", "xdg/nabla/fashion-mnist"].map((d) => join(base, d));
  for (const d of dirs) {
    mkdirSync(d, { recursive: true });
    writeIdxSplit(d, "t10k", 3);
  }
  const [root, env, system, cache] = dirs as [string, string, string, string];
  const spec = specWithSystemDir(system);
  const environment = { NABLA_DATA: env, XDG_CACHE_HOME: join(base, "xdg") };
  assert.equal(locateIdxFiles(spec, { train: false, root, env: environment }).dir, root);
  assert.equal(locateIdxFiles(spec, { train: false, env: environment }).dir, env);
  assert.equal(locateIdxFiles(spec, { train: false, env: { XDG_CACHE_HOME: join(base, "xdg") } }).dir, system);
  const noSystem = specWithSystemDir(join(base, "absent"));
  assert.equal(locateIdxFiles(noSystem, { train: false, env: { XDG_CACHE_HOME: join(base, "xdg") } }).dir, cache);
  assert.equal(cacheDir("fashion-mnist", { XDG_CACHE_HOME: join(base, "xdg") }), cache);
  // $NABLA_DATA/<name> is searched too.
  const nested = join(base, "data-root");
  mkdirSync(join(nested, "fashion-mnist"), { recursive: true });
  writeIdxSplit(join(nested, "fashion-mnist"), "t10k", 3);
  assert.equal(locateIdxFiles(noSystem, { train: false, env: { NABLA_DATA: nested } }).dir, join(nested, "fashion-mnist"));
});

test("files not found: a FormatError listing every place searched and how to get the files", () => {
  const base = tempDir();
  const spec = specWithSystemDir(join(base, "no-system"));
  const env = { NABLA_DATA: join(base, "no-env"), XDG_CACHE_HOME: join(base, "no-cache") };
  assert.throws(
    () => locateIdxFiles(spec, { root: join(base, "no-root"), env }),
    (e: Error) =>
      e instanceof FormatError &&
      ["no-root", "no-env", "no-system", join("no-cache", "nabla", "fashion-mnist")].every((p) => e.message.includes(p)) &&
      e.message.includes("train-images-idx3-ubyte.gz") &&
      e.message.includes("download: true") &&
      e.message.includes("subset: true"),
  );
});

test("FashionMNIST reads raw (not gzipped) files found through $NABLA_DATA", () => {
  const dir = tempDir();
  const { images, labels } = writeIdxSplit(dir, "train", 12, { gzip: false });
  const ds = new FashionMNIST({ env: { NABLA_DATA: dir } });
  assert.equal(ds.length, 12);
  assert.deepEqual(ds.sampleShape, [1, 28, 28]);
  assert.deepEqual(ds.images, images);
  assert.deepEqual(Array.from(ds.labels), Array.from(labels));
  const s = ds.get(5);
  assert.deepEqual(s.input.shape, [1, 28, 28]);
  assert.equal(s.input.dtype, "float32");
  assert.equal(s.target, 5);
  assert.ok(Math.abs((s.input.data[3] as number) - images[5 * 784 + 3]! / 255) < 1e-7);
  assert.throws(() => ds.get(12), ValueError);
});

test("getBatch builds [B, 1, 28, 28] float32 in [0, 1] and int32 targets equal to per-sample get()", () => {
  const dir = tempDir();
  writeIdxSplit(dir, "train", 20);
  const ds = new FashionMNIST({ root: dir });
  const batch = ds.getBatch([7, 0, 19, 7]);
  assert.deepEqual(batch.inputs.shape, [4, 1, 28, 28]);
  assert.equal(batch.targets.dtype, "int32");
  assert.deepEqual(Array.from(batch.targets.data), [7, 0, 9, 7]);
  const second = ds.get(0).input.data;
  assert.deepEqual(batch.inputs.data.subarray(784, 2 * 784), second);
  assert.throws(() => ds.getBatch([0, 20]), ValueError);
});

test("the shipped subset: 6,000 training and 1,000 test images, 600 and 100 per class", () => {
  const train = new FashionMNIST({ subset: true, train: true });
  const testSet = new FashionMNIST({ subset: true, train: false });
  assert.equal(train.length, 6000);
  assert.equal(testSet.length, 1000);
  assert.deepEqual(train.classCounts(), new Array(10).fill(600));
  assert.deepEqual(testSet.classCounts(), new Array(10).fill(100));
  assert.match(train.files.images, /data[/\\]fashion-mnist-subset[/\\]train-images-idx3-ubyte\.gz$/);
  assert.deepEqual(train.classes[9], "Ankle boot");
  // Real images, not blanks: mean pixel of Fashion-MNIST is about 0.286.
  const mean = train.images.reduce((s, v) => s + v, 0) / train.images.length / 255;
  assert.ok(mean > 0.2 && mean < 0.4, `mean pixel ${mean}`);
  assert.throws(() => new MNIST({ subset: true }), /no subset is shipped/);
});

test("Debian Fashion-MNIST files: 60000/10000 images, labels in 0..9, and the subset is their first 600/100 per class", (t) => {
  if (!existsSync(DEBIAN_DIR)) {
    t.skip(`${DEBIAN_DIR} is absent (install the Debian package dataset-fashion-mnist to run this test)`);
    return;
  }
  const train = new FashionMNIST({ root: DEBIAN_DIR, train: true });
  const testSet = new FashionMNIST({ root: DEBIAN_DIR, train: false });
  assert.equal(train.length, 60000);
  assert.equal(testSet.length, 10000);
  assert.ok(train.files.images.startsWith(DEBIAN_DIR));
  for (const ds of [train, testSet]) {
    assert.ok(ds.labels.every((y) => y >= 0 && y <= 9));
    assert.deepEqual(ds.classCounts(), new Array(10).fill(ds.length / 10));
  }
  // The subset is honest: the first images of each class, in file order, pixels unchanged.
  for (const [full, perClass, train_] of [
    [train, 600, true],
    [testSet, 100, false],
  ] as const) {
    const subset = new FashionMNIST({ subset: true, train: train_ });
    const taken = new Array(10).fill(0);
    let k = 0;
    for (let i = 0; i < full.length && k < subset.length; i++) {
      const y = full.labels[i]!;
      if (taken[y] >= perClass) continue;
      taken[y]++;
      assert.equal(subset.labels[k], y);
      assert.deepEqual(subset.rawImage(k), full.rawImage(i));
      k++;
    }
    assert.equal(k, subset.length);
  }
});

/** Serve `files` (name → bytes) on 127.0.0.1; 404 for anything else. */
async function serve(files: Record<string, Uint8Array>): Promise<{ url: string; server: Server; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    const name = (req.url ?? "").split("/").pop() ?? "";
    const body = files[name];
    if (!body) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/mnist/`, server, requests };
}

test("download: files fetched from a local server, checksums verified, then read", async (t) => {
  const source = tempDir();
  const written = writeIdxSplit(source, "t10k", 8);
  const files = {
    "t10k-images-idx3-ubyte.gz": written.imageFile,
    "t10k-labels-idx1-ubyte.gz": written.labelFile,
  };
  const { url, server, requests } = await serve(files);
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const root = tempDir();
  const empty = { XDG_CACHE_HOME: join(root, "cache") };
  const checksums = {
    "t10k-images-idx3-ubyte.gz": { sha256: digest("sha256", written.imageFile) },
    "t10k-labels-idx1-ubyte.gz": { md5: digest("md5", written.labelFile) },
  };
  // Without download: true, nothing is fetched.
  await assert.rejects(MNIST.load({ root, train: false, env: empty, mirrors: [url], checksums }), FormatError);
  assert.equal(requests.length, 0);
  // A dead first mirror is skipped.
  const ds = await MNIST.load({
    root,
    train: false,
    env: empty,
    download: true,
    mirrors: [`${url}missing/`, url],
    checksums,
  });
  assert.equal(ds.length, 8);
  assert.deepEqual(ds.images, written.images);
  assert.ok(ds.files.images.startsWith(root));
  assert.deepEqual(readdirSync(root).sort(), ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]);
  // Found now: a second load does not download again.
  const before = requests.length;
  await MNIST.load({ root, train: false, env: empty, download: true, mirrors: [url], checksums });
  assert.equal(requests.length, before);
});

test("download: a file that does not match the known MNIST md5 is rejected and not kept", async (t) => {
  const source = tempDir();
  const written = writeIdxSplit(source, "t10k", 4);
  const { url, server } = await serve({
    "t10k-images-idx3-ubyte.gz": written.imageFile,
    "t10k-labels-idx1-ubyte.gz": written.labelFile,
  });
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const root = tempDir();
  await assert.rejects(
    MNIST.load({ root, train: false, env: { XDG_CACHE_HOME: join(root, "c") }, download: true, mirrors: [url] }),
    (e: Error) =>
      e instanceof DownloadError &&
      e.message.includes("checksum mismatch") &&
      e.message.includes(MNIST_SPEC.resources.testImages.md5!),
  );
  assert.deepEqual(readdirSync(root).filter((f) => f.endsWith(".gz") || f.includes(".part")), []);
  // The constructor is synchronous and refuses to download.
  assert.throws(() => new MNIST({ root, download: true } as never), /asynchronous/);
});
