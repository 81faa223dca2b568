// A readable account of an imported ONNX model for `nabla summary --onnx`: where it came from,
// its inputs and outputs, how many nodes of each op, and its parameters.
import type { OnnxModule } from "./onnx-module.js";

export interface OnnxDescription {
  source: string;
  producer: string;
  opset: number;
  inputs: { name: string; shape: (number | string | null)[] | null }[];
  outputs: { name: string; shape: (number | string | null)[] | null }[];
  nodes: number;
  ops: Record<string, number>;
  params: number;
  buffers: number;
  metadata: Record<string, string>;
}

export function describeOnnx(model: OnnxModule): OnnxDescription {
  const ops: Record<string, number> = {};
  for (const n of model.nodes) ops[n.opType] = (ops[n.opType] ?? 0) + 1;
  let buffers = 0;
  for (const b of model.buffers()) buffers += b.numel;
  return {
    source: model.source,
    producer: model.producer,
    opset: model.opset,
    inputs: model.inputs.map((i) => ({ name: i.name, shape: i.shape })),
    outputs: model.outputs.map((o) => ({ name: o.name, shape: o.shape })),
    nodes: model.nodes.length,
    ops,
    params: model.numParameters(),
    buffers,
    metadata: { ...model.metadata },
  };
}

export function formatOnnxDescription(d: OnnxDescription): string {
  const shape = (s: (number | string | null)[] | null) =>
    s ? `[${s.map((v) => v ?? "?").join(", ")}]` : "[?]";
  const byCount = Object.entries(d.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const width = Math.max(...byCount.map(([op]) => op.length), 2);
  return [
    `${d.source}: ONNX opset ${d.opset}${d.producer ? `, produced by ${d.producer}` : ""}`,
    ...d.inputs.map((i) => `  input  ${i.name}: ${shape(i.shape)}`),
    ...d.outputs.map((o) => `  output ${o.name}: ${shape(o.shape)}`),
    `${d.nodes} nodes:`,
    ...byCount.map(([op, n]) => `  ${op.padEnd(width)} ${String(n).padStart(5)}`),
    `parameters: ${d.params.toLocaleString("en")} (trainable in nabla)` +
      (d.buffers > 0 ? `, buffers: ${d.buffers.toLocaleString("en")} (BatchNorm running statistics)` : ""),
  ].join("\n");
}
