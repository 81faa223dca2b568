// ONNX import and export. `load`/`parseModel` turn an .onnx file into a trainable Module;
// `save` traces a Module and writes an .onnx file.
export { load, parseModel, type ParseOptions } from "./load.js";
export { OnnxModule, ParameterGroup } from "./onnx-module.js";
export { decodeModel, MIN_OPSET, MAX_OPSET, type OnnxModelProto, type OnnxNode } from "./decode.js";
export { supportedOps } from "./ops/index.js";
export { save, exportOnnx, traceToOnnx, type SaveOptions } from "./export/save.js";
export { describeOnnx, formatOnnxDescription, type OnnxDescription } from "./describe.js";
