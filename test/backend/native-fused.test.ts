// The fused training-step kernels (batch-norm statistics / affine / backward, ReLU backward,
// max-pool backward) of the native backend against the reference kernels, the ops that use them
// through the op-info conformance driver on the native backend, and bitwise determinism of whole
// training steps across runs and thread counts. Skips when the addon has not been built.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import path from "node:path";
import type { Pool2dParams } from "../../src/backend/backend.js";
import { refKernels as ref } from "../../src/backend/ref/index.js";
import { loadNativeBackend } from "../../src/backend/native/index.js";
import { checkOpInfo, opInfos } from "../../src/autograd/testing/opinfo.js";
import * as nb from "../../src/index.js";
import { root, skip } from "../support/native.js";

let seed = 99;
function randn(n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const u = Math.max(seed / 4294967296, 1e-12);
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    a[i] = offset + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos((2 * Math.PI * seed) / 4294967296);
  }
  return a;
}

/** |got − want| ≤ rtol·(|want| + scale), scale defaulting to max |want|. */
function assertClose(got: Float32Array, want: Float32Array, rtol: number, what: string, scale = 0): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const bound = rtol * (Math.abs(want[i]!) + scale) + 1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= bound))
      assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

// n, c, inner (inner = 1 is BatchNorm1d's [N, C] layout), and a mean offset far from 0.
const BN_CASES: [number, number, number, number][] = [
  [2, 3, 5, 0],
  [64, 32, 784, 0],
  [7, 5, 1, 0],
  [601, 130, 1, 0], // one value per channel, split between threads mid-row
  [3, 4, 1000, 100],
  [1, 2, 9, -3],
];

test("batchNormStats, channelAffine and batchNormBackward match the reference", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  for (const [n, c, inner, offset] of BN_CASES) {
    const what = `[${n}, ${c}, ${inner}]`;
    const x = randn(n * c * inner, 2, offset);
    const mean = [new Float32Array(c), new Float32Array(c)] as const;
    const variance = [new Float32Array(c), new Float32Array(c)] as const;
    ref.batchNormStats(x, n, c, inner, mean[0], variance[0]);
    k.batchNormStats!(x, n, c, inner, mean[1], variance[1]);
    // The mean of centred data is a small difference of large sums: compare on the data's scale.
    assertClose(mean[1], mean[0], 1e-6, `${what} mean`, 2);
    assertClose(variance[1], variance[0], 1e-5, `${what} variance`);

    const scale = randn(c);
    const shift = randn(c);
    const residual = randn(x.length);
    for (const relu of [false, true]) {
      for (const r of [null, residual]) {
        const want = new Float32Array(x.length);
        const got = new Float32Array(x.length).fill(NaN);
        ref.channelAffine(x, n, c, inner, scale, shift, relu, want, r);
        k.channelAffine!(x, n, c, inner, scale, shift, relu, got, r);
        assertClose(got, want, 1e-6, `${what} channelAffine relu=${relu} residual=${r !== null}`);
      }
    }

    const g = randn(x.length);
    const invstd = variance[0].map((v) => 1 / Math.sqrt(v + 1e-5));
    for (const weight of [randn(c), null]) {
      const outs = [0, 1].map(() => ({
        gx: new Float32Array(x.length),
        gw: new Float32Array(c),
        gb: new Float32Array(c),
      }));
      ref.batchNormBackward(
        x,
        g,
        n,
        c,
        inner,
        mean[0],
        invstd,
        weight,
        outs[0]!.gx,
        outs[0]!.gw,
        outs[0]!.gb,
      );
      k.batchNormBackward!(x, g, n, c, inner, mean[0], invstd, weight, outs[1]!.gx, outs[1]!.gw, outs[1]!.gb);
      assertClose(outs[1]!.gx, outs[0]!.gx, 1e-4, `${what} gx`);
      assertClose(outs[1]!.gw, outs[0]!.gw, 1e-4, `${what} gWeight`);
      assertClose(outs[1]!.gb, outs[0]!.gb, 1e-5, `${what} gBias`);
    }
    // Outputs the caller does not ask for are skipped (null), the others still computed.
    const gx = new Float32Array(x.length);
    k.batchNormBackward!(x, g, n, c, inner, mean[0], invstd, null, gx, null, null);
    const want = new Float32Array(x.length);
    ref.batchNormBackward(x, g, n, c, inner, mean[0], invstd, null, want, null, null);
    assertClose(gx, want, 1e-4, `${what} gx alone`);

    // With the fused ReLU's output: g masked where it is not positive, in both passes.
    const reluOut = randn(x.length);
    const masked = [0, 1].map(() => ({
      gx: new Float32Array(x.length),
      gw: new Float32Array(c),
      gb: new Float32Array(c),
    }));
    const w = randn(c);
    ref.batchNormBackward(
      x,
      g,
      n,
      c,
      inner,
      mean[0],
      invstd,
      w,
      masked[0]!.gx,
      masked[0]!.gw,
      masked[0]!.gb,
      reluOut,
    );
    k.batchNormBackward!(
      x,
      g,
      n,
      c,
      inner,
      mean[0],
      invstd,
      w,
      masked[1]!.gx,
      masked[1]!.gw,
      masked[1]!.gb,
      reluOut,
    );
    assertClose(masked[1]!.gx, masked[0]!.gx, 1e-4, `${what} gx through the ReLU`);
    assertClose(masked[1]!.gw, masked[0]!.gw, 1e-4, `${what} gWeight through the ReLU`);
    assertClose(masked[1]!.gb, masked[0]!.gb, 1e-5, `${what} gBias through the ReLU`);
    const gMasked = g.map((v, i) => (reluOut[i]! > 0 ? v : 0));
    const plain = new Float32Array(x.length);
    ref.batchNormBackward(x, gMasked, n, c, inner, mean[0], invstd, w, plain, null, null);
    assertClose(masked[0]!.gx, plain, 1e-6, `${what} reference: the mask is the ReLU's gradient`);
  }
});

test("batchNormReluPool and its backward match the reference", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  // fmnist-cnn's two blocks at batch 4, odd sizes (the trailing row/column outside every window
  // still gets its gradient), and one plane.
  for (const [n, c, h, w] of [
    [4, 32, 28, 28],
    [4, 64, 14, 14],
    [3, 5, 7, 9],
    [2, 1, 2, 2],
  ] as const) {
    const what = `[${n}, ${c}, ${h}, ${w}]`;
    const size = n * c * Math.floor(h / 2) * Math.floor(w / 2);
    const x = randn(n * c * h * w);
    const scale = randn(c);
    const shift = randn(c);
    const out = [new Float32Array(size), new Float32Array(size).fill(NaN)];
    const idx = [new Int32Array(size), new Int32Array(size).fill(-7)];
    ref.batchNormReluPool(x, n, c, h, w, scale, shift, out[0]!, idx[0]!);
    k.batchNormReluPool!(x, n, c, h, w, scale, shift, out[1]!, idx[1]!);
    assertClose(out[1]!, out[0]!, 1e-6, `${what} pooled`);
    // Positive maxima are distinct values, so their argmax agrees exactly (zeros may tie).
    for (let i = 0; i < size; i++)
      if (out[0]![i]! > 1e-5) assert.equal(idx[1]![i], idx[0]![i], `${what} argmax ${i}`);

    const g = randn(size);
    const mean = randn(c);
    const invstd = randn(c).map((v) => 0.5 + Math.abs(v));
    const weight = randn(c);
    const res = [0, 1].map(() => ({
      gx: new Float32Array(x.length).fill(NaN),
      gw: new Float32Array(c),
      gb: new Float32Array(c),
    }));
    for (const [kk, r] of [
      [ref, res[0]!],
      [k, res[1]!],
    ] as const)
      kk.batchNormReluPoolBackward!(
        x,
        g,
        out[0]!,
        idx[0]!,
        n,
        c,
        h,
        w,
        mean,
        invstd,
        weight,
        r.gx,
        r.gw,
        r.gb,
      );
    assertClose(res[1]!.gx, res[0]!.gx, 1e-4, `${what} gx`);
    assertClose(res[1]!.gw, res[0]!.gw, 1e-4, `${what} gWeight`);
    assertClose(res[1]!.gb, res[0]!.gb, 1e-5, `${what} gBias`);
  }
});

test("reluBackward and maxPool2dBackward match the reference exactly", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  for (const len of [5, 4096, 100003]) {
    const g = randn(len);
    const y = randn(len).map((v) => Math.max(v, 0));
    y[1] = NaN; // NaN > 0 is false: no gradient, like PyTorch's threshold_backward
    const want = new Float32Array(len);
    const got = new Float32Array(len);
    ref.reluBackward(g, y, want);
    k.reluBackward!(g, y, got);
    assert.deepEqual(got, want);
  }
  for (const [n, c, h, w, kk, s, pad] of [
    [2, 3, 8, 8, 2, 2, 0],
    [2, 3, 9, 7, 3, 2, 1],
    [64, 32, 28, 28, 2, 2, 0],
    [1, 2, 6, 6, 3, 1, 1], // overlapping windows: several gradients land on one input
  ] as const) {
    const outH = Math.floor((h + 2 * pad - kk) / s) + 1;
    const outW = Math.floor((w + 2 * pad - kk) / s) + 1;
    const p: Pool2dParams = {
      ...{ n, c, h, w, kh: kk, kw: kk, strideH: s, strideW: s, padH: pad, padW: pad },
      ...{ dilationH: 1, dilationW: 1, outH, outW },
    };
    const x = randn(n * c * h * w);
    const values = new Float32Array(n * c * outH * outW);
    const indices = new Int32Array(values.length);
    ref.maxPool2d(x, p, values, indices);
    const g = randn(values.length);
    const want = new Float32Array(x.length);
    const got = new Float32Array(x.length);
    ref.maxPool2dBackward(g, indices, p, want);
    k.maxPool2dBackward!(g, indices, p, got);
    assert.deepEqual(got, want);
  }
});

test("op-info conformance on the native backend for the ops with fused kernels", { skip }, () => {
  const backend = loadNativeBackend()!;
  const names = ["batchNorm", "batchNorm (running statistics update)", "relu", "maxPool2d", "sum", "mean"];
  for (const name of names) {
    const info = opInfos.find((i) => i.name === name);
    assert.ok(info, name);
    assert.deepEqual(checkOpInfo(info, { backend }), [], name);
  }
});

test("training steps are bitwise reproducible across runs and thread counts", { skip }, () => {
  const run = (threads: string) =>
    execFileSync(process.execPath, ["--import", "tsx", path.join(root, "test/backend/step-hash.ts")], {
      cwd: root,
      env: { ...process.env, NABLA_NUM_THREADS: threads },
      encoding: "utf8",
    }).trim();
  const two = run("2");
  assert.ok(two.split(",").length > 10, two);
  assert.equal(run("2"), two);
  assert.equal(run("1"), two);
});

test("fused forms give bitwise the results of the tensor-op forms (conv bias, eval batch norm)", () => {
  // Runs on whichever backend is active (native unless NABLA_BACKEND=ref).
  nb.manualSeed(5);
  const x = nb.randn([2, 3, 6, 6]);
  const w = nb.randn([4, 3, 3, 3]);
  const b = nb.randn([4]);
  const fused = nb.nn.F.conv2d(x, w, b, { padding: 1 });
  const plain = nb.nn.F.conv2d(x, w, null, { padding: 1 }).add(b.reshape([1, 4, 1, 1]));
  assert.deepEqual(fused.data, plain.data);

  const [m, v, g, s] = [nb.randn([4]), nb.rand([4]).add(0.5), nb.randn([4]), nb.randn([4])];
  const options = { runningMean: m, runningVar: v, weight: g, bias: s, training: false };
  const inference = nb.noGrad(() => nb.nn.F.batchNorm(fused, options));
  // With a weight that requires grad the per-channel scale and shift are tensor ops.
  const withGrad = nb.nn.F.batchNorm(fused, { ...options, weight: g.detach().requiresGrad_() });
  assert.ok(withGrad.requiresGrad);
  assert.deepEqual(inference.data, withGrad.data);
});

test("copy of float32 views matches the reference bitwise (transposed, broadcast, offset)", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  const data = randn(64 * 64 * 9);
  data[5] = -0;
  data[6] = NaN;
  const views: [number[], number[], number][] = [
    [[64, 64, 8, 8], [64, 1, 0, 0], 0], // a mean's gradient broadcast over H, W
    [[96, 64], [1, 96], 7], // transposed, with an offset
    [[64, 9, 64], [576, 1, 9], 0], // permuted
  ];
  for (const [shape, strides, offset] of views) {
    const n = shape.reduce((a, b) => a * b, 1);
    const want = new Float32Array(n);
    const got = new Float32Array(n);
    ref.copy({ data, strides, offset }, shape, want, "float32");
    k.copy!({ data, strides, offset }, shape, got, "float32");
    assert.deepEqual(got, want, JSON.stringify(shape));
  }
});

test("sgdStep matches the reference bit for bit (every option, several steps)", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  const options = [
    { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
    { momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
    { momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: true, maximize: false },
    { momentum: 0.7, dampening: 0.1, weightDecay: 1e-2, nesterov: false, maximize: true },
  ];
  for (const o of options) {
    const n = 70001; // several chunks, an odd tail
    const xWant = randn(n + 3);
    const xGot = xWant.slice();
    const bufWant = o.momentum ? new Float32Array(n) : null;
    const bufGot = o.momentum ? new Float32Array(n) : null;
    for (let step = 0; step < 3; step++) {
      const g = randn(n + 5, 0.1);
      const h = { lr: 0.037, ...o, first: step === 0 };
      ref.sgdStep(xWant, 3, g, 5, bufWant, n, h);
      k.sgdStep!(xGot, 3, g, 5, bufGot, n, h);
      assert.deepEqual(xGot, xWant, `param after step ${step} with ${JSON.stringify(o)}`);
      assert.deepEqual(bufGot, bufWant, `buffer after step ${step}`);
    }
  }
});
