// Losses: the functional forms (crossEntropy, mseLoss, ...) and their Module wrappers
// (CrossEntropyLoss, MSELoss, ...).
export * from "./losses/functional.js";
export * from "./losses/modules.js";
