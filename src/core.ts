// The browser-safe core: tensors, autograd, the reference backend and the testing utilities.
// (src/index.ts adds the Node-only parts: the native backend, data, training, I/O.)
export * from "./tensor/index.js";
export * from "./autograd/index.js";
export * from "./errors.js";
// Layers and Module (torch.nn); the model zoo is the separate entry `nabla/models`.
export * as nn from "./nn/index.js";
// Optimizers, LR schedulers and gradient clipping (torch.optim).
export * as optim from "./optim/index.js";
export { setBackend, getBackend, withBackend, kernel } from "./backend/registry.js";
export { refBackend } from "./backend/ref/index.js";
export type { Backend, Kernels, KernelName, StridedView } from "./backend/backend.js";
