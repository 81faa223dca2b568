// Reference kernels of the fused training-step ops: batch-norm statistics, the per-channel affine
// map that applies a batch norm, batch norm's gradient, ReLU's gradient and max pooling's
// gradient. Sums run in float64 in a fixed order (channel by channel, images then positions).
import type { Kernels } from "../backend.js";

export const batchNormStats: Kernels["batchNormStats"] = (x, n, c, inner, mean, variance) => {
  const m = n * inner;
  for (let ch = 0; ch < c; ch++) {
    // Sums of (x − k) with k the channel's first element: the variance does not lose its digits
    // to cancellation when the mean is large compared with the spread.
    const k = m > 0 ? x[ch * inner]! : 0;
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * inner;
      for (let j = 0; j < inner; j++) {
        const d = x[base + j]! - k;
        s1 += d;
        s2 += d * d;
      }
    }
    const mu = s1 / m;
    mean[ch] = k + mu;
    variance[ch] = Math.max(s2 / m - mu * mu, 0);
  }
};

export const channelAffine: Kernels["channelAffine"] = (
  x,
  n,
  c,
  inner,
  scale,
  shift,
  relu,
  out,
  residual = null,
) => {
  const f32 = out instanceof Float32Array;
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const a = scale[ch]!;
      const b = shift[ch]!;
      const base = (i * c + ch) * inner;
      for (let j = base; j < base + inner; j++) {
        let v = x[j]! * a + b;
        // The sum is rounded to the storage dtype before the residual is added, as a separate
        // add would round it.
        if (residual) v = (f32 ? Math.fround(v) : v) + residual[j]!;
        out[j] = relu && !(v > 0 || v !== v) ? 0 : v;
      }
    }
  }
};

export const batchNormBackward: Kernels["batchNormBackward"] = (
  x,
  g,
  n,
  c,
  inner,
  mean,
  invstd,
  weight,
  gx,
  gWeight,
  gBias,
  reluOut = null,
) => {
  const m = n * inner;
  // The gradient reaching the batch norm: through the fused ReLU when there is one.
  const gAt = reluOut ? (j: number) => (reluOut[j]! > 0 ? g[j]! : 0) : (j: number) => g[j]!;
  for (let ch = 0; ch < c; ch++) {
    const mu = mean[ch]!;
    const is = invstd[ch]!;
    let sg = 0; // Σ g
    let sgd = 0; // Σ g·(x − mean)
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * inner;
      for (let j = base; j < base + inner; j++) {
        const gj = gAt(j);
        sg += gj;
        sgd += gj * (x[j]! - mu);
      }
    }
    if (gBias) gBias[ch] = sg;
    if (gWeight) gWeight[ch] = sgd * is;
    if (!gx) continue;
    // gx = k1·g + k2·(x − mean) + k3, the formula above expanded per channel.
    const w = weight ? weight[ch]! : 1;
    const k1 = w * is;
    const k2 = (-w * is * is * is * sgd) / m;
    const k3 = (-w * is * sg) / m;
    for (let i = 0; i < n; i++) {
      const base = (i * c + ch) * inner;
      for (let j = base; j < base + inner; j++) gx[j] = k1 * gAt(j) + k2 * (x[j]! - mu) + k3;
    }
  }
};

export const reluBackward: Kernels["reluBackward"] = (g, y, out) => {
  for (let i = 0; i < out.length; i++) out[i] = y[i]! > 0 ? g[i]! : 0;
};

export const maxPool2dBackward: Kernels["maxPool2dBackward"] = (g, indices, p, out) => {
  const inPlane = p.h * p.w;
  const outPlane = p.outH * p.outW;
  for (let plane = 0; plane < p.n * p.c; plane++) {
    const o = plane * outPlane;
    const base = plane * inPlane;
    for (let k = 0; k < outPlane; k++) {
      const idx = indices[o + k]!;
      if (idx >= 0) out[base + idx]! += g[o + k]!;
    }
  }
};

export const batchNormReluPool: Kernels["batchNormReluPool"] = (
  x,
  n,
  c,
  h,
  w,
  scale,
  shift,
  out,
  indices,
) => {
  const ph = Math.floor(h / 2);
  const pw = Math.floor(w / 2);
  const round = out instanceof Float32Array ? Math.fround : (v: number) => v;
  for (let plane = 0; plane < n * c; plane++) {
    const a = scale[plane % c]!;
    const s = shift[plane % c]!;
    const base = plane * h * w;
    const z = (i: number) => {
      const v = round(x[base + i]! * a + s);
      return v > 0 || Number.isNaN(v) ? v : 0;
    };
    for (let i = 0; i < ph; i++)
      for (let j = 0; j < pw; j++) {
        const t0 = 2 * i * w + 2 * j;
        let best = z(t0);
        let at = t0;
        for (const t of [t0 + 1, t0 + w, t0 + w + 1]) {
          if (Number.isNaN(best)) break;
          const v = z(t);
          if (v > best || Number.isNaN(v)) [best, at] = [v, t];
        }
        out[(plane * ph + i) * pw + j] = best;
        indices[(plane * ph + i) * pw + j] = at;
      }
  }
};

export const batchNormReluPoolBackward: Kernels["batchNormReluPoolBackward"] = (
  x,
  g,
  pooled,
  indices,
  n,
  c,
  h,
  w,
  mean,
  invstd,
  weight,
  gx,
  gWeight,
  gBias,
) => {
  // The gradient reaching the ReLU's output, then batchNormBackward on it.
  const gz = new Float64Array(n * c * h * w);
  const P = Math.floor(h / 2) * Math.floor(w / 2);
  for (let plane = 0; plane < n * c; plane++)
    for (let k = 0; k < P; k++) {
      const at = plane * P + k;
      if (pooled[at]! > 0) gz[plane * h * w + indices[at]!] = g[at]!;
    }
  batchNormBackward(x, gz, n, c, h * w, mean, invstd, weight, gx, gWeight, gBias);
};
