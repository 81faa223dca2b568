// Resize (nearest and linear), separable: each resized axis is one index selection (nearest)
// or a blend of two (linear), so the result is differentiable with respect to the input.
import { indexSelect } from "../../../autograd/ops/indexing.js";
import * as ew from "../../../autograd/ops/elementwise.js";
import { fromArray } from "../../../tensor/creation.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { value } from "../values.js";
import type { OpContext, OpImpl } from "./context.js";

type Transform = (x: number, inSize: number, outSize: number, scale: number) => number;

const TRANSFORMS: Record<string, Transform> = {
  half_pixel: (x, _i, _o, s) => (x + 0.5) / s - 0.5,
  pytorch_half_pixel: (x, _i, o, s) => (o > 1 ? (x + 0.5) / s - 0.5 : 0),
  align_corners: (x, i, o) => (o === 1 ? 0 : (x * (i - 1)) / (o - 1)),
  asymmetric: (x, _i, _o, s) => x / s,
};

const ROUNDING: Record<string, (x: number) => number> = {
  round_prefer_floor: (x) => (x - Math.floor(x) === 0.5 ? Math.floor(x) : Math.round(x)),
  round_prefer_ceil: (x) => Math.round(x),
  floor: Math.floor,
  ceil: Math.ceil,
};

const index = (values: number[]) => fromArray(Int32Array.from(values), [values.length]);

function resizeAxis(
  x: Tensor,
  axis: number,
  outSize: number,
  scale: number,
  mode: string,
  transform: Transform,
  round: (x: number) => number,
): Tensor {
  const inSize = x.shape[axis]!;
  const coords = Array.from({ length: outSize }, (_, i) => transform(i, inSize, outSize, scale));
  const clampIndex = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  if (mode === "nearest") return indexSelect(x, axis, index(coords.map((c) => clampIndex(round(c)))));
  const clamped = coords.map((c) => Math.min(Math.max(c, 0), inSize - 1));
  const lo = clamped.map((c) => Math.floor(c));
  const hi = lo.map((l) => Math.min(l + 1, inSize - 1));
  const weightShape = x.shape.map((_, i) => (i === axis ? outSize : 1));
  const w = fromArray(
    Float32Array.from(clamped, (c, i) => c - lo[i]!),
    weightShape,
    { dtype: x.dtype },
  );
  const a = indexSelect(x, axis, index(lo));
  const b = indexSelect(x, axis, index(hi));
  return ew.add(a, ew.mul(ew.sub(b, a), w));
}

const resize: OpImpl = (ctx: OpContext) => {
  const xv = ctx.input(0);
  const x = xv.tensor;
  const rank = x.ndim;
  const mode = ctx.string("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear") throw ctx.unsupported(`mode "${mode}" is not supported`);
  const ctm = ctx.string("coordinate_transformation_mode", "half_pixel");
  const transform = TRANSFORMS[ctm];
  if (!transform) throw ctx.unsupported(`coordinate_transformation_mode "${ctm}" is not supported`);
  const nearestMode = ctx.string("nearest_mode", "round_prefer_floor");
  const round = ROUNDING[nearestMode];
  if (!round) throw ctx.fail(`unknown nearest_mode "${nearestMode}"`);
  if (ctx.int("antialias", 0) === 1) throw ctx.unsupported("antialias=1 is not supported");
  const policy = ctx.string("keep_aspect_ratio_policy", "stretch");
  if (policy !== "stretch") throw ctx.unsupported(`keep_aspect_ratio_policy "${policy}" is not supported`);
  const axes = (ctx.ints("axes") ?? Array.from({ length: rank }, (_, i) => i)).map((a) => ctx.axis(a, rank));

  const scalesIn = ctx.optional(2);
  const sizesIn = ctx.optional(3);
  let scales: number[];
  let sizes: number[];
  if (sizesIn && sizesIn.tensor.numel > 0) {
    const given = ctx.intsOf(3, "sizes");
    if (given.length !== axes.length) throw ctx.fail(`sizes must have ${axes.length} entries`);
    sizes = x.shape.slice();
    axes.forEach((a, i) => (sizes[a] = given[i]!));
    scales = sizes.map((s, i) => s / x.shape[i]!);
  } else if (scalesIn && scalesIn.tensor.numel > 0) {
    const given = ctx.numbersOf(2);
    if (given.length !== axes.length) throw ctx.fail(`scales must have ${axes.length} entries`);
    scales = x.shape.map(() => 1);
    axes.forEach((a, i) => (scales[a] = given[i]!));
    sizes = x.shape.map((d, i) => Math.floor(d * scales[i]!));
  } else {
    throw ctx.fail("needs either scales or sizes");
  }
  ctx.checkShape(sizes, "output size");
  let y = x;
  for (let a = 0; a < rank; a++) {
    if (sizes[a] === x.shape[a] && scales[a] === 1) continue;
    if (!(sizes[a]! > 0)) throw ctx.fail(`output size ${sizes[a]} along axis ${a} is invalid`);
    y = resizeAxis(y, a, sizes[a]!, scales[a]!, mode, transform, round);
  }
  return [value(y, xv.type)];
};

export const resizeOps: Record<string, OpImpl> = { Resize: resize };
