// Reference-backend kernels called directly, on the layouts the op layer produces: GEMM with
// every transpose / accumulate combination and mixed dtypes, batched matmul with a shared
// operand, and the strided elementwise paths (broadcast scalars, rows, permuted views).
import { test } from "node:test";
import assert from "node:assert/strict";
import { refKernels } from "../../src/backend/ref/index.js";
import { gemm } from "../../src/backend/ref/matmul.js";
import { Generator } from "../../src/index.js";

const g = new Generator(5);
function randArray(ctor: typeof Float32Array | typeof Float64Array, n: number): Float32Array | Float64Array {
  const a = new ctor(n);
  for (let i = 0; i < n; i++) a[i] = g.random() * 2 - 1;
  return a;
}

/** C = op(A)·op(B) by the definition. */
function naive(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
) {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++)
        s += (tA ? a[p * m + i]! : a[i * k + p]!) * (tB ? b[j * k + p]! : b[p * n + j]!);
      c[i * n + j] = s;
    }
  return c;
}

test("gemm: every transpose and accumulate combination, odd sizes, offsets, float32 and float64", () => {
  for (const [m, k, n] of [
    [5, 7, 3],
    [1, 1, 1],
    [4, 9, 8],
    [3, 0, 2],
  ] as const) {
    for (const tA of [false, true])
      for (const tB of [false, true])
        for (const acc of [false, true])
          for (const ctor of [Float32Array, Float64Array]) {
            const a = randArray(ctor, m * k + 2);
            const b = randArray(ctor, k * n + 3);
            const c = randArray(ctor, m * n + 1);
            const before = Float64Array.from(c);
            gemm(a, 2, b, 3, c, 1, m, k, n, tA, tB, acc);
            const want = naive(a.subarray(2), b.subarray(3), m, k, n, tA, tB);
            const tol = ctor === Float32Array ? 1e-5 : 1e-12;
            assert.equal(c[0], before[0], "elements before cOff are untouched");
            for (let i = 0; i < m * n; i++) {
              const expected = want[i]! + (acc ? before[i + 1]! : 0);
              assert.ok(Math.abs(c[i + 1]! - expected) <= tol, `${m}x${k}x${n} tA=${tA} tB=${tB} acc=${acc}`);
            }
          }
  }
});

test("batched matmul with a shared (stride-0) operand and float32 output", () => {
  const [batch, m, k, n] = [3, 2, 5, 3];
  const a = randArray(Float32Array, batch * m * k);
  const b = randArray(Float32Array, k * n);
  const out = new Float32Array(batch * m * n);
  refKernels.matmul(a, b, out, batch, m, k, n, m * k, 0, false, false);
  for (let t = 0; t < batch; t++) {
    const want = naive(a.subarray(t * m * k), b, m, k, n, false, false);
    want.forEach((v, i) => assert.ok(Math.abs(out[t * m * n + i]! - v) < 1e-5));
  }
});

test("binary: scalar broadcast, row broadcast and permuted operands take the right elements", () => {
  const a = Float64Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
  const b = Float64Array.from([10, 20, 30]);
  const out = new Float64Array(6);
  refKernels.binary(
    "sub",
    { data: a, strides: [3, 1], offset: 0 },
    { data: b, strides: [0, 1], offset: 0 },
    [2, 3],
    out,
  );
  assert.deepEqual(Array.from(out), [-9, -18, -27, -6, -15, -24]);
  refKernels.binary(
    "mul",
    { data: a, strides: [3, 1], offset: 0 },
    { data: b, strides: [0, 0], offset: 1 },
    [2, 3],
    out,
  );
  assert.deepEqual(Array.from(out), [20, 40, 60, 80, 100, 120]);
  // a viewed as its transpose [3, 2], plus itself read contiguously from offset 0.
  refKernels.binary(
    "add",
    { data: a, strides: [1, 3], offset: 0 },
    { data: a, strides: [2, 1], offset: 0 },
    [3, 2],
    out,
  );
  assert.deepEqual(Array.from(out), [1 + 1, 4 + 2, 2 + 3, 5 + 4, 3 + 5, 6 + 6]);
  refKernels.unary("relu", { data: Float64Array.from([-1, NaN, 2]), strides: [1], offset: 0 }, [3], out);
  assert.deepEqual(Array.from(out.subarray(0, 3)), [0, NaN, 2]);
});
