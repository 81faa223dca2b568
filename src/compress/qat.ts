// Quantization-aware training: fine-tune with the int8 rounding simulated in the forward pass,
// so the weights learn to sit well on the int8 grid before the real conversion.
//
// prepareQat(model) folds BN and wraps every Conv2d/Linear in a FakeQuant layer that
//   - fake-quantizes its input with the same per-tensor affine 7-bit scheme as the int8 kernels,
//     the range tracked as a moving average of batch min/max in training mode;
//   - fake-quantizes its weight per output channel (symmetric int8);
// and uses the straight-through estimator: y = x + (q(x) − x).detach(), so the forward sees the
// rounded values and the backward treats rounding as the identity. The wrapper registers the
// wrapped layer's own Parameter objects under the same names, so optimizers and state-dict keys
// are unchanged. finishQat(model) puts the original layers back (holding the trained weights);
// then quantizeModel converts them as usual.
import { fromArray } from "../tensor/creation.js";
import type { Tensor } from "../tensor/tensor.js";
import { noGrad } from "../autograd/engine.js";
import { Module, type AnyModule } from "../nn/module.js";
import { Conv2d } from "../nn/layers/conv.js";
import { Linear } from "../nn/layers/linear.js";
import * as F from "../nn/functional.js";
import { foldBatchNorm, type FoldedPair } from "./fold.js";
import { replaceModule } from "./trace.js";
import { activationParams, quantizeWeights } from "./quantize.js";
import { quantizeActivation } from "./int8-ref.js";

/** x + (values − x).detach(): the forward value is `values`, the gradient passes straight. */
function straightThrough(x: Tensor, values: Float32Array): Tensor {
  const delta = noGrad(() => fromArray(values, x.shape).sub(x.detach()));
  return x.add(delta);
}

export class FakeQuant extends Module {
  readonly weight;
  readonly bias;
  /** Moving-average input range (momentum 0.1), as the calibration observers would see it. */
  min = 0;
  max = 0;
  private seen = false;

  constructor(readonly inner: Conv2d | Linear) {
    super();
    this.weight = this.registerParameter("weight", inner.weight);
    this.bias = this.registerParameter("bias", inner.bias);
  }

  forward(x: Tensor): Tensor {
    const data = x.contiguous().data;
    if (this.training) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < data.length; i++) {
        const v = data[i]!;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      this.min = this.seen ? 0.9 * this.min + 0.1 * lo : lo;
      this.max = this.seen ? 0.9 * this.max + 0.1 * hi : hi;
      this.seen = true;
    }
    const { scale, zeroPoint } = activationParams({ min: this.min, max: this.max });
    const xq = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++)
      xq[i] = (quantizeActivation(data[i]!, scale, zeroPoint) - zeroPoint) * scale;
    const input = straightThrough(x, xq);
    const { q, scale: ws } = noGrad(() => quantizeWeights(this.inner.weight));
    const per = q.length / ws.length;
    const wq = new Float32Array(q.length);
    for (let i = 0; i < q.length; i++) wq[i] = q[i]! * ws[Math.floor(i / per)]!;
    const weight = straightThrough(this.inner.weight, wq);
    const m = this.inner;
    if (m instanceof Linear) return F.linear(input, weight, m.bias);
    return F.conv2d(input, weight, m.bias, {
      stride: m.stride,
      padding: m.padding,
      dilation: m.dilation,
      groups: m.groups,
    });
  }
}

/** Fold BN and wrap every Conv2d/Linear in FakeQuant (in place); returns the folded pairs. Build the optimizer afterwards. */
export function prepareQat(model: Module, inputShape: readonly number[]): FoldedPair[] {
  const folded = foldBatchNorm(model, inputShape);
  const targets: [string, AnyModule][] = [...model.namedModules()].filter(
    ([, m]) => m instanceof Conv2d || m instanceof Linear,
  );
  for (const [name, m] of targets) replaceModule(model, name, new FakeQuant(m as Conv2d | Linear));
  return folded;
}

/** Put the wrapped layers back (with their trained weights). */
export function finishQat(model: Module): void {
  const wrapped = [...model.namedModules()].filter(([, m]) => m instanceof FakeQuant);
  for (const [name, m] of wrapped) replaceModule(model, name, (m as FakeQuant).inner);
}
