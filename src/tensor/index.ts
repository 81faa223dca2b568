// Tensors: the class, dtypes, shapes, creation and the random generator.
export { Tensor } from "./tensor.js";
export * from "./dtype.js";
export { broadcastShapes, contiguousStrides, numel, type Shape } from "./shape.js";
export * from "./creation.js";
export { Generator, manualSeed, defaultGenerator, type GeneratorState } from "./random.js";
