// Naive loop references for the op-info table. Deliberately written without any kernel, op or
// Tensor method: plain arrays, one multi-index at a time, every output element computed from its
// definition. Slow and obviously correct, which is the point: they judge every backend.
import type { Tensor } from "../../tensor/tensor.js";

/** A plain n-d array: row-major values (numbers; bools as 0/1). */
export interface Nd {
  shape: number[];
  data: number[];
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function rowMajorStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** The multi-index of flat position i. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

export function at(a: Nd, idx: readonly number[]): number {
  let flat = 0;
  for (let d = 0; d < a.shape.length; d++) flat = flat * a.shape[d]! + idx[d]!;
  return a.data[flat]!;
}

/** An array of `shape` whose element at each multi-index is f(index). */
export function fromFn(shape: readonly number[], f: (idx: number[]) => number): Nd {
  const n = sizeOf(shape);
  const data = new Array<number>(n);
  for (let i = 0; i < n; i++) data[i] = f(unravel(i, shape));
  return { shape: [...shape], data };
}

/** A tensor's logical values, read straight from storage through its strides and offset. */
export function readTensor(t: Tensor): Nd {
  return fromFn(t.shape, (idx) => {
    let pos = t.offset;
    idx.forEach((v, d) => (pos += v * t.strides[d]!));
    return t.storage[pos]!;
  });
}

export function map(a: Nd, f: (v: number) => number): Nd {
  return { shape: [...a.shape], data: a.data.map(f) };
}

/** NumPy broadcasting of several shapes (null when they do not broadcast). */
export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const n = Math.max(0, ...shapes.map((s) => s.length));
  return Array.from({ length: n }, (_, i) => {
    let out = 1;
    for (const s of shapes) {
      const d = s[s.length - n + i] ?? 1;
      if (d !== 1) out = d;
    }
    return out;
  });
}

/** The element of `a` that broadcast position idx (in an `n`-d output) reads. */
function atBroadcast(a: Nd, idx: readonly number[]): number {
  const lead = idx.length - a.shape.length;
  return at(
    a,
    a.shape.map((d, i) => (d === 1 ? 0 : idx[i + lead]!)),
  );
}

export function zip(a: Nd, b: Nd, f: (x: number, y: number) => number): Nd {
  return fromFn(broadcastShape(a.shape, b.shape), (idx) => f(atBroadcast(a, idx), atBroadcast(b, idx)));
}

export function zip3(a: Nd, b: Nd, c: Nd, f: (x: number, y: number, z: number) => number): Nd {
  return fromFn(broadcastShape(a.shape, b.shape, c.shape), (idx) =>
    f(atBroadcast(a, idx), atBroadcast(b, idx), atBroadcast(c, idx)),
  );
}

function normAxes(axes: number | readonly number[] | undefined, nd: number): number[] {
  if (axes === undefined) return Array.from({ length: nd }, (_, i) => i);
  return (typeof axes === "number" ? [axes] : [...axes]).map((a) => (a < 0 ? a + nd : a));
}

/** Reduce `axes` (all when undefined): f sees every value of one group, in row-major order. */
export function reduce(
  a: Nd,
  axes: number | readonly number[] | undefined,
  keepdim: boolean,
  f: (values: number[]) => number,
): Nd {
  const ax = normAxes(axes, a.shape.length);
  const kept = a.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groupShape = a.shape.map((d, i) => (ax.includes(i) ? d : 1));
  const out = fromFn(kept, (idx) => {
    const values: number[] = [];
    for (let j = 0; j < sizeOf(groupShape); j++) {
      const g = unravel(j, groupShape);
      values.push(
        at(
          a,
          idx.map((v, d) => (ax.includes(d) ? g[d]! : v)),
        ),
      );
    }
    return f(values);
  });
  return keepdim ? out : { shape: a.shape.filter((_, i) => !ax.includes(i)), data: out.data };
}

export function permute(a: Nd, dims: readonly number[]): Nd {
  const d = dims.map((x) => (x < 0 ? x + a.shape.length : x));
  return fromFn(
    d.map((i) => a.shape[i]!),
    (idx) => {
      const src = new Array<number>(d.length);
      d.forEach((from, to) => (src[from] = idx[to]!));
      return at(a, src);
    },
  );
}

export function reshape(a: Nd, shape: readonly number[]): Nd {
  return { shape: [...shape], data: [...a.data] };
}

export function expand(a: Nd, shape: readonly number[]): Nd {
  return fromFn(shape, (idx) => atBroadcast(a, idx));
}

/** Python slicing start:end:step along dim (start/end already non-negative and clamped). */
export function slice(a: Nd, dim: number, start: number, end: number, step = 1): Nd {
  const d = dim < 0 ? dim + a.shape.length : dim;
  const shape = [...a.shape];
  shape[d] = Math.max(0, Math.ceil((end - start) / step));
  return fromFn(shape, (idx) =>
    at(
      a,
      idx.map((v, i) => (i === d ? start + v * step : v)),
    ),
  );
}

/** Constant pad; pads are (before, after) pairs from the last dim backwards (negative crops). */
export function pad(a: Nd, pads: readonly number[], value: number): Nd {
  const nd = a.shape.length;
  const before = new Array<number>(nd).fill(0);
  const after = new Array<number>(nd).fill(0);
  for (let k = 0; k < pads.length / 2; k++) {
    before[nd - 1 - k] = pads[2 * k]!;
    after[nd - 1 - k] = pads[2 * k + 1]!;
  }
  const shape = a.shape.map((d, i) => d + before[i]! + after[i]!);
  return fromFn(shape, (idx) => {
    const src = idx.map((v, i) => v - before[i]!);
    return src.every((v, i) => v >= 0 && v < a.shape[i]!) ? at(a, src) : value;
  });
}

export function cat(list: readonly Nd[], dim: number): Nd {
  const d = dim < 0 ? dim + list[0]!.shape.length : dim;
  const shape = [...list[0]!.shape];
  shape[d] = list.reduce((n, t) => n + t.shape[d]!, 0);
  return fromFn(shape, (idx) => {
    let i = idx[d]!;
    for (const t of list) {
      if (i < t.shape[d]!)
        return at(
          t,
          idx.map((v, k) => (k === d ? i : v)),
        );
      i -= t.shape[d]!;
    }
    throw new Error("unreachable");
  });
}

export function gather(a: Nd, dim: number, index: Nd): Nd {
  const d = dim < 0 ? dim + a.shape.length : dim;
  return fromFn(index.shape, (idx) =>
    at(
      a,
      idx.map((v, k) => (k === d ? at(index, idx) : v)),
    ),
  );
}

export function scatterAdd(base: Nd, dim: number, index: Nd, src: Nd): Nd {
  const d = dim < 0 ? dim + base.shape.length : dim;
  const out = { shape: [...base.shape], data: [...base.data] };
  const st = rowMajorStrides(base.shape);
  for (let i = 0; i < sizeOf(index.shape); i++) {
    const idx = unravel(i, index.shape);
    const target = idx.map((v, k) => (k === d ? at(index, idx) : v));
    out.data[target.reduce((acc, v, k) => acc + v * st[k]!, 0)]! += at(src, idx);
  }
  return out;
}

/** Matrix product with NumPy semantics (1-D promotion, broadcast batch dims). */
export function matmul(a: Nd, b: Nd): Nd {
  const A = a.shape.length === 1 ? reshape(a, [1, a.shape[0]!]) : a;
  const B = b.shape.length === 1 ? reshape(b, [b.shape[0]!, 1]) : b;
  const m = A.shape[A.shape.length - 2]!;
  const k = A.shape[A.shape.length - 1]!;
  const n = B.shape[B.shape.length - 1]!;
  const batch = broadcastShape(A.shape.slice(0, -2), B.shape.slice(0, -2));
  const out = fromFn([...batch, m, n], (idx) => {
    const bi = idx.slice(0, -2);
    const i = idx[idx.length - 2]!;
    const j = idx[idx.length - 1]!;
    let s = 0;
    for (let p = 0; p < k; p++) s += atBroadcast(A, [...bi, i, p]) * atBroadcast(B, [...bi, p, j]);
    return s;
  });
  let shape = out.shape;
  if (a.shape.length === 1) shape = shape.filter((_, i) => i !== shape.length - 2);
  if (b.shape.length === 1) shape = shape.slice(0, -1);
  return { shape, data: out.data };
}

export interface Conv2dRefOptions {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
}

/** Direct convolution: seven loops, no im2col. */
export function conv2d(x: Nd, w: Nd, bias: Nd | null, o: Conv2dRefOptions): Nd {
  const [n, , h, wd] = x.shape as [number, number, number, number];
  const [oc, cg, kh, kw] = w.shape as [number, number, number, number];
  const outH = Math.floor((h + 2 * o.padding[0] - o.dilation[0] * (kh - 1) - 1) / o.stride[0]) + 1;
  const outW = Math.floor((wd + 2 * o.padding[1] - o.dilation[1] * (kw - 1) - 1) / o.stride[1]) + 1;
  const og = oc / o.groups;
  return fromFn([n, oc, outH, outW], ([b, f, i, j]) => {
    const g = Math.floor(f! / og);
    let s = bias ? bias.data[f!]! : 0;
    for (let ci = 0; ci < cg; ci++) {
      for (let p = 0; p < kh; p++) {
        for (let q = 0; q < kw; q++) {
          const y = i! * o.stride[0] - o.padding[0] + p * o.dilation[0];
          const z = j! * o.stride[1] - o.padding[1] + q * o.dilation[1];
          if (y < 0 || y >= h || z < 0 || z >= wd) continue;
          s += at(x, [b!, g * cg + ci, y, z]) * at(w, [f!, ci, p, q]);
        }
      }
    }
    return s;
  });
}

export interface Pool2dRefOptions {
  kernel: [number, number];
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  ceilMode: boolean;
}

function poolOut(size: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = size + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/** Max or average over each window (average counts padding, PyTorch's default, unless told). */
export function pool2d(x: Nd, kind: "max" | "avg", o: Pool2dRefOptions, countIncludePad = true): Nd {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const outH = poolOut(h, o.kernel[0], o.stride[0], o.padding[0], o.dilation[0], o.ceilMode);
  const outW = poolOut(w, o.kernel[1], o.stride[1], o.padding[1], o.dilation[1], o.ceilMode);
  return fromFn([n, c, outH, outW], ([b, ch, i, j]) => {
    let best = -Infinity;
    let sum = 0;
    let inside = 0;
    for (let p = 0; p < o.kernel[0]; p++) {
      for (let q = 0; q < o.kernel[1]; q++) {
        const y = i! * o.stride[0] - o.padding[0] + p * o.dilation[0];
        const z = j! * o.stride[1] - o.padding[1] + q * o.dilation[1];
        if (y < 0 || y >= h || z < 0 || z >= w) continue;
        const v = at(x, [b!, ch!, y, z]);
        // NaN wins and stays, as in PyTorch.
        if (!Number.isNaN(best) && (Number.isNaN(v) || v > best)) best = v;
        sum += v;
        inside++;
      }
    }
    if (kind === "max") return best;
    return sum / (countIncludePad ? o.kernel[0] * o.kernel[1] : inside);
  });
}

export function softmax(a: Nd, dim: number, log: boolean): Nd {
  const d = dim < 0 ? dim + a.shape.length : dim;
  return fromFn(a.shape, (idx) => {
    const row: number[] = [];
    for (let k = 0; k < a.shape[d]!; k++)
      row.push(
        at(
          a,
          idx.map((v, i) => (i === d ? k : v)),
        ),
      );
    const m = Math.max(...row);
    const total = row.reduce((s, v) => s + Math.exp(v - m), 0);
    const x = at(a, idx);
    return log ? x - m - Math.log(total) : Math.exp(x - m) / total;
  });
}

/** The input gradient of conv2d by its definition: scatter gy through every kernel tap. */
/** pool?(relu?(conv2d(x, w)·scale + shift + residual)), the pool 2×2 stride 2 in floor mode. */
export function conv2dFused(
  x: Nd,
  w: Nd,
  e: {
    scale: Nd | null;
    shift: Nd | null;
    residual: Nd | null;
    relu: boolean;
    relu6?: boolean;
    pool: boolean;
  },
  o: Conv2dRefOptions,
): Nd {
  const y = conv2d(x, w, null, o);
  const [n, oc, h, wd] = y.shape as [number, number, number, number];
  const v = fromFn(y.shape, ([b, f, i, j]) => {
    let t = at(y, [b!, f!, i!, j!]) * (e.scale ? e.scale.data[f!]! : 1) + (e.shift ? e.shift.data[f!]! : 0);
    if (e.residual) t += at(e.residual, [b!, f!, i!, j!]);
    if (e.relu6) return Math.min(Math.max(t, 0), 6);
    return e.relu ? Math.max(t, 0) : t;
  });
  if (!e.pool) return v;
  return fromFn([n, oc, Math.floor(h / 2), Math.floor(wd / 2)], ([b, f, i, j]) =>
    Math.max(
      at(v, [b!, f!, 2 * i!, 2 * j!]),
      at(v, [b!, f!, 2 * i!, 2 * j! + 1]),
      at(v, [b!, f!, 2 * i! + 1, 2 * j!]),
      at(v, [b!, f!, 2 * i! + 1, 2 * j! + 1]),
    ),
  );
}

export function conv2dBackwardInput(gy: Nd, w: Nd, xShape: readonly number[], o: Conv2dRefOptions): Nd {
  const [n, c, h, wd] = xShape as [number, number, number, number];
  const [oc, cg, kh, kw] = w.shape as [number, number, number, number];
  const [, , outH, outW] = gy.shape as [number, number, number, number];
  const og = oc / o.groups;
  const out = fromFn([n, c, h, wd], () => 0);
  for (let b = 0; b < n; b++)
    for (let f = 0; f < oc; f++)
      for (let i = 0; i < outH; i++)
        for (let j = 0; j < outW; j++)
          for (let ci = 0; ci < cg; ci++)
            for (let p = 0; p < kh; p++)
              for (let q = 0; q < kw; q++) {
                const y = i * o.stride[0] - o.padding[0] + p * o.dilation[0];
                const z = j * o.stride[1] - o.padding[1] + q * o.dilation[1];
                if (y < 0 || y >= h || z < 0 || z >= wd) continue;
                const ch = Math.floor(f / og) * cg + ci;
                out.data[((b * c + ch) * h + y) * wd + z]! += at(gy, [b, f, i, j]) * at(w, [f, ci, p, q]);
              }
  return out;
}

/** The weight gradient of conv2d by its definition. */
export function conv2dBackwardWeight(x: Nd, gy: Nd, wShape: readonly number[], o: Conv2dRefOptions): Nd {
  const [n, , h, wd] = x.shape as [number, number, number, number];
  const [oc, cg] = wShape as [number, number, number, number];
  const [, , outH, outW] = gy.shape as [number, number, number, number];
  const og = oc / o.groups;
  return fromFn(wShape, ([f, ci, p, q]) => {
    let s = 0;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < outH; i++)
        for (let j = 0; j < outW; j++) {
          const y = i * o.stride[0] - o.padding[0] + p! * o.dilation[0];
          const z = j * o.stride[1] - o.padding[1] + q! * o.dilation[1];
          if (y < 0 || y >= h || z < 0 || z >= wd) continue;
          s += at(x, [b, Math.floor(f! / og) * cg + ci!, y, z]) * at(gy, [b, f!, i, j]);
        }
    return s;
  });
}

/** erf by Simpson's rule on 2/√π·exp(-t²): slow, independent of the kernel's series. */
export function erfByQuadrature(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (!Number.isFinite(x)) return Math.sign(x);
  const steps = 4000;
  const h = x / steps;
  let s = 0;
  for (let i = 0; i <= steps; i++) {
    const t = i * h;
    const wgt = i === 0 || i === steps ? 1 : i % 2 === 1 ? 4 : 2;
    s += wgt * Math.exp(-t * t);
  }
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}
