// Saving an imported model again (e.g. after fine-tuning): its own graph, node for node, with
// the current parameter and buffer values as initializers. No tracing is involved, so every op
// the importer runs can be written back, at the model's own opset.
import type { onnx } from "../protobuf.js";
import { onnx as proto } from "../protobuf.js";
import { NotSupportedError } from "../../../errors.js";
import type { AttrValue, GraphIO } from "../decode.js";
import type { OnnxModule } from "../onnx-module.js";
import { encodeTensor } from "../tensor-proto.js";
import { DataType } from "../values.js";

const T = proto.AttributeProto.AttributeType;
const utf8 = new TextEncoder();

function encodeAttribute(name: string, a: AttrValue, where: string): onnx.IAttributeProto {
  switch (a.kind) {
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "int":
      return { name, type: T.INT, i: a.value };
    case "string":
      return { name, type: T.STRING, s: utf8.encode(a.value) };
    case "tensor":
      return { name, type: T.TENSOR, t: encodeTensor(a.value.tensor, "", a.value.type) };
    case "floats":
      return { name, type: T.FLOATS, floats: a.value };
    case "ints":
      return { name, type: T.INTS, ints: a.value };
    case "strings":
      return { name, type: T.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
    default:
      throw new NotSupportedError(`${where}: attribute "${name}" (${a.value}) cannot be written back`);
  }
}

function valueInfo(io: GraphIO): onnx.IValueInfoProto {
  return {
    name: io.name,
    type: {
      tensorType: {
        elemType: io.type || DataType.FLOAT,
        ...(io.shape
          ? {
              shape: {
                dim: io.shape.map((d) =>
                  typeof d === "number" ? { dimValue: d } : d === null ? {} : { dimParam: d },
                ),
              },
            }
          : {}),
      },
    },
  };
}

/** Encode an imported model with its current weights. */
export function encodeOnnxModule(model: OnnxModule, metadata: Record<string, string> = {}): Uint8Array {
  const initializer = [...model.initializerValues()].map(([name, v]) => encodeTensor(v.tensor, name, v.type));
  const node = model.nodes.map((n) => ({
    opType: n.opType,
    domain: n.domain,
    name: n.name,
    input: n.inputs,
    output: n.outputs,
    attribute: [...n.attributes].map(([k, a]) => encodeAttribute(k, a, `${model.source}: node "${n.name}"`)),
  }));
  const domains = new Set(model.nodes.map((n) => n.domain).filter((d) => d !== "" && d !== "ai.onnx"));
  const allMetadata = { ...model.metadata, ...metadata };
  return proto.ModelProto.encode({
    irVersion: 8,
    producerName: "nabla",
    producerVersion: "0.1.0",
    opsetImport: [
      { domain: "", version: model.opset },
      ...[...domains].map((domain) => ({ domain, version: 1 })),
    ],
    metadataProps: Object.entries(allMetadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: "imported",
      node,
      initializer,
      input: model.inputs.map(valueInfo),
      output: model.outputs.map(valueInfo),
    },
  }).finish();
}
