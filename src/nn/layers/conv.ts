// Conv2d: one conv2d op (bias added inside it), with PyTorch's default initialisation.
import type { Tensor } from "../../tensor/tensor.js";
import { zeros, type CreateOptions } from "../../tensor/creation.js";
import type { DType } from "../../tensor/dtype.js";
import type { Generator } from "../../tensor/random.js";
import { pair, type Pair } from "../../autograd/ops/conv.js";
import { ValueError } from "../../errors.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import { resetLayer } from "./reset.js";

export interface Conv2dLayerOptions {
  stride?: Pair;
  /** Zero padding per side, or "same" (stride 1, odd effective kernel) / "valid". */
  padding?: Pair | "same" | "valid";
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  dtype?: DType;
  generator?: Generator;
  /** Leave weight and bias zero: the caller initialises them (saves time on large models). */
  skipInit?: boolean;
}

export class Conv2d extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number] | "same" | "valid";
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    options: Conv2dLayerOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize, "kernelSize", "Conv2d");
    this.stride = pair(options.stride ?? 1, "stride", "Conv2d");
    const padding = options.padding ?? 0;
    this.padding = typeof padding === "string" ? padding : pair(padding, "padding", "Conv2d");
    this.dilation = pair(options.dilation ?? 1, "dilation", "Conv2d");
    this.groups = options.groups ?? 1;
    if (!Number.isInteger(this.groups) || this.groups < 1)
      throw new ValueError(`Conv2d: groups must be a positive integer, got ${this.groups}`);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(
        `Conv2d: groups=${this.groups} must divide inChannels=${inChannels} and outChannels=${outChannels}`,
      );
    }
    if (padding === "same" && (this.stride[0] !== 1 || this.stride[1] !== 1))
      throw new ValueError("Conv2d: padding='same' is not supported for strided convolutions");
    const create: CreateOptions = { dtype: options.dtype ?? "float32" };
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter(
      "weight",
      new Parameter(zeros([outChannels, inChannels / this.groups, kh, kw], create)),
    );
    this.bias = this.registerParameter(
      "bias",
      options.bias === false ? null : new Parameter(zeros([outChannels], create)),
    );
    if (!options.skipInit) this.resetParameters(options.generator);
  }

  /** kaiming-uniform(a=√5) weight and uniform(±1/√fan_in) bias, as torch.nn.Conv2d. */
  resetParameters(generator?: Generator): void {
    resetLayer(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, {
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
    });
  }

  override extraRepr(): string {
    const t = (p: readonly number[]) => `(${p.join(", ")})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernelSize=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (typeof this.padding === "string") s += `, padding=${this.padding}`;
    else if (this.padding.some((v) => v !== 0)) s += `, padding=${t(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (this.bias === null) s += ", bias=false";
    return s;
  }
}
