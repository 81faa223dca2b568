// `nabla export` — write a trained model as ONNX, and the model loading that every command
// taking `--onnx` / `--checkpoint` / `--model` shares (loadModelForCli).
//
//   nabla export --checkpoint runs/fmnist --onnx fmnist.onnx
//   nabla export --checkpoint resnet18.safetensors --model resnet18 --onnx r18.onnx --opset 13
//
// The ONNX file carries the run's description (model, classes, input, normalisation) in its
// metadata under "nabla.meta", so `nabla eval --onnx fmnist.onnx` needs nothing else.
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { load, save, parseModel, exportOnnx } from "../../io/onnx/index.js";
import { loadSafetensors } from "../../io/safetensors.js";
import { ONNX_META_KEY, onnxRunMeta, restoreModel, type RunMeta } from "../../train/restore.js";
import { openData } from "../../train/setup.js";
import { createModel, listModels, modelInfo } from "../../models/index.js";
import type { AnyModule, Module } from "../../nn/module.js";
import { StateDictError } from "../../nn/module.js";
import { noGrad } from "../../autograd/engine.js";
import { randn } from "../../tensor/creation.js";
import { Generator } from "../../tensor/random.js";
import type { Tensor } from "../../tensor/tensor.js";
import { FormatError, ValueError } from "../../errors.js";
import { parseInteger } from "../parse.js";

/** ONNX metadata key holding the JSON run description. */
export const META_KEY = ONNX_META_KEY;

export interface CliModelOptions {
  /** An .onnx file (from `nabla export`, PyTorch, ...). */
  onnx?: string | undefined;
  /** A run folder or checkpoint written by `nabla train`, or a plain .safetensors state dict. */
  checkpoint?: string | undefined;
  /** Zoo model name: required for a plain state dict, checked against a checkpoint's. */
  model?: string | undefined;
}

export interface CliModel {
  /** In eval mode. */
  model: Module<[Tensor], Tensor>;
  /** What is known of the run (all of it for nabla checkpoints and nabla-exported ONNX). */
  meta: Partial<RunMeta>;
  /** The [C, H, W] input the model takes, when known. */
  input: [number, number, number] | null;
  /** Checkpoint epoch (0 when not from a nabla checkpoint). */
  epoch: number;
  /** Where the model came from, for messages. */
  source: string;
}

/** Load the model a CLI command was pointed at: exactly one of onnx / checkpoint. */
export function loadModelForCli(options: CliModelOptions): CliModel {
  if ((options.onnx === undefined) === (options.checkpoint === undefined)) {
    throw new ValueError("give exactly one of --onnx <file> and --checkpoint <path>");
  }
  if (options.onnx !== undefined) return fromOnnx(options.onnx);
  return fromCheckpoint(options.checkpoint!, options.model);
}

function fromOnnx(path: string): CliModel {
  const model = load(path).eval();
  const meta = onnxRunMeta(model.metadata, path);
  const dims = model.inputs[0]?.shape ?? null;
  const chw = dims && dims.length === 4 ? dims.slice(1) : null;
  const input =
    meta.input ??
    (chw && chw.every((d) => typeof d === "number" && d > 0) ? (chw as [number, number, number]) : null);
  return { model, meta, input, epoch: 0, source: path };
}

function fromCheckpoint(path: string, name: string | undefined): CliModel {
  if (!existsSync(path)) throw new FormatError(`${path}: no such checkpoint`);
  let restored: ReturnType<typeof restoreModel> | null = null;
  try {
    restored = restoreModel(path);
  } catch (err) {
    // A plain state dict (e.g. saved from PyTorch) has no nabla sidecar: build the model by name.
    const plain = !statSync(path).isDirectory() && path.endsWith(".safetensors");
    if (!(err instanceof FormatError) || !plain) throw err;
  }
  if (restored) {
    if (name !== undefined && name !== restored.meta.model) {
      throw new ValueError(`${path} holds a ${restored.meta.model}, not a ${name}`);
    }
    const { model, meta, epoch } = restored;
    return { model: model as Module<[Tensor], Tensor>, meta, input: meta.input, epoch, source: path };
  }
  if (name === undefined) {
    throw new ValueError(
      `${path} is a plain state dict without a nabla sidecar; say which model it is with --model NAME`,
    );
  }
  const { model, input } = modelFromStateDict(name, path);
  return { model, meta: { model: name, input }, input, epoch: 0, source: path };
}

/**
 * Build zoo model `name` sized for a state dict (input channels from the first conv weight,
 * classes from the last Linear, fmnist-cnn's input side from its first Linear) and load it.
 */
function modelFromStateDict(
  name: string,
  path: string,
): { model: Module<[Tensor], Tensor>; input: [number, number, number] } {
  const info = modelInfo(name);
  const { tensors } = loadSafetensors(path);
  const probe = createModel(name, info.name === "fmnist-cnn" ? { inputSize: 8 } : {});
  const keys = [...probe.stateDict()].filter(([k]) => k in tensors);
  const firstConv = keys.find(([, t]) => t.ndim === 4);
  const lastLinear = [...keys].reverse().find(([, t]) => t.ndim === 2);
  const inChannels = firstConv ? tensors[firstConv[0]]!.shape[1]! : info.defaultInput[0];
  const numClasses = lastLinear ? tensors[lastLinear[0]]!.shape[0]! : info.defaultNumClasses;
  let side = info.defaultInput[1];
  if (info.name === "fmnist-cnn") {
    const firstLinear = keys.find(([, t]) => t.ndim === 2);
    const features = firstLinear ? tensors[firstLinear[0]]!.shape[1]! : 64 * 7 * 7;
    side = 4 * Math.round(Math.sqrt(features / 64));
  }
  const model = createModel(name, { numClasses, inChannels, inputSize: side });
  try {
    model.loadStateDict(tensors);
  } catch (err) {
    if (err instanceof StateDictError) err.message = `${path}: ${err.message}`;
    throw err;
  }
  return { model: model.eval() as Module<[Tensor], Tensor>, input: [inChannels, side, side] };
}

/**
 * Fill in what the file did not say (dataset classes and normalisation) from the dataset, for
 * commands like `eval` that need a complete run description.
 */
export async function completeRunMeta(
  cli: CliModel,
  options: { data?: string; root?: string } = {},
): Promise<RunMeta> {
  const meta = cli.meta;
  const data = options.data ?? meta.data;
  if (data === undefined)
    throw new ValueError(`${cli.source} does not say which dataset it was trained on; pass --data`);
  const input = meta.input ?? cli.input;
  if (!input)
    throw new ValueError(
      `${cli.source}: the model's input size is unknown (the ONNX input has symbolic dims)`,
    );
  if (meta.classes && meta.normalization) return { ...(meta as RunMeta), data, input };
  const opened = await openData(data, {
    ...(options.root !== undefined ? { root: options.root } : {}),
    channels: input[0] as 1 | 3,
    size: input[1],
  });
  return {
    model: meta.model ?? cli.source,
    data,
    classes: meta.classes ?? [...opened.classes],
    input,
    normalization: meta.normalization ?? opened.normalization,
  };
}

interface ExportFlags {
  checkpoint: string;
  onnx: string;
  model?: string;
  opset: string;
  fixedBatch?: boolean;
}

export function register(program: Command): void {
  program
    .command("export")
    .description("write a trained model as ONNX (eval mode; BatchNorm kept as BatchNormalization)")
    .requiredOption(
      "--checkpoint <path>",
      "a run folder or checkpoint from `nabla train`, or a .safetensors state dict",
    )
    .requiredOption("--onnx <file>", "the .onnx file to write")
    .option(
      "--model <name>",
      `zoo model of a plain state dict: ${listModels()
        .map((m) => m.name)
        .join(", ")}`,
    )
    .option("--opset <n>", "ONNX opset (11–18)", "17")
    .option("--fixed-batch", "declare batch size 1 instead of a symbolic batch dim")
    .action((flags: ExportFlags) => {
      const opset = parseInteger("--opset", flags.opset, 1);
      const cli = loadModelForCli({ checkpoint: flags.checkpoint, model: flags.model });
      if (!cli.input) throw new ValueError(`${cli.source}: unknown input size`);
      const x = randn([1, ...cli.input], { generator: new Generator(0) });
      const metadata = { [META_KEY]: JSON.stringify(cli.meta) };
      save(cli.model as AnyModule, x, flags.onnx, { opset, dynamicBatch: !flags.fixedBatch, metadata });
      // Check the file: re-import it and compare with the model on the example input.
      const back = load(flags.onnx).eval();
      const expected = noGrad(() => cli.model.call(x));
      const got = noGrad(() => back.call(x));
      const diff = Math.max(...Array.from(got.data, (v, i) => Math.abs(v - expected.data[i]!)));
      process.stdout.write(
        `wrote ${flags.onnx}: ${cli.meta.model ?? "model"} (${cli.input.join("×")} input, opset ${opset}, ` +
          `${back.nodes.length} nodes, ${back.numParameters().toLocaleString("en")} parameters); ` +
          `re-imported output differs by at most ${diff.toExponential(1)}\n`,
      );
    });
}

// Re-exported for scripts that want the bytes rather than a file.
export { exportOnnx, parseModel };
