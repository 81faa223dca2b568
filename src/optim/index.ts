// Optimizers, gradient clipping and learning-rate schedulers.
export * from "./optimizer.js";
export * from "./sgd.js";
export * from "./adam.js";
export * from "./rmsprop.js";
export * from "./clip.js";
export * from "./schedulers/index.js";
