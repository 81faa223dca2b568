// Conformance of the native backend against the reference backend: every native kernel on random
// inputs over many shapes (odd sizes, 1×1, depthwise, groups, stride, padding, dilation, trans
// flags, broadcast batch strides), plus determinism, ISA fallbacks and worker_threads loading.
// Skips when the addon has not been built (`npm run install` builds it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Worker } from "node:worker_threads";
import type {
  BinaryOp,
  Conv2dParams,
  Pool2dParams,
  ReduceOp,
  StridedView,
  UnaryOp,
} from "../../src/backend/backend.js";
import { refKernels as ref } from "../../src/backend/ref/index.js";
import { loadNativeBackend, nativeAddon, nativeInfo } from "../../src/backend/native/index.js";
import { addonFile, built, skip } from "../support/native.js";

if (!built) console.log(`# native addon not built (${addonFile} missing): native tests skipped`);

function lib() {
  const l = nativeAddon();
  assert.ok(l, "the addon is built but failed to load");
  return l;
}

// Deterministic pseudo-random normals (xorshift + Box-Muller).
let seed = 12345;
function rand(): number {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
function randn(n: number, scale = 1, offset = 0): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(rand(), 1e-12);
    a[i] = offset + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  }
  return a;
}

/** |got - want| <= tol * (|want| + rms(want)) elementwise; `k` is the accumulation length. */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, k: number, what: string, rtol = 1e-5) {
  assert.equal(got.length, want.length, `${what}: length`);
  let ss = 0;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i]!)) ss += want[i]! * want[i]!;
  const rms = Math.sqrt(ss / Math.max(1, want.length));
  const tol = rtol * Math.max(1, Math.sqrt(k) / 4);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}[${i}]: want NaN, got ${g}`);
      continue;
    }
    if (g === w) continue;
    const bound = tol * (Math.abs(w) + rms) + 1e-30;
    if (!(Math.abs(g - w) <= bound)) assert.fail(`${what}[${i}]: got ${g}, want ${w} (bound ${bound})`);
  }
}

test("loads and reports its ISA and threads", { skip }, () => {
  const info = nativeInfo();
  assert.ok(info);
  assert.ok(["avx512", "avx2", "generic"].includes(info.isa));
  assert.ok(info.threads >= 1);
  const be = loadNativeBackend();
  assert.ok(be);
  assert.equal(be.name, "native");
  console.log(`# native: ${JSON.stringify(info)}`);
});

const MATMUL_CASES: [number, number, number, number][] = [
  // batch, m, k, n
  [1, 1, 1, 1],
  [1, 3, 5, 7],
  [1, 14, 32, 32],
  [1, 17, 33, 65],
  [2, 64, 64, 64],
  [1, 100, 300, 50],
  [1, 9, 784, 32],
  [3, 29, 3, 130],
  [1, 1, 257, 1],
  [1, 200, 1000, 33],
  [1, 20, 8, 2500], // B panels wider than the packing row buffer
  // Above the column-split size: row parts claimed by threads, B packed on first use (2 K blocks,
  // 2 panel groups)
  [1, 700, 400, 200],
  // ... with more K blocks than one job packs at once (2 jobs)
  [1, 56, 2100, 1024],
  // ≤ 4 rows: the one-row kernels (4-row dot groups, 128/16-column blocks, masked tails)
  [1, 1, 3136, 128],
  [1, 2, 45, 300],
  [2, 4, 100, 37],
  [1, 1, 16, 16],
];

test("matmul matches the reference (trans flags, batch strides incl. 0)", { skip }, () => {
  const L = lib();
  for (const [batch, m, k, n] of MATMUL_CASES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [bcastA, bcastB] of [
          [false, false],
          [true, false],
          [false, true],
        ] as const) {
          if (batch === 1 && (bcastA || bcastB)) continue;
          const sa = bcastA ? 0 : m * k;
          const sb = bcastB ? 0 : k * n;
          const a = randn(bcastA ? m * k : batch * m * k);
          const b = randn(bcastB ? k * n : batch * k * n);
          const want = new Float32Array(batch * m * n);
          const got = new Float32Array(batch * m * n).fill(NaN);
          ref.matmul(a, b, want, batch, m, k, n, sa, sb, transA, transB);
          L.matmul(a, b, got, batch, m, k, n, sa, sb, transA, transB);
          assertClose(
            got,
            want,
            k,
            `matmul b${batch} ${m}x${k}x${n} tA=${transA} tB=${transB} sa=${sa} sb=${sb}`,
          );
        }
      }
    }
  }
});

test("matmul through the backend wrapper (subarray views, float64 fallback)", { skip }, () => {
  const be = loadNativeBackend()!;
  const buf = randn(10 + 40 * 50);
  const a = buf.subarray(10); // non-zero byteOffset
  const b = randn(50 * 30);
  const want = new Float32Array(40 * 30);
  const got = new Float32Array(40 * 30);
  ref.matmul(a, b, want, 1, 40, 50, 30, 0, 0, false, false);
  be.kernels.matmul!(a, b, got, 1, 40, 50, 30, 0, 0, false, false);
  assertClose(got, want, 50, "matmul view");
  const a64 = Float64Array.from(a);
  const b64 = Float64Array.from(b);
  const w64 = new Float64Array(40 * 30);
  const g64 = new Float64Array(40 * 30);
  ref.matmul(a64, b64, w64, 1, 40, 50, 30, 0, 0, false, false);
  be.kernels.matmul!(a64, b64, g64, 1, 40, 50, 30, 0, 0, false, false);
  assert.deepEqual(g64, w64);
});

test("matmul on every micro-kernel this CPU supports", { skip }, () => {
  const L = lib();
  const best = L.info().isa;
  try {
    for (const isa of ["avx512", "avx2", "generic"]) {
      if (!L.selectIsa(isa)) continue;
      for (const [batch, m, k, n] of MATMUL_CASES.slice(0, 8)) {
        const a = randn(batch * m * k);
        const b = randn(batch * k * n);
        const want = new Float32Array(batch * m * n);
        const got = new Float32Array(batch * m * n);
        ref.matmul(a, b, want, batch, m, k, n, m * k, k * n, false, true);
        L.matmul(a, b, got, batch, m, k, n, m * k, k * n, false, true);
        assertClose(got, want, k, `matmul[${isa}] ${m}x${k}x${n}`);
      }
    }
  } finally {
    L.selectIsa(best);
  }
});

interface ConvCase {
  n: number;
  c: number;
  h: number;
  w: number;
  o: number;
  k: [number, number];
  s?: [number, number];
  p?: [number, number];
  d?: [number, number];
  g?: number;
}

function convParams(cc: ConvCase): Conv2dParams {
  const [kh, kw] = cc.k;
  const [strideH, strideW] = cc.s ?? [1, 1];
  const [padH, padW] = cc.p ?? [0, 0];
  const [dilationH, dilationW] = cc.d ?? [1, 1];
  const outH = Math.floor((cc.h + 2 * padH - dilationH * (kh - 1) - 1) / strideH) + 1;
  const outW = Math.floor((cc.w + 2 * padW - dilationW * (kw - 1) - 1) / strideW) + 1;
  return {
    n: cc.n,
    c: cc.c,
    h: cc.h,
    w: cc.w,
    o: cc.o,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups: cc.g ?? 1,
    outH,
    outW,
  };
}

const CONV_CASES: ConvCase[] = [
  { n: 2, c: 1, h: 28, w: 28, o: 32, k: [3, 3], p: [1, 1] }, // fmnist conv1
  { n: 2, c: 32, h: 14, w: 14, o: 64, k: [3, 3], p: [1, 1] }, // fmnist conv2
  { n: 3, c: 16, h: 9, w: 7, o: 24, k: [1, 1] }, // pointwise
  { n: 2, c: 8, h: 9, w: 9, o: 12, k: [1, 1], s: [2, 2] }, // 1×1 stride 2 (resnet shortcut)
  { n: 2, c: 16, h: 11, w: 13, o: 16, k: [3, 3], p: [1, 1], g: 16 }, // depthwise
  { n: 2, c: 6, h: 12, w: 9, o: 6, k: [3, 3], s: [2, 2], p: [1, 1], g: 6 }, // depthwise stride 2
  { n: 1, c: 5, h: 10, w: 10, o: 5, k: [3, 2], p: [2, 1], d: [2, 3], g: 5 }, // depthwise dilated
  { n: 2, c: 4, h: 8, w: 8, o: 8, k: [3, 3], p: [1, 1], g: 4 }, // channel multiplier 2
  { n: 2, c: 8, h: 10, w: 10, o: 12, k: [3, 3], p: [1, 1], g: 2 }, // groups
  { n: 2, c: 12, h: 11, w: 9, o: 8, k: [3, 5], s: [2, 2], p: [2, 2], d: [2, 1], g: 4 },
  { n: 1, c: 3, h: 5, w: 7, o: 5, k: [2, 4], s: [2, 1], p: [1, 2], d: [1, 2] },
  { n: 3, c: 3, h: 32, w: 32, o: 16, k: [3, 3], s: [2, 2], p: [1, 1] },
  { n: 1, c: 2, h: 3, w: 3, o: 3, k: [5, 5], p: [2, 2] }, // kernel wider than the image
  { n: 1, c: 2, h: 6, w: 6, o: 4, k: [3, 3], p: [3, 0] }, // rows made only of padding
  { n: 8, c: 16, h: 16, w: 16, o: 32, k: [3, 3], p: [1, 1] }, // threaded over images
  // The direct kernels (conv_direct.h) on AVX-512: each tile, ragged pixels and channels.
  { n: 3, c: 5, h: 16, w: 16, o: 40, k: [3, 3], p: [1, 1] }, // 16×16 tile, 40 of 48 lanes
  { n: 1, c: 8, h: 8, w: 8, o: 64, k: [3, 3], p: [1, 1] }, // batch 1: rows split between threads
  { n: 2, c: 16, h: 15, w: 15, o: 32, k: [3, 3], s: [2, 2], p: [1, 1] }, // stride 2
  { n: 2, c: 8, h: 13, w: 13, o: 32, k: [1, 1], s: [2, 2] }, // 1×1 stride 2, 7 of 8 pixels
  { n: 2, c: 4, h: 10, w: 30, o: 16, k: [3, 3] }, // unpadded, 28 pixels in 16-pixel tiles
  { n: 2, c: 6, h: 5, w: 29, o: 32, k: [3, 3], p: [2, 2] }, // 31 pixels in 8-pixel tiles
  { n: 2, c: 3, h: 12, w: 16, o: 16, k: [5, 3], p: [2, 1] }, // taller kernel
  { n: 2, c: 32, h: 14, w: 14, o: 32, k: [3, 3], p: [1, 1] }, // fmnist conv2's input gradient shape
  // Winograd F(2×2, 3×3) (conv_winograd.h): partial tiles, ragged channels, batch 1, padding.
  { n: 3, c: 20, h: 9, w: 11, o: 48, k: [3, 3], p: [1, 1] }, // odd output, 48 of 64 lanes
  { n: 2, c: 16, h: 12, w: 7, o: 32, k: [3, 3] }, // unpadded
  { n: 2, c: 24, h: 5, w: 6, o: 32, k: [3, 3], p: [2, 2] }, // padding 2
  { n: 2, c: 64, h: 8, w: 8, o: 64, k: [3, 3], p: [1, 1] }, // resnet20's last stage
];

test("conv2d forward and both backwards match the reference", { skip }, () => {
  const L = lib();
  for (const cc of CONV_CASES) {
    const p = convParams(cc);
    const cg = p.c / p.groups;
    const K = cg * p.kh * p.kw;
    const x = randn(p.n * p.c * p.h * p.w);
    const w = randn(p.o * K, 1 / Math.sqrt(K));
    const gy = randn(p.n * p.o * p.outH * p.outW);
    const tag = JSON.stringify(cc);

    const yWant = new Float32Array(gy.length);
    const yGot = new Float32Array(gy.length).fill(NaN);
    ref.conv2d(x, w, p, yWant);
    L.conv2d(x, w, new Int32Array(paramArray(p)), yGot);
    assertClose(yGot, yWant, K, `conv2d ${tag}`);

    const gxWant = new Float32Array(x.length);
    const gxGot = new Float32Array(x.length).fill(NaN);
    ref.conv2dBackwardInput(gy, w, p, gxWant);
    L.conv2dBackwardInput(gy, w, new Int32Array(paramArray(p)), gxGot);
    assertClose(gxGot, gxWant, (p.o / p.groups) * p.kh * p.kw, `conv2dBackwardInput ${tag}`);

    const gwWant = new Float32Array(w.length);
    const gwGot = new Float32Array(w.length).fill(NaN);
    ref.conv2dBackwardWeight(x, gy, p, gwWant);
    L.conv2dBackwardWeight(x, gy, new Int32Array(paramArray(p)), gwGot);
    assertClose(gwGot, gwWant, p.n * p.outH * p.outW, `conv2dBackwardWeight ${tag}`);
  }
});

test("conv2dFused (scale, shift, residual, ReLU, 2×2 pool) matches the reference", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  // Direct-path shapes (14- and 8-pixel tiles, batch 1 split by rows, stride 2) and GEMM-path
  // ones (16 channels, depthwise), each with every epilogue.
  const cases: ConvCase[] = [
    { n: 2, c: 1, h: 28, w: 28, o: 32, k: [3, 3], p: [1, 1] },
    { n: 3, c: 32, h: 14, w: 14, o: 64, k: [3, 3], p: [1, 1] },
    { n: 1, c: 32, h: 14, w: 14, o: 64, k: [3, 3], p: [1, 1] },
    { n: 1, c: 8, h: 15, w: 17, o: 32, k: [3, 3], p: [1, 1] }, // odd output: the pool drops a row
    { n: 2, c: 16, h: 16, w: 16, o: 32, k: [3, 3], s: [2, 2], p: [1, 1] },
    { n: 2, c: 16, h: 12, w: 12, o: 16, k: [3, 3], p: [1, 1] },
    { n: 2, c: 8, h: 10, w: 10, o: 8, k: [3, 3], p: [1, 1], g: 8 },
    // Winograd: odd outputs (the pool drops the last row and column).
    { n: 2, c: 20, h: 11, w: 9, o: 48, k: [3, 3], p: [1, 1] },
    { n: 3, c: 16, h: 13, w: 10, o: 32, k: [3, 3], p: [1, 1] },
  ];
  for (const cc of cases) {
    const p = convParams(cc);
    const K = (p.c / p.groups) * p.kh * p.kw;
    const x = randn(p.n * p.c * p.h * p.w);
    const w = randn(p.o * K, 1 / Math.sqrt(K));
    const scale4 = randn(p.o, 4);
    const shift = randn(p.o);
    const conv = p.n * p.o * p.outH * p.outW;
    const residual = randn(conv);
    for (const [withScale, withResidual, relu, pool, relu6] of [
      [true, false, true, true, false],
      [true, true, true, false, false],
      [false, false, false, true, false],
      [true, false, false, false, false],
      [true, false, true, false, true],
      [true, true, true, false, true],
    ] as const) {
      const size = pool ? p.n * p.o * Math.floor(p.outH / 2) * Math.floor(p.outW / 2) : conv;
      const want = new Float32Array(size);
      const got = new Float32Array(size).fill(NaN);
      // (scale ×4 spreads the outputs past ReLU6's cap at 6.)
      const args = [
        withScale ? scale4 : null,
        shift,
        withResidual ? residual : null,
        relu,
        pool,
        relu6,
      ] as const;
      ref.conv2dFused(x, w, p, want, ...args);
      k.conv2dFused!(x, w, p, got, ...args);
      assertClose(got, want, 4 * K, `conv2dFused ${JSON.stringify(cc)} ${JSON.stringify(args.slice(3))}`);
    }
  }
});

test("conv2dPairFused equals two native conv2dFused calls bit for bit, and the reference", { skip }, () => {
  const k = loadNativeBackend()!.kernels;
  // [n, c, h, w, first's outputs, second's outputs, first's stride]. Batches with Winograd on both
  // (16 and 32 channels, odd sizes whose last tiles hang over the edge) hand the intermediate over
  // channel-last; 48 channels (padded to 64 for the first's output, 48 for the second's input) and
  // a stride-2 first convolution take the two-call path. Single images (with two threads) hand it
  // over channel-last too, shared by the threads: split by rows of tiles (16 channels), by blocks
  // of 16 (32 channels) or 32 (64 and 96 channels), odd sizes included.
  const cases = [
    [4, 16, 16, 16, 16, 16, 1],
    [3, 32, 12, 12, 32, 32, 1],
    [3, 16, 11, 9, 32, 32, 1],
    [2, 16, 10, 10, 48, 48, 1],
    [3, 16, 16, 16, 32, 32, 2],
    [5, 16, 7, 13, 16, 16, 1],
    [1, 32, 16, 16, 32, 32, 1],
    [1, 16, 32, 32, 16, 16, 1],
    [1, 16, 15, 13, 16, 16, 1],
    [1, 64, 8, 8, 64, 64, 1],
    [1, 32, 9, 7, 64, 96, 1],
  ] as const;
  for (const [n, c, h, w, o1, o2, stride] of cases) {
    const p1 = convParams({ n, c, h, w, o: o1, k: [3, 3], s: [stride, stride], p: [1, 1] });
    const p2 = convParams({ n, c: o1, h: p1.outH, w: p1.outW, o: o2, k: [3, 3], p: [1, 1] });
    const w1 = randn(o1 * c * 9, 1 / Math.sqrt(c * 9));
    const w2 = randn(o2 * o1 * 9, 1 / Math.sqrt(o1 * 9));
    const x = randn(n * c * h * w);
    const size = n * o2 * p2.outH * p2.outW;
    const residual = randn(size);
    for (const [withScale, withResidual, relu6] of [
      [true, true, false],
      [false, false, false],
      [true, true, true],
    ] as const) {
      const first = {
        w: w1,
        p: p1,
        scale: withScale ? randn(o1, 4) : null,
        shift: randn(o1),
        relu: true,
        relu6,
      };
      const second = {
        w: w2,
        p: p2,
        scale: withScale ? randn(o2, 4) : null,
        shift: randn(o2),
        relu: true,
        relu6,
      };
      const res = withResidual ? residual : null;
      const mid = new Float32Array(n * o1 * p1.outH * p1.outW);
      const two = new Float32Array(size);
      k.conv2dFused!(x, w1, p1, mid, first.scale, first.shift, null, true, false, relu6);
      k.conv2dFused!(mid, w2, p2, two, second.scale, second.shift, res, true, false, relu6);
      const got = new Float32Array(size).fill(NaN);
      k.conv2dPairFused!(x, first, new Float32Array(mid.length).fill(NaN), second, res, got);
      const tag = `conv2dPairFused ${[n, c, h, w, o1, o2, stride].join(",")} ${[withScale, withResidual, relu6].join(",")}`;
      for (let i = 0; i < size; i++)
        if (!Object.is(got[i], two[i])) assert.fail(`${tag}[${i}]: ${got[i]} vs ${two[i]}`);
      const want = new Float32Array(size);
      ref.conv2dPairFused(x, first, new Float32Array(mid.length), second, res, want);
      assertClose(got, want, 4 * o1 * 9, tag);
    }
  }
});

test("Winograd reuses transformed weights only while they hold the same values", { skip }, () => {
  // The addon caches each layer's transformed weights; in-place changes to the same array (an
  // optimizer step) must be seen, and a view of the same memory with another shape too.
  const L = lib();
  for (const n of [1, 3]) {
    const cc: ConvCase = { n, c: 16, h: 10, w: 10, o: 32, k: [3, 3], p: [1, 1] };
    const p = convParams(cc);
    const K = p.c * 9;
    const x = randn(p.n * p.c * p.h * p.w);
    const w = randn(p.o * K, 1 / Math.sqrt(K));
    const check = (what: string) => {
      const want = new Float32Array(p.n * p.o * p.outH * p.outW);
      const got = new Float32Array(want.length).fill(NaN);
      ref.conv2d(x, w, p, want);
      L.conv2d(x, w, new Int32Array(paramArray(p)), got);
      assertClose(got, want, K, `${what} (batch ${n})`);
    };
    check("first call");
    check("cached");
    w[w.length - 1] = w[w.length - 1]! + 1; // the last weight only: a cache compare must reach it
    check("after an in-place change");
    w.fill(0.25, 0, K);
    check("after a second change");
    // The same memory as 32→16 channels: another layer, not the cached one.
    const q = convParams({ ...cc, c: 32, o: 16 });
    const want = new Float32Array(q.n * q.o * q.outH * q.outW);
    const got = new Float32Array(want.length).fill(NaN);
    const x2 = randn(q.n * q.c * q.h * q.w);
    ref.conv2d(x2, w, q, want);
    L.conv2d(x2, w, new Int32Array(paramArray(q)), got);
    assertClose(got, want, q.c * 9, `same memory, other shape (batch ${n})`);
  }
});

test(
  "Winograd convolutions split images between threads when there are more threads than images",
  { skip },
  () => {
    // With more threads than images, each image is split between threads: by blocks of output
    // channels when there are two or more (of 32 channels, or of 16: o = 32, 48), else by tile
    // chunks and rows (o = 16). The same bits as whole images per thread (one thread).
    const L = lib();
    const k = loadNativeBackend()!.kernels;
    const cases: ConvCase[] = [
      { n: 2, c: 32, h: 14, w: 14, o: 64, k: [3, 3], p: [1, 1] },
      { n: 3, c: 20, h: 9, w: 11, o: 48, k: [3, 3], p: [1, 1] },
      { n: 2, c: 16, h: 13, w: 10, o: 16, k: [3, 3], p: [1, 1] },
      { n: 1, c: 16, h: 16, w: 16, o: 32, k: [3, 3], p: [1, 1] },
      { n: 1, c: 24, h: 8, w: 9, o: 80, k: [3, 3], p: [1, 1] }, // the last block part-filled
    ];
    const before = nativeInfo()!.threads;
    try {
      for (const cc of cases) {
        const p = convParams(cc);
        const K = p.c * 9;
        const x = randn(p.n * p.c * p.h * p.w);
        const w = randn(p.o * K, 1 / Math.sqrt(K));
        const shift = randn(p.o);
        const residual = randn(p.n * p.o * p.outH * p.outW);
        const pooled = p.n * p.o * Math.floor(p.outH / 2) * Math.floor(p.outW / 2);
        const run = (threads: number) => {
          L.setNumThreads(threads);
          const y = new Float32Array(residual.length).fill(NaN);
          L.conv2d(x, w, new Int32Array(paramArray(p)), y);
          const yr = new Float32Array(residual.length).fill(NaN);
          k.conv2dFused!(x, w, p, yr, null, shift, residual, true, false, false);
          const yp = new Float32Array(pooled).fill(NaN);
          k.conv2dFused!(x, w, p, yp, null, shift, null, true, true, false);
          return [y, yr, yp];
        };
        const one = run(1);
        const want = new Float32Array(residual.length);
        ref.conv2d(x, w, p, want);
        for (const threads of [2, 4]) {
          const many = run(threads);
          assertClose(many[0]!, want, K, `conv2d ${JSON.stringify(cc)}`);
          for (let i = 0; i < 3; i++)
            assert.deepEqual(many[i], one[i], `output ${i} of ${JSON.stringify(cc)}, ${threads} threads`);
        }
      }
    } finally {
      L.setNumThreads(before);
    }
  },
);

function paramArray(p: Conv2dParams): number[] {
  return [
    p.n,
    p.c,
    p.h,
    p.w,
    p.o,
    p.kh,
    p.kw,
    p.strideH,
    p.strideW,
    p.padH,
    p.padW,
    p.dilationH,
    p.dilationW,
    p.groups,
    p.outH,
    p.outW,
  ];
}

test("conv2d through the backend wrapper, float64 falls back", { skip }, () => {
  const be = loadNativeBackend()!;
  const p = convParams(CONV_CASES[1]!);
  const x = randn(p.n * p.c * p.h * p.w);
  const w = randn(p.o * p.c * 9, 0.1);
  const want = new Float32Array(p.n * p.o * p.outH * p.outW);
  const got = new Float32Array(want.length);
  ref.conv2d(x, w, p, want);
  be.kernels.conv2d!(x, w, p, got);
  assertClose(got, want, p.c * 9, "conv2d wrapper");
  const w64 = new Float64Array(want.length);
  const g64 = new Float64Array(want.length);
  ref.conv2d(Float64Array.from(x), Float64Array.from(w), p, w64);
  be.kernels.conv2d!(Float64Array.from(x), Float64Array.from(w), p, g64);
  assert.deepEqual(g64, w64);
});

test("maxPool2d matches the reference exactly (values and indices)", { skip }, () => {
  const be = loadNativeBackend()!;
  const cases: [number, number, number, number, number, number, number, number][] = [
    // n, c, h, w, k, s, p, d
    [2, 3, 8, 8, 2, 2, 0, 1],
    [2, 3, 9, 7, 2, 2, 0, 1],
    [1, 4, 9, 9, 3, 2, 1, 1],
    [1, 2, 10, 11, 3, 1, 2, 2],
    [64, 32, 28, 28, 2, 2, 0, 1],
  ];
  for (const [n, c, h, w, k, s, pad, d] of cases) {
    const outH = Math.floor((h + 2 * pad - d * (k - 1) - 1) / s) + 1;
    const outW = Math.floor((w + 2 * pad - d * (k - 1) - 1) / s) + 1;
    const p: Pool2dParams = {
      n,
      c,
      h,
      w,
      kh: k,
      kw: k,
      strideH: s,
      strideW: s,
      padH: pad,
      padW: pad,
      dilationH: d,
      dilationW: d,
      outH,
      outW,
    };
    const x = randn(n * c * h * w);
    // ties and a NaN: first maximum wins, NaN propagates
    x[3] = x[2]!;
    x[10] = NaN;
    const want = new Float32Array(n * c * outH * outW);
    const wantI = new Int32Array(want.length);
    const got = new Float32Array(want.length);
    const gotI = new Int32Array(want.length);
    ref.maxPool2d(x, p, want, wantI);
    be.kernels.maxPool2d!(x, p, got, gotI);
    assert.deepEqual(got, want);
    assert.deepEqual(gotI, wantI);
  }
});

test("reduce matches the reference", { skip }, () => {
  const L = lib();
  const codes: Record<ReduceOp, number> = { sum: 0, max: 1, min: 2, prod: 3 };
  const shapes: [number, number, number][] = [
    [1, 100000, 1],
    [7, 33, 1],
    [5, 17, 129],
    [3, 0, 4],
    [64, 784, 1],
    [2, 300, 300],
    [1, 5, 1000],
  ];
  for (const [outer, size, inner] of shapes) {
    for (const op of ["sum", "max", "min", "prod"] as const) {
      const x = op === "prod" ? randn(outer * size * inner, 0.01, 1) : randn(outer * size * inner);
      if (x.length > 20 && op !== "prod") x[17] = outer === 7 ? NaN : x[17]!;
      const want = new Float32Array(outer * inner);
      const got = new Float32Array(outer * inner);
      ref.reduce(op, x, outer, size, inner, want);
      L.reduce(codes[op], x, outer, size, inner, got);
      assertClose(got, want, size, `reduce ${op} [${outer},${size},${inner}]`);
    }
  }
});

test("softmax and logSoftmax match the reference", { skip }, () => {
  const L = lib();
  const shapes: [number, number, number][] = [
    [64, 10, 1],
    [3, 1000, 1],
    [4, 7, 33],
    [1, 1, 5000],
  ];
  for (const [outer, size, inner] of shapes) {
    for (const log of [false, true]) {
      const x = randn(outer * size * inner, 5);
      for (let s = 0; s < size; s++) x[s * inner] = -Infinity; // a row (or column) that is all -inf
      const want = new Float32Array(x.length);
      const got = new Float32Array(x.length);
      ref.softmax(log, x, outer, size, inner, want);
      L.softmax(log, x, outer, size, inner, got);
      assertClose(got, want, size, `softmax log=${log} [${outer},${size},${inner}]`);
    }
  }
});

function contiguous(data: Float32Array, shape: readonly number[], offset = 0): StridedView {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  return { data, strides, offset };
}

test("unary ops match the reference (contiguous, transposed, broadcast views)", { skip }, () => {
  const be = loadNativeBackend()!;
  const ops: UnaryOp[] = [
    "neg",
    "exp",
    "log",
    "sqrt",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "relu",
    "abs",
    "sign",
    "floor",
    "ceil",
    "round",
    "erf",
    "logicalNot",
  ];
  for (const op of ops) {
    const positive = op === "log" || op === "sqrt";
    const base = randn(7 + 64 * 80, 3);
    if (positive) for (let i = 0; i < base.length; i++) base[i] = Math.abs(base[i]!) + 1e-3;
    for (let i = 0; i < 40; i++) base[7 + i] = (i - 20) / 2; // exact halves for round, zeros for sign
    const views: [string, StridedView, number[]][] = [
      ["contiguous", contiguous(base, [64, 80], 7), [64, 80]],
      ["transposed", { data: base, strides: [1, 64], offset: 7 }, [80, 64]],
      ["broadcast", { data: base, strides: [0, 1, 0], offset: 7 }, [30, 64, 3]],
    ];
    for (const [kind, v, shape] of views) {
      const n = shape.reduce((a, b) => a * b, 1);
      const want = new Float32Array(n);
      const got = new Float32Array(n);
      ref.unary(op, v, shape, want);
      be.kernels.unary!(op, v, shape, got);
      assertClose(got, want, 1, `unary ${op} ${kind}`, 2e-6);
    }
  }
});

test("binary ops match the reference (broadcast, comparisons to bytes)", { skip }, () => {
  const be = loadNativeBackend()!;
  const ops: BinaryOp[] = [
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "maximum",
    "minimum",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
  ];
  const shape = [8, 16, 10, 10];
  const n = 8 * 16 * 10 * 10;
  for (const op of ops) {
    const a = randn(n + 3);
    const b = randn(n);
    if (op === "pow") for (let i = 0; i < a.length; i++) a[i] = Math.abs(a[i]!) + 0.1;
    for (let i = 0; i < 50; i++) b[i] = a[3 + i]!; // equal elements for the comparisons
    a[100] = NaN;
    const bias = randn(16);
    const cases: [string, StridedView, StridedView][] = [
      ["same shape", contiguous(a, shape, 3), contiguous(b, shape)],
      ["bias", contiguous(a, shape, 3), { data: bias, strides: [0, 1, 0, 0], offset: 0 }],
      ["scalar lhs", { data: bias, strides: [0, 0, 0, 0], offset: 5 }, contiguous(b, shape)],
      ["transposed", { data: a, strides: [1, 8, 128, 1280], offset: 3 }, contiguous(b, shape)],
    ];
    for (const [kind, va, vb] of cases) {
      const cmp = ["eq", "ne", "lt", "le", "gt", "ge"].includes(op);
      const want = cmp ? new Uint8Array(n) : new Float32Array(n);
      const got = cmp ? new Uint8Array(n) : new Float32Array(n);
      ref.binary(op, va, vb, shape, want);
      be.kernels.binary!(op, va, vb, shape, got);
      if (cmp) assert.deepEqual(got, want, `binary ${op} ${kind}`);
      else assertClose(got, want, 1, `binary ${op} ${kind}`, 2e-6);
    }
  }
});

test("argument validation throws instead of reading out of bounds", { skip }, () => {
  const L = lib();
  assert.throws(() =>
    L.matmul(new Float32Array(3), new Float32Array(4), new Float32Array(4), 1, 2, 2, 2, 0, 0, false, false),
  );
  assert.throws(() =>
    L.conv2d(new Float32Array(1), new Float32Array(1), new Int32Array(3), new Float32Array(1)),
  );
  const meta = new Float64Array([1, 10, 5, 1]); // 10 elements from offset 5 of a 12-element array
  assert.throws(() => L.unary(0, new Float32Array(12), meta, new Float32Array(10)));
});

/** FNV-1a over the bytes of a float array, for bitwise comparisons across processes. */
function hash(a: Float32Array): string {
  const u = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193) >>> 0;
  return h.toString(16);
}

// Computes a few outputs with fixed inputs; run here and in a child process with one thread.
const DETERMINISM_SCRIPT = `
const L = require(process.argv[1]);
let s = 7; const r = (n) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = s / 4294967296 - 0.5; } return a; };
const hash = (a) => { const u = new Uint8Array(a.buffer); let h = 0x811c9dc5; for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193) >>> 0; return h.toString(16); };
const a = r(700 * 400), b = r(400 * 200), c = new Float32Array(700 * 200);
L.matmul(a, b, c, 1, 700, 400, 200, 0, 0, false, false);
const p = new Int32Array([16, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 14, 14]);
const x = r(16 * 32 * 196), gy = r(16 * 64 * 196), w = r(64 * 288), gw = new Float32Array(64 * 288), y = new Float32Array(16 * 64 * 196);
L.conv2dBackwardWeight(x, gy, p, gw);
L.conv2d(x, w, p, y);
const sm = new Float32Array(1); L.reduce(0, a, 1, a.length, 1, sm);
// Two images give their results in a batch of 16 (with 3 threads, a batch of 2 splits each
// image between threads).
const p2 = p.slice(); p2[0] = 2; const y2 = new Float32Array(2 * 64 * 196);
L.conv2d(x.subarray(0, 2 * 32 * 196), w, p2, y2);
const alone = hash(y2) === hash(y.slice(0, 2 * 64 * 196)) ? "same" : "differs";
console.log([hash(c), hash(gw), hash(y), hash(sm), alone].join(","));
`;

test("deterministic: bitwise identical across runs and thread counts", { skip }, () => {
  const run = (threads: string) =>
    execFileSync(process.execPath, ["-e", DETERMINISM_SCRIPT, addonFile], {
      env: { ...process.env, NABLA_NUM_THREADS: threads },
      encoding: "utf8",
    }).trim();
  const two = run("2");
  assert.ok(two.endsWith(",same"), `two images alone vs in a batch: ${two}`);
  assert.equal(run("2"), two);
  assert.equal(run("1"), two);
  assert.equal(run("3"), two);
  assert.ok(hash(new Float32Array([1])).length > 0);
});

test("loads in a worker thread (context-aware addon)", { skip }, async () => {
  const src = `
    const { parentPort, workerData } = require("node:worker_threads");
    const L = require(workerData);
    const a = new Float32Array(64 * 64).fill(1), c = new Float32Array(64 * 64);
    L.matmul(a, a, c, 1, 64, 64, 64, 0, 0, false, false);
    parentPort.postMessage(c[0]);`;
  const results = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const wk = new Worker(src, { eval: true, workerData: addonFile });
          wk.once("message", resolve);
          wk.once("error", reject);
        }),
    ),
  );
  assert.deepEqual(results, [64, 64]);
});
