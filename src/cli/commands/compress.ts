// `nabla compress` — compress a trained model and report size, MACs, speed and accuracy before
// and after (table on stdout; report.json, report.svg/png and model.safetensors in --out).
//
//   nabla compress --checkpoint runs/fmnist --quantize int8 --calib 512 --out runs/fmnist-int8
//   nabla compress --checkpoint runs/fmnist --prune-channels 0.5 --finetune 3 --out runs/fmnist-p50
//   nabla compress --checkpoint runs/fmnist --prune-channels 0.5 --finetune 3 --quantize int8 --out DIR
import type { Command } from "commander";
import { compress, type CompressOptions } from "../../compress/pipeline.js";
import { formatReport } from "../../compress/report.js";
import { ValueError } from "../../errors.js";
import { initBackend } from "../backend.js";
import { parseInteger, parsePositiveNumber } from "../parse.js";

interface CompressFlags {
  keepLinear?: boolean;
  checkpoint?: string;
  onnx?: string;
  data?: string;
  foldBn?: boolean;
  pruneChannels?: string;
  prune?: string;
  pruneScope: string;
  pruneSteps: string;
  quantize?: string;
  calib: string;
  calibMethod: string;
  qat?: string;
  distillFrom?: string;
  temperature: string;
  alpha: string;
  finetune?: string;
  lr: string;
  batchSize: string;
  augment?: boolean;
  latencyRuns: string;
  out?: string;
  json?: boolean;
}

function fraction(flag: string, text: string): number {
  const v = Number(text);
  if (!(v > 0 && v < 1)) throw new ValueError(`${flag} must be a fraction in (0, 1), got "${text}"`);
  return v;
}

export function register(program: Command): void {
  program
    .command("compress")
    .description(
      "prune, quantize, distill a trained model; report size, MACs, latency, accuracy before/after",
    )
    .option("--checkpoint <path>", "a run folder written by `nabla train`, or a checkpoint in it")
    .option("--onnx <file>", "start from an ONNX file written by `nabla export` instead of a checkpoint")
    .option(
      "--data <name|dir>",
      "dataset for fine-tuning, calibration and testing (default: the training one)",
    )
    .option("--fold-bn", "fold BatchNorm into the preceding conv/linear")
    .option("--prune-channels <r>", "structured pruning: remove this fraction of channels (L1 norm)")
    .option("--prune <s>", "unstructured magnitude pruning to this sparsity")
    .option("--prune-scope <scope>", "magnitude pruning per 'layer' or 'global'", "layer")
    .option("--prune-steps <k>", "reach the pruning target in k prune → fine-tune steps", "1")
    .option(
      "--keep-linear",
      "structured pruning: keep every hidden unit of Linear layers (prune conv channels only)",
    )
    .option("--quantize <type>", "post-training quantization: int8")
    .option("--calib <n>", "calibration images for --quantize", "512")
    .option("--calib-method <m>", "activation ranges: minmax or percentile", "minmax")
    .option("--qat <epochs>", "quantization-aware training epochs before --quantize")
    .option("--distill-from <path>", "teacher checkpoint: fine-tune with knowledge distillation")
    .option("--temperature <T>", "distillation temperature", "4")
    .option("--alpha <a>", "weight of the distillation term", "0.7")
    .option("--finetune <epochs>", "fine-tuning epochs after each pruning step")
    .option("--lr <x>", "fine-tuning learning rate (SGD, momentum 0.9)", "0.01")
    .option("--batch-size <n>", "fine-tuning batch size", "64")
    .option("--augment", "random crop + horizontal flip on the fine-tuning images")
    .option("--latency-runs <n>", "batch-1 runs for the latency median (0: skip speed)", "50")
    .option("--out <dir>", "write model.safetensors, report.json and report.svg/png here")
    .option("--json", "print the report as JSON")
    .action(async (flags: CompressFlags) => {
      initBackend();
      if (flags.quantize !== undefined && flags.quantize !== "int8")
        throw new ValueError(`--quantize supports int8, got "${flags.quantize}"`);
      if (flags.pruneScope !== "layer" && flags.pruneScope !== "global")
        throw new ValueError(`--prune-scope must be layer or global, got "${flags.pruneScope}"`);
      if (flags.calibMethod !== "minmax" && flags.calibMethod !== "percentile")
        throw new ValueError(`--calib-method must be minmax or percentile, got "${flags.calibMethod}"`);
      const options: CompressOptions = {
        ...(flags.checkpoint !== undefined ? { checkpoint: flags.checkpoint } : {}),
        ...(flags.onnx !== undefined ? { onnx: flags.onnx } : {}),
        foldBn: flags.foldBn === true,
        pruneScope: flags.pruneScope,
        pruneSteps: parseInteger("--prune-steps", flags.pruneSteps, 1),
        pruneLinear: flags.keepLinear !== true,
        calib: parseInteger("--calib", flags.calib, 1),
        calibMethod: flags.calibMethod,
        temperature: parsePositiveNumber("--temperature", flags.temperature),
        alpha: Number(flags.alpha),
        lr: parsePositiveNumber("--lr", flags.lr),
        batchSize: parseInteger("--batch-size", flags.batchSize, 1),
        augment: flags.augment ?? false,
        latencyRuns: parseInteger("--latency-runs", flags.latencyRuns, 0),
        log: (line) => process.stderr.write(`${line}\n`),
        ...(flags.data !== undefined ? { data: flags.data } : {}),
        ...(flags.pruneChannels !== undefined
          ? { pruneChannels: fraction("--prune-channels", flags.pruneChannels) }
          : {}),
        ...(flags.prune !== undefined ? { prune: fraction("--prune", flags.prune) } : {}),
        ...(flags.quantize !== undefined ? { quantize: "int8" as const } : {}),
        ...(flags.qat !== undefined ? { qat: parseInteger("--qat", flags.qat, 1) } : {}),
        ...(flags.distillFrom !== undefined ? { distillFrom: flags.distillFrom } : {}),
        ...(flags.finetune !== undefined ? { finetune: parseInteger("--finetune", flags.finetune, 0) } : {}),
        ...(flags.out !== undefined ? { outDir: flags.out } : {}),
      };
      const report = await compress(options);
      process.stdout.write(flags.json ? `${JSON.stringify(report)}\n` : `${formatReport(report)}\n`);
    });
}
