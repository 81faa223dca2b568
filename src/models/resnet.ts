// ResNet and ResNeXt as torchvision builds them (torchvision/models/resnet.py): same modules,
// same order, same state-dict keys (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0, fc, ...).
// AdaptiveAvgPool2d before the classifier makes any input ≥ 1 pixel after the stem work, so
// 28×28 and 32×32 images run too. A CIFAR stem (3×3 conv, no max pool) and a three-stage layout
// give the small CIFAR ResNeXt.
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import { Module } from "../nn/module.js";
import { Sequential } from "../nn/containers.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { ReLU } from "../nn/layers/activation.js";
import { AdaptiveAvgPool2d, MaxPool2d } from "../nn/layers/pooling.js";
import { Identity } from "../nn/layers/misc.js";
import { Linear } from "../nn/layers/linear.js";
import { initZoo } from "./init.js";
import {
  bnAddRelu,
  bnRelu,
  canFuseConvPair,
  fusionEnabled,
  runFusedConvBn,
  runFusedConvPair,
} from "../nn/fuse.js";
import { childrenKeepNoReference, keepsNoReference, recycleConsumed } from "../nn/graph_owned.js";

const conv3x3 = (cin: number, cout: number, stride = 1, groups = 1) =>
  new Conv2d(cin, cout, 3, { stride, padding: 1, groups, bias: false });
const conv1x1 = (cin: number, cout: number, stride = 1) => new Conv2d(cin, cout, 1, { stride, bias: false });

interface BlockArgs {
  inplanes: number;
  planes: number;
  stride: number;
  downsample: Sequential | null;
  groups: number;
  baseWidth: number;
}

/** Two 3×3 convs (ResNet-18/34). */
export class BasicBlock extends Module {
  static readonly expansion = 1;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(a: BlockArgs) {
    super();
    if (a.groups !== 1 || a.baseWidth !== 64)
      throw new ValueError("BasicBlock only supports groups=1 and widthPerGroup=64");
    this.conv1 = this.registerModule("conv1", conv3x3(a.inplanes, a.planes, a.stride));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(a.planes));
    this.relu = this.registerModule("relu", new ReLU());
    this.conv2 = this.registerModule("conv2", conv3x3(a.planes, a.planes));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(a.planes));
    this.downsample = this.registerModule("downsample", a.downsample);
  }

  /** The BN whose weight zeroInitResidual zeroes. */
  get lastBn(): BatchNorm2d {
    return this.bn2;
  }

  forward(x: Tensor): Tensor {
    if (fusionEnabled() && canFuseConvPair(this)) {
      // Inference: conv1+bn1+relu and conv2+bn2+identity+relu fused (nn/fuse.ts).
      const identity = this.downsample ? this.downsample.call(x) : x;
      return recycleBlockTemporaries(this, x, runFusedConvPair(this, x, identity), [identity]);
    }
    const out = this.conv2.call(bnRelu(this.bn1, this.relu, this.conv1.call(x)));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return bnAddRelu(this.bn2, this.relu, out, identity);
  }

  /** For nn/graph_owned.ts: the block keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

/**
 * At inference a block's own activations are dead once it has its output y: recycle them (nn/
 * graph_owned.ts) when no child keeps references. An identity shortcut's is x, which stays.
 */
function recycleBlockTemporaries(block: Module, x: Tensor, y: Tensor, temporaries: Tensor[]): Tensor {
  const plain = childrenKeepNoReference(block);
  for (const t of temporaries) recycleConsumed(t, plain, plain, x, y);
  return y;
}

/** 1×1 reduce, 3×3 (grouped for ResNeXt), 1×1 expand ×4 (ResNet-50, ResNeXt). */
export class Bottleneck extends Module {
  static readonly expansion = 4;
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;

  constructor(a: BlockArgs) {
    super();
    const width = Math.floor(a.planes * (a.baseWidth / 64)) * a.groups;
    this.conv1 = this.registerModule("conv1", conv1x1(a.inplanes, width));
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(width));
    this.conv2 = this.registerModule("conv2", conv3x3(width, width, a.stride, a.groups));
    this.bn2 = this.registerModule("bn2", new BatchNorm2d(width));
    this.conv3 = this.registerModule("conv3", conv1x1(width, a.planes * Bottleneck.expansion));
    this.bn3 = this.registerModule("bn3", new BatchNorm2d(a.planes * Bottleneck.expansion));
    this.relu = this.registerModule("relu", new ReLU());
    this.downsample = this.registerModule("downsample", a.downsample);
  }

  get lastBn(): BatchNorm2d {
    return this.bn3;
  }

  forward(x: Tensor): Tensor {
    if (fusionEnabled()) {
      // Inference: each conv with its batch norm (and ReLU, and the shortcut) as one kernel.
      const h1 = runFusedConvBn(this.conv1, this.bn1, x, { relu: this.relu });
      const h2 = h1 && runFusedConvBn(this.conv2, this.bn2, h1, { relu: this.relu });
      if (h1 && h2) {
        const identity = this.downsample ? this.downsample.call(x) : x;
        const y = runFusedConvBn(this.conv3, this.bn3, h2, { relu: this.relu, residual: identity });
        if (y) return recycleBlockTemporaries(this, x, y, [h1, h2, identity]);
      }
    }
    let out = this.relu.call(this.bn1.call(this.conv1.call(x)));
    out = this.relu.call(this.bn2.call(this.conv2.call(out)));
    out = this.conv3.call(out);
    const identity = this.downsample ? this.downsample.call(x) : x;
    return bnAddRelu(this.bn3, this.relu, out, identity);
  }

  /** For nn/graph_owned.ts: the block keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export type ResNetBlock = typeof BasicBlock | typeof Bottleneck;

export interface ResNetOptions {
  numClasses?: number;
  inChannels?: number;
  /** Grouped 3×3 convs (ResNeXt cardinality). */
  groups?: number;
  widthPerGroup?: number;
  /** Start each residual branch at zero (last BN weight 0), as torchvision's option. */
  zeroInitResidual?: boolean;
}

export interface ResNetConfig extends ResNetOptions {
  block: ResNetBlock;
  /** Blocks per stage (4 stages for ImageNet ResNets; any count works). */
  layers: readonly number[];
  /** Base channel count of each stage (default 64, 128, 256, 512, ...). */
  planes?: readonly number[];
  /** "imagenet": 7×7/2 conv + 3×3/2 max pool; "cifar": 3×3/1 conv, no pooling. */
  stem?: "imagenet" | "cifar";
}

export class ResNet extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly maxpool: Module;
  readonly stages: Sequential[] = [];
  readonly avgpool: AdaptiveAvgPool2d;
  readonly fc: Linear;
  private inplanes = 64;

  constructor(config: ResNetConfig) {
    super();
    const { block, layers, numClasses = 1000, inChannels = 3, groups = 1, widthPerGroup = 64 } = config;
    const planes = config.planes ?? layers.map((_, i) => 64 * 2 ** i);
    const cifar = config.stem === "cifar";
    this.conv1 = this.registerModule(
      "conv1",
      cifar
        ? new Conv2d(inChannels, 64, 3, { padding: 1, bias: false })
        : new Conv2d(inChannels, 64, 7, { stride: 2, padding: 3, bias: false }),
    );
    this.bn1 = this.registerModule("bn1", new BatchNorm2d(64));
    this.relu = this.registerModule("relu", new ReLU());
    this.maxpool = this.registerModule(
      "maxpool",
      cifar ? new Identity() : new MaxPool2d(3, { stride: 2, padding: 1 }),
    );
    layers.forEach((count, i) => {
      const stage = this.makeLayer(block, planes[i]!, count, i === 0 ? 1 : 2, groups, widthPerGroup);
      this.stages.push(this.registerModule(`layer${i + 1}`, stage));
    });
    this.avgpool = this.registerModule("avgpool", new AdaptiveAvgPool2d(1));
    this.fc = this.registerModule("fc", new Linear(this.inplanes, numClasses));
    initZoo(this, { convMode: "fan_out" });
    if (config.zeroInitResidual) {
      for (const m of this.modules()) {
        if (m instanceof BasicBlock || m instanceof Bottleneck) m.lastBn.weight!.data.fill(0);
      }
    }
  }

  private makeLayer(
    block: ResNetBlock,
    planes: number,
    blocks: number,
    stride: number,
    groups: number,
    baseWidth: number,
  ): Sequential {
    const out = planes * block.expansion;
    const downsample =
      stride !== 1 || this.inplanes !== out
        ? new Sequential(conv1x1(this.inplanes, out, stride), new BatchNorm2d(out))
        : null;
    const list: Module[] = [
      new block({ inplanes: this.inplanes, planes, stride, downsample, groups, baseWidth }),
    ];
    this.inplanes = out;
    for (let i = 1; i < blocks; i++) {
      list.push(new block({ inplanes: out, planes, stride: 1, downsample: null, groups, baseWidth }));
    }
    return new Sequential(...list);
  }

  forward(x: Tensor): Tensor {
    const stem = [this.conv1, this.bn1, this.relu];
    const fused = fusionEnabled() ? runFusedConvBn(this.conv1, this.bn1, x, { relu: this.relu }) : null;
    let out = fused ?? this.relu.call(this.bn1.call(this.conv1.call(x)));
    // At inference each stage's input is dead once the stage has run (nn/graph_owned.ts).
    let producedByPlain = stem.every(keepsNoReference);
    for (const m of [this.maxpool, ...this.stages, this.avgpool]) {
      const next = m.call(out);
      const plain = keepsNoReference(m);
      recycleConsumed(out, producedByPlain, plain, x, next);
      [out, producedByPlain] = [next, plain];
    }
    return this.fc.call(out.flatten(1));
  }

  /** For nn/graph_owned.ts and nn/plan.ts: the model keeps no activation beyond its forward call. */
  keepsNoReference(): boolean {
    return childrenKeepNoReference(this);
  }
}

export const resnet18 = (o: ResNetOptions = {}) =>
  new ResNet({ ...o, block: BasicBlock, layers: [2, 2, 2, 2] });
export const resnet34 = (o: ResNetOptions = {}) =>
  new ResNet({ ...o, block: BasicBlock, layers: [3, 4, 6, 3] });
export const resnet50 = (o: ResNetOptions = {}) =>
  new ResNet({ ...o, block: Bottleneck, layers: [3, 4, 6, 3] });

/** ResNeXt-50 (32×4d): ResNet-50 with 32-group 3×3 convs, 4 channels per group at stage 1. */
export const resnext50_32x4d = (o: Omit<ResNetOptions, "groups" | "widthPerGroup"> = {}) =>
  new ResNet({ ...o, block: Bottleneck, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 });

/**
 * A small ResNeXt for 32×32 images (ResNeXt-29 layout at 8×4d): 3×3 stem, three stages of three
 * Bottlenecks with 8 groups of 4, 8, 16 channels, output 256/512/1024 channels.
 */
export const resnextCifar = (o: Omit<ResNetOptions, "groups" | "widthPerGroup"> = {}) =>
  new ResNet({
    numClasses: 10,
    ...o,
    block: Bottleneck,
    layers: [3, 3, 3],
    groups: 8,
    widthPerGroup: 4,
    stem: "cifar",
  });
