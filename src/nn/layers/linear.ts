// Linear: y = x·Wᵀ + b, with PyTorch's default initialisation.
import type { Tensor } from "../../tensor/tensor.js";
import { zeros, type CreateOptions } from "../../tensor/creation.js";
import type { DType } from "../../tensor/dtype.js";
import type { Generator } from "../../tensor/random.js";
import { ValueError } from "../../errors.js";
import { Module } from "../module.js";
import { Parameter } from "../parameter.js";
import * as F from "../functional.js";
import { resetLayer } from "./reset.js";

export interface LinearOptions {
  bias?: boolean;
  dtype?: DType;
  generator?: Generator;
  /** Leave weight and bias zero: the caller initialises them (saves time on large models). */
  skipInit?: boolean;
}

export class Linear extends Module {
  readonly weight: Parameter;
  readonly bias: Parameter | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    for (const [name, v] of [
      ["inFeatures", inFeatures],
      ["outFeatures", outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 0)
        throw new ValueError(`Linear: ${name} must be a non-negative integer, got ${v}`);
    }
    const create: CreateOptions = { dtype: options.dtype ?? "float32" };
    this.weight = this.registerParameter("weight", new Parameter(zeros([outFeatures, inFeatures], create)));
    this.bias = this.registerParameter(
      "bias",
      options.bias === false ? null : new Parameter(zeros([outFeatures], create)),
    );
    if (!options.skipInit) this.resetParameters(options.generator);
  }

  /** kaiming-uniform(a=√5) weight and uniform(±1/√in) bias, as torch.nn.Linear. */
  resetParameters(generator?: Generator): void {
    resetLayer(this.weight, this.bias, generator);
  }

  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}
