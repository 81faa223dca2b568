// Batch norms far from their defaults, so that folding them into convolutions (fusion, inference
// plans) changes the numbers.
import * as nb from "../../src/index.js";
import type { Module } from "../../src/nn/module.js";
import { BatchNorm2d } from "../../src/nn/layers/batchnorm.js";

/** Random running statistics (variances in [0.5, 1.5)) and, with `affine`, weights and biases. */
export function randomizeBatchNorms(model: Module, seed: number, affine = true): void {
  const g = new nb.Generator(seed);
  for (const m of model.modules()) {
    if (!(m instanceof BatchNorm2d)) continue;
    const c = m.numFeatures;
    m.runningMean!.data.set(nb.randn([c], { generator: g }).data);
    m.runningVar!.data.set(nb.rand([c], { generator: g }).data.map((v) => 0.5 + v));
    if (!affine) continue;
    m.weight!.data.set(nb.randn([c], { generator: g }).data);
    m.bias!.data.set(nb.randn([c], { generator: g }).data);
  }
}
