// Unstructured magnitude pruning: zero the smallest weights of every Conv2d and Linear, either
// per layer (each layer loses the same fraction) or globally (one threshold over all layers, so
// layers with many small weights lose more).
//
// The masks stay applied during fine-tuning by re-masking after each optimizer step:
// `masks.wrapOptimizer(opt)` returns an optimizer whose step() runs the original step and then
// multiplies every pruned weight by its mask. (Re-masking the weights, rather than the
// gradients, also cancels what momentum and weight decay would move back into pruned slots.)
import type { Parameter } from "../nn/parameter.js";
import type { Module } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { ValueError } from "../errors.js";

export interface MagnitudePruneOptions {
  /** Fraction of weights to zero, in [0, 1). */
  sparsity: number;
  scope?: "layer" | "global";
}

export class PruningMasks {
  constructor(readonly masks: Map<Parameter, Uint8Array>) {}

  /** Zero the pruned weights again. */
  apply(): void {
    for (const [p, mask] of this.masks) {
      const d = p.data;
      for (let i = 0; i < mask.length; i++) if (!mask[i]) d[i] = 0;
    }
  }

  /** Share of zero weights over the masked parameters. */
  sparsity(): number {
    let zero = 0;
    let total = 0;
    for (const [p] of this.masks) {
      const d = p.data;
      for (let i = 0; i < d.length; i++) if (d[i] === 0) zero++;
      total += d.length;
    }
    return total ? zero / total : 0;
  }

  /** An optimizer whose step() re-applies the masks afterwards. */
  wrapOptimizer<O extends { step(): void }>(optimizer: O): O {
    const step = optimizer.step.bind(optimizer);
    const wrapped = Object.create(optimizer) as O;
    wrapped.step = () => {
      step();
      this.apply();
    };
    return wrapped;
  }
}

function prunableWeights(model: Module): Parameter[] {
  const out: Parameter[] = [];
  for (const m of model.modules()) if (m instanceof Conv2d || m instanceof Linear) out.push(m.weight);
  return out;
}

/** The k-th smallest |value| (k ≥ 1) over some arrays. */
function kthAbs(arrays: ArrayLike<number>[], k: number): number {
  const all = new Float32Array(arrays.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) all[at++] = Math.abs(a[i]!);
  all.sort();
  return all[Math.min(all.length - 1, k - 1)]!;
}

/** Zero the smallest weights; returns the masks (1 = kept). */
export function magnitudePrune(model: Module, options: MagnitudePruneOptions): PruningMasks {
  const { sparsity, scope = "layer" } = options;
  if (!(sparsity >= 0 && sparsity < 1))
    throw new ValueError(`magnitudePrune: sparsity must be in [0, 1), got ${sparsity}`);
  const weights = prunableWeights(model);
  const masks = new Map<Parameter, Uint8Array>();
  const globalCut =
    scope === "global"
      ? kthAbs(
          weights.map((w) => w.data),
          Math.floor(sparsity * weights.reduce((s, w) => s + w.numel, 0)),
        )
      : 0;
  for (const w of weights) {
    const d = w.data;
    const k = Math.floor(sparsity * d.length);
    const mask = new Uint8Array(d.length).fill(1);
    if (k > 0) {
      // Drop exactly k weights per layer (ties broken by position) or all below the global cut.
      if (scope === "layer") {
        const order = Array.from({ length: d.length }, (_, i) => i).sort(
          (a, b) => Math.abs(d[a]!) - Math.abs(d[b]!) || a - b,
        );
        for (let i = 0; i < k; i++) mask[order[i]!] = 0;
      } else {
        for (let i = 0; i < d.length; i++) if (Math.abs(d[i]!) <= globalCut) mask[i] = 0;
      }
    }
    masks.set(w, mask);
  }
  const result = new PruningMasks(masks);
  result.apply();
  return result;
}
