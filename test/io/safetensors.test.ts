import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  parseSafetensors,
  serializeSafetensors,
  saveSafetensors,
  loadSafetensors,
} from "../../src/io/safetensors.js";
import { tensor, randn, arange } from "../../src/index.js";
import { FormatError } from "../../src/errors.js";

const here = new URL(".", import.meta.url).pathname;

test("round trip keeps names, dtypes, shapes, values and metadata", () => {
  const tensors = {
    "a.weight": randn([3, 4]),
    "a.bias": tensor([1, 2, 3], { dtype: "float64" }),
    count: tensor([5], { dtype: "int32" }),
    q: tensor([-128, 0, 127], { dtype: "int8" }),
    mask: tensor([true, false]),
    view: arange(12, undefined, 1, { dtype: "float32" }).reshape(3, 4).t(),
  };
  const bytes = serializeSafetensors(tensors, { epoch: "3" });
  const back = parseSafetensors(bytes);
  assert.deepEqual(back.metadata, { epoch: "3" });
  for (const [name, t] of Object.entries(tensors)) {
    const b = back.tensors[name]!;
    assert.equal(b.dtype, t.dtype, name);
    assert.deepEqual(b.shape, t.shape, name);
    assert.deepEqual(Array.from(b.data), Array.from(t.data), name);
  }
});

test("reads a file written by PyTorch tooling (F32, F64, F16, I64, BOOL, U8)", () => {
  const file = join(here, "data", "torch.safetensors");
  const expected = JSON.parse(readFileSync(file + ".json", "utf8")) as Record<
    string,
    { shape: number[]; values: number[] }
  >;
  const { tensors, metadata } = parseSafetensors(readFileSync(file), file);
  assert.equal(metadata["format"], "pt");
  for (const [name, e] of Object.entries(expected)) {
    const t = tensors[name]!;
    assert.deepEqual([...t.shape], e.shape, name);
    const got = Array.from(t.data);
    e.values.forEach((v, i) =>
      assert.ok(Math.abs(got[i]! - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${name}[${i}]: ${got[i]} vs ${v}`),
    );
  }
  assert.equal(tensors["bn.num_batches_tracked"]!.dtype, "int32");
});

test("save is atomic and load reports missing files clearly", () => {
  const dir = mkdtempSync(join(tmpdir(), "nabla-st-"));
  const path = join(dir, "w.safetensors");
  saveSafetensors(path, { w: randn([2, 2]) });
  assert.deepEqual([...loadSafetensors(path).tensors["w"]!.shape], [2, 2]);
  assert.throws(
    () => loadSafetensors(join(dir, "missing.safetensors")),
    (e: unknown) => e instanceof FormatError && /missing\.safetensors/.test(String(e)),
  );
});

test("hostile or broken files give FormatErrors that name the problem", () => {
  const good = serializeSafetensors({ w: randn([2, 3]), b: randn([3]) });
  const headerLen = Number(new DataView(good.buffer).getBigUint64(0, true));
  const withHeader = (h: object, data = new Uint8Array(16)) => {
    const json = Buffer.from(JSON.stringify(h));
    const out = new Uint8Array(8 + json.length + data.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
    out.set(json, 8);
    out.set(data, 8 + json.length);
    return out;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(3), /too short/],
    ["truncated data", good.subarray(0, good.length - 4), /outside|needs/],
    ["truncated header", good.subarray(0, 8 + headerLen - 5), /exceeds the file size/],
    [
      "huge header length",
      (() => {
        const b = good.slice();
        new DataView(b.buffer).setBigUint64(0, 2n ** 62n, true);
        return b;
      })(),
      /exceeds/,
    ],
    ["not json", withHeader({}).fill(65, 8, 10), /not valid JSON/],
    [
      "bad dtype",
      withHeader({ x: { dtype: "C64", shape: [1], data_offsets: [0, 8] } }),
      /unsupported dtype C64/,
    ],
    ["bad shape", withHeader({ x: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }), /invalid shape/],
    [
      "size mismatch",
      withHeader({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }),
      /needs 12 bytes, has 8/,
    ],
    ["out of range", withHeader({ x: { dtype: "F32", shape: [8], data_offsets: [0, 32] } }), /outside/],
    [
      "overlap",
      withHeader({
        x: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
        y: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
      }),
      /overlap/,
    ],
    [
      "int64 overflow",
      withHeader(
        { x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } },
        new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0]),
      ),
      /int32 range/,
    ],
  ];
  for (const [name, bytes, pattern] of cases) {
    assert.throws(
      () => parseSafetensors(bytes, "bad.safetensors"),
      (e: unknown) =>
        e instanceof FormatError &&
        pattern.test((e as Error).message) &&
        /bad\.safetensors/.test((e as Error).message),
      name,
    );
  }
});
