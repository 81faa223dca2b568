// Bytes → a validated, plain description of an ONNX model: nodes with decoded attributes,
// initializers as Values, graph inputs/outputs. Everything here is structural checking; running
// the graph is the interpreter's job (onnx-module.ts).
import { onnx } from "./protobuf.js";
import { FormatError, NotSupportedError } from "../../errors.js";
import { decodeTensor, int64, type DecodeContext } from "./tensor-proto.js";
import type { Value } from "./values.js";
import type { ExternalDataSource } from "./external-data.js";

/** Opsets of the default domain this importer implements. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 18;

export type AttrValue =
  | { kind: "float"; value: number }
  | { kind: "int"; value: number }
  | { kind: "string"; value: string }
  | { kind: "tensor"; value: Value }
  | { kind: "floats"; value: number[] }
  | { kind: "ints"; value: number[] }
  | { kind: "strings"; value: string[] }
  | { kind: "unsupported"; value: string };

export interface OnnxNode {
  /** The node's name, or "#<index>" when the file gives none. */
  name: string;
  opType: string;
  domain: string;
  /** Input names; "" marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, AttrValue>;
}

export interface GraphIO {
  name: string;
  type: number;
  /** Dimensions: a number, a symbolic name, or null when unknown. */
  shape: (number | string | null)[] | null;
}

export interface OnnxModelProto {
  source: string;
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opset: number;
  producer: string;
  graphName: string;
  inputs: GraphIO[];
  outputs: GraphIO[];
  initializers: Map<string, Value>;
  nodes: OnnxNode[];
  /** The model's metadata_props (nabla's export stores its run description under "nabla.meta"). */
  metadata: Record<string, string>;
}

export interface DecodeOptions {
  /** Names the model in error messages (a path or "<buffer>"). */
  source?: string;
  /** Folder the model came from; needed for external data. */
  external?: ExternalDataSource | null;
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

/** Decode and validate ONNX bytes. Throws FormatError / NotSupportedError naming the problem. */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): OnnxModelProto {
  const source = options.source ?? "<buffer>";
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    // protobufjs throws RangeError/Error for truncated or garbled input ("index out of range").
    throw new FormatError(`${source}: not a valid ONNX protobuf (${(err as Error).message})`);
  }
  const graph = model.graph;
  if (!graph) throw new FormatError(`${source}: the model has no graph (is this an ONNX file?)`);
  const opset = defaultOpset(model, source);
  const ctx: DecodeContext = { source, external: options.external ?? null };

  const initializers = new Map<string, Value>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? "";
    if (!name) throw new FormatError(`${source}: an initializer has no name`);
    if (initializers.has(name)) throw new FormatError(`${source}: initializer "${name}" is defined twice`);
    initializers.set(name, decodeTensor(t, ctx, "initializer"));
  }
  if ((graph.sparseInitializer ?? []).length > 0) {
    throw new NotSupportedError(`${source}: sparse initializers are not supported`);
  }

  // Older exporters also list initializers as graph inputs; those are not real inputs.
  const inputs = (graph.input ?? [])
    .filter((v) => !initializers.has(v.name ?? ""))
    .map((v) => graphIO(v, source));
  const outputs = (graph.output ?? []).map((v) => graphIO(v, source));

  const defined = new Set<string>([...initializers.keys(), ...inputs.map((i) => i.name)]);
  const nodes: OnnxNode[] = (graph.node ?? []).map((n, index) => {
    const node: OnnxNode = {
      name: n.name || `#${index}`,
      opType: n.opType ?? "",
      domain: n.domain ?? "",
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attributes: new Map(),
    };
    const where = `${source}: node "${node.name}" (${node.opType || "no op_type"})`;
    if (!node.opType) throw new FormatError(`${where}: has no op_type`);
    for (const name of node.inputs) {
      if (name !== "" && !defined.has(name)) {
        throw new FormatError(
          `${where}: input "${name}" is not produced by any earlier node, initializer or graph input (nodes must be topologically sorted)`,
        );
      }
    }
    for (const name of node.outputs) {
      if (name === "") continue;
      if (defined.has(name)) throw new FormatError(`${where}: output "${name}" is already defined`);
      defined.add(name);
    }
    for (const a of n.attribute ?? []) {
      node.attributes.set(a.name ?? "", decodeAttribute(a, ctx, `${where} attribute "${a.name}"`));
    }
    return node;
  });
  for (const o of outputs) {
    if (!defined.has(o.name)) throw new FormatError(`${source}: graph output "${o.name}" is never produced`);
  }
  if (inputs.length === 0) throw new FormatError(`${source}: the graph has no inputs`);
  if (outputs.length === 0) throw new FormatError(`${source}: the graph has no outputs`);

  return {
    source,
    irVersion: int64(model.irVersion),
    opset,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(" "),
    graphName: graph.name ?? "",
    inputs,
    outputs,
    initializers,
    nodes,
    metadata: Object.fromEntries((model.metadataProps ?? []).map((e) => [e.key ?? "", e.value ?? ""])),
  };
}

function defaultOpset(model: onnx.ModelProto, source: string): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  if (!entry) throw new FormatError(`${source}: the model imports no default-domain opset`);
  const version = int64(entry.version);
  if (version < MIN_OPSET || version > MAX_OPSET) {
    throw new NotSupportedError(
      `${source}: opset ${version} is not supported (nabla imports opsets ${MIN_OPSET}–${MAX_OPSET}); ` +
        `re-export with e.g. torch.onnx.export(..., opset_version=${Math.min(Math.max(version, MIN_OPSET), MAX_OPSET)})`,
    );
  }
  return version;
}

function graphIO(v: onnx.IValueInfoProto, source: string): GraphIO {
  const name = v.name ?? "";
  if (!name) throw new FormatError(`${source}: a graph input or output has no name`);
  const tensorType = v.type?.tensorType;
  const shape = tensorType?.shape
    ? (tensorType.shape.dim ?? []).map((d) =>
        d.dimValue !== null && d.dimValue !== undefined ? int64(d.dimValue) : (d.dimParam ?? null),
      )
    : null;
  return { name, type: tensorType?.elemType ?? 0, shape };
}

function decodeAttribute(a: onnx.IAttributeProto, ctx: DecodeContext, what: string): AttrValue {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case T.FLOAT:
      return { kind: "float", value: a.f ?? 0 };
    case T.INT:
      return { kind: "int", value: int64(a.i) };
    case T.STRING:
      return { kind: "string", value: utf8.decode(a.s ?? new Uint8Array()) };
    case T.TENSOR:
      if (!a.t) throw new FormatError(`${what}: tensor attribute has no tensor`);
      return { kind: "tensor", value: decodeTensor(a.t, ctx, "attribute tensor") };
    case T.FLOATS:
      return { kind: "floats", value: [...(a.floats ?? [])] };
    case T.INTS:
      return { kind: "ints", value: (a.ints ?? []).map(int64) };
    case T.STRINGS:
      return { kind: "strings", value: (a.strings ?? []).map((s) => utf8.decode(s)) };
    default:
      // Graphs (If/Loop bodies), sparse tensors, type protos: no supported op takes them.
      return { kind: "unsupported", value: `attribute type ${a.type}` };
  }
}
