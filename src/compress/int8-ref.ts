// The reference int8 convolution (and linear, as a 1×1 convolution on a 1×1 image): the oracle
// the native kernels (native/int8*.cpp) must match bit for bit. The numerics:
//   activation  q = clamp(floor(x / xs + 0.5) + xz, 0, 127)      per-tensor affine, 7-bit range
//   weight      int8 in [-127, 127] with one scale ws[o] per output channel (symmetric)
//   accumulate  acc = Σ q·w, exact integers (int32 in C++)
//   output      y = float32(act((acc − xz·Σ_k w[o][k]) · (xs·ws[o]) + bias[o]))   in float64
// Activations keep 7 bits (PyTorch's fbgemm "reduce_range") so the AVX2 kernel, which sums
// pairs of u8·s8 products in int16, can never saturate; VNNI would not need it, but every path
// uses the same scheme so they all agree exactly.

export type FusedActivation = "none" | "relu" | "relu6";
export const ACT_CODES: Record<FusedActivation, number> = { none: 0, relu: 1, relu6: 2 };

/** Geometry and quantized parameters of one int8 convolution (Linear: kernel 1, 1×1 image). */
export interface Int8Layer {
  inChannels: number;
  outChannels: number;
  kernelSize: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  /** [O, C/groups, kh, kw], values in [-127, 127]. */
  weight: Int8Array;
  weightScale: Float32Array;
  bias: Float32Array;
  /** Σ of each output channel's int8 weights (for the zero-point term). */
  rowSum: Int32Array;
  /** A float32 value. */
  inputScale: number;
  /** In [0, 127]. */
  inputZeroPoint: number;
  act: FusedActivation;
  /** 2: a fused 2×2, stride-2 max-pool after the activation (output halved); 0 or absent: none. */
  pool?: number;
}

export const QMAX = 127;

/** Quantize one activation (the formula every path uses). */
export function quantizeActivation(x: number, scale: number, zero: number): number {
  let q = Math.floor(x / scale + 0.5) + zero;
  if (!(q > 0)) q = 0;
  if (q > QMAX) q = QMAX;
  return q;
}

export function rowSums(weight: Int8Array, outChannels: number): Int32Array {
  const per = weight.length / outChannels;
  const out = new Int32Array(outChannels);
  for (let o = 0; o < outChannels; o++) {
    let s = 0;
    for (let k = 0; k < per; k++) s += weight[o * per + k]!;
    out[o] = s;
  }
  return out;
}

export function outputSize(layer: Int8Layer, h: number, w: number): [number, number] {
  const [kh, kw] = layer.kernelSize;
  const oh = Math.floor((h + 2 * layer.padding[0] - layer.dilation[0] * (kh - 1) - 1) / layer.stride[0]) + 1;
  const ow = Math.floor((w + 2 * layer.padding[1] - layer.dilation[1] * (kw - 1) - 1) / layer.stride[1]) + 1;
  return [oh, ow];
}

/** Size of the layer's result: the convolution's output, halved (floor) by a fused pool. */
export function resultSize(layer: Int8Layer, h: number, w: number): [number, number] {
  const [oh, ow] = outputSize(layer, h, w);
  return layer.pool ? [Math.floor(oh / 2), Math.floor(ow / 2)] : [oh, ow];
}

/**
 * 2×2, stride-2 max-pool of [planes][oh][ow] into [planes][⌊oh/2⌋][⌊ow/2⌋]. The inputs are the
 * epilogue's finite values, so the order of comparison does not change the result.
 */
export function maxPool2x2(
  full: Float32Array,
  planes: number,
  oh: number,
  ow: number,
  out: Float32Array,
): void {
  const ph = Math.floor(oh / 2);
  const pw = Math.floor(ow / 2);
  for (let pl = 0; pl < planes; pl++)
    for (let y = 0; y < ph; y++)
      for (let x = 0; x < pw; x++) {
        const i = (pl * oh + 2 * y) * ow + 2 * x;
        out[(pl * ph + y) * pw + x] = Math.max(full[i]!, full[i + 1]!, full[i + ow]!, full[i + ow + 1]!);
      }
}

/**
 * out[n][o][oy][ox] for x [n][c][h][w] (both float32, NCHW contiguous); with `layer.pool`, the
 * pooled result (see resultSize).
 */
export function int8Conv2dRef(
  x: Float32Array,
  shape: readonly [number, number, number, number],
  layer: Int8Layer,
  out: Float32Array,
): void {
  if (layer.pool) {
    const [oh, ow] = outputSize(layer, shape[2], shape[3]);
    const full = new Float32Array(shape[0] * layer.outChannels * oh * ow);
    int8Conv2dRef(x, shape, { ...layer, pool: 0 }, full);
    return maxPool2x2(full, shape[0] * layer.outChannels, oh, ow, out);
  }
  const [n, c, h, w] = shape;
  const [kh, kw] = layer.kernelSize;
  const [sh, sw] = layer.stride;
  const [ph, pw] = layer.padding;
  const [dh, dw] = layer.dilation;
  const [oh, ow] = outputSize(layer, h, w);
  const o = layer.outChannels;
  const groups = layer.groups;
  const cg = c / groups;
  const og = o / groups;
  const plane = h * w;
  const xs = layer.inputScale;
  const xz = layer.inputZeroPoint;
  const act = layer.act;
  const xq = new Uint8Array(c * plane);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < c * plane; i++) xq[i] = quantizeActivation(x[s * c * plane + i]!, xs, xz);
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      const wBase = oc * cg * kh * kw;
      const m = xs * layer.weightScale[oc]!;
      const centerTerm = xz * layer.rowSum[oc]!;
      const bias = layer.bias[oc]!;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          let acc = 0;
          let k = 0;
          for (let ci = 0; ci < cg; ci++) {
            const base = (g * cg + ci) * plane;
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * sh - ph + ky * dh;
              for (let kx = 0; kx < kw; kx++, k++) {
                const ix = ox * sw - pw + kx * dw;
                const q = iy < 0 || iy >= h || ix < 0 || ix >= w ? xz : xq[base + iy * w + ix]!;
                acc += q * layer.weight[wBase + k]!;
              }
            }
          }
          let v = (acc - centerTerm) * m + bias;
          if (act !== "none" && v < 0) v = 0;
          if (act === "relu6" && v > 6) v = 6;
          out[((s * o + oc) * oh + oy) * ow + ox] = v;
        }
      }
    }
  }
}
