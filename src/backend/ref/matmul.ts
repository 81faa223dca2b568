// Reference matrix multiply, accumulating in float64 (a JS number) so the reference is at least
// as accurate as any faster backend it judges. Operands are first packed into plain row-major
// Float64Arrays (resolving transposes and the input dtype once), so the inner loop is monomorphic
// and reads memory in order; four rows of the output are computed together, so each row of B is
// loaded once per four rows of A. Packing costs O(mk + kn) against O(mkn) work.
import type { Kernels } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";

/** op(X) as a dense rows×cols Float64Array; X is stored rows×cols at off (cols×rows if trans). */
function pack(x: TypedArray, off: number, rows: number, cols: number, trans: boolean): Float64Array {
  if (!trans && x instanceof Float64Array) return x.subarray(off, off + rows * cols);
  const out = new Float64Array(rows * cols);
  if (!trans) {
    for (let i = 0; i < rows * cols; i++) out[i] = x[off + i]!;
    return out;
  }
  for (let c = 0; c < cols; c++) {
    const src = off + c * rows;
    for (let r = 0; r < rows; r++) out[r * cols + c] = x[src + r]!;
  }
  return out;
}

/** Columns j0..j0+3 of B (k×n) interleaved: panel[p*4 + t] = B[p][j0 + t] (0 past the edge). */
function packPanels(B: Float64Array, k: number, n: number): Float64Array {
  const panels = Math.ceil(n / 4);
  const out = new Float64Array(panels * k * 4);
  for (let jb = 0; jb < panels; jb++) {
    const base = jb * k * 4;
    const j0 = jb * 4;
    const w = Math.min(4, n - j0);
    for (let p = 0; p < k; p++) {
      const src = p * n + j0;
      const dst = base + p * 4;
      for (let t = 0; t < w; t++) out[dst + t] = B[src + t]!;
    }
  }
  return out;
}

/**
 * C (m×n) = A (m×k) · B (k×n), all dense row-major float64; C is overwritten. The output is
 * computed in 2×4 tiles held in local variables (they stay in registers), reading two rows of A
 * and one interleaved 4-column panel of B front to back.
 */
function gemmPacked(
  A: Float64Array,
  B: Float64Array,
  C: Float64Array,
  m: number,
  k: number,
  n: number,
): void {
  const P = packPanels(B, k, n);
  const panels = Math.ceil(n / 4);
  for (let i = 0; i < m; i += 2) {
    const two = i + 1 < m;
    const r0 = i * k;
    const r1 = two ? r0 + k : r0;
    for (let jb = 0; jb < panels; jb++) {
      let c00 = 0, c01 = 0, c02 = 0, c03 = 0; // prettier-ignore
      let c10 = 0, c11 = 0, c12 = 0, c13 = 0; // prettier-ignore
      let q = jb * k * 4;
      for (let p = 0; p < k; p++, q += 4) {
        const a0 = A[r0 + p]!;
        const a1 = A[r1 + p]!;
        const b0 = P[q]!;
        const b1 = P[q + 1]!;
        const b2 = P[q + 2]!;
        const b3 = P[q + 3]!;
        c00 += a0 * b0;
        c01 += a0 * b1;
        c02 += a0 * b2;
        c03 += a0 * b3;
        c10 += a1 * b0;
        c11 += a1 * b1;
        c12 += a1 * b2;
        c13 += a1 * b3;
      }
      const j0 = jb * 4;
      const w = Math.min(4, n - j0);
      const o0 = i * n + j0;
      C[o0] = c00;
      if (w > 1) C[o0 + 1] = c01;
      if (w > 2) C[o0 + 2] = c02;
      if (w > 3) C[o0 + 3] = c03;
      if (two) {
        const o1 = o0 + n;
        C[o1] = c10;
        if (w > 1) C[o1 + 1] = c11;
        if (w > 2) C[o1 + 2] = c12;
        if (w > 3) C[o1 + 3] = c13;
      }
    }
  }
}

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
  const A = pack(a, aOff, m, k, transA);
  const B = pack(b, bOff, k, n, transB);
  const direct = !accumulate && c instanceof Float64Array;
  const C = direct ? c.subarray(cOff, cOff + m * n) : new Float64Array(m * n);
  gemmPacked(A, B, C, m, k, n);
  if (direct) return;
  if (accumulate) for (let i = 0; i < m * n; i++) c[cOff + i]! += C[i]!;
  else c.set(C, cOff);
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
  // A matrix shared by the whole batch (stride 0) is packed once.
  const sharedA = aBatchStride === 0 ? pack(a, 0, m, k, transA) : null;
  const sharedB = bBatchStride === 0 ? pack(b, 0, k, n, transB) : null;
  const C = out instanceof Float64Array ? null : new Float64Array(m * n);
  for (let t = 0; t < batch; t++) {
    const A = sharedA ?? pack(a, t * aBatchStride, m, k, transA);
    const B = sharedB ?? pack(b, t * bBatchStride, k, n, transB);
    if (C === null) {
      gemmPacked(A, B, (out as Float64Array).subarray(t * m * n, (t + 1) * m * n), m, k, n);
    } else {
      gemmPacked(A, B, C, m, k, n);
      out.set(C, t * m * n);
    }
  }
};
