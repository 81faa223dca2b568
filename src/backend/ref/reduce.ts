// Reference reductions over the middle axis of a contiguous [outer, size, inner] array, and
// softmax / log-softmax along that axis (max-shifted, so large logits stay finite).
import type { Kernels } from "../backend.js";

export const reduce: Kernels["reduce"] = (op, x, outer, size, inner, out) => {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let acc = op === "sum" ? 0 : op === "prod" ? 1 : size === 0 ? NaN : x[base]!;
      for (let s = 0; s < size; s++) {
        const v = x[base + s * inner]!;
        if (op === "sum") acc += v;
        else if (op === "prod") acc *= v;
        else if (v !== v) acc = NaN;
        else if (op === "max" ? v > acc : v < acc) acc = v;
      }
      out[o * inner + i] = acc;
    }
  }
};

export const argReduce: Kernels["argReduce"] = (op, x, outer, size, inner, out) => {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let best = 0;
      let bestV = x[base]!;
      for (let s = 1; s < size && bestV === bestV; s++) {
        const v = x[base + s * inner]!;
        if (v !== v || (op === "argmax" ? v > bestV : v < bestV)) {
          best = s;
          bestV = v;
        }
      }
      out[o * inner + i] = best;
    }
  }
};

export const softmax: Kernels["softmax"] = (log, x, outer, size, inner, out) => {
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * size * inner + i;
      let max = -Infinity;
      for (let s = 0; s < size; s++) max = Math.max(max, x[base + s * inner]!);
      if (max === -Infinity) max = 0;
      let sum = 0;
      for (let s = 0; s < size; s++) sum += Math.exp(x[base + s * inner]! - max);
      const logSum = Math.log(sum);
      for (let s = 0; s < size; s++) {
        const idx = base + s * inner;
        out[idx] = log ? x[idx]! - max - logSum : Math.exp(x[idx]! - max) / sum;
      }
    }
  }
};
