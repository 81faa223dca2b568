// Autograd: the tape engine and every op, as free functions.
export { backward, grad, noGrad, enableGrad, isGradEnabled, GradNode, type GradOptions } from "./engine.js";
export { setBufferRecycling } from "./recycle.js";
export * from "./ops/elementwise.js";
export * from "./ops/reduce.js";
export * from "./ops/movement.js";
export * from "./ops/matmul.js";
export * from "./ops/indexing.js";
export * from "./ops/conv.js";
export * from "./ops/conv_fused.js";
export * from "./ops/pool.js";
export * from "./ops/normalization.js";
export { gradcheck, gradgradcheck, type GradcheckOptions } from "./gradcheck.js";
export {
  opInfos,
  checkOpInfo,
  runConformance,
  compareToReference,
  SampleMaker,
  type OpInfo,
  type OpSample,
  type ErrorSample,
  type InputView,
  type ConformanceFailure,
  type ConformanceOptions,
} from "./testing/opinfo.js";
