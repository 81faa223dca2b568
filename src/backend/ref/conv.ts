// Reference 2-D convolution as im2col + GEMM, per image and per group. The same column buffer
// serves the forward pass (W · cols), the input gradient (col2im of Wᵀ · gy) and the weight
// gradient (gy · colsᵀ), so the three kernels read as one idea.
import { allocArray } from "../../tensor/dtype.js";
import type { Conv2dParams, Kernels } from "../backend.js";
import type { TypedArray } from "../../tensor/dtype.js";
import { gemm } from "./matmul.js";

/** The output columns ow whose input column ow*stride - pad + j*dilation lies inside [0, w). */
function validColumns(p: Conv2dParams, j: number): [number, number] {
  const shift = p.padW - j * p.dilationW;
  const lo = Math.max(0, Math.ceil(shift / p.strideW));
  const hi = Math.min(p.outW, Math.floor((p.w - 1 + shift) / p.strideW) + 1);
  return [lo, Math.max(lo, hi)];
}

/** cols[(c*kh + i)*kw + j, oh*outW + ow] = x[n, c0 + c, oh*s - p + i*d, ow*s - p + j*d] (0 outside). */
function im2col(x: TypedArray, xOff: number, cg: number, p: Conv2dParams, cols: Float64Array): void {
  const { h, w, kh, kw, outH, outW, strideW } = p;
  const plane = outH * outW;
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const row = ((c * kh + i) * kw + j) * plane;
        // Columns outside [lo, hi) read padding; the loop in between needs no bounds test.
        const [lo, hi] = validColumns(p, j);
        const colShift = j * p.dilationW - p.padW;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * p.strideH - p.padH + i * p.dilationH;
          const o = row + oh * outW;
          if (ih < 0 || ih >= h) {
            cols.fill(0, o, o + outW);
            continue;
          }
          const src = xOff + (c * h + ih) * w + colShift;
          cols.fill(0, o, o + lo);
          for (let ow = lo; ow < hi; ow++) cols[o + ow] = x[src + ow * strideW]!;
          cols.fill(0, o + hi, o + outW);
        }
      }
    }
  }
}

/** The adjoint of im2col: scatter-add columns back into an image. */
function col2im(cols: Float64Array, cg: number, p: Conv2dParams, gx: TypedArray, gxOff: number): void {
  const { h, w, kh, kw, outH, outW, strideW } = p;
  const plane = outH * outW;
  for (let c = 0; c < cg; c++) {
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        const row = ((c * kh + i) * kw + j) * plane;
        const [lo, hi] = validColumns(p, j);
        const colShift = j * p.dilationW - p.padW;
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * p.strideH - p.padH + i * p.dilationH;
          if (ih < 0 || ih >= h) continue;
          const dst = gxOff + (c * h + ih) * w + colShift;
          const o = row + oh * outW;
          for (let ow = lo; ow < hi; ow++) gx[dst + ow * strideW]! += cols[o + ow]!;
        }
      }
    }
  }
}

function sizes(p: Conv2dParams) {
  const cg = p.c / p.groups; // input channels per group
  const og = p.o / p.groups; // output channels per group
  const kSize = cg * p.kh * p.kw; // rows of the column matrix
  const plane = p.outH * p.outW;
  return { cg, og, kSize, plane };
}

export const conv2d: Kernels["conv2d"] = (x, weight, p, out, bias = null) => {
  const { cg, og, kSize, plane } = sizes(p);
  const cols = new Float64Array(kSize * plane);
  for (let n = 0; n < p.n; n++) {
    for (let g = 0; g < p.groups; g++) {
      im2col(x, (n * p.c + g * cg) * p.h * p.w, cg, p, cols);
      gemm(
        weight,
        g * og * kSize,
        cols,
        0,
        out,
        (n * p.o + g * og) * plane,
        og,
        kSize,
        plane,
        false,
        false,
        false,
      );
    }
  }
  if (bias) {
    for (let n = 0; n < p.n; n++)
      for (let o = 0; o < p.o; o++) {
        const base = (n * p.o + o) * plane;
        const b = bias[o]!;
        for (let i = 0; i < plane; i++) out[base + i] = out[base + i]! + b;
      }
  }
};

export const conv2dFused: Kernels["conv2dFused"] = (
  x,
  weight,
  p,
  out,
  scale,
  shift,
  residual,
  relu,
  pool,
  relu6,
) => {
  const plane = p.outH * p.outW;
  const y = pool ? allocArray(out instanceof Float64Array ? "float64" : "float32", p.n * p.o * plane) : out;
  conv2d(x, weight, p, y);
  // Each step rounds to the output's precision, as separate ops would (the product of two
  // float32 values is exact in a double, so conv·scale + shift rounds once, like an FMA).
  const round = y instanceof Float32Array ? Math.fround : (v: number) => v;
  for (let n = 0; n < p.n; n++)
    for (let o = 0; o < p.o; o++) {
      const base = (n * p.o + o) * plane;
      const a = scale ? scale[o]! : 1;
      const b = shift ? shift[o]! : 0;
      for (let i = 0; i < plane; i++) {
        let v = round(y[base + i]! * a + b);
        if (residual) v = round(v + residual[base + i]!);
        if (relu && !(v > 0 || Number.isNaN(v))) v = 0;
        if (relu && relu6 && v > 6) v = 6;
        y[base + i] = v;
      }
    }
  if (!pool) return;
  // 2×2, stride 2, floor mode; the first NaN of a window wins.
  const ph = Math.floor(p.outH / 2);
  const pw = Math.floor(p.outW / 2);
  const max = (u: number, v: number) => (Number.isNaN(u) || u > v ? u : v);
  for (let q = 0; q < p.n * p.o; q++)
    for (let i = 0; i < ph; i++)
      for (let j = 0; j < pw; j++) {
        const t = q * plane + 2 * i * p.outW + 2 * j;
        out[(q * ph + i) * pw + j] = max(max(y[t]!, y[t + 1]!), max(y[t + p.outW]!, y[t + p.outW + 1]!));
      }
};

export const conv2dBackwardInput: Kernels["conv2dBackwardInput"] = (gy, weight, p, out) => {
  const { cg, og, kSize, plane } = sizes(p);
  const cols = new Float64Array(kSize * plane);
  out.fill(0);
  for (let n = 0; n < p.n; n++) {
    for (let g = 0; g < p.groups; g++) {
      // cols = W[g]ᵀ (kSize×og) · gy[n, g] (og×plane)
      gemm(
        weight,
        g * og * kSize,
        gy,
        (n * p.o + g * og) * plane,
        cols,
        0,
        kSize,
        og,
        plane,
        true,
        false,
        false,
      );
      col2im(cols, cg, p, out, (n * p.c + g * cg) * p.h * p.w);
    }
  }
};

export const conv2dBackwardWeight: Kernels["conv2dBackwardWeight"] = (x, gy, p, out) => {
  const { cg, og, kSize, plane } = sizes(p);
  const cols = new Float64Array(kSize * plane);
  out.fill(0);
  for (let n = 0; n < p.n; n++) {
    for (let g = 0; g < p.groups; g++) {
      im2col(x, (n * p.c + g * cg) * p.h * p.w, cg, p, cols);
      // gW[g] (og×kSize) += gy[n, g] (og×plane) · colsᵀ (plane×kSize)
      gemm(gy, (n * p.o + g * og) * plane, cols, 0, out, g * og * kSize, og, plane, kSize, false, true, true);
    }
  }
};

export const conv2dPairFused: Kernels["conv2dPairFused"] = (x, first, mid, second, residual, out) => {
  conv2dFused(x, first.w, first.p, mid, first.scale, first.shift, null, first.relu, false, first.relu6);
  conv2dFused(
    mid,
    second.w,
    second.p,
    out,
    second.scale,
    second.shift,
    residual,
    second.relu,
    false,
    second.relu6,
  );
};
