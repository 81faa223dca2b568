// The default initialisation PyTorch gives Linear and Conv layers (reset_parameters):
// weight ~ kaiming_uniform(a=√5), i.e. U(±1/√fan_in), and bias ~ U(±1/√fan_in).
import type { Generator } from "../../tensor/random.js";
import type { Parameter } from "../parameter.js";
import * as init from "../init.js";

export function resetLayer(weight: Parameter, bias: Parameter | null, generator?: Generator): void {
  const g = generator ? { generator } : {};
  init.kaimingUniform(weight, { a: Math.sqrt(5), ...g });
  if (bias) {
    const { fanIn } = init.calculateFans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    init.uniform(bias, -bound, bound, g);
  }
}
