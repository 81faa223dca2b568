// VGG as torchvision builds it (torchvision/models/vgg.py): `features` (3×3 convs, optional BN,
// ReLU, 2×2 max pools), `avgpool` (adaptive, 7×7) and `classifier` (4096-4096-classes with
// dropout); keys features.0.weight ... classifier.6.bias.
//
// One deviation: the max pools use ceilMode, so a 28×28 input shrinks 14-7-4-2-1 instead of
// reaching 0 at the fifth pool (where torchvision fails). For inputs whose sizes stay even, such
// as 224×224 and 32×32, ceil and floor give the same windows, so results equal torchvision's.
import type { Tensor } from "../tensor/tensor.js";
import { Module } from "../nn/module.js";
import { Sequential, type TensorModule } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU } from "../nn/layers/activation.js";
import { AdaptiveAvgPool2d, MaxPool2d } from "../nn/layers/pooling.js";
import { Dropout } from "../nn/layers/misc.js";
import { Linear } from "../nn/layers/linear.js";
import { initZoo } from "./init.js";

type Cfg = readonly (number | "M")[];

export const VGG_CFGS: Record<"A" | "B" | "D" | "E", Cfg> = {
  A: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  B: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  D: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  E: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
};

export interface VggOptions {
  numClasses?: number;
  inChannels?: number;
  dropout?: number;
}

function makeFeatures(cfg: Cfg, batchNorm: boolean, inChannels: number): Sequential {
  const layers: TensorModule[] = [];
  let c = inChannels;
  for (const v of cfg) {
    if (v === "M") {
      layers.push(new MaxPool2d(2, { stride: 2, ceilMode: true }));
      continue;
    }
    // skipInit: initZoo draws every weight afterwards.
    layers.push(new Conv2d(c, v, 3, { padding: 1, skipInit: true }));
    if (batchNorm) layers.push(new BatchNorm2d(v));
    layers.push(new ReLU());
    c = v;
  }
  return new Sequential(...layers);
}

export class VGG extends Module {
  readonly features: Sequential;
  readonly avgpool: AdaptiveAvgPool2d;
  readonly classifier: Sequential;

  constructor(cfg: Cfg, batchNorm: boolean, options: VggOptions = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, dropout = 0.5 } = options;
    this.features = this.registerModule("features", makeFeatures(cfg, batchNorm, inChannels));
    this.avgpool = this.registerModule("avgpool", new AdaptiveAvgPool2d(7));
    // Every conv and linear weight is re-drawn by initZoo below, so skip the default draw.
    const skip = { skipInit: true };
    this.classifier = this.registerModule(
      "classifier",
      new Sequential(
        new Linear(512 * 7 * 7, 4096, skip),
        new ReLU(),
        new Dropout(dropout),
        new Linear(4096, 4096, skip),
        new ReLU(),
        new Dropout(dropout),
        new Linear(4096, numClasses, skip),
      ),
    );
    initZoo(this, { convMode: "fan_out", linearStd: 0.01, zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(this.avgpool.call(this.features.call(x)).flatten(1));
  }
}

export const vgg11 = (o: VggOptions = {}) => new VGG(VGG_CFGS.A, false, o);
export const vgg11Bn = (o: VggOptions = {}) => new VGG(VGG_CFGS.A, true, o);
export const vgg16 = (o: VggOptions = {}) => new VGG(VGG_CFGS.D, false, o);
export const vgg16Bn = (o: VggOptions = {}) => new VGG(VGG_CFGS.D, true, o);
