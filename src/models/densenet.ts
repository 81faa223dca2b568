// DenseNet as torchvision builds it (torchvision/models/densenet.py): `features` holds conv0,
// norm0, relu0, pool0, denseblockN (denselayerM: norm1, relu1, conv1, norm2, relu2, conv2),
// transitionN (norm, relu, conv, pool) and norm5; then ReLU, global average pooling and the
// `classifier` Linear. Each dense layer sees the concatenation of all earlier feature maps.
//
// One deviation: transition pools use ceilMode, so 28×28 inputs (7-4-2-1 instead of 7-3-1-0)
// work; with even sizes (224×224, 32×32) the windows and results are torchvision's.
// densenetBc builds the CIFAR DenseNet-BC (Huang et al. 2017, §3): 3×3 stem with 2k channels,
// three dense blocks of (depth−4)/6 bottleneck layers, compression 0.5.
import type { Tensor } from "../tensor/tensor.js";
import { cat } from "../autograd/ops/movement.js";
import { ValueError } from "../errors.js";
import { Module } from "../nn/module.js";
import { Sequential, type TensorModule } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU } from "../nn/layers/activation.js";
import { AvgPool2d, MaxPool2d } from "../nn/layers/pooling.js";
import { Linear } from "../nn/layers/linear.js";
import * as F from "../nn/functional.js";
import { initZoo } from "./init.js";

/** BN-ReLU-conv1×1 (to bnSize·k) - BN-ReLU-conv3×3 (to k new channels). */
export class DenseLayer extends Module {
  readonly norm1: BatchNorm2d;
  readonly relu1: ReLU;
  readonly conv1: Conv2d;
  readonly norm2: BatchNorm2d;
  readonly relu2: ReLU;
  readonly conv2: Conv2d;

  constructor(
    numInputFeatures: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    this.norm1 = this.registerModule("norm1", new BatchNorm2d(numInputFeatures));
    this.relu1 = this.registerModule("relu1", new ReLU());
    this.conv1 = this.registerModule(
      "conv1",
      new Conv2d(numInputFeatures, bnSize * growthRate, 1, { bias: false }),
    );
    this.norm2 = this.registerModule("norm2", new BatchNorm2d(bnSize * growthRate));
    this.relu2 = this.registerModule("relu2", new ReLU());
    this.conv2 = this.registerModule(
      "conv2",
      new Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }),
    );
  }

  /** x: the concatenation of the block input and every earlier layer's output. */
  forward(x: Tensor): Tensor {
    const bottleneck = this.conv1.call(this.relu1.call(this.norm1.call(x)));
    const out = this.conv2.call(this.relu2.call(this.norm2.call(bottleneck)));
    return this.dropRate > 0 ? F.dropout(out, this.dropRate, this.training) : out;
  }
}

/** numLayers DenseLayers; returns its input concatenated with every layer's output. */
export class DenseBlock extends Module {
  readonly layers: DenseLayer[] = [];

  constructor(
    numLayers: number,
    numInputFeatures: number,
    bnSize: number,
    growthRate: number,
    dropRate: number,
  ) {
    super();
    for (let i = 0; i < numLayers; i++) {
      const layer = new DenseLayer(numInputFeatures + i * growthRate, growthRate, bnSize, dropRate);
      this.layers.push(this.registerModule(`denselayer${i + 1}`, layer));
    }
  }

  forward(x: Tensor): Tensor {
    const features = [x];
    for (const layer of this.layers) features.push(layer.call(features.length === 1 ? x : cat(features, 1)));
    return cat(features, 1);
  }
}

/** BN-ReLU-conv1×1 (compression) - 2×2 average pool. */
export class Transition extends Sequential {
  constructor(numInputFeatures: number, numOutputFeatures: number) {
    super({
      norm: new BatchNorm2d(numInputFeatures),
      relu: new ReLU(),
      conv: new Conv2d(numInputFeatures, numOutputFeatures, 1, { bias: false }),
      pool: new AvgPool2d(2, { stride: 2, ceilMode: true }),
    });
  }
}

export interface DenseNetOptions {
  numClasses?: number;
  inChannels?: number;
  dropRate?: number;
}

export interface DenseNetConfig extends DenseNetOptions {
  growthRate: number;
  blockConfig: readonly number[];
  numInitFeatures: number;
  bnSize?: number;
  /** Fraction of channels a transition keeps (0.5 for DenseNet-BC; torchvision: 0.5). */
  compression?: number;
  /** "imagenet": 7×7/2 conv, BN, ReLU, 3×3/2 max pool; "cifar": one 3×3 conv. */
  stem?: "imagenet" | "cifar";
}

export class DenseNet extends Module {
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(config: DenseNetConfig) {
    super();
    const { growthRate, blockConfig, numInitFeatures, bnSize = 4, compression = 0.5 } = config;
    const { numClasses = 1000, inChannels = 3, dropRate = 0 } = config;
    const stem: Record<string, TensorModule> =
      config.stem === "cifar"
        ? { conv0: new Conv2d(inChannels, numInitFeatures, 3, { padding: 1, bias: false }) }
        : {
            conv0: new Conv2d(inChannels, numInitFeatures, 7, { stride: 2, padding: 3, bias: false }),
            norm0: new BatchNorm2d(numInitFeatures),
            relu0: new ReLU(),
            pool0: new MaxPool2d(3, { stride: 2, padding: 1 }),
          };
    this.features = this.registerModule("features", new Sequential(stem));
    let numFeatures = numInitFeatures;
    blockConfig.forEach((numLayers, i) => {
      const block = new DenseBlock(numLayers, numFeatures, bnSize, growthRate, dropRate);
      this.features.addModule(`denseblock${i + 1}`, block);
      numFeatures += numLayers * growthRate;
      if (i !== blockConfig.length - 1) {
        const out = Math.floor(numFeatures * compression);
        this.features.addModule(`transition${i + 1}`, new Transition(numFeatures, out));
        numFeatures = out;
      }
    });
    this.features.addModule("norm5", new BatchNorm2d(numFeatures));
    this.classifier = this.registerModule("classifier", new Linear(numFeatures, numClasses));
    initZoo(this, { convMode: "fan_in", zeroLinearBias: true });
  }

  forward(x: Tensor): Tensor {
    const features = F.relu(this.features.call(x));
    return this.classifier.call(F.adaptiveAvgPool2d(features, 1).flatten(1));
  }
}

/** DenseNet-121 (k=32, blocks 6-12-24-16, 64 initial features). */
export const densenet121 = (o: DenseNetOptions = {}) =>
  new DenseNet({ ...o, growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 });

export interface DenseNetBcOptions extends DenseNetOptions {
  /** Total depth 6n+4 (n bottleneck layers per block); default 100. */
  depth?: number;
  growthRate?: number;
}

/** CIFAR DenseNet-BC (default L=100, k=12: 0.77M parameters with 10 classes). */
export function densenetBc(o: DenseNetBcOptions = {}): DenseNet {
  const { depth = 100, growthRate = 12, ...rest } = o;
  if (!Number.isInteger(depth) || depth < 10 || (depth - 4) % 6 !== 0)
    throw new ValueError(`densenetBc: depth must be 6n+4 (40, 100, 190, ...), got ${depth}`);
  const n = (depth - 4) / 6;
  return new DenseNet({
    numClasses: 10,
    ...rest,
    growthRate,
    blockConfig: [n, n, n],
    numInitFeatures: 2 * growthRate,
    stem: "cifar",
  });
}
