// Accumulates the nodes and initializers of an ONNX graph being exported: unique value names,
// typed attribute constructors, and initializers de-duplicated by tensor identity (a shared
// weight is stored once).
import type { onnx } from "../protobuf.js";
import type { Tensor } from "../../../tensor/tensor.js";
import type { DType } from "../../../tensor/dtype.js";
import { fromArray } from "../../../tensor/creation.js";
import { encodeTensor } from "../tensor-proto.js";
import { DataType } from "../values.js";

const AttrType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

export const attr = {
  int: (name: string, i: number): onnx.IAttributeProto => ({ name, type: AttrType.INT, i }),
  float: (name: string, f: number): onnx.IAttributeProto => ({ name, type: AttrType.FLOAT, f }),
  ints: (name: string, ints: readonly number[]): onnx.IAttributeProto => ({
    name,
    type: AttrType.INTS,
    ints: [...ints],
  }),
  string: (name: string, s: string): onnx.IAttributeProto => ({
    name,
    type: AttrType.STRING,
    s: new TextEncoder().encode(s),
  }),
};

export function elemType(dtype: DType): number {
  switch (dtype) {
    case "float32":
      return DataType.FLOAT;
    case "float64":
      return DataType.DOUBLE;
    case "int32":
      return DataType.INT32;
    case "int8":
      return DataType.INT8;
    case "uint8":
      return DataType.UINT8;
    case "bool":
      return DataType.BOOL;
  }
}

export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private readonly tensorNames = new Map<Tensor, string>();
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(readonly opset: number) {}

  /** Reserve a name, adding a numeric suffix if it is taken. */
  fresh(base: string): string {
    let name = base;
    let k = this.counters.get(base) ?? 1;
    while (this.used.has(name)) name = `${base}_${k++}`;
    this.counters.set(base, k);
    this.used.add(name);
    return name;
  }

  /** Append a node; returns its output names. */
  node(
    opType: string,
    inputs: readonly string[],
    attributes: onnx.IAttributeProto[] = [],
    outputs = 1,
  ): string[] {
    const base = opType.toLowerCase();
    const outNames = Array.from({ length: outputs }, () => this.fresh(`${base}_out`));
    this.nodes.push({
      opType,
      name: this.fresh(opType),
      input: [...inputs],
      output: outNames,
      attribute: attributes,
    });
    return outNames;
  }

  /** Single-output node. */
  op(opType: string, inputs: readonly string[], attributes: onnx.IAttributeProto[] = []): string {
    return this.node(opType, inputs, attributes)[0]!;
  }

  /** The initializer holding `tensor` (stored once per tensor object). */
  initializer(tensor: Tensor, preferredName = "const"): string {
    const known = this.tensorNames.get(tensor);
    if (known) return known;
    const name = this.fresh(preferredName);
    this.tensorNames.set(tensor, name);
    this.initializers.push(encodeTensor(tensor, name, elemType(tensor.dtype)));
    return name;
  }

  /** A fresh int64 initializer (shapes, axes, pads). */
  ints(values: readonly number[], name = "shape", scalar = false): string {
    const n = this.fresh(name);
    const t = fromArray(Float64Array.from(values), scalar ? [] : [values.length]);
    this.initializers.push(encodeTensor(t, n, DataType.INT64));
    return n;
  }

  /** A fresh scalar initializer of a float dtype. */
  scalar(value: number, dtype: DType, name = "scalar"): string {
    const n = this.fresh(name);
    const data = dtype === "float64" ? Float64Array.of(value) : Float32Array.of(value);
    this.initializers.push(encodeTensor(fromArray(data, []), n, elemType(dtype)));
    return n;
  }
}
