// Native programs (addon.cpp's Program, Backend.programs): a recorded run of kernel calls must
// replay exactly those calls, on the same arrays, with a new input's array in place of the
// recorded one, and compute what calling the kernels directly on that input computes, bit for
// bit. Calls the addon does not record (a wrapper's fallback to the reference kernels, a kernel
// that is not recordable) must leave the count unchanged, so the plan keeps them as steps.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Conv2dParams, Kernels, Pool2dParams } from "../../src/backend/backend.js";
import { loadNativeBackend, nativeAddon, nativeInfo, setNumThreads } from "../../src/backend/native/index.js";
import { skip } from "../support/native.js";

let seed = 99;
function randn(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    a[i] = (seed / 4294967296 - 0.5) * 2;
  }
  return a;
}

const conv = (c: number, hw: number, o: number): Conv2dParams => ({
  n: 1,
  c,
  h: hw,
  w: hw,
  o,
  kh: 3,
  kw: 3,
  strideH: 1,
  strideW: 1,
  padH: 1,
  padW: 1,
  dilationH: 1,
  dilationW: 1,
  groups: 1,
  outH: hw,
  outW: hw,
});

// (A program holds the addresses of its arrays: every array a recorded call used must outlive it.)
const indices = new Int32Array(1024);

/**
 * A small network's calls on input x (16 channels of 16×16), with every recordable kernel and the
 * input read by several of them (as a convolution's input and residual, a matmul's left side, a
 * binary op's operand), plus one call the wrapper leaves to the reference kernels. Returns the
 * output arrays, fresh unless `outs` (the recorded run's, reused by the program) is given.
 */
function network(
  k: Partial<Kernels>,
  x: Float32Array,
  w: Record<string, Float32Array>,
  outs?: Float32Array[],
) {
  const o = outs ?? [];
  let i = 0;
  const out = (n: number) => (outs ? outs[i++]! : (o[o.length] = new Float32Array(n)));
  const p = conv(16, 16, 16);
  const y1 = out(4096);
  k.conv2dFused!(x, w.w1!, p, y1, w.scale!, w.shift!, x, true, false, false);
  const mid = out(4096);
  const y2 = out(4096);
  k.conv2dPairFused!(
    y1,
    { w: w.w1!, p, scale: w.scale!, shift: null, relu: true, relu6: false },
    mid,
    { w: w.w2!, p, scale: null, shift: w.shift!, relu: true, relu6: false },
    x,
    y2,
  );
  const pooled = out(1024);
  const pool: Pool2dParams = {
    n: 1,
    c: 16,
    h: 16,
    w: 16,
    kh: 2,
    kw: 2,
    strideH: 2,
    strideW: 2,
    padH: 0,
    padW: 0,
    dilationH: 1,
    dilationW: 1,
    outH: 8,
    outW: 8,
  };
  k.maxPool2d!(y2, pool, pooled, indices);
  const sum = out(4096);
  const view = (data: Float32Array) => ({ data, strides: [1], offset: 0 });
  k.binary!("add", view(x), view(y2), [4096], sum);
  const neg = out(4096);
  k.unary!("neg", view(sum), [4096], neg);
  const fc = out(64 * 10);
  k.matmul!(x, w.fc!, fc, 1, 64, 64, 10, 0, 0, false, false);
  const affine = out(4096);
  k.channelAffine!(x, 1, 16, 256, w.scale!, w.shift!, true, affine, neg);
  const small = out(10);
  k.binary!("mul", view(fc.subarray(0, 10)), view(w.shift!.subarray(0, 10)), [10], small); // reference: small
  const red = out(16);
  k.reduce!("sum", affine, 16, 256, 1, red);
  const soft = out(4096);
  k.softmax!(false, x, 16, 256, 1, soft);
  return o;
}

test("a native program replays its calls on a new input, bit for bit", { skip }, () => {
  const backend = loadNativeBackend()!;
  const programs = backend.programs!;
  const w = {
    w1: randn(16 * 16 * 9),
    w2: randn(16 * 16 * 9),
    scale: randn(16),
    shift: randn(16),
    fc: randn(640),
  };
  const x0 = randn(4096);
  assert.equal(programs.begin(x0), true);
  const outs = network(backend.kernels, x0, w);
  // Every call but the small binary one (left to the reference kernels by its wrapper).
  assert.equal(programs.recorded(), 9);
  const program = programs.end();
  assert.ok(program !== null);
  assert.equal(programs.recorded(), -1, "not recording after end");
  for (let s = 0; s < 3; s++) {
    const x = randn(4096);
    const want = network(backend.kernels, x, w);
    programs.run(program, x);
    // (The reference call is not in the program: its output keeps the recorded run's values.)
    outs.forEach((got, j) => {
      if (j === 8) return;
      got.forEach((v, e) => {
        if (!Object.is(v, want[j]![e]))
          assert.fail(`input ${s}, output ${j}[${e}]: program ${v}, direct ${want[j]![e]}`);
      });
    });
  }
});

test("programs: nothing recorded gives null, and bad runs throw", { skip }, () => {
  const lib = nativeAddon()!;
  const backend = loadNativeBackend()!;
  const programs = backend.programs!;
  assert.equal(programs.begin(new Float64Array(4)), false, "only float32 inputs");
  const x = randn(64);
  programs.begin(x);
  backend.kernels.batchNormStats!(x, 1, 4, 16, new Float32Array(4), new Float32Array(4)); // not recordable
  assert.equal(programs.recorded(), 0);
  assert.equal(programs.end(), null);
  programs.begin(x);
  backend.kernels.reduce!("max", randn(8192), 1, 8192, 1, new Float32Array(1));
  const program = programs.end()!;
  assert.throws(() => programs.run(program, randn(63)), /too short/);
  assert.throws(() => lib.planRun({}, x), /expected a program/);
});

test(
  "a program runs on one thread, on all, or with small convolutions split too, with the same bits",
  { skip },
  () => {
    // ProgramThreads (native/program_threads.h) picks per program, by timing, whether its runs use
    // the calling thread alone, the whole pool, or the pool with batch-1 convolutions of 1–4 MFLOP
    // split too. Its trials take blocks of each setting in turn, so 100 runs cover all three, as do
    // NABLA_PROGRAM_THREADS=1, =all and =small; every run must give the bits of the direct calls.
    // The matmul is large enough to be split between threads; the stride-2 convolution (2.4 MFLOP,
    // batch 1) is split only under =small.
    const backend = loadNativeBackend()!;
    const programs = backend.programs!;
    const k = backend.kernels;
    const w = randn(256 * 256);
    const cw = randn(32 * 16 * 9);
    const cx = randn(16 * 32 * 32);
    const cb = randn(32);
    const cp = { ...conv(16, 32, 32), strideH: 2, strideW: 2, outH: 16, outW: 16 };
    const net = (x: Float32Array, y: Float32Array, s: Float32Array, c: Float32Array) => {
      k.matmul!(x, w, y, 1, 128, 256, 256, 0, 0, false, false);
      k.softmax!(false, y, 128, 256, 1, s);
      k.conv2dFused!(cx, cw, cp, c, null, cb, null, true, false, false);
    };
    const before = nativeInfo()!.threads;
    try {
      for (const threads of [2, 3]) {
        setNumThreads(threads);
        const x0 = randn(128 * 256);
        const out = () => [
          new Float32Array(128 * 256),
          new Float32Array(128 * 256),
          new Float32Array(32 * 256),
        ];
        const got = out();
        assert.equal(programs.begin(x0), true);
        net(x0, got[0]!, got[1]!, got[2]!);
        const program = programs.end()!;
        const want = out();
        for (let run = 0; run < 130; run++) {
          const setting =
            run < 100 ? undefined : (["1", "all", "small"] as const)[Math.floor((run - 100) / 10)];
          if (setting === undefined) delete process.env["NABLA_PROGRAM_THREADS"];
          else process.env["NABLA_PROGRAM_THREADS"] = setting;
          const x = randn(128 * 256);
          net(x, want[0]!, want[1]!, want[2]!);
          for (const g of got) g.fill(NaN); // (a step the run skipped would leave NaN)
          programs.run(program, x);
          got.forEach((g, j) => {
            for (let e = 0; e < g.length; e++)
              if (!Object.is(g[e], want[j]![e]))
                assert.fail(
                  `${threads} threads, run ${run} (${setting ?? "chosen"}): output ${j}[${e}] differs`,
                );
          });
        }
      }
    } finally {
      delete process.env["NABLA_PROGRAM_THREADS"];
      setNumThreads(before);
    }
  },
);

test("a same-bits guard compares its pairs in one call, and rejects bad pairs", { skip }, () => {
  // (src/nn/plan.ts checks an inference plan's batch-norm fold inputs with one.)
  const programs = loadNativeBackend()!.programs!;
  const a = randn(37);
  const b = a.slice();
  const c = randn(5);
  const d = c.slice();
  const guard = programs.sameBitsGuard!([a, b, c, d, new Float32Array(0), new Float32Array(0)]);
  assert.equal(programs.holds!(guard), true);
  b[36] = -b[36]!;
  assert.equal(programs.holds!(guard), false, "last element of the first pair");
  b[36] = a[36]!;
  c[0] = NaN;
  d[0] = NaN; // (the same NaN bits: the same)
  assert.equal(programs.holds!(guard), true);
  d[4] = c[4]! + 1;
  assert.equal(programs.holds!(guard), false, "second pair");
  const lib = nativeAddon()!;
  assert.throws(() => lib.guardMake([a]), /pairs/);
  assert.throws(() => lib.guardMake([a, c]), /differ in length/);
  assert.throws(() => lib.guardMake([a, new Int32Array(37) as unknown as Float32Array]), /Float32Arrays/);
  assert.throws(() => lib.guardHolds({}), /expected a guard/);
});
