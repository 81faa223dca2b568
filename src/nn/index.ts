// nabla's neural-network layer library (torch.nn): Module and containers, layers, the
// functional forms (F) and initialisers (init).
export {
  Module,
  RemovableHandle,
  StateDictError,
  type AnyModule,
  type ForwardHook,
  type ForwardPreHook,
  type LoadResult,
  type ShapeMismatch,
  type StateDict,
} from "./module.js";
export { Parameter } from "./parameter.js";
export { setInferencePlans } from "./plan.js";
export { setInferencePrograms } from "./plan_replay.js";
export { Sequential, ModuleList, ModuleDict, type TensorModule } from "./containers.js";
export { Linear, type LinearOptions } from "./layers/linear.js";
export { Conv2d, type Conv2dLayerOptions } from "./layers/conv.js";
export { BatchNorm1d, BatchNorm2d, type BatchNormLayerOptions } from "./layers/batchnorm.js";
export * from "./layers/activation.js";
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type PoolLayerOptions } from "./layers/pooling.js";
export { Flatten, Dropout, Identity } from "./layers/misc.js";
export * from "./losses.js";
export * as F from "./functional.js";
export * as init from "./init.js";
