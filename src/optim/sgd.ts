// Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and
// maximize, following torch.optim.SGD's update rule and its float32 rounding. The element loop is
// the backend's `sgdStep` kernel (src/backend/ref/optim.ts is the readable one), so a step
// allocates nothing and runs natively when the native backend is active.
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import { kernel } from "../backend/registry.js";
import {
  Optimizer,
  type BaseOptions,
  type FloatArray,
  type ParamGroup,
  type ParamsInput,
} from "./optimizer.js";

export interface SGDOptions extends BaseOptions {
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ParamsInput<SGDOptions>, options: Partial<SGDOptions> & { lr: number }) {
    super(params, {
      momentum: 0,
      dampening: 0,
      weightDecay: 0,
      nesterov: false,
      maximize: false,
      ...options,
    });
  }

  protected validate(o: SGDOptions): void {
    if (!(o.lr >= 0)) throw new ValueError(`SGD: invalid learning rate ${o.lr}`);
    if (!(o.momentum >= 0)) throw new ValueError(`SGD: invalid momentum ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new ValueError(`SGD: invalid weightDecay ${o.weightDecay}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0))
      throw new ValueError("SGD: Nesterov momentum requires a momentum and zero dampening");
  }

  protected update(p: Tensor, g: FloatArray, go: number, group: ParamGroup<SGDOptions>): void {
    const state = group.momentum === 0 ? null : this.stateOf(p);
    // The buffer starts as a copy of the first (decayed) gradient, as in PyTorch.
    const first = state !== null && state.momentumBuffer === undefined;
    const buf = state === null ? null : this.buffer(state, "momentumBuffer", p);
    kernel("sgdStep")(p.storage, p.offset, g, go, buf, p.numel, {
      lr: group.lr,
      momentum: group.momentum,
      dampening: group.dampening,
      weightDecay: group.weightDecay,
      nesterov: group.nesterov,
      maximize: group.maximize,
      first,
    });
  }
}
