// Loss modules (nn.CrossEntropyLoss, nn.MSELoss, ...): thin Modules holding a loss function's
// options; `loss.call(input, target)` (or forward) applies it.
import type { Tensor } from "../../tensor/tensor.js";
import { Module } from "../module.js";
import * as L from "./functional.js";

type Two = [input: Tensor, target: Tensor];

/** Base of the loss modules: the options are fixed at construction. */
abstract class Loss<O extends object> extends Module<Two, Tensor> {
  readonly options: Readonly<O>;
  constructor(options: O) {
    super();
    this.options = Object.freeze({ ...options });
  }
  override extraRepr(): string {
    return Object.entries(this.options)
      .filter(([, v]) => typeof v !== "object")
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(", ");
  }
}

export class CrossEntropyLoss extends Loss<L.CrossEntropyOptions> {
  constructor(options: L.CrossEntropyOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.crossEntropy(input, target, this.options);
  }
}

export class NLLLoss extends Loss<L.NllLossOptions> {
  constructor(options: L.NllLossOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.nllLoss(input, target, this.options);
  }
}

export class MSELoss extends Loss<L.ReductionOptions> {
  constructor(options: L.ReductionOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.mseLoss(input, target, this.options);
  }
}

export class L1Loss extends Loss<L.ReductionOptions> {
  constructor(options: L.ReductionOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.l1Loss(input, target, this.options);
  }
}

export class SmoothL1Loss extends Loss<L.ReductionOptions & { beta?: number }> {
  constructor(options: L.ReductionOptions & { beta?: number } = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.smoothL1Loss(input, target, this.options);
  }
}

export class HuberLoss extends Loss<L.ReductionOptions & { delta?: number }> {
  constructor(options: L.ReductionOptions & { delta?: number } = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.huberLoss(input, target, this.options);
  }
}

export class BCELoss extends Loss<L.BceOptions> {
  constructor(options: L.BceOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.bceLoss(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Loss<L.BceOptions & { posWeight?: Tensor }> {
  constructor(options: L.BceOptions & { posWeight?: Tensor } = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.bceWithLogitsLoss(input, target, this.options);
  }
}

export class KLDivLoss extends Loss<L.KlDivOptions> {
  constructor(options: L.KlDivOptions = {}) {
    super(options);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return L.klDiv(input, target, this.options);
  }
}
