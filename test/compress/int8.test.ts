// Int8 kernels and quantized models: the native kernels (every ISA this CPU has) agree with the
// TypeScript reference exactly — same int32 accumulators, same float epilogue — on random
// convolutions (padding, stride, dilation, groups, depthwise, linear); a quantized model stays
// close to its float original; it saves and loads to identical outputs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  int8Conv2dRef,
  outputSize,
  rowSums,
  type FusedActivation,
  type Int8Layer,
} from "../../src/compress/int8-ref.js";
import { int8Addon, int8Conv2d, setInt8Kernel } from "../../src/compress/int8-native.js";
import {
  QuantizedConv2d,
  quantizeModel,
  quantizeWeights,
  activationParams,
} from "../../src/compress/quantize.js";
import { loadCompressed, saveCompressed } from "../../src/compress/compressed-io.js";
import { createModel } from "../../src/models/index.js";
import { randn } from "../../src/tensor/creation.js";
import { Generator } from "../../src/tensor/random.js";
import { noGrad } from "../../src/autograd/engine.js";
import { summary } from "../../src/compress/summary.js";

function randomLayer(
  g: Generator,
  o: {
    c: number;
    o: number;
    k: [number, number];
    groups: number;
    stride: [number, number];
    padding: [number, number];
    dilation: [number, number];
    act: FusedActivation;
    zero: number;
  },
): Int8Layer {
  const weight = new Int8Array(o.o * (o.c / o.groups) * o.k[0] * o.k[1]);
  for (let i = 0; i < weight.length; i++) weight[i] = g.randint(-127, 128);
  const weightScale = new Float32Array(o.o).map(() => 0.001 + 0.01 * g.random());
  const bias = new Float32Array(o.o).map(() => g.random() - 0.5);
  return {
    inChannels: o.c, outChannels: o.o, kernelSize: o.k, stride: o.stride, padding: o.padding, dilation: o.dilation,
    groups: o.groups, weight, weightScale, bias, rowSum: rowSums(weight, o.o), inputScale: Math.fround(0.03),
    inputZeroPoint: o.zero, act: o.act,
  }; // prettier-ignore
}

const addon = int8Addon();
const isas = addon ? ["avx512vnni", "avx2", "generic"].filter((isa) => addon.int8SelectIsa(isa)) : [];
const bestIsa = addon?.int8Isa();

test(
  "native int8 convolutions equal the TypeScript reference bit for bit, on every ISA",
  { skip: addon ? false : "native addon without int8 kernels" },
  () => {
    const g = new Generator(7);
    const configs = [
      {
        c: 3,
        o: 8,
        k: [3, 3],
        groups: 1,
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        act: "relu",
        zero: 20,
        h: 9,
        w: 7,
        n: 2,
      },
      {
        c: 16,
        o: 20,
        k: [3, 3],
        groups: 1,
        stride: [2, 2],
        padding: [1, 0],
        dilation: [1, 1],
        act: "none",
        zero: 64,
        h: 11,
        w: 10,
        n: 3,
      },
      {
        c: 12,
        o: 12,
        k: [3, 3],
        groups: 12,
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        act: "relu6",
        zero: 5,
        h: 6,
        w: 6,
        n: 2,
      },
      {
        c: 6,
        o: 9,
        k: [2, 3],
        groups: 3,
        stride: [1, 2],
        padding: [0, 2],
        dilation: [2, 1],
        act: "relu",
        zero: 0,
        h: 8,
        w: 8,
        n: 1,
      },
      {
        c: 37,
        o: 70,
        k: [1, 1],
        groups: 1,
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        act: "none",
        zero: 127,
        h: 1,
        w: 1,
        n: 9,
      },
      {
        c: 300,
        o: 33,
        k: [1, 1],
        groups: 1,
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        act: "relu",
        zero: 40,
        h: 1,
        w: 1,
        n: 5,
      },
    ] as const;
    try {
      for (const cfg of configs) {
        const layer = randomLayer(g, {
          ...cfg,
          k: [...cfg.k],
          stride: [...cfg.stride],
          padding: [...cfg.padding],
          dilation: [...cfg.dilation],
        });
        const [oh, ow] = outputSize(layer, cfg.h, cfg.w);
        const shape = [cfg.n, cfg.c, cfg.h, cfg.w] as const;
        const x = randn([...shape], { generator: g }).mul(2).data as Float32Array;
        x[0] = NaN; // quantizes to 0 on every path
        // Far outside the range: clamped to 127 / 0 (the vector quantizer's masks).
        [x[1], x[2], x[3], x[4]] = [1e30, -1e30, Infinity, -Infinity];
        const want = new Float32Array(cfg.n * cfg.o * oh * ow);
        int8Conv2dRef(x, shape, layer, want);
        for (const isa of isas) {
          addon!.int8SelectIsa(isa);
          setInt8Kernel("native");
          const got = new Float32Array(want.length).fill(NaN);
          int8Conv2d(x, shape, { ...layer }, got);
          assert.deepEqual(got, want, `${isa}: ${JSON.stringify(cfg)}`);
          if (oh < 2 || ow < 2) continue;
          // The same layer with a fused 2×2 max-pool: ⌊oh/2⌋×⌊ow/2⌋ maxima of the values above.
          const [ph, pw] = [Math.floor(oh / 2), Math.floor(ow / 2)];
          const wantPooled = new Float32Array(cfg.n * cfg.o * ph * pw);
          int8Conv2dRef(x, shape, { ...layer, pool: 2 }, wantPooled);
          assert.equal(wantPooled[pw + 1], Math.max(...[0, 1, ow, ow + 1].map((d) => want[2 * ow + 2 + d]!)));
          const gotPooled = new Float32Array(wantPooled.length).fill(NaN);
          int8Conv2d(x, shape, { ...layer, pool: 2 }, gotPooled);
          assert.deepEqual(gotPooled, wantPooled, `${isa} pooled: ${JSON.stringify(cfg)}`);
        }
      }
    } finally {
      setInt8Kernel("auto");
      if (bestIsa) addon!.int8SelectIsa(bestIsa);
    }
  },
);

test("weights: per-channel symmetric int8; activations: affine 7-bit with an exact zero", () => {
  const w = randn([4, 3, 3, 3], { generator: new Generator(1) });
  const { q, scale } = quantizeWeights(w);
  for (let o = 0; o < 4; o++) {
    const row = Array.from(q.subarray(o * 27, (o + 1) * 27));
    assert.equal(Math.max(...row.map(Math.abs)), 127);
    for (let k = 0; k < 27; k++)
      assert.ok(Math.abs(q[o * 27 + k]! * scale[o]! - w.data[o * 27 + k]!) <= scale[o]! / 2 + 1e-7);
  }
  const a = activationParams({ min: -1, max: 3 });
  assert.equal(a.zeroPoint, Math.round(1 / a.scale));
  assert.ok(Math.abs(a.scale - 4 / 127) < 1e-7);
  assert.deepEqual(activationParams({ min: 0.5, max: 2 }).zeroPoint, 0); // the range is widened to include 0
});

test("a quantized fmnist-cnn stays close to the float model and round-trips through safetensors", () => {
  const g = new Generator(5);
  const model = createModel("fmnist-cnn");
  model.eval();
  const floatMacs = summary(model, [1, 28, 28]).macs;
  const x = randn([16, 1, 28, 28], { generator: g });
  const ref = noGrad(() => model.call(x));
  const { specs } = quantizeModel(model, [1, 28, 28], {
    calibration: () => [x],
    method: "percentile",
    percentile: 99.99,
  });
  assert.equal(specs.length, 4);
  assert.deepEqual(
    specs.map((s) => s.act),
    ["relu", "relu", "relu", "none"],
  );
  assert.ok([...model.modules()].some((m) => m instanceof QuantizedConv2d));
  // Both 2×2 max-pools follow a conv+ReLU and are fused into it; the MAC count stays the float one.
  assert.deepEqual(
    specs.map((s) => s.fusedPool),
    ["features.3", "features.7", null, null],
  );
  assert.equal(summary(model, [1, 28, 28]).macs, floatMacs);
  const out = noGrad(() => model.call(x));
  const scale = Math.max(...Array.from(ref.data, Math.abs));
  let err = 0;
  for (let i = 0; i < ref.numel; i++) err = Math.max(err, Math.abs(out.data[i]! - ref.data[i]!));
  assert.ok(err < 0.1 * scale, `max error ${err} vs logit scale ${scale}`);
  const sd = model.stateDict();
  assert.equal(sd.get("features.0.weight")!.dtype, "int8");
  assert.deepEqual(sd.get("features.4.weight_scale")!.shape, [64]);
  assert.equal(sd.get("classifier.1.input_zero_point")!.dtype, "int32");

  const dir = mkdtempSync(join(tmpdir(), "nabla-int8-"));
  try {
    const file = join(dir, "model.safetensors");
    saveCompressed(file, model, { model: "fmnist-cnn", numClasses: 10, input: [1, 28, 28], folded: [
      { layer: "features.0", bn: "features.1" }, { layer: "features.4", bn: "features.5" }], quantized: specs }); // prettier-ignore
    const loaded = loadCompressed(file).model;
    assert.deepEqual(noGrad(() => loaded.call(x)).data, out.data);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
