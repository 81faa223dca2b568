// Batch-norm folding: in eval mode BN is a per-channel affine map, so a Conv2d (or Linear) whose
// output goes only into a BN can absorb it:
//   y = γ·(W∗x + b − μ)/√(σ²+ε) + β   =   W'∗x + b'   with   s = γ/√(σ²+ε),
//   W'[o] = s[o]·W[o],   b'[o] = s[o]·(b[o] − μ[o]) + β[o].
// The BN is replaced by an Identity, so the model keeps its structure (and its forward code) and
// runs one layer fewer per pair. The arithmetic is done in float64 and rounded once.
import { fromArray } from "../tensor/creation.js";
import type { Module } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import { BatchNorm1d, BatchNorm2d } from "../nn/layers/batchnorm.js";
import { Identity } from "../nn/layers/misc.js";
import { replaceModule, setParameter, traceModel } from "./trace.js";

export interface FoldedPair {
  /** The Conv2d/Linear that absorbed the BN. */
  layer: string;
  /** The BN, now an Identity. */
  bn: string;
}

/**
 * Fold every Conv2d→BatchNorm2d and Linear→BatchNorm1d pair where the layer's output feeds
 * only the BN and both run once per forward. Returns the folded pairs. The model is changed in
 * place; rebuild optimizers afterwards.
 */
export function foldBatchNorm(model: Module, inputShape: readonly number[]): FoldedPair[] {
  const trace = traceModel(model, inputShape);
  const folded: FoldedPair[] = [];
  for (const call of trace.calls) {
    const bn = call.module;
    if (!(bn instanceof BatchNorm2d || bn instanceof BatchNorm1d)) continue;
    if (!bn.runningMean || !bn.runningVar) continue;
    const prev = trace.producer.get(call.input);
    if (!prev) continue;
    const layer = prev.module;
    const fits =
      (layer instanceof Conv2d && bn instanceof BatchNorm2d) ||
      (layer instanceof Linear && bn instanceof BatchNorm1d);
    if (!fits) continue;
    if (trace.callCount.get(layer) !== 1 || trace.callCount.get(bn) !== 1) continue;
    if ((trace.uses.get(call.input) ?? 0) !== 1) continue;
    foldInto(layer, bn);
    replaceModule(model, call.name, new Identity());
    folded.push({ layer: prev.name, bn: call.name });
  }
  return folded;
}

function foldInto(layer: Conv2d | Linear, bn: BatchNorm2d | BatchNorm1d): void {
  const w = layer.weight.contiguous().data;
  const outCh = layer.weight.shape[0]!;
  const per = w.length / outCh;
  const mean = bn.runningMean!.data;
  const variance = bn.runningVar!.data;
  const gamma = bn.weight?.data;
  const beta = bn.bias?.data;
  const b = layer.bias?.data;
  const newW = new Float32Array(w.length);
  const newB = new Float32Array(outCh);
  for (let o = 0; o < outCh; o++) {
    const s = (gamma ? gamma[o]! : 1) / Math.sqrt(variance[o]! + bn.eps);
    for (let k = 0; k < per; k++) newW[o * per + k] = w[o * per + k]! * s;
    newB[o] = ((b ? b[o]! : 0) - mean[o]!) * s + (beta ? beta[o]! : 0);
  }
  setParameter(layer, "weight", fromArray(newW, layer.weight.shape));
  setParameter(layer, "bias", fromArray(newB, [outCh]));
}
