// Reference matrix multiply. Plain loops in the cache-friendly order, accumulating in float64
// (a JS number) so the reference is at least as accurate as any faster backend it judges.
import type { Kernels } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

/**
 * One GEMM: C (m×n, row-major at cOff) (+)= op(A) · op(B). A is m×k (k×m if transA) at aOff,
 * B is k×n (n×k if transB) at bOff.
 */
export function gemm(
  a: TypedArray,
  aOff: number,
  b: TypedArray,
  bOff: number,
  c: TypedArray,
  cOff: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  // Element (i, p) of op(A) lives at aOff + i*aRow + p*aCol; likewise for B.
  const aRow = transA ? 1 : k;
  const aCol = transA ? m : 1;
  if (transB) {
    // Rows of the stored B are columns of op(B): each output is a dot product of two rows.
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        const bj = bOff + j * k;
        let ai = aOff + i * aRow;
        for (let p = 0; p < k; p++, ai += aCol) acc += a[ai]! * b[bj + p]!;
        const ci = cOff + i * n + j;
        c[ci] = accumulate ? c[ci]! + acc : acc;
      }
    }
    return;
  }
  const row = new Float64Array(n);
  for (let i = 0; i < m; i++) {
    row.fill(0);
    let ai = aOff + i * aRow;
    for (let p = 0; p < k; p++, ai += aCol) {
      const av = a[ai]!;
      if (av === 0) continue;
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) row[j]! += av * b[bp + j]!;
    }
    const ci = cOff + i * n;
    for (let j = 0; j < n; j++) c[ci + j] = accumulate ? c[ci + j]! + row[j]! : row[j]!;
  }
}

export const matmul: Kernels["matmul"] = (
  a,
  b,
  out,
  batch,
  m,
  k,
  n,
  aBatchStride,
  bBatchStride,
  transA,
  transB,
) => {
  for (let t = 0; t < batch; t++) {
    gemm(a, t * aBatchStride, b, t * bBatchStride, out, t * m * n, m, k, n, transA, transB, false);
  }
};
