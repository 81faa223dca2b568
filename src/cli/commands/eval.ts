// `nabla eval` — test a trained model on a dataset's test split: accuracy, top-5, per-class
// precision and recall, and the confusion matrix (printed, and written as SVG/PNG).
//
//   nabla eval --checkpoint runs/fmnist
//   nabla eval --checkpoint runs/fmnist/best.safetensors --data fashion-mnist --json
import type { Command } from "commander";
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { evaluate } from "../../train/fit.js";
import { checkpointFolder } from "../../train/restore.js";
import { completeRunMeta, loadModelForCli } from "./export.js";
import { makeLoaders, openData } from "../../train/setup.js";
import { crossEntropy } from "../../nn/losses.js";
import { confusionMatrixSvg, writePlot } from "../../train/plots.js";
import { ValueError } from "../../errors.js";
import { parseInteger } from "../parse.js";

interface EvalFlags {
  checkpoint?: string;
  onnx?: string;
  data?: string;
  root?: string;
  batchSize: string;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("eval")
    .description("test a trained model: accuracy, top-5, per-class precision/recall, confusion matrix")
    .option("--checkpoint <path>", "a run folder written by `nabla train`, or a checkpoint file in it")
    .option("--onnx <file>", "an ONNX model instead (from `nabla export`; others need --data)")
    .option("--data <name|dir>", "dataset to test on (default: the one the model was trained on)")
    .option("--root <dir>", "where the dataset files are")
    .option("--batch-size <n>", "batch size", "256")
    .option("--out <dir>", "where to write confusion.svg/png (default: the checkpoint's folder)")
    .option("--json", "print the metrics as one JSON object")
    .action(async (flags: EvalFlags) => {
      const batchSize = parseInteger("--batch-size", flags.batchSize, 1);
      const cli = loadModelForCli({ checkpoint: flags.checkpoint, onnx: flags.onnx });
      const { model, epoch } = cli;
      const meta = await completeRunMeta(cli, {
        ...(flags.data !== undefined ? { data: flags.data } : {}),
        ...(flags.root !== undefined ? { root: flags.root } : {}),
      });
      const dataName = flags.data ?? meta.data;
      const [c, h] = meta.input;
      const data = await openData(dataName, {
        ...(flags.root !== undefined ? { root: flags.root } : {}),
        channels: c as 1 | 3,
        size: h,
      });
      if (data.sampleShape.join() !== meta.input.join()) {
        throw new ValueError(
          `${dataName} has ${data.sampleShape.join("×")} images but the model takes ${meta.input.join("×")}`,
        );
      }
      if (data.classes.length !== meta.classes.length) {
        throw new ValueError(
          `${dataName} has ${data.classes.length} classes but the model was trained on ${meta.classes.length}`,
        );
      }
      // Normalise with the statistics the model was trained with.
      const { testLoader } = makeLoaders(
        { ...data, normalization: meta.normalization },
        { batchSize, seed: 0 },
      );
      const report = evaluate(model, testLoader, {
        numClasses: meta.classes.length,
        lossFn: (logits, targets) => crossEntropy(logits, targets),
      });
      const out = flags.out ?? checkpointFolder((flags.checkpoint ?? flags.onnx)!);
      mkdirSync(out, { recursive: true });
      writePlot(
        join(out, "confusion"),
        confusionMatrixSvg(report.confusion, meta.classes, `Confusion matrix (${dataName} test)`),
      );
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({
            checkpoint_epoch: epoch,
            data: dataName,
            count: report.count,
            accuracy: report.accuracy,
            loss: report.loss,
            ...report.topk,
            per_class: meta.classes.map((name, i) => ({
              class: name,
              precision: report.precision[i],
              recall: report.recall[i],
            })),
            confusion: report.confusion,
          }) + "\n",
        );
        return;
      }
      const lines = [
        `${meta.model} (epoch ${epoch}) on ${dataName} test: ${report.count} images`,
        `accuracy ${(100 * report.accuracy).toFixed(2)}%  loss ${report.loss.toFixed(4)}` +
          Object.entries(report.topk)
            .filter(([k]) => k !== "top1")
            .map(([k, v]) => `  ${k} ${(100 * v).toFixed(2)}%`)
            .join(""),
        "",
        `${"class".padEnd(16)} precision  recall`,
        ...meta.classes.map(
          (name, i) =>
            `${name.slice(0, 16).padEnd(16)} ${(100 * report.precision[i]!).toFixed(1).padStart(8)}%  ${(100 * report.recall[i]!).toFixed(1).padStart(5)}%`,
        ),
        "",
        "confusion matrix (rows: true class, columns: predicted)",
        ...report.confusion.map(
          (row, i) => `${String(i).padStart(3)} ${row.map((v) => String(v).padStart(5)).join("")}`,
        ),
        "",
        `wrote ${join(out, "confusion.svg")} and .png`,
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}
