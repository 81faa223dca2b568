// Padding arithmetic shared by Conv, ConvTranspose and the pools, and the lift of 1-D inputs to
// nabla's 2-D kernels ([N, C, L] is run as [N, C, 1, L]).
import type { OpContext } from "./context.js";

export interface Spatial {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Padding before and after each spatial dim. */
  begin: number[];
  end: number[];
}

/** Kernel, strides, dilations and explicit begin/end pads for an input of `inSizes`. */
export function spatialParams(
  ctx: OpContext,
  inSizes: readonly number[],
  kernel: readonly number[],
): Spatial {
  const n = inSizes.length;
  const strides = ctx.ints("strides") ?? new Array<number>(n).fill(1);
  const dilations = ctx.ints("dilations") ?? new Array<number>(n).fill(1);
  if (strides.length !== n || dilations.length !== n || kernel.length !== n) {
    throw ctx.fail(`kernel_shape, strides and dilations must have ${n} entries for ${n} spatial dims`);
  }
  if ([...strides, ...dilations, ...kernel].some((v) => !Number.isInteger(v) || v < 1)) {
    throw ctx.fail("kernel_shape, strides and dilations must be positive integers");
  }
  const autoPad = ctx.string("auto_pad", "NOTSET");
  let begin = new Array<number>(n).fill(0);
  let end = new Array<number>(n).fill(0);
  if (autoPad === "NOTSET") {
    const pads = ctx.ints("pads");
    if (pads) {
      if (pads.length !== 2 * n) throw ctx.fail(`pads must have ${2 * n} entries, got ${pads.length}`);
      if (pads.some((p) => !Number.isInteger(p) || p < 0)) throw ctx.fail("pads must be non-negative");
      begin = pads.slice(0, n);
      end = pads.slice(n);
    }
  } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(inSizes[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - inSizes[i]!);
      const small = Math.floor(total / 2);
      begin[i] = autoPad === "SAME_UPPER" ? small : total - small;
      end[i] = total - begin[i]!;
    }
  } else if (autoPad !== "VALID") {
    throw ctx.fail(`unknown auto_pad "${autoPad}"`);
  }
  return { kernel: [...kernel], strides, dilations, begin, end };
}

/** Lift 1-D spatial params to 2-D (a leading H of size 1). */
export function lift(p: Spatial): Spatial {
  return {
    kernel: [1, ...p.kernel],
    strides: [1, ...p.strides],
    dilations: [1, ...p.dilations],
    begin: [0, ...p.begin],
    end: [0, ...p.end],
  };
}

/** nabla/torch pad list (last dim first) for the spatial pads of a 4-D tensor. */
export function torchPads(p: Spatial): number[] {
  return [p.begin[1]!, p.end[1]!, p.begin[0]!, p.end[0]!];
}

export function symmetric(p: Spatial): boolean {
  return p.begin.every((b, i) => b === p.end[i]);
}
