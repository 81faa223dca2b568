// Learning-rate schedulers.
export { LRScheduler, type SchedulerStateDict } from "./scheduler.js";
export { StepLR, MultiStepLR, ExponentialLR } from "./step.js";
export { LinearLR, type LinearLROptions } from "./linear.js";
export { CosineAnnealingLR } from "./cosine.js";
export { OneCycleLR, type OneCycleLROptions } from "./one_cycle.js";
export { SequentialLR } from "./sequential.js";
