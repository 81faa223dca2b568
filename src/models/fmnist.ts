// The reference network: FmnistCNN from shared/bench/models.py, layer for layer (same state-dict
// keys, 421,834 parameters for 1×28×28 inputs and 10 classes).
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import { Module } from "../nn/module.js";
import { Sequential } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU } from "../nn/layers/activation.js";
import { MaxPool2d } from "../nn/layers/pooling.js";
import { Flatten } from "../nn/layers/misc.js";
import { Linear } from "../nn/layers/linear.js";
import { childrenKeepNoReference, keepsNoReference, recycleConsumed } from "../nn/graph_owned.js";

export interface FmnistCnnOptions {
  numClasses?: number;
  inChannels?: number;
  /** Side of the square input (default 28); the first Linear takes 64·(inputSize/4)² features. */
  inputSize?: number;
}

/**
 * Conv(1→32,3,p1)-BN-ReLU-MaxPool2 → Conv(32→64,3,p1)-BN-ReLU-MaxPool2 → Flatten →
 * Linear(3136→128)-ReLU → Linear(128→10).
 */
export class FmnistCNN extends Module {
  readonly features: Sequential;
  readonly classifier: Sequential;

  constructor(options: FmnistCnnOptions = {}) {
    super();
    const { numClasses = 10, inChannels = 1, inputSize = 28 } = options;
    if (!Number.isInteger(inputSize) || inputSize < 4)
      throw new ValueError(`fmnistCnn: inputSize must be an integer ≥ 4, got ${inputSize}`);
    const side = Math.floor(Math.floor(inputSize / 2) / 2);
    this.features = this.registerModule(
      "features",
      new Sequential(
        new Conv2d(inChannels, 32, 3, { padding: 1 }),
        new BatchNorm2d(32),
        new ReLU(),
        new MaxPool2d(2),
        new Conv2d(32, 64, 3, { padding: 1 }),
        new BatchNorm2d(64),
        new ReLU(),
        new MaxPool2d(2),
      ),
    );
    this.classifier = this.registerModule(
      "classifier",
      new Sequential(
        new Flatten(),
        new Linear(64 * side * side, 128),
        new ReLU(),
        new Linear(128, numClasses),
      ),
    );
  }

  forward(x: Tensor): Tensor {
    const features = this.features.call(x);
    const out = this.classifier.call(features);
    // At inference the features are dead once the classifier has run (nn/graph_owned.ts).
    recycleConsumed(features, keepsNoReference(this.features), keepsNoReference(this.classifier), x, out);
    return out;
  }

  /** For nn/graph_owned.ts and nn/plan.ts: the model keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export function fmnistCnn(options: FmnistCnnOptions = {}): FmnistCNN {
  return new FmnistCNN(options);
}
