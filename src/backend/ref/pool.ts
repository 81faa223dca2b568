// Reference max pooling with the argmax of every window, so the gradient can be routed back.
import type { Kernels } from "../backend.js";

export const maxPool2d: Kernels["maxPool2d"] = (x, p, out, indices) => {
  const { h, w, outH, outW } = p;
  for (let plane = 0; plane < p.n * p.c; plane++) {
    const xOff = plane * h * w;
    const oOff = plane * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let best = -Infinity;
        let bestIdx = -1;
        for (let i = 0; i < p.kh; i++) {
          const ih = oh * p.strideH - p.padH + i * p.dilationH;
          if (ih < 0 || ih >= h) continue;
          for (let j = 0; j < p.kw; j++) {
            const iw = ow * p.strideW - p.padW + j * p.dilationW;
            if (iw < 0 || iw >= w) continue;
            const v = x[xOff + ih * w + iw]!;
            // NaN propagates, as in PyTorch.
            if (v > best || bestIdx < 0 || v !== v) {
              best = v;
              bestIdx = ih * w + iw;
              if (v !== v) break;
            }
          }
        }
        out[oOff + oh * outW + ow] = best;
        indices[oOff + oh * outW + ow] = bestIdx;
      }
    }
  }
};
