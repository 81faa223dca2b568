// Pooling layers.
import type { Tensor } from "../../tensor/tensor.js";
import type { Pair } from "../../autograd/ops/conv.js";
import { Module } from "../module.js";
import * as F from "../functional.js";

export interface PoolLayerOptions {
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

const fmt = (p: Pair) => (typeof p === "number" ? String(p) : `(${p.join(", ")})`);

export class MaxPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly dilation: Pair;
  readonly ceilMode: boolean;

  constructor(
    readonly kernelSize: Pair,
    options: PoolLayerOptions & { dilation?: Pair } = {},
  ) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.dilation = options.dilation ?? 1;
    this.ceilMode = options.ceilMode ?? false;
  }

  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      ceilMode: this.ceilMode,
    });
  }

  override extraRepr(): string {
    return (
      `kernelSize=${fmt(this.kernelSize)}, stride=${fmt(this.stride)}, padding=${fmt(this.padding)}, ` +
      `dilation=${fmt(this.dilation)}, ceilMode=${this.ceilMode}`
    );
  }
}

export class AvgPool2d extends Module {
  readonly stride: Pair;
  readonly padding: Pair;
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;

  constructor(
    readonly kernelSize: Pair,
    options: PoolLayerOptions & { countIncludePad?: boolean } = {},
  ) {
    super();
    this.stride = options.stride ?? kernelSize;
    this.padding = options.padding ?? 0;
    this.ceilMode = options.ceilMode ?? false;
    this.countIncludePad = options.countIncludePad ?? true;
  }

  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, {
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      ceilMode: this.ceilMode,
      countIncludePad: this.countIncludePad,
    });
  }

  override extraRepr(): string {
    return `kernelSize=${fmt(this.kernelSize)}, stride=${fmt(this.stride)}, padding=${fmt(this.padding)}`;
  }
}

/** Average pooling to a fixed output size, whatever the input size. */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }

  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }

  override extraRepr(): string {
    return `outputSize=${fmt(this.outputSize)}`;
  }
}
