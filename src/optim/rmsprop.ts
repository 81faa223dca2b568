// RMSprop with smoothing constant alpha, centered variant, momentum, weight decay and maximize,
// following torch.optim.RMSprop's single-tensor update op by op in float32 (one rounding per
// tensor op; add_ with alpha and addcmul_'s last multiply-add are fused, as in PyTorch's
// vectorised CPU kernels).
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

export interface RMSpropOptions extends BaseOptions {
  alpha: number;
  eps: number;
  weightDecay: number;
  momentum: number;
  centered: boolean;
  maximize: boolean;
}

export class RMSprop extends Optimizer<RMSpropOptions> {
  constructor(params: ParamsInput<RMSpropOptions>, options: Partial<RMSpropOptions> = {}) {
    super(params, {
      lr: 1e-2,
      alpha: 0.99,
      eps: 1e-8,
      weightDecay: 0,
      momentum: 0,
      centered: false,
      maximize: false,
      ...options,
    });
  }

  protected validate(o: RMSpropOptions): void {
    if (!(o.lr >= 0)) throw new ValueError(`RMSprop: invalid learning rate ${o.lr}`);
    if (!(o.eps >= 0)) throw new ValueError(`RMSprop: invalid eps ${o.eps}`);
    if (!(o.momentum >= 0)) throw new ValueError(`RMSprop: invalid momentum ${o.momentum}`);
    if (!(o.weightDecay >= 0)) throw new ValueError(`RMSprop: invalid weightDecay ${o.weightDecay}`);
    if (!(o.alpha >= 0)) throw new ValueError(`RMSprop: invalid alpha ${o.alpha}`);
  }

  protected update(p: Tensor, g: FloatArray, go: number, group: ParamGroup<RMSpropOptions>): void {
    const fr = rounding(p);
    const x = p.storage as FloatArray;
    const xo = p.offset;
    const n = p.numel;
    const state = this.stateOf(p);
    state.step = ((state.step as number | undefined) ?? 0) + 1;
    const sq = this.buffer(state, "squareAvg", p);
    const buf = group.momentum > 0 ? this.buffer(state, "momentumBuffer", p) : null;
    const gAvg = group.centered ? this.buffer(state, "gradAvg", p) : null;

    const alpha = fr(group.alpha);
    const oneMinusAlpha = fr(1 - group.alpha);
    const eps = fr(group.eps);
    const wd = fr(group.weightDecay);
    const mom = fr(group.momentum);
    const negLr = fr(-group.lr);
    const sign = group.maximize ? -1 : 1;

    for (let i = 0; i < n; i++) {
      let gi = sign * g[go + i]!;
      if (wd !== 0) gi = fr(gi + wd * x[xo + i]!);
      const s = fr(fr(sq[i]! * alpha) + fr(oneMinusAlpha * gi) * gi);
      sq[i] = s;
      let avg: number;
      if (gAvg !== null) {
        const a = fr(fr(gAvg[i]! * alpha) + oneMinusAlpha * gi);
        gAvg[i] = a;
        avg = fr(Math.sqrt(fr(s - a * a)));
      } else {
        avg = fr(Math.sqrt(s));
      }
      avg = fr(avg + eps);
      if (buf !== null) {
        const b = fr(fr(buf[i]! * mom) + fr(gi / avg));
        buf[i] = b;
        x[xo + i] = fr(x[xo + i]! + negLr * b);
      } else {
        x[xo + i] = fr(x[xo + i]! + fr(fr(negLr * gi) / avg));
      }
    }
  }
}
