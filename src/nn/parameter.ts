// A Parameter is a leaf tensor that a Module registers as trainable (requiresGrad by default).
import { Tensor } from "../tensor/tensor.js";

export class Parameter extends Tensor {
  constructor(data: Tensor, requiresGrad = true) {
    const d = data.isContiguous && data.offset === 0 ? data : data.contiguous();
    super(d.storage, d.shape, d.dtype);
    this.requiresGrad = requiresGrad;
  }
}
