// Stochastic gradient descent with momentum, dampening, Nesterov momentum, weight decay and
// maximize, following torch.optim.SGD's update rule and its float32 rounding: each PyTorch tensor
// op becomes one rounding (fr) here; `add_(x, alpha)` is a fused multiply-add (one rounding), as
// PyTorch's vectorised CPU kernel computes it.
import type { Tensor } from "../tensor/tensor.js";
import { ValueError } from "../errors.js";
import {
  Optimizer,
  rounding,
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
    const fr = rounding(p);
    const x = p.storage as FloatArray;
    const xo = p.offset;
    const n = p.numel;
    const wd = fr(group.weightDecay);
    const mom = fr(group.momentum);
    const keep = fr(1 - group.dampening);
    const negLr = fr(-group.lr);
    const sign = group.maximize ? -1 : 1;
    const { nesterov } = group;
    if (group.momentum === 0) {
      for (let i = 0; i < n; i++) {
        let d = sign * g[go + i]!;
        if (wd !== 0) d = fr(d + wd * x[xo + i]!);
        x[xo + i] = fr(x[xo + i]! + negLr * d);
      }
      return;
    }
    const state = this.stateOf(p);
    // The buffer starts as a copy of the first (decayed) gradient, as in PyTorch.
    const first = state.momentumBuffer === undefined;
    const buf = this.buffer(state, "momentumBuffer", p);
    for (let i = 0; i < n; i++) {
      let d = sign * g[go + i]!;
      if (wd !== 0) d = fr(d + wd * x[xo + i]!);
      const b = first ? d : fr(fr(buf[i]! * mom) + keep * d);
      buf[i] = b;
      d = nesterov ? fr(d + mom * b) : b;
      x[xo + i] = fr(x[xo + i]! + negLr * d);
    }
  }
}
