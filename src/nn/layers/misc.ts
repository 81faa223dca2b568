// Shape and regularisation layers with no parameters: Flatten, Dropout, Identity.
import type { Tensor } from "../../tensor/tensor.js";
import { defaultGenerator, type Generator } from "../../tensor/random.js";
import { ValueError } from "../../errors.js";
import { Module } from "../module.js";
import * as F from "../functional.js";

/** Flatten dims startDim..endDim into one (default: everything but the batch dim). */
export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.flatten(x, this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/** Zero elements with probability p in training mode (scaling the rest by 1/(1−p)). */
export class Dropout extends Module {
  readonly generator: Generator;
  constructor(
    readonly p = 0.5,
    options: { generator?: Generator } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) throw new ValueError(`Dropout: probability must be in [0, 1], got ${p}`);
    this.generator = options.generator ?? defaultGenerator;
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training, this.generator);
  }
  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Returns its input (a placeholder, e.g. a shortcut with no projection). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
