// save(module, exampleInput, path, {opset, dynamicBatch}): trace, assemble the ModelProto,
// write it atomically.
import { onnx } from "../protobuf.js";
import type { Tensor } from "../../../tensor/tensor.js";
import { ValueError } from "../../../errors.js";
import type { AnyModule } from "../../../nn/module.js";
import { writeFileAtomic } from "../../atomic.js";
import { MAX_OPSET, MIN_OPSET } from "../decode.js";
import { elemType } from "./graph-builder.js";
import { traceModule } from "./trace.js";
import { OnnxModule } from "../onnx-module.js";
import { encodeOnnxModule } from "./reexport.js";
import { noGrad } from "../../../autograd/engine.js";

export interface SaveOptions {
  /** Default-domain opset to target (11–18; default 17). */
  opset?: number;
  /** Mark dim 0 of the input and output as a symbolic "batch" (default true). */
  dynamicBatch?: boolean;
  inputName?: string;
  outputName?: string;
  /** Stored in the model's metadata_props. */
  metadata?: Record<string, string>;
}

/** IR version 8 is what ONNX 1.13/1.14 write for opsets up to 18. */
const IR_VERSION = 8;

/** Trace `module` on `exampleInput` and encode it as ONNX bytes. */
export function exportOnnx(
  module: AnyModule | { call(x: Tensor): Tensor },
  exampleInput: Tensor,
  options: SaveOptions = {},
): Uint8Array {
  return traceToOnnx(module, exampleInput, options).bytes;
}

/** exportOnnx that also returns the module's output on the example (computed while tracing). */
export function traceToOnnx(
  module: AnyModule | { call(x: Tensor): Tensor },
  exampleInput: Tensor,
  options: SaveOptions = {},
): { bytes: Uint8Array; output: Tensor } {
  if (module instanceof OnnxModule) return reexport(module, exampleInput, options);
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new ValueError(`ONNX export: opset must be between ${MIN_OPSET} and ${MAX_OPSET}, got ${opset}`);
  }
  const dynamicBatch = options.dynamicBatch ?? true;
  const inputName = options.inputName ?? "input";
  const outputName = options.outputName ?? "output";
  const traced = traceModule(module as AnyModule, exampleInput, opset, inputName);
  const { builder } = traced;

  // Give the graph output its public name: rename the producing node's output, or add an
  // Identity when the output is an input or a constant.
  const producer = builder.nodes.find((n) => n.output?.includes(traced.outputName));
  if (producer && traced.outputName !== inputName) {
    producer.output = producer.output!.map((o) => (o === traced.outputName ? outputName : o));
  } else {
    builder.nodes.push({
      opType: "Identity",
      name: "output_identity",
      input: [traced.outputName],
      output: [outputName],
    });
  }

  const batch = exampleInput.shape[0];
  const valueInfo = (name: string, t: Tensor): onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: elemType(t.dtype),
        shape: {
          dim: t.shape.map((d, i) =>
            dynamicBatch && i === 0 && d === batch ? { dimParam: "batch" } : { dimValue: d },
          ),
        },
      },
    },
  });

  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    producerName: "nabla",
    producerVersion: "0.1.0",
    opsetImport: [{ domain: "", version: opset }],
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: (module as object).constructor.name,
      node: builder.nodes,
      initializer: builder.initializers,
      input: [valueInfo(inputName, traced.input)],
      output: [valueInfo(outputName, traced.output)],
    },
  };
  return { bytes: onnx.ModelProto.encode(model).finish(), output: traced.output.detach() };
}

/** Export `module` to an .onnx file (eval-mode forward, traced on `exampleInput`). */
export function save(
  module: AnyModule | { call(x: Tensor): Tensor },
  exampleInput: Tensor,
  path: string,
  options: SaveOptions = {},
): void {
  writeFileAtomic(path, exportOnnx(module, exampleInput, options));
}

/** An imported model is written back as its own graph, at its own opset, with current weights. */
function reexport(
  module: OnnxModule,
  exampleInput: Tensor,
  options: SaveOptions,
): { bytes: Uint8Array; output: Tensor } {
  if (options.opset !== undefined && options.opset !== module.opset) {
    throw new ValueError(
      `ONNX export: an imported model is saved at its own opset ${module.opset}, not ${options.opset}`,
    );
  }
  const wasTraining = module.training;
  module.eval();
  try {
    const output = noGrad(() => module.call(exampleInput));
    return { bytes: encodeOnnxModule(module, options.metadata), output };
  } finally {
    module.train(wasTraining);
  }
}
