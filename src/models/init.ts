// The initialisations torchvision's model constructors apply after building their layers.
import { Module, type AnyModule } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { BatchNorm2d } from "../nn/layers/batchnorm.js";
import { Linear } from "../nn/layers/linear.js";
import * as init from "../nn/init.js";
import type { FanMode } from "../nn/init.js";

export interface ZooInit {
  /** kaiming_normal_ fan mode for conv weights (nonlinearity relu). */
  convMode: FanMode;
  /** Linear weights ~ N(0, std²) when given (else PyTorch's default init is kept). */
  linearStd?: number;
  /** Zero the Linear biases. */
  zeroLinearBias?: boolean;
}

/** Conv: kaiming-normal weights, zero bias; BatchNorm: weight 1, bias 0; Linear per `spec`. */
export function initZoo(model: AnyModule | Module, spec: ZooInit): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      init.kaimingNormal(m.weight, { mode: spec.convMode, nonlinearity: "relu" });
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof BatchNorm2d) {
      if (m.weight) init.ones(m.weight);
      if (m.bias) init.zeros(m.bias);
    } else if (m instanceof Linear) {
      if (spec.linearStd !== undefined) init.normal(m.weight, 0, spec.linearStd);
      if (spec.zeroLinearBias && m.bias) init.zeros(m.bias);
    }
  }
}
