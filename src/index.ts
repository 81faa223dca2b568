// nabla's main entry point (Node.js).
export * from "./core.js";
