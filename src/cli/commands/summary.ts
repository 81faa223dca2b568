// `nabla summary --model NAME` — the layer table of a zoo model: output shapes, parameters, MACs.
//
//   nabla summary --model resnet18                         ImageNet input 3×224×224
//   nabla summary --model fmnist-cnn --json
//   nabla summary --model resnet20 --input 1,28,28 --num-classes 5
import type { Command } from "commander";
import { createModel, listModels, modelInfo } from "../../models/index.js";
import { formatSummary, summary, type ModelSummary } from "../../compress/summary.js";
import { ValueError } from "../../errors.js";
import { parseInteger } from "../parse.js";
import { load, describeOnnx, formatOnnxDescription } from "../../io/onnx/index.js";
import { measureSpeed } from "../../compress/measure.js";
import { activeBackendName, initBackend } from "../backend.js";

interface SummaryFlags {
  model?: string;
  onnx?: string;
  input?: string;
  json?: boolean;
  numClasses?: string;
  measure?: boolean;
}

export function register(program: Command): void {
  program
    .command("summary")
    .description("layer table of a zoo model (output shapes, parameters, MACs) from a batch-1 forward pass")
    .option("--onnx <file>", "describe an ONNX model instead: inputs, outputs, ops, parameters")
    .option(
      "--model <name>",
      `model name: ${listModels()
        .map((m) => m.name)
        .join(", ")}`,
    )
    .option("--input <C,H,W>", "input shape without the batch dim (default: the model's own, e.g. 3,224,224)")
    .option("--num-classes <n>", "number of output classes (default: the model's own)")
    .option("--json", "print one JSON object")
    .option(
      "--measure",
      "also time batch-1 latency (median of 50) and batch-256 throughput (slow for big models)",
    )
    .action((flags: SummaryFlags) => {
      if (flags.onnx !== undefined) {
        const d = describeOnnx(load(flags.onnx));
        process.stdout.write(flags.json ? `${JSON.stringify(d)}\n` : `${formatOnnxDescription(d)}\n`);
        return;
      }
      if (flags.model === undefined) throw new ValueError("give --model <name> or --onnx <file>");
      const info = modelInfo(flags.model);
      const input = flags.input === undefined ? info.defaultInput : parseShape(flags.input);
      const numClasses =
        flags.numClasses === undefined ? undefined : parseInteger("--num-classes", flags.numClasses, 1);
      const model = createModel(flags.model, {
        inChannels: input[0]!,
        ...(numClasses === undefined ? {} : { numClasses }),
        ...(input.length === 3 && input[1] === input[2] ? { inputSize: input[1]! } : {}),
      });
      const s = summary(model, input);
      let speed = null;
      if (flags.measure) {
        initBackend();
        speed = { backend: activeBackendName(), ...measureSpeed(model, input) };
      }
      const text = speed
        ? `${formatSummary(s)}\nLatency (batch 1, median of ${speed.latencyRuns}, ${speed.backend}): ${speed.latencyMs.toFixed(3)} ms\n` +
          `Throughput (batch ${speed.batch}): ${speed.throughput.toFixed(1)} images/s`
        : formatSummary(s);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ ...toJson(flags.model, s), ...(speed ? { speed } : {}) })}\n`
          : `${text}\n`,
      );
    });
}

function toJson(name: string, s: ModelSummary) {
  return {
    model: name,
    input: s.input,
    params: s.params,
    trainable_params: s.trainableParams,
    macs: s.macs,
    flops: s.flops,
    activation_bytes: s.activationBytes,
    weight_bytes: s.weightBytes,
    layers: s.rows.map((r) => ({
      name: r.name,
      type: r.type,
      output_shape: r.outputShape,
      params: r.params,
      macs: r.macs,
      activation_bytes: r.activationBytes,
    })),
  };
}

function parseShape(text: string): number[] {
  const dims = text.split(",").map((d) => d.trim());
  if (dims.length !== 3 || !dims.every((d) => /^[1-9]\d*$/.test(d)))
    throw new ValueError(`--input must be C,H,W with positive integers, e.g. 3,32,32; got "${text}"`);
  return dims.map(Number);
}
