// MobileNetV2 as torchvision builds it (torchvision/models/mobilenetv2.py): keys
// features.0.0.weight (stem conv), features.1.conv.0.0.weight (inverted residuals),
// classifier.1.weight. The width multiplier scales every layer's channels (rounded to 8).
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import { Module } from "../nn/module.js";
import { Sequential, type TensorModule } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU6 } from "../nn/layers/activation.js";
import { Dropout } from "../nn/layers/misc.js";
import { Linear } from "../nn/layers/linear.js";
import * as F from "../nn/functional.js";
import { initZoo } from "./init.js";
import { childrenKeepNoReference, keepsNoReference, recycleConsumed } from "../nn/graph_owned.js";

/** Round v to a multiple of divisor, never going below 90% of v (torchvision's _make_divisible). */
export function makeDivisible(v: number, divisor: number, minValue?: number): number {
  let out = Math.max(minValue ?? divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** Conv (no bias) + BatchNorm + ReLU6, "same"-style padding (torchvision's Conv2dNormActivation). */
export class Conv2dNormActivation extends Sequential {
  constructor(cin: number, cout: number, kernelSize = 3, stride = 1, groups = 1) {
    const padding = Math.floor((kernelSize - 1) / 2);
    super(
      new Conv2d(cin, cout, kernelSize, { stride, padding, groups, bias: false }),
      new BatchNorm2d(cout),
      new ReLU6(),
    );
  }

  /** For nn/graph_owned.ts: a plain chain of built-in layers, like Sequential. */
  override keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

/** Expand (1×1) → depthwise 3×3 → project (1×1, linear), with a residual when shapes allow. */
export class InvertedResidual extends Module {
  readonly conv: Sequential;
  readonly useResConnect: boolean;

  constructor(inp: number, oup: number, stride: number, expandRatio: number) {
    super();
    if (stride !== 1 && stride !== 2)
      throw new ValueError(`InvertedResidual: stride must be 1 or 2, got ${stride}`);
    const hidden = Math.round(inp * expandRatio);
    this.useResConnect = stride === 1 && inp === oup;
    const layers: TensorModule[] = [];
    if (expandRatio !== 1) layers.push(new Conv2dNormActivation(inp, hidden, 1));
    layers.push(
      new Conv2dNormActivation(hidden, hidden, 3, stride, hidden),
      new Conv2d(hidden, oup, 1, { bias: false }),
      new BatchNorm2d(oup),
    );
    this.conv = this.registerModule("conv", new Sequential(...layers));
  }

  forward(x: Tensor): Tensor {
    if (!this.useResConnect) return this.conv.call(x);
    const branch = this.conv.call(x);
    const y = x.add(branch);
    // At inference the branch is dead once added (nn/graph_owned.ts).
    const plain = keepsNoReference(this.conv);
    recycleConsumed(branch, plain, true, x, y);
    return y;
  }

  /** For nn/graph_owned.ts: the block keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export interface MobileNetV2Options {
  numClasses?: number;
  inChannels?: number;
  widthMult?: number;
  roundNearest?: number;
  dropout?: number;
}

// [expand ratio t, channels c, repeats n, first stride s] per stage.
const SETTINGS = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
] as const;

export class MobileNetV2 extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;
  readonly lastChannel: number;

  constructor(options: MobileNetV2Options = {}) {
    super();
    const { numClasses = 1000, inChannels = 3, widthMult = 1, roundNearest = 8, dropout = 0.2 } = options;
    let inputChannel = makeDivisible(32 * widthMult, roundNearest);
    this.lastChannel = makeDivisible(1280 * Math.max(1, widthMult), roundNearest);
    const features: TensorModule[] = [new Conv2dNormActivation(inChannels, inputChannel, 3, 2)];
    for (const [t, c, n, s] of SETTINGS) {
      const outputChannel = makeDivisible(c * widthMult, roundNearest);
      for (let i = 0; i < n; i++) {
        features.push(new InvertedResidual(inputChannel, outputChannel, i === 0 ? s : 1, t));
        inputChannel = outputChannel;
      }
    }
    features.push(new Conv2dNormActivation(inputChannel, this.lastChannel, 1));
    this.features = this.registerModule("features", new Sequential(...features));
    this.classifier = this.registerModule(
      "classifier",
      new Sequential(new Dropout(dropout), new Linear(this.lastChannel, numClasses)),
    );
    initZoo(this, { convMode: "fan_out", linearStd: 0.01, zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    const features = this.features.call(x);
    const pooled = F.adaptiveAvgPool2d(features, 1);
    recycleConsumed(features, keepsNoReference(this.features), true, x, pooled);
    return this.classifier.call(pooled.flatten(1));
  }

  /** For nn/graph_owned.ts and nn/plan.ts: the model keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export const mobilenetV2 = (o: MobileNetV2Options = {}) => new MobileNetV2(o);
