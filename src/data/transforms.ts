// Batch transforms: data augmentation and normalisation applied to a whole float32 [B, C, H, W]
// batch in place (or into one new array when the size changes), drawing every random choice
// from the Generator they are given — the same generator state gives the same batch.
//
// Each built-in transform carries a plain-data `spec`, so the DataLoader can rebuild it inside a
// worker thread (see transform-worker.ts). A custom transform (`lambda`) has no spec and runs on
// the main thread only. Order matters as in torchvision: put randomCrop (zero padding = black)
// and randomErasing before or after normalize as you would there; the usual recipe is
// compose(randomCrop, randomHorizontalFlip, normalize, randomErasing).
//
// Deliberately no Tensor import: workers load this file without the tensor library.
import type { Generator } from "../tensor/random.js";
import { ValueError } from "../errors.js";

/** A batch of images: float32 data laid out [B, C, H, W]. */
export interface ImageBatch {
  data: Float32Array;
  shape: readonly [number, number, number, number];
}

export type TransformSpec =
  | { name: "normalize"; mean: number[]; std: number[] }
  | { name: "randomCrop"; size: [number, number]; padding: number }
  | { name: "randomHorizontalFlip"; p: number }
  | { name: "randomErasing"; p: number; scale: [number, number]; ratio: [number, number]; value: number[] | "random" }
  | { name: "compose"; transforms: TransformSpec[] };

export interface BatchTransform {
  /** Plain data describing the transform (null for custom ones, which cannot run in workers). */
  readonly spec: TransformSpec | null;
  /** Transform the batch; may reuse `batch.data`. */
  apply(batch: ImageBatch, generator: Generator): ImageBatch;
}

function perChannel(values: number | readonly number[], name: string): number[] {
  const list = typeof values === "number" ? [values] : [...values];
  if (list.length === 0 || list.some((v) => !Number.isFinite(v))) {
    throw new ValueError(`${name}: expected a number or a list of numbers, got [${list.join(", ")}]`);
  }
  return list;
}

function channelValue(list: readonly number[], c: number, name: string): number {
  if (list.length === 1) return list[0]!;
  const v = list[c];
  if (v === undefined) throw new ValueError(`${name}: ${list.length} per-channel values for a batch with more channels`);
  return v;
}

function checkChannels(list: readonly number[], channels: number, name: string): void {
  if (list.length !== 1 && list.length !== channels) {
    throw new ValueError(`${name}: ${list.length} per-channel values for ${channels} channels`);
  }
}

/** (x − mean[c]) / std[c] per channel, like torchvision Normalize. */
export function normalize(mean: number | readonly number[], std: number | readonly number[]): BatchTransform {
  const m = perChannel(mean, "normalize mean");
  const s = perChannel(std, "normalize std");
  if (s.some((v) => v === 0)) throw new ValueError("normalize: std must not be 0");
  return {
    spec: { name: "normalize", mean: m, std: s },
    apply(batch) {
      const [b, c, h, w] = batch.shape;
      checkChannels(m, c, "normalize mean");
      checkChannels(s, c, "normalize std");
      const plane = h * w;
      const d = batch.data;
      for (let ch = 0; ch < c; ch++) {
        const mu = channelValue(m, ch, "normalize mean");
        const inv = 1 / channelValue(s, ch, "normalize std");
        for (let n = 0; n < b; n++) {
          const start = (n * c + ch) * plane;
          for (let k = start; k < start + plane; k++) d[k] = (d[k]! - mu) * inv;
        }
      }
      return batch;
    },
  };
}

/**
 * Pad each image with `padding` zeros on every side, then cut a random size×size window (one
 * position per image), like torchvision RandomCrop(size, padding).
 */
export function randomCrop(size: number | readonly [number, number], padding = 0): BatchTransform {
  const [th, tw] = typeof size === "number" ? [size, size] : [size[0], size[1]];
  if (!Number.isInteger(th) || !Number.isInteger(tw) || th < 1 || tw < 1 || !Number.isInteger(padding) || padding < 0) {
    throw new ValueError(`randomCrop: bad size ${th}×${tw} or padding ${padding}`);
  }
  return {
    spec: { name: "randomCrop", size: [th, tw], padding },
    apply(batch, generator) {
      const [b, c, h, w] = batch.shape;
      const ph = h + 2 * padding;
      const pw = w + 2 * padding;
      if (th > ph || tw > pw) {
        throw new ValueError(`randomCrop: crop ${th}×${tw} is larger than the padded image ${ph}×${pw}`);
      }
      const out = new Float32Array(b * c * th * tw); // zero = the padding value
      const src = batch.data;
      for (let n = 0; n < b; n++) {
        // Top-left corner of the window in padded coordinates, then shifted to image coordinates.
        const top = generator.randint(0, ph - th + 1) - padding;
        const left = generator.randint(0, pw - tw + 1) - padding;
        const y0 = Math.max(0, -top);
        const y1 = Math.min(th, h - top);
        const x0 = Math.max(0, -left);
        const x1 = Math.min(tw, w - left);
        for (let ch = 0; ch < c; ch++) {
          const inBase = (n * c + ch) * h * w;
          const outBase = (n * c + ch) * th * tw;
          for (let y = y0; y < y1; y++) {
            const from = inBase + (y + top) * w + left;
            out.set(src.subarray(from + x0, from + x1), outBase + y * tw + x0);
          }
        }
      }
      return { data: out, shape: [b, c, th, tw] };
    },
  };
}

/** Mirror each image left–right with probability p. */
export function randomHorizontalFlip(p = 0.5): BatchTransform {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`randomHorizontalFlip: p must be in [0, 1], got ${p}`);
  return {
    spec: { name: "randomHorizontalFlip", p },
    apply(batch, generator) {
      const [b, c, h, w] = batch.shape;
      const d = batch.data;
      for (let n = 0; n < b; n++) {
        if (!(generator.random() < p)) continue;
        for (let row = 0; row < c * h; row++) {
          const start = (n * c * h + row) * w;
          d.subarray(start, start + w).reverse();
        }
      }
      return batch;
    },
  };
}

export interface RandomErasingOptions {
  /** Probability of erasing a rectangle in an image (default 0.5). */
  p?: number;
  /** Range of the erased area as a fraction of the image (default [0.02, 0.33]). */
  scale?: readonly [number, number];
  /** Range of the rectangle's aspect ratio h/w (default [0.3, 3.3]). */
  ratio?: readonly [number, number];
  /** Fill: a number, one per channel, or "random" (standard normal noise). Default 0. */
  value?: number | readonly number[] | "random";
}

/**
 * With probability p, fill one random rectangle of each image (Zhong et al. 2017), as
 * torchvision RandomErasing: up to 10 tries to draw an area in `scale` and a log-uniform aspect
 * ratio in `ratio` that fit inside the image; if none fits the image is left alone.
 */
export function randomErasing(options: RandomErasingOptions = {}): BatchTransform {
  const p = options.p ?? 0.5;
  const scale: [number, number] = [...(options.scale ?? [0.02, 0.33])];
  const ratio: [number, number] = [...(options.ratio ?? [0.3, 3.3])];
  const value = options.value ?? 0;
  if (!(p >= 0 && p <= 1)) throw new ValueError(`randomErasing: p must be in [0, 1], got ${p}`);
  if (!(scale[0] >= 0 && scale[0] <= scale[1] && scale[1] <= 1)) {
    throw new ValueError(`randomErasing: scale must satisfy 0 <= min <= max <= 1, got [${scale.join(", ")}]`);
  }
  if (!(ratio[0] > 0 && ratio[0] <= ratio[1])) {
    throw new ValueError(`randomErasing: ratio must satisfy 0 < min <= max, got [${ratio.join(", ")}]`);
  }
  const fill = value === "random" ? "random" : perChannel(value, "randomErasing value");
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])] as const;
  return {
    spec: { name: "randomErasing", p, scale, ratio, value: fill },
    apply(batch, generator) {
      const [b, c, h, w] = batch.shape;
      if (fill !== "random") checkChannels(fill, c, "randomErasing value");
      const d = batch.data;
      const area = h * w;
      for (let n = 0; n < b; n++) {
        if (!(generator.random() < p)) continue;
        for (let attempt = 0; attempt < 10; attempt++) {
          const eraseArea = area * (scale[0] + (scale[1] - scale[0]) * generator.random());
          const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * generator.random());
          const eh = Math.round(Math.sqrt(eraseArea * aspect));
          const ew = Math.round(Math.sqrt(eraseArea / aspect));
          if (!(eh < h && ew < w)) continue;
          const top = generator.randint(0, h - eh + 1);
          const left = generator.randint(0, w - ew + 1);
          for (let ch = 0; ch < c; ch++) {
            const base = (n * c + ch) * area;
            const v = fill === "random" ? 0 : channelValue(fill, ch, "randomErasing value");
            for (let y = top; y < top + eh; y++) {
              const row = base + y * w;
              if (fill === "random") for (let x = left; x < left + ew; x++) d[row + x] = generator.normal();
              else d.fill(v, row + left, row + left + ew);
            }
          }
          break;
        }
      }
      return batch;
    },
  };
}

/** Apply transforms one after another. */
export function compose(...transforms: BatchTransform[]): BatchTransform {
  const specs = transforms.map((t) => t.spec);
  const serializable = specs.every((s) => s !== null);
  return {
    spec: serializable ? { name: "compose", transforms: specs as TransformSpec[] } : null,
    apply(batch, generator) {
      let out = batch;
      for (const t of transforms) out = t.apply(out, generator);
      return out;
    },
  };
}

/** A custom transform from a function; it runs on the main thread only (no spec). */
export function lambda(fn: (batch: ImageBatch, generator: Generator) => ImageBatch): BatchTransform {
  return { spec: null, apply: fn };
}

/** Rebuild a built-in transform from its spec (used inside worker threads). */
export function transformFromSpec(spec: TransformSpec): BatchTransform {
  switch (spec.name) {
    case "normalize":
      return normalize(spec.mean, spec.std);
    case "randomCrop":
      return randomCrop(spec.size, spec.padding);
    case "randomHorizontalFlip":
      return randomHorizontalFlip(spec.p);
    case "randomErasing":
      return randomErasing({ p: spec.p, scale: spec.scale, ratio: spec.ratio, value: spec.value });
    case "compose":
      return compose(...spec.transforms.map(transformFromSpec));
  }
}
