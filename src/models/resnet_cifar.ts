// CIFAR ResNets (He et al. 2016, §4.2) exactly as ResNet20 in shared/bench/models.py: a 3×3 stem
// (16 channels), three stages of BasicBlocks with 16/32/64 channels (stages 2 and 3 start with
// stride 2), global average pooling and a Linear. Shortcuts that change shape are a 1×1 conv +
// BN ("option B", named `shortcut`). Depth 6n+2: resnet20 (n=3), resnet56 (n=9).
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import { Module } from "../nn/module.js";
import { Sequential } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU } from "../nn/layers/activation.js";
import { AdaptiveAvgPool2d } from "../nn/layers/pooling.js";
import { Identity } from "../nn/layers/misc.js";
import { Linear } from "../nn/layers/linear.js";
import { bnAddRelu, bnRelu, canFuseConvPair, fusionEnabled, runFusedConvPair } from "../nn/fuse.js";
import { isGradEnabled } from "../autograd/engine.js";
import {
  childrenKeepNoReference,
  handIntermediatesToGraph,
  keepsNoReference,
  recycleConsumed,
} from "../nn/graph_owned.js";

export interface CifarResNetOptions {
  numClasses?: number;
  inChannels?: number;
}

/** conv3×3(stride s)-BN-ReLU-conv3×3-BN, plus the shortcut, then ReLU. */
export class CifarBasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly relu: ReLU;
  readonly shortcut: Module;

  constructor(cin: number, cout: number, stride: number) {
    super();
    this.conv1 = this.registerModule("conv1", new Conv2d(cin, cout, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(cout));
    this.conv2 = this.registerModule("conv2", new Conv2d(cout, cout, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(cout));
    this.relu = this.registerModule("relu", new ReLU());
    const projection =
      stride !== 1 || cin !== cout
        ? new Sequential(new Conv2d(cin, cout, 1, { stride, bias: false }), new BatchNorm2d(cout))
        : new Identity();
    this.shortcut = this.registerModule("shortcut", projection);
  }

  forward(x: Tensor): Tensor {
    if (fusionEnabled() && canFuseConvPair(this)) {
      // Inference: both convolutions with their batch norms, ReLUs and the shortcut in one kernel.
      const short = this.shortcut.call(x);
      const y = runFusedConvPair(this, x, short);
      const plain = this.keepsNoReference();
      recycleConsumed(short, plain, plain, x, y);
      return y;
    }
    const c1 = this.conv1.call(x);
    const r1 = bnRelu(this.bn1, this.relu, c1);
    const c2 = this.conv2.call(r1);
    const short = this.shortcut.call(x);
    const y = bnAddRelu(this.bn2, this.relu, c2, short);
    // The block's own activations: only the graph keeps them (see nn/graph_owned.ts). An
    // identity shortcut returns x, which stays the caller's.
    if (isGradEnabled() && this.keepsNoReference()) {
      const steps = [c1, r1, c2, short];
      const yes = steps.map(() => true);
      handIntermediatesToGraph(steps, yes, yes, x, y);
    }
    return y;
  }

  /** For graph_owned.ts: the block keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export class CifarResNet extends Module {
  readonly stem: Sequential;
  readonly layers: Sequential;
  readonly pool: AdaptiveAvgPool2d;
  readonly fc: Linear;

  constructor(depth: number, options: CifarResNetOptions = {}) {
    super();
    if (!Number.isInteger(depth) || depth < 8 || (depth - 2) % 6 !== 0)
      throw new ValueError(`CifarResNet: depth must be 6n+2 (20, 32, 44, 56, ...), got ${depth}`);
    const { numClasses = 10, inChannels = 3 } = options;
    const n = (depth - 2) / 6;
    this.stem = this.registerModule(
      "stem",
      new Sequential(
        new Conv2d(inChannels, 16, 3, { padding: 1, bias: false }),
        new BatchNorm2d(16),
        new ReLU(),
      ),
    );
    const blocks: Module[] = [];
    let cin = 16;
    for (const [cout, stride] of [
      [16, 1],
      [32, 2],
      [64, 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        blocks.push(new CifarBasicBlock(cin, cout, i === 0 ? stride : 1));
        cin = cout;
      }
    }
    this.layers = this.registerModule("layers", new Sequential(...blocks));
    this.pool = this.registerModule("pool", new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule("fc", new Linear(64, numClasses));
  }

  forward(x: Tensor): Tensor {
    // Activations between the stages go to the graph (nn/graph_owned.ts) when no stage keeps
    // them; at inference they are recycled as soon as the next stage has run.
    const plain = [this.stem, this.layers, this.pool, this.fc].map(keepsNoReference);
    const stem = this.stem.call(x);
    const features = this.layers.call(stem);
    recycleConsumed(stem, plain[0]!, plain[1]!, x, features);
    const pooled = this.pool.call(features);
    recycleConsumed(features, plain[1]!, plain[2]!, x, pooled);
    const out = this.fc.call(pooled.flatten(1));
    if (isGradEnabled())
      handIntermediatesToGraph([stem, features, pooled], plain.slice(0, 3), plain.slice(1), x, out);
    return out;
  }

  /** For nn/graph_owned.ts and nn/plan.ts: the model keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

/** ResNet-20 for 32×32 images (272,474 parameters with 10 classes). */
export function resnet20(options: CifarResNetOptions = {}): CifarResNet {
  return new CifarResNet(20, options);
}

/** ResNet-56 for 32×32 images. */
export function resnet56(options: CifarResNetOptions = {}): CifarResNet {
  return new CifarResNet(56, options);
}
