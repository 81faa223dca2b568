// Malformed and hostile ONNX files: every one is a typed NablaError naming the problem — never a
// crash, a hang, a huge allocation or a read outside the model's folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { onnx } from "../../src/io/onnx/protobuf.js";
import { load, parseModel } from "../../src/io/onnx/index.js";
import { FormatError, NablaError, NotSupportedError } from "../../src/errors.js";
import { fromArray } from "../../src/tensor/creation.js";

const here = dirname(fileURLToPath(import.meta.url));
const smallCnn = readFileSync(join(here, "onnx", "small_cnn.onnx"));
const FLOAT = 1;

/** A one-node model y = x + w with the given initializer for w. */
function addModel(w: onnx.ITensorProto, extra: Partial<onnx.IModelProto> = {}): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "g",
      node: [{ opType: "Add", name: "add", input: ["x", "w"], output: ["y"] }],
      initializer: [w],
      input: [{ name: "x", type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimValue: 4 }] } } } }],
      output: [{ name: "y", type: { tensorType: { elemType: FLOAT } } }],
    },
    ...extra,
  }).finish();
}

const floats = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

function expectError(fn: () => unknown, type: typeof NablaError, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.match((err as Error).message, pattern);
    return true;
  });
}

test("a well-formed one-node model loads (the baseline the hostile variants break)", () => {
  const m = parseModel(addModel({ name: "w", dims: [4], dataType: FLOAT, rawData: floats([1, 2, 3, 4]) }));
  assert.deepEqual([...m.stateDict().get("w")!.data], [1, 2, 3, 4]);
});

test("truncated protobufs are FormatErrors", () => {
  for (const cut of [1, 7, 100, 1000, smallCnn.length >> 1, smallCnn.length - 3]) {
    expectError(
      () => parseModel(smallCnn.subarray(0, cut), { source: "cut.onnx" }),
      FormatError,
      /cut\.onnx/,
    );
  }
  expectError(() => parseModel(new Uint8Array(0)), FormatError, /no graph/);
});

test("random garbage and bit flips never escape as anything but a NablaError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      try {
        parseModel(bytes);
      } catch (err) {
        assert.ok(err instanceof NablaError, String(err));
      }
    }),
    { numRuns: 300, seed: 7 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(smallCnn.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
      (flips) => {
        const bytes = Uint8Array.from(smallCnn);
        for (const [at, v] of flips) bytes[at] = v;
        try {
          parseModel(bytes);
        } catch (err) {
          assert.ok(err instanceof NablaError, String(err));
        }
      },
    ),
    { numRuns: 150, seed: 11 },
  );
});

test("huge declared dims are refused before anything is allocated", () => {
  // 2^20 × 2^20 = 2^40 elements with 16 bytes of data.
  expectError(
    () =>
      parseModel(
        addModel({ name: "w", dims: [2 ** 20, 2 ** 20], dataType: FLOAT, rawData: floats([1, 2, 3, 4]) }),
      ),
    FormatError,
    /initializer "w".*1099511627776 elements, more than the limit/,
  );
  expectError(
    () => parseModel(addModel({ name: "w", dims: [2 ** 40], dataType: FLOAT, rawData: floats([1]) })),
    FormatError,
    /invalid dimension 1099511627776/,
  );
  expectError(
    () => parseModel(addModel({ name: "w", dims: [-4], dataType: FLOAT, rawData: floats([1]) })),
    FormatError,
    /invalid dimension -4/,
  );
});

test("raw_data shorter (or longer) than the dims declare is a FormatError", () => {
  expectError(
    () => parseModel(addModel({ name: "w", dims: [4], dataType: FLOAT, rawData: floats([1, 2, 3]) })),
    FormatError,
    /raw_data has 12 bytes but dims \[4\] of float need 16/,
  );
  expectError(
    () => parseModel(addModel({ name: "w", dims: [2], dataType: FLOAT, floatData: [1, 2, 3] })),
    FormatError,
    /3 stored values but dims \[2\] declare 2/,
  );
});

test("unsupported ops, opsets and element types are NotSupportedErrors naming them", () => {
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      node: [{ opType: "NonMaxSuppression", name: "nms_1", input: ["x"], output: ["y"] }],
      input: [{ name: "x", type: { tensorType: { elemType: FLOAT } } }],
      output: [{ name: "y" }],
    },
  }).finish();
  expectError(
    () => parseModel(bytes),
    NotSupportedError,
    /op NonMaxSuppression of node "nms_1" \(opset 13\)/,
  );
  const old = addModel(
    { name: "w", dims: [4], dataType: FLOAT, rawData: floats([1, 2, 3, 4]) },
    {
      opsetImport: [{ domain: "", version: 9 }],
    },
  );
  expectError(() => parseModel(old), NotSupportedError, /opset 9 is not supported/);
  expectError(
    () => parseModel(addModel({ name: "w", dims: [1], dataType: 8, stringData: [new Uint8Array([65])] })),
    NotSupportedError,
    /element type string/,
  );
});

test("a node reading an undefined value is a FormatError naming node and value", () => {
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      node: [{ opType: "Relu", name: "r", input: ["nowhere"], output: ["y"] }],
      input: [{ name: "x", type: { tensorType: { elemType: FLOAT } } }],
      output: [{ name: "y" }],
    },
  }).finish();
  expectError(() => parseModel(bytes), FormatError, /node "r" \(Relu\): input "nowhere" is not produced/);
});

test("external data: read from the model's folder, confined to it", (t) => {
  const root = mkdtempSync(join(tmpdir(), "nabla-onnx-ext-"));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, "model");
  mkdirSync(dir);
  writeFileSync(join(root, "secret.bin"), floats([9, 9, 9, 9]));
  writeFileSync(join(dir, "weights.bin"), new Uint8Array([0, 0, 0, 0, ...floats([1, 2, 3, 4])]));
  const external = (location: string, offset = "4", length = "16"): onnx.ITensorProto => ({
    name: "w",
    dims: [4],
    dataType: FLOAT,
    dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
    externalData: [
      { key: "location", value: location },
      { key: "offset", value: offset },
      { key: "length", value: length },
    ],
  });
  const write = (name: string, w: onnx.ITensorProto) => {
    const path = join(dir, name);
    writeFileSync(path, addModel(w));
    return path;
  };

  const ok = load(write("ok.onnx", external("weights.bin")));
  assert.deepEqual([...ok.stateDict().get("w")!.data], [1, 2, 3, 4]);

  expectError(() => load(write("a.onnx", external("../../etc/passwd"))), FormatError, /climbs out with \.\./);
  expectError(() => load(write("b.onnx", external("../secret.bin", "0"))), FormatError, /climbs out/);
  expectError(() => load(write("c.onnx", external("/etc/passwd", "0"))), FormatError, /is absolute/);
  expectError(() => load(write("d.onnx", external("C:\\Windows\\win.ini", "0"))), FormatError, /is absolute/);
  symlinkSync(join(root, "secret.bin"), join(dir, "link.bin"));
  expectError(() => load(write("e.onnx", external("link.bin", "0"))), FormatError, /resolves outside it/);
  expectError(
    () => load(write("f.onnx", external("weights.bin", "8"))),
    FormatError,
    /lies outside "weights\.bin"/,
  );
  expectError(
    () => load(write("g.onnx", external("weights.bin", "0", "12"))),
    FormatError,
    /holds 12 bytes but the tensor needs 16/,
  );
  expectError(() => load(write("h.onnx", external("missing.bin"))), FormatError, /not found/);
  expectError(() => load(write("i.onnx", external("weights.bin", "-1"))), FormatError, /not a byte count/);
  // Bytes without a folder cannot use external data at all.
  expectError(
    () => parseModel(addModel(external("weights.bin"))),
    FormatError,
    /needs the model's file path/,
  );
});

test("a missing or unreadable path is a FormatError naming it", () => {
  expectError(() => load("/nonexistent/model.onnx"), FormatError, /\/nonexistent\/model\.onnx: cannot read/);
  expectError(() => load(here), FormatError, /cannot read/);
});

test("shapes computed at run time from hostile values are refused before allocating", () => {
  const INT64 = 7;
  const model = (opType: string, init: onnx.ITensorProto[], inputs: string[]) =>
    parseModel(
      onnx.ModelProto.encode({
        irVersion: 8,
        opsetImport: [{ domain: "", version: 13 }],
        graph: {
          node: [{ opType, name: "n", input: inputs, output: ["y"] }],
          initializer: init,
          input: [{ name: "x", type: { tensorType: { elemType: FLOAT } } }],
          output: [{ name: "y" }],
        },
      }).finish(),
    );
  const ints = (name: string, values: number[]): onnx.ITensorProto => ({
    name,
    dims: [values.length],
    dataType: INT64,
    int64Data: values,
  });
  const input = fromArray(Float32Array.of(1, 1, 1, 1), [4]);
  expectError(
    () => model("ConstantOfShape", [ints("s", [2 ** 20, 2 ** 20])], ["s"]).call(input),
    FormatError,
    /ConstantOfShape node "n" \(opset 13\): shape \[1048576, 1048576\] would hold 1099511627776 elements/,
  );
  expectError(
    () => model("Expand", [ints("s", [2 ** 16, 2 ** 16, 4])], ["x", "s"]).call(input),
    FormatError,
    /Expand node "n".*more than the limit/,
  );
  expectError(
    () => model("Tile", [ints("r", [2 ** 31])], ["x", "r"]).call(input),
    FormatError,
    /Tile node "n".*more than the limit/,
  );
  expectError(
    () => model("Pad", [ints("p", [2 ** 31, 0])], ["x", "p"]).call(input),
    FormatError,
    /Pad node "n".*more than the limit/,
  );
});
