// The ONNX protobuf messages. The code is generated (proto/onnx-static.ts, by pbjs) and typed by
// pbts's declarations (proto/onnx.d.ts); this file joins the two so the rest of the importer
// gets `onnx.ModelProto.decode(...)` and `onnx.ITensorProto` etc. with real types.
import { onnx as generated } from "./proto/onnx-static.js";
import type { onnx as types } from "./proto/onnx.js";

export const onnx = generated as unknown as typeof types;

// Message interfaces and classes by the same names (a types-only namespace merged with the value).
// eslint-disable-next-line @typescript-eslint/no-namespace
export namespace onnx {
  export type IModelProto = types.IModelProto;
  export type ModelProto = types.ModelProto;
  export type IGraphProto = types.IGraphProto;
  export type INodeProto = types.INodeProto;
  export type IAttributeProto = types.IAttributeProto;
  export type ITensorProto = types.ITensorProto;
  export type IValueInfoProto = types.IValueInfoProto;
  export type IStringStringEntryProto = types.IStringStringEntryProto;
}
