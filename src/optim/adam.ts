// Adam and AdamW (decoupled weight decay), with amsgrad and maximize, following torch.optim's
// single-tensor implementation op by op in float32:
//   exp_avg.mul_(beta1).add_(grad, alpha=1-beta1)
//   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1-beta2)
//   denom = (exp_avg_sq.sqrt() / sqrt(bias_correction2)).add_(eps)
//   param.addcdiv_(exp_avg, denom, value=-lr/bias_correction1)
// Each tensor op is one rounding (fr); add_ with alpha and the last multiply-add of addcmul_ are
// fused (one rounding), as PyTorch's vectorised CPU kernels compute them.
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

export interface AdamOptions extends BaseOptions {
  betas: [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
}

type AdamInput = Partial<AdamOptions>;

abstract class AdamBase extends Optimizer<AdamOptions> {
  /** AdamW shrinks the parameter directly; Adam adds weightDecay·param to the gradient. */
  protected abstract readonly decoupled: boolean;

  protected validate(o: AdamOptions): void {
    const [b1, b2] = o.betas;
    if (!(o.lr >= 0)) throw new ValueError(`${this.name}: invalid learning rate ${o.lr}`);
    if (!(o.eps >= 0)) throw new ValueError(`${this.name}: invalid eps ${o.eps}`);
    if (!(b1 >= 0 && b1 < 1)) throw new ValueError(`${this.name}: invalid beta1 ${b1} (must be in [0, 1))`);
    if (!(b2 >= 0 && b2 < 1)) throw new ValueError(`${this.name}: invalid beta2 ${b2} (must be in [0, 1))`);
    if (!(o.weightDecay >= 0)) throw new ValueError(`${this.name}: invalid weightDecay ${o.weightDecay}`);
  }

  protected update(p: Tensor, g: FloatArray, go: number, group: ParamGroup<AdamOptions>): void {
    const fr = rounding(p);
    const x = p.storage as FloatArray;
    const xo = p.offset;
    const n = p.numel;
    const state = this.stateOf(p);
    const m = this.buffer(state, "expAvg", p);
    const v = this.buffer(state, "expAvgSq", p);
    const vmax = group.amsgrad ? this.buffer(state, "maxExpAvgSq", p) : null;
    const step = ((state.step as number | undefined) ?? 0) + 1;
    state.step = step;

    const [beta1, beta2] = group.betas;
    const b1 = fr(beta1);
    const b2 = fr(beta2);
    const oneMinusB1 = fr(1 - beta1);
    const oneMinusB2 = fr(1 - beta2);
    // Scalars PyTorch computes in double and passes to float kernels.
    const biasCorrection1 = 1 - beta1 ** step;
    const biasCorrection2 = 1 - beta2 ** step;
    const negStepSize = fr(-(group.lr / biasCorrection1));
    const bc2Sqrt = fr(Math.sqrt(biasCorrection2));
    const eps = fr(group.eps);
    const wd = fr(group.weightDecay);
    const decay = fr(1 - group.lr * group.weightDecay);
    const coupledDecay = !this.decoupled && group.weightDecay !== 0;
    const decoupledDecay = this.decoupled && group.weightDecay !== 0;
    const sign = group.maximize ? -1 : 1;

    for (let i = 0; i < n; i++) {
      let xi = x[xo + i]!;
      let gi = sign * g[go + i]!;
      if (coupledDecay) gi = fr(gi + wd * xi);
      if (decoupledDecay) xi = fr(xi * decay);
      const mi = fr(fr(m[i]! * b1) + oneMinusB1 * gi);
      const vi = fr(fr(v[i]! * b2) + fr(oneMinusB2 * gi) * gi);
      m[i] = mi;
      v[i] = vi;
      let second = vi;
      if (vmax !== null) {
        second = vmax[i]! > vi ? vmax[i]! : vi;
        vmax[i] = second;
      }
      const denom = fr(fr(fr(Math.sqrt(second)) / bc2Sqrt) + eps);
      x[xo + i] = fr(xi + fr(fr(negStepSize * mi) / denom));
    }
  }
}

export class Adam extends AdamBase {
  protected readonly decoupled = false;
  constructor(params: ParamsInput<AdamOptions>, options: AdamInput = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...options,
    });
  }
}

export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  constructor(params: ParamsInput<AdamOptions>, options: AdamInput = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 1e-2,
      amsgrad: false,
      maximize: false,
      ...options,
    });
  }
}
